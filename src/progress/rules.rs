//! The rules a progress update must keep, whoever sends it (form, JSON API, CSV bulk).
//! Pure: the current state and today's date come in, the refusals go out, each naming
//! its field and saying why in both languages.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::SiteStatus;
use crate::i18n::Lang;

/// Where a site stands: what an update starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub status: SiteStatus,
    pub percent: i16,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
}

/// What an engineer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub status: SiteStatus,
    /// Wider than a percent so out-of-range input is reported, not truncated.
    pub percent: i64,
    pub actual_start: Option<NaiveDate>,
    pub actual_finish: Option<NaiveDate>,
    pub note: Option<String>,
    /// Required to move status backwards or lower the percent.
    pub correction_reason: Option<String>,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub field: &'static str,
    pub rule: &'static str,
    pub vi: String,
    pub en: String,
}

impl Violation {
    pub fn new(field: &'static str, rule: &'static str, vi: String, en: String) -> Self {
        Self {
            field,
            rule,
            vi,
            en,
        }
    }

    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

/// A note or reason longer than this is refused (a page of text is plenty).
pub const MAX_TEXT: usize = 4000;

/// Position along the normal course of a work; suspended and cancelled are off it.
fn course_rank(status: SiteStatus) -> Option<u8> {
    match status {
        SiteStatus::Planned => Some(0),
        SiteStatus::Design => Some(1),
        SiteStatus::UnderConstruction => Some(2),
        SiteStatus::Completed => Some(3),
        SiteStatus::HandedOver => Some(4),
        SiteStatus::Suspended | SiteStatus::Cancelled => None,
    }
}

/// Whether going from `from` to `to` is a step back: down the normal course, or out of
/// cancellation (a cancelled work coming back is a correction).
pub fn is_backwards(from: SiteStatus, to: SiteStatus) -> bool {
    if from == SiteStatus::Cancelled {
        return to != SiteStatus::Cancelled;
    }
    matches!((course_rank(from), course_rank(to)), (Some(a), Some(b)) if b < a)
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// Every rule `update` breaks when applied to `current` on `today`; empty when it may go.
pub fn check(current: &Progress, update: &Update, today: NaiveDate) -> Vec<Violation> {
    let mut out = Vec::new();
    let pct = update.percent;
    if !(0..=100).contains(&pct) {
        out.push(Violation::new(
            "percent",
            "percent_range",
            format!("Tỷ lệ hoàn thành phải từ 0 đến 100 (nhận được {pct})."),
            format!("percent must be between 0 and 100 (got {pct})"),
        ));
    } else if update.status.is_done() && pct != 100 {
        out.push(Violation::new(
            "status",
            "done_at_full_progress",
            format!(
                "Chỉ được chọn “{}” khi đạt 100% (đang là {pct}%).",
                update.status.label(Lang::Vi)
            ),
            format!(
                "'{}' needs 100% (got {pct}%)",
                update.status.label(Lang::En)
            ),
        ));
    }
    let correcting = !blank(&update.correction_reason);
    if (0..=100).contains(&pct) && pct < i64::from(current.percent) && !correcting {
        out.push(Violation::new(
            "correction_reason",
            "percent_never_down",
            format!(
                "Tỷ lệ không được giảm ({}% → {pct}%) nếu không ghi lý do điều chỉnh.",
                current.percent
            ),
            format!(
                "percent may not go down ({}% → {pct}%) without a correction reason",
                current.percent
            ),
        ));
    }
    if is_backwards(current.status, update.status) && !correcting {
        out.push(Violation::new(
            "correction_reason",
            "status_never_backwards",
            format!(
                "Trạng thái không được lùi (“{}” → “{}”) nếu không ghi lý do điều chỉnh.",
                current.status.label(Lang::Vi),
                update.status.label(Lang::Vi)
            ),
            format!(
                "status may not move back ('{}' → '{}') without a correction reason",
                current.status.label(Lang::En),
                update.status.label(Lang::En)
            ),
        ));
    }
    for (field, date) in [
        ("actual_start", update.actual_start),
        ("actual_finish", update.actual_finish),
    ] {
        if let Some(date) = date {
            if date > today {
                out.push(Violation::new(
                    field,
                    "date_not_in_future",
                    format!(
                        "Ngày {} chưa đến (hôm nay là {}).",
                        date.format("%d/%m/%Y"),
                        today.format("%d/%m/%Y")
                    ),
                    format!("{date} is in the future (today is {today})"),
                ));
            }
        }
    }
    if let (Some(start), Some(finish)) = (update.actual_start, update.actual_finish) {
        if finish < start {
            out.push(Violation::new(
                "actual_finish",
                "actual_dates_order",
                "Ngày hoàn thành thực tế trước ngày khởi công thực tế.".into(),
                format!("actual finish {finish} is before actual start {start}"),
            ));
        }
    }
    for (field, text) in [
        ("note", &update.note),
        ("correction_reason", &update.correction_reason),
    ] {
        if text
            .as_deref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT)
        {
            out.push(Violation::new(
                field,
                "text_length",
                format!("Nội dung dài quá {MAX_TEXT} ký tự."),
                format!("longer than {MAX_TEXT} characters"),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use SiteStatus::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(status: SiteStatus, percent: i16) -> Progress {
        Progress {
            status,
            percent,
            actual_start: None,
            actual_finish: None,
        }
    }

    fn to(status: SiteStatus, percent: i64) -> Update {
        Update {
            status,
            percent,
            actual_start: None,
            actual_finish: None,
            note: None,
            correction_reason: None,
        }
    }

    fn rules(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.rule).collect()
    }

    const TODAY: &str = "2025-06-30";

    #[test]
    fn a_normal_step_forward_passes() {
        assert!(check(&at(Design, 10), &to(UnderConstruction, 35), day(TODAY)).is_empty());
        assert!(check(&at(UnderConstruction, 90), &to(Completed, 100), day(TODAY)).is_empty());
        assert!(check(&at(UnderConstruction, 40), &to(Suspended, 40), day(TODAY)).is_empty());
        assert!(check(&at(Suspended, 40), &to(UnderConstruction, 45), day(TODAY)).is_empty());
    }

    #[test]
    fn percent_stays_within_0_and_100() {
        for pct in [-1, 101, 1000] {
            let v = check(&at(Planned, 0), &to(Design, pct), day(TODAY));
            assert_eq!(rules(&v), ["percent_range"], "{pct}");
            assert_eq!(v[0].field, "percent");
        }
    }

    #[test]
    fn completed_and_handed_over_only_at_100() {
        for status in [Completed, HandedOver] {
            let v = check(&at(UnderConstruction, 90), &to(status, 99), day(TODAY));
            assert_eq!(rules(&v), ["done_at_full_progress"]);
        }
    }

    #[test]
    fn percent_never_goes_down_without_a_reason() {
        let v = check(
            &at(UnderConstruction, 60),
            &to(UnderConstruction, 50),
            day(TODAY),
        );
        assert_eq!(rules(&v), ["percent_never_down"]);
        let mut corrected = to(UnderConstruction, 50);
        corrected.correction_reason = Some("Nhập nhầm 60%".into());
        assert!(check(&at(UnderConstruction, 60), &corrected, day(TODAY)).is_empty());
        corrected.correction_reason = Some("   ".into());
        assert_eq!(
            rules(&check(&at(UnderConstruction, 60), &corrected, day(TODAY))),
            ["percent_never_down"],
            "a blank reason is no reason"
        );
    }

    #[test]
    fn status_never_moves_backwards_without_a_reason() {
        for (from, back) in [
            (Design, Planned),
            (UnderConstruction, Design),
            (HandedOver, Completed),
            (Cancelled, UnderConstruction),
        ] {
            let from_pct = if from.is_done() { 100 } else { 50 };
            let v = check(&at(from, from_pct), &to(back, 100), day(TODAY));
            assert_eq!(rules(&v), ["status_never_backwards"], "{from:?} → {back:?}");
        }
        let mut corrected = to(Design, 50);
        corrected.correction_reason = Some("Phải thiết kế lại".into());
        assert!(check(&at(UnderConstruction, 50), &corrected, day(TODAY)).is_empty());
    }

    #[test]
    fn dates_are_not_in_the_future_and_in_order() {
        let mut u = to(UnderConstruction, 20);
        u.actual_start = Some(day("2025-07-01"));
        assert_eq!(
            rules(&check(&at(Design, 0), &u, day(TODAY))),
            ["date_not_in_future"]
        );
        u.actual_start = Some(day("2025-06-30"));
        assert!(
            check(&at(Design, 0), &u, day(TODAY)).is_empty(),
            "today is fine"
        );
        u.actual_finish = Some(day("2025-06-01"));
        assert_eq!(
            rules(&check(&at(Design, 0), &u, day(TODAY))),
            ["actual_dates_order"]
        );
    }

    #[test]
    fn every_violation_speaks_both_languages() {
        let mut u = to(Completed, 101);
        u.actual_start = Some(day("2030-01-01"));
        u.note = Some("x".repeat(MAX_TEXT + 1));
        let v = check(&at(HandedOver, 100), &u, day(TODAY));
        assert!(v.len() >= 3, "{v:?}");
        for violation in v {
            assert!(!violation.vi.is_empty() && !violation.en.is_empty());
        }
    }
}
