//! What a search team records of a remains search zone (the directive's §7: area
//! concluded, map drawn, conclusion, unit in charge, remains expected and found), the rules
//! an update keeps, and how an update made offline from an older version merges with what
//! changed since. Pure.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};

use crate::progress::rules::{Violation, MAX_TEXT};

/// A zone's figures as they stand (or stood at some version).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Figures {
    pub remains_expected: i32,
    pub remains_found: i32,
    pub area_concluded_ha: f64,
    pub map_drawn: bool,
    pub map_drawn_on: Option<NaiveDate>,
    pub concluded_on: Option<NaiveDate>,
    pub unit_in_charge: Option<String>,
}

/// "Yes" or "no" as a spreadsheet or a GIS attribute holds it (có/không, x or empty,
/// yes/no, true/false, 1/0).
pub fn yes_no(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "có" | "co" | "x" | "yes" | "true" | "1" | "đã vẽ" => Some(true),
        "" | "không" | "khong" | "no" | "false" | "0" | "chưa vẽ" => Some(false),
        _ => None,
    }
}

/// A field given as `null` (cleared) is `Some(None)`; one left out is `None` (kept).
fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// What an update asks to set; a field left out keeps its value.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Asked {
    pub remains_expected: Option<i32>,
    pub remains_found: Option<i32>,
    pub area_concluded_ha: Option<f64>,
    pub map_drawn: Option<bool>,
    #[serde(default, deserialize_with = "given")]
    pub map_drawn_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "given")]
    pub concluded_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "given")]
    pub unit_in_charge: Option<Option<String>>,
}

/// The fields by the names the API, the form and the history use.
pub const FIELDS: [&str; 7] = [
    "remains_expected",
    "remains_found",
    "area_concluded_ha",
    "map_drawn",
    "map_drawn_on",
    "concluded_on",
    "unit_in_charge",
];

impl Asked {
    /// `current` with what this asks.
    pub fn onto(&self, current: &Figures) -> Figures {
        let unit = |u: &Option<String>| {
            u.as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string)
        };
        Figures {
            remains_expected: self.remains_expected.unwrap_or(current.remains_expected),
            remains_found: self.remains_found.unwrap_or(current.remains_found),
            area_concluded_ha: self
                .area_concluded_ha
                .map_or(current.area_concluded_ha, |a| (a * 100.0).round() / 100.0),
            map_drawn: self.map_drawn.unwrap_or(current.map_drawn),
            map_drawn_on: self.map_drawn_on.unwrap_or(current.map_drawn_on),
            concluded_on: self.concluded_on.unwrap_or(current.concluded_on),
            unit_in_charge: self
                .unit_in_charge
                .as_ref()
                .map_or_else(|| current.unit_in_charge.clone(), unit),
        }
    }

    /// Only the fields that differ from `base` (a whole form sent back asks every field).
    pub fn changes_from(&self, base: &Figures) -> Asked {
        let wanted = self.onto(base);
        Asked {
            remains_expected: self
                .remains_expected
                .filter(|_| wanted.remains_expected != base.remains_expected),
            remains_found: self
                .remains_found
                .filter(|_| wanted.remains_found != base.remains_found),
            area_concluded_ha: self
                .area_concluded_ha
                .filter(|_| wanted.area_concluded_ha != base.area_concluded_ha),
            map_drawn: self
                .map_drawn
                .filter(|_| wanted.map_drawn != base.map_drawn),
            map_drawn_on: self
                .map_drawn_on
                .filter(|_| wanted.map_drawn_on != base.map_drawn_on),
            concluded_on: self
                .concluded_on
                .filter(|_| wanted.concluded_on != base.concluded_on),
            unit_in_charge: self
                .unit_in_charge
                .clone()
                .filter(|_| wanted.unit_in_charge != base.unit_in_charge),
        }
    }

    /// The names of the fields this asks to set.
    pub fn names(&self) -> Vec<&'static str> {
        let set = [
            self.remains_expected.is_some(),
            self.remains_found.is_some(),
            self.area_concluded_ha.is_some(),
            self.map_drawn.is_some(),
            self.map_drawn_on.is_some(),
            self.concluded_on.is_some(),
            self.unit_in_charge.is_some(),
        ];
        FIELDS
            .into_iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|(f, _)| f)
            .collect()
    }
}

/// The value of field `name` in `f`, to compare.
fn value(f: &Figures, name: &str) -> String {
    match name {
        "remains_expected" => f.remains_expected.to_string(),
        "remains_found" => f.remains_found.to_string(),
        "area_concluded_ha" => format!("{:.2}", f.area_concluded_ha),
        "map_drawn" => f.map_drawn.to_string(),
        "map_drawn_on" => format!("{:?}", f.map_drawn_on),
        "concluded_on" => format!("{:?}", f.concluded_on),
        _ => format!("{:?}", f.unit_in_charge),
    }
}

/// The fields an update made from `base` (asking `mine`, only what it changes) would set
/// to another value than someone else set since (`theirs`): a conflict when not empty.
pub fn crossed(base: &Figures, theirs: &Figures, mine: &Asked) -> Vec<&'static str> {
    let wanted = mine.onto(theirs);
    mine.names()
        .into_iter()
        .filter(|f| value(theirs, f) != value(base, f) && value(&wanted, f) != value(theirs, f))
        .collect()
}

/// The rules an update keeps: counts and area not negative, the area concluded no larger
/// than the zone, dates not in the future and a map date only for a drawn map, fewer
/// remains found only with a correction reason, texts of reasonable length.
pub fn check(
    before: &Figures,
    after: &Figures,
    zone_ha: Option<f64>,
    reason: Option<&str>,
    note: Option<&str>,
    today: NaiveDate,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut refuse = |field: &'static str, rule: &'static str, vi: String, en: String| {
        out.push(Violation::new(field, rule, vi, en));
    };
    for (field, n) in [
        ("remains_expected", after.remains_expected),
        ("remains_found", after.remains_found),
    ] {
        if n < 0 {
            refuse(
                field,
                "count_not_negative",
                format!("Số hài cốt không được âm ({n})."),
                format!("{field} cannot be negative ({n})"),
            );
        }
    }
    let area = after.area_concluded_ha;
    if !(area.is_finite() && area >= 0.0) {
        refuse(
            "area_concluded_ha",
            "area_not_negative",
            format!("Diện tích kết luận không hợp lệ ({area})."),
            format!("area_concluded_ha must be 0 or more (got {area})"),
        );
    } else if let Some(zone) = zone_ha.filter(|z| area > z * 1.01 + 0.01) {
        refuse(
            "area_concluded_ha",
            "area_within_zone",
            format!("Diện tích kết luận ({area:.2} ha) lớn hơn diện tích khu vực tìm kiếm ({zone:.2} ha)."),
            format!("the area concluded ({area:.2} ha) is larger than the zone ({zone:.2} ha)"),
        );
    }
    for (field, date) in [
        ("map_drawn_on", after.map_drawn_on),
        ("concluded_on", after.concluded_on),
    ] {
        if let Some(d) = date.filter(|d| *d > today) {
            refuse(
                field,
                "date_not_in_future",
                format!(
                    "Ngày {} chưa đến (hôm nay là {}).",
                    d.format("%d/%m/%Y"),
                    today.format("%d/%m/%Y")
                ),
                format!("{d} is in the future (today is {today})"),
            );
        }
    }
    if after.map_drawn_on.is_some() && !after.map_drawn {
        refuse(
            "map_drawn_on",
            "map_date_needs_map",
            "Có ngày vẽ bản đồ thì phải đánh dấu đã vẽ bản đồ.".into(),
            "a map date needs map_drawn".into(),
        );
    }
    let correcting = reason.is_some_and(|r| !r.trim().is_empty());
    if after.remains_found < before.remains_found && !correcting {
        refuse(
            "correction_reason",
            "found_never_down",
            format!(
                "Số hài cốt đã quy tập không được giảm ({} → {}) nếu không ghi lý do điều chỉnh.",
                before.remains_found, after.remains_found
            ),
            format!(
                "remains found may not go down ({} → {}) without a correction reason",
                before.remains_found, after.remains_found
            ),
        );
    }
    for (field, text) in [
        ("note", note),
        ("correction_reason", reason),
        ("unit_in_charge", after.unit_in_charge.as_deref()),
    ] {
        if text.is_some_and(|t| t.chars().count() > MAX_TEXT) {
            refuse(
                field,
                "text_length",
                format!("Nội dung dài quá {MAX_TEXT} ký tự."),
                format!("longer than {MAX_TEXT} characters"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2025, 3, d)
    }

    fn base() -> Figures {
        Figures {
            remains_expected: 10,
            remains_found: 2,
            area_concluded_ha: 5.0,
            unit_in_charge: Some("Đội K70".into()),
            ..Figures::default()
        }
    }

    #[test]
    fn rules_name_each_field() {
        let today = day(20).unwrap();
        let after = Figures {
            remains_found: 1,
            area_concluded_ha: 80.0,
            map_drawn_on: day(25),
            concluded_on: day(21),
            ..base()
        };
        let broken: Vec<&str> = check(&base(), &after, Some(50.0), None, None, today)
            .iter()
            .map(|v| v.rule)
            .collect();
        assert_eq!(
            broken,
            [
                "area_within_zone",
                "date_not_in_future",
                "date_not_in_future",
                "map_date_needs_map",
                "found_never_down"
            ]
        );
        assert!(check(&base(), &after, None, Some("đếm lại"), None, today)
            .iter()
            .all(|v| v.rule != "found_never_down"));
        assert!(check(&base(), &base(), Some(50.0), None, None, today).is_empty());
    }

    #[test]
    fn a_field_changed_by_both_to_different_values_crosses() {
        let theirs = Figures {
            remains_found: 4,
            ..base()
        };
        // Mine sent the whole form back with a new area and the found count as at the base.
        let mine = Asked {
            remains_found: Some(2),
            area_concluded_ha: Some(7.5),
            ..Asked::default()
        };
        let mine = mine.changes_from(&base());
        assert_eq!(mine.names(), ["area_concluded_ha"]);
        assert!(
            crossed(&base(), &theirs, &mine).is_empty(),
            "theirs kept, mine applied"
        );
        let mine = Asked {
            remains_found: Some(3),
            ..Asked::default()
        };
        assert_eq!(crossed(&base(), &theirs, &mine), ["remains_found"]);
        let same = Asked {
            remains_found: Some(4),
            ..Asked::default()
        };
        assert!(
            crossed(&base(), &theirs, &same).is_empty(),
            "the same value is no conflict"
        );
    }

    #[test]
    fn a_null_clears_and_a_missing_field_keeps() {
        let mut current = base();
        current.concluded_on = day(1);
        let asked: Asked =
            serde_json::from_str(r#"{"concluded_on": null, "unit_in_charge": " "}"#).unwrap();
        let after = asked.onto(&current);
        assert_eq!(after.concluded_on, None);
        assert_eq!(after.unit_in_charge, None, "a blank unit is none");
        let asked: Asked = serde_json::from_str(r#"{"remains_found": 3}"#).unwrap();
        assert_eq!(asked.onto(&current).concluded_on, day(1));
        assert!(
            serde_json::from_str::<Asked>(r#"{"found": 3}"#).is_err(),
            "unknown fields refused"
        );
    }
}
