//! From a file's columns and raw values to what each row asks for: the kvpt field each
//! column is (by its long, Shapefile or Vietnamese name), and each value read as that
//! field's type, with what cannot be read reported against the row.

use chrono::NaiveDate;

use super::encoding::TextEncoding;
use super::source::{RawFeature, RawValue, SourceLayer};
use super::Problem;
use crate::domain::{Classification, LandLegalStatus, LandUse, Programme, SiteKind, SiteStatus};
use crate::exchange::fields::{Field, FieldType};
use crate::i18n::Lang;

/// What a column of the file is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Column {
    Field(&'static Field),
    /// Import-only: a note for the history, and the reason a correction goes backwards.
    Note,
    CorrectionReason,
    /// Derived by kvpt (district, layer, budget totals, …) or written by GIS software
    /// (KML's styling, DXF's entity data, OBJECTID, …): read past.
    Ignored,
    Unknown,
}

/// Fields an import may set; the rest of [`crate::exchange::fields::FIELDS`] kvpt derives.
const WRITABLE: &[&str] = &[
    "code",
    "name",
    "name_en",
    "kind",
    "status",
    "percent",
    "phase",
    "programme",
    "responsible_unit",
    "classification",
    "planned_start",
    "planned_finish",
    "actual_start",
    "actual_finish",
    "version",
    "remains_expected",
    "remains_found",
    "area_concluded_ha",
    "map_drawn",
    "map_drawn_on",
    "concluded_on",
    "unit_in_charge",
    "land_five_year",
    "land_current_use",
    "land_planned_use",
    "land_legal_status",
    "land_decision_no",
    "land_decision_date",
];

/// Columns GIS software adds that carry nothing for kvpt.
const HOUSEKEEPING: &[&str] = &[
    "fid",
    "objectid",
    "id",
    "gid",
    "shape_leng",
    "shape_area",
    "shape_len",
    "x",
    "y",
    "wkt",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
    "snippet",
    "paperspace",
    "subclasses",
    "linetype",
    "entityhandle",
    "text",
    "layer",
    "ogr_style",
];

impl Column {
    pub fn of(name: &str) -> Column {
        let lower = name.trim().to_lowercase();
        if let Some(field) = Field::from_any_name(&lower).or_else(|| {
            crate::exchange::fields::FIELDS.iter().find(|f| {
                f.label(Lang::Vi).to_lowercase() == lower
                    || f.label(Lang::En).to_lowercase() == lower
            })
        }) {
            if WRITABLE.contains(&field.name) {
                return Column::Field(field);
            }
            return Column::Ignored;
        }
        match lower.as_str() {
            "note" | "ghi_chu" | "ghi chú" | "ghichu" => Column::Note,
            "correction_reason" | "corr_reas" | "ly_do" | "lý do điều chỉnh" => {
                Column::CorrectionReason
            }
            _ if HOUSEKEEPING.contains(&lower.as_str()) => Column::Ignored,
            _ => Column::Unknown,
        }
    }
}

/// One row as read: what it asks for and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// 1-based over the whole file.
    pub row: usize,
    pub layer: usize,
    pub index: usize,
    pub code: Option<String>,
    pub name: Option<String>,
    pub name_en: Option<String>,
    pub kind: Option<SiteKind>,
    pub status: Option<SiteStatus>,
    pub percent: Option<i64>,
    pub phase: Option<i64>,
    pub programme: Option<Programme>,
    pub unit: Option<String>,
    pub classification: Option<Classification>,
    pub planned_start: Option<NaiveDate>,
    pub planned_finish: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub version: Option<i64>,
    pub remains_expected: Option<i64>,
    pub remains_found: Option<i64>,
    pub area_ha: Option<f64>,
    pub map_drawn: Option<bool>,
    pub map_drawn_on: Option<NaiveDate>,
    pub concluded_on: Option<NaiveDate>,
    pub unit_in_charge: Option<String>,
    /// A defence land parcel's plan, as far as the row gives it.
    pub land: LandGiven,
    pub note: Option<String>,
    pub correction_reason: Option<String>,
    pub wkb: Option<Vec<u8>>,
    /// Optional fields the row empties (an API's PUT or JSON Merge Patch `null`): one of
    /// [`CLEARABLE`]. A file's empty cell keeps the work's value instead.
    pub cleared: Vec<&'static str>,
    pub errors: Vec<Problem>,
}

/// The land-use plan's fields a row gives (issue 24 §2).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LandGiven {
    pub five_year: Option<String>,
    pub current_use: Option<LandUse>,
    pub planned_use: Option<LandUse>,
    pub legal_status: Option<LandLegalStatus>,
    pub decision_no: Option<String>,
    pub decision_date: Option<NaiveDate>,
}

impl LandGiven {
    pub fn any(&self) -> bool {
        *self != LandGiven::default()
    }
}

/// The fields a write may empty: the rest a work always has, or the progress rules own.
pub const CLEARABLE: &[&str] = &[
    "name_en",
    "phase",
    "responsible_unit",
    "planned_start",
    "planned_finish",
];

impl Incoming {
    /// Whether the row empties `field`.
    pub fn clears(&self, field: &str) -> bool {
        self.cleared.contains(&field)
    }
}

/// A value of a vocabulary by its code or its label in either language.
fn vocabulary<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T, Lang) -> &'static str,
    text: &str,
) -> Option<T> {
    let t = text.trim().to_lowercase();
    all.iter().copied().find(|&v| {
        code(v) == t
            || label(v, Lang::Vi).to_lowercase() == t
            || label(v, Lang::En).to_lowercase() == t
    })
}

/// A date as people type it (the bulk update's 31/12/2024 or 2024-12-31), or as GDAL
/// writes one (2024/12/31, with a time after it for datetimes).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    crate::params::parse_date(t).or_else(|| NaiveDate::parse_from_str(t, "%Y/%m/%d").ok())
}

/// Reads the rows of `features`, text decoded with `encoding` where it is raw DBF bytes.
pub fn read(
    layers: &[SourceLayer],
    features: Vec<RawFeature>,
    encoding: TextEncoding,
    default_kind: Option<SiteKind>,
) -> Vec<Incoming> {
    let columns: Vec<Vec<Column>> = layers
        .iter()
        .map(|l| l.columns.iter().map(|c| Column::of(c)).collect())
        .collect();
    features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let layer = &layers[f.layer];
            let mut row = Incoming {
                row: i + 1,
                layer: f.layer,
                index: f.index,
                kind: default_kind,
                wkb: f.wkb,
                ..Default::default()
            };
            for (c, value) in f.values.into_iter().enumerate() {
                let Some(value) = value else { continue };
                let name = &layer.columns[c];
                match columns[f.layer][c] {
                    Column::Field(field) => {
                        read_field(&mut row, field, name, value, layer.legacy_text, encoding)
                    }
                    Column::Note => {
                        row.note = text(&mut row.errors, name, value, layer.legacy_text, encoding)
                    }
                    Column::CorrectionReason => {
                        row.correction_reason =
                            text(&mut row.errors, name, value, layer.legacy_text, encoding)
                    }
                    Column::Ignored | Column::Unknown => {}
                }
            }
            row
        })
        .collect()
}

/// A text value, or the reason it cannot be one.
fn text(
    errors: &mut Vec<Problem>,
    column: &str,
    value: RawValue,
    legacy: bool,
    encoding: TextEncoding,
) -> Option<String> {
    let decoded = match value {
        RawValue::Text(bytes) => {
            if legacy {
                encoding.decode(&bytes)
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
        other => super::source::text_of(&other),
    };
    if decoded.contains('\u{fffd}') || decoded.chars().any(|c| c.is_control() && c != '\t') {
        errors.push(Problem::new(
            column,
            format!(
                "Cột “{column}” có ký tự không đọc được theo bảng mã {}: hãy chọn đúng bảng mã (UTF-8, TCVN3, VNI, Windows-1258).",
                encoding.label()
            ),
            format!(
                "column '{column}' has characters that do not decode as {}: choose the right encoding (UTF-8, TCVN3, VNI, Windows-1258)",
                encoding.label()
            ),
        ));
        return None;
    }
    let t = decoded.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn read_field(
    row: &mut Incoming,
    field: &'static Field,
    column: &str,
    value: RawValue,
    legacy: bool,
    encoding: TextEncoding,
) {
    let bad = |row: &mut Incoming, what_vi: &str, what_en: &str, shown: &str| {
        row.errors.push(Problem::new(
            field.name,
            format!("Cột “{column}”: “{shown}” không phải {what_vi}."),
            format!("column '{column}': '{shown}' is not {what_en}"),
        ));
    };
    if field.name == "map_drawn" {
        // Exports write 1 or 0; people type có/không (yes/no).
        let shown = super::source::text_of(&value);
        if shown.trim().is_empty() {
            return;
        }
        return match crate::search::rules::yes_no(&shown) {
            Some(drawn) => row.map_drawn = Some(drawn),
            None => bad(row, "“có” hay “không” (1/0)", "yes or no (1/0)", &shown),
        };
    }
    match field.ty {
        FieldType::Integer | FieldType::Real => {
            let number: Option<f64> = match &value {
                RawValue::Int(i) => Some(*i as f64),
                RawValue::Real(r) => Some(*r),
                RawValue::Text(_) | RawValue::Date(_) => {
                    let t = super::source::text_of(&value);
                    t.trim()
                        .trim_end_matches('%')
                        .trim()
                        .replace(',', ".")
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                }
            };
            let shown = super::source::text_of(&value);
            let Some(n) = number else {
                return bad(row, "một số", "a number", &shown);
            };
            if field.ty == FieldType::Real {
                if field.name == "area_concluded_ha" {
                    row.area_ha = Some(n);
                }
                return;
            }
            if n.fract() != 0.0 || n.abs() > 1e15 {
                return bad(row, "một số nguyên", "a whole number", &shown);
            }
            let n = n as i64;
            match field.name {
                "percent" => row.percent = Some(n),
                "phase" => row.phase = Some(n),
                "version" => row.version = Some(n),
                "remains_expected" => row.remains_expected = Some(n),
                "remains_found" => row.remains_found = Some(n),
                _ => {}
            }
        }
        FieldType::Date | FieldType::DateTime => {
            let date = match &value {
                RawValue::Date(d) => Some(*d),
                other => parse_date(&super::source::text_of(other)),
            };
            let Some(date) = date else {
                let shown = super::source::text_of(&value);
                return bad(
                    row,
                    "ngày (dd/mm/yyyy)",
                    "a date (dd/mm/yyyy or yyyy-mm-dd)",
                    &shown,
                );
            };
            match field.name {
                "planned_start" => row.planned_start = Some(date),
                "planned_finish" => row.planned_finish = Some(date),
                "actual_start" => row.actual_start = Some(date),
                "actual_finish" => row.actual_finish = Some(date),
                "map_drawn_on" => row.map_drawn_on = Some(date),
                "concluded_on" => row.concluded_on = Some(date),
                "land_decision_date" => row.land.decision_date = Some(date),
                _ => {}
            }
        }
        FieldType::Text => {
            let Some(t) = text(&mut row.errors, column, value, legacy, encoding) else {
                return;
            };
            match field.name {
                "code" => row.code = Some(t.to_uppercase()),
                "name" => row.name = Some(t),
                "name_en" => row.name_en = Some(t),
                "responsible_unit" => row.unit = Some(t),
                "unit_in_charge" => row.unit_in_charge = Some(t),
                "land_five_year" => row.land.five_year = Some(t),
                "land_decision_no" => row.land.decision_no = Some(t),
                "land_current_use" | "land_planned_use" => {
                    match vocabulary(LandUse::ALL, LandUse::code, LandUse::label, &t) {
                        Some(u) if field.name == "land_current_use" => {
                            row.land.current_use = Some(u)
                        }
                        Some(u) => row.land.planned_use = Some(u),
                        None => bad(row, "một mục đích sử dụng đất", "a land use", &t),
                    }
                }
                "land_legal_status" => match vocabulary(
                    LandLegalStatus::ALL,
                    LandLegalStatus::code,
                    LandLegalStatus::label,
                    &t,
                ) {
                    Some(l) => row.land.legal_status = Some(l),
                    None => bad(row, "một tình trạng pháp lý", "a legal status", &t),
                },
                "kind" => match vocabulary(SiteKind::PLACED, SiteKind::code, SiteKind::label, &t) {
                    Some(k) => row.kind = Some(k),
                    None => {
                        row.kind = None;
                        bad(
                            row,
                            "một loại công trình của kvpt",
                            "a kvpt kind of work",
                            &t,
                        )
                    }
                },
                "status" => {
                    match vocabulary(SiteStatus::ALL, SiteStatus::code, SiteStatus::label, &t) {
                        Some(s) => row.status = Some(s),
                        None => bad(row, "một trạng thái", "a status", &t),
                    }
                }
                "programme" => {
                    match vocabulary(Programme::ALL, Programme::code, Programme::label, &t) {
                        Some(p) => row.programme = Some(p),
                        None => bad(row, "một chương trình", "a programme", &t),
                    }
                }
                "classification" => match vocabulary(
                    Classification::ALL,
                    Classification::code,
                    Classification::label,
                    &t,
                ) {
                    Some(c) => row.classification = Some(c),
                    None => bad(row, "một độ mật", "a classification", &t),
                },
                _ => {}
            }
        }
    }
}

/// The text values of the file's DBF columns, for choosing its encoding.
pub fn legacy_samples<'a>(layers: &[SourceLayer], features: &'a [RawFeature]) -> Vec<&'a [u8]> {
    features
        .iter()
        .filter(|f| layers[f.layer].legacy_text)
        .flat_map(|f| f.values.iter())
        .filter_map(|v| match v {
            Some(RawValue::Text(b)) if !b.is_ascii() => Some(b.as_slice()),
            _ => None,
        })
        .take(5000)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_by_any_name() {
        assert!(matches!(Column::of("PLAN_END"), Column::Field(f) if f.name == "planned_finish"));
        assert!(matches!(Column::of("Tên"), Column::Field(f) if f.name == "name"));
        assert_eq!(Column::of("district"), Column::Ignored);
        assert_eq!(Column::of("OBJECTID"), Column::Ignored);
        assert_eq!(Column::of("ghi_chu"), Column::Note);
        assert_eq!(Column::of("colour"), Column::Unknown);
        assert!(
            crate::domain::looks_like_code("CHOT-TBI-0012")
                && !crate::domain::looks_like_code("0")
                && !crate::domain::looks_like_code("Defpoints")
        );
        assert_eq!(
            parse_date("2024/05/01"),
            NaiveDate::from_ymd_opt(2024, 5, 1)
        );
        assert_eq!(
            parse_date("01/05/2024"),
            NaiveDate::from_ymd_opt(2024, 5, 1)
        );
    }
}
