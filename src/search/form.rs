//! The search form's fields as typed (counts, hectares with a decimal comma, dates as
//! dd/mm/yyyy), read into an update, each wrong field said in the page's language. Pure.

use std::collections::HashMap;

use super::rules::Asked;
use super::store::ZoneState;
use crate::i18n::{format_decimal, typed_date, Lang};
use crate::params::parse_date;

/// The form's fields as typed (dates as dd/mm/yyyy).
#[derive(Debug, Clone, Default)]
pub struct FormValues {
    pub remains_expected: String,
    pub remains_found: String,
    pub area_concluded_ha: String,
    pub map_drawn: bool,
    pub map_drawn_on: String,
    pub concluded_on: String,
    pub unit_in_charge: String,
    pub note: String,
    pub correction_reason: String,
    pub version: i32,
}

/// Hectares with two decimals, as the page's language writes them.
pub fn hectares(ha: f64, lang: Lang) -> String {
    format_decimal(ha, 2, lang)
}

impl FormValues {
    /// The zone as it stands.
    pub fn of(zone: &ZoneState) -> Self {
        let f = &zone.figures;
        FormValues {
            remains_expected: f.remains_expected.to_string(),
            remains_found: f.remains_found.to_string(),
            area_concluded_ha: hectares(f.area_concluded_ha, Lang::Vi),
            map_drawn: f.map_drawn,
            map_drawn_on: typed_date(f.map_drawn_on),
            concluded_on: typed_date(f.concluded_on),
            unit_in_charge: f.unit_in_charge.clone().unwrap_or_default(),
            version: zone.version,
            ..FormValues::default()
        }
    }

    /// As the form sent them (a version that is not a number reads as -1).
    pub fn from_form(form: &HashMap<String, String>) -> Self {
        let text = |name: &str| form.get(name).cloned().unwrap_or_default();
        FormValues {
            remains_expected: text("remains_expected"),
            remains_found: text("remains_found"),
            area_concluded_ha: text("area_concluded_ha"),
            map_drawn: form
                .get("map_drawn")
                .is_some_and(|v| v == "on" || v == "true"),
            map_drawn_on: text("map_drawn_on"),
            concluded_on: text("concluded_on"),
            unit_in_charge: text("unit_in_charge"),
            note: text("note"),
            correction_reason: text("correction_reason"),
            version: text("version").trim().parse().unwrap_or(-1),
        }
    }
}

/// The form's figures as an update of the whole zone (each field as typed), or what is wrong.
pub fn asked_of(values: &FormValues, lang: Lang) -> Result<Asked, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut wrong = |field: &str, vi: &str, en: &str| {
        errors.push((field.to_string(), lang.pick(vi, en).to_string()))
    };
    let count = |text: &str| text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
    let (expected, found) = (
        count(&values.remains_expected),
        count(&values.remains_found),
    );
    if expected.is_none() {
        wrong(
            "remains_expected",
            "Số hài cốt dự kiến là số nguyên không âm.",
            "Remains expected is a whole number, 0 or more.",
        );
    }
    if found.is_none() {
        wrong(
            "remains_found",
            "Số hài cốt đã quy tập là số nguyên không âm.",
            "Remains found is a whole number, 0 or more.",
        );
    }
    let area = values
        .area_concluded_ha
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok();
    if area.is_none() {
        wrong(
            "area_concluded_ha",
            "Diện tích kết luận là số (ha), ví dụ 12,5.",
            "Area concluded is a number of hectares, e.g. 12.5.",
        );
    }
    let mut date = |field: &str, text: &str| -> Option<NaiveDateOpt> {
        let t = text.trim();
        if t.is_empty() {
            return Some(None);
        }
        let parsed = parse_date(t);
        if parsed.is_none() {
            errors.push((
                field.to_string(),
                lang.pick("Nhập ngày dạng dd/mm/yyyy.", "Type the date as dd/mm/yyyy.")
                    .to_string(),
            ));
        }
        parsed.map(Some)
    };
    let drawn_on = date("map_drawn_on", &values.map_drawn_on);
    let concluded = date("concluded_on", &values.concluded_on);
    match (expected, found, area, drawn_on, concluded) {
        (Some(e), Some(f), Some(a), Some(d), Some(c)) if errors.is_empty() => Ok(Asked {
            remains_expected: Some(e),
            remains_found: Some(f),
            area_concluded_ha: Some(a),
            map_drawn: Some(values.map_drawn),
            map_drawn_on: Some(d),
            concluded_on: Some(c),
            unit_in_charge: Some(Some(values.unit_in_charge.clone())),
        }),
        _ => Err(errors),
    }
}

type NaiveDateOpt = Option<chrono::NaiveDate>;
