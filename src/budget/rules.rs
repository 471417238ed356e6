//! What a budget line must satisfy (errors) and what only deserves a second look
//! (warnings). Pure.

use serde::Serialize;

use crate::domain::SiteStatus;
use crate::i18n::{format_int, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Amounts {
    pub estimate: i64,
    pub allocated: i64,
    pub disbursed: i64,
    pub settled: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub field: &'static str,
    pub rule: &'static str,
    pub vi: String,
    pub en: String,
}

impl Finding {
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::Vi => &self.vi,
            Lang::En => &self.en,
        }
    }
}

/// Years a line may be entered for (the plan is 2021–2025; the 2017–2020 scheme's years
/// and later years are allowed).
pub const YEARS: std::ops::RangeInclusive<i16> = 2017..=2035;

/// The errors (first) and warnings (second) of `amounts` for `year` on a site in `status`.
pub fn check(amounts: &Amounts, year: i16, status: SiteStatus) -> (Vec<Finding>, Vec<Finding>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let vnd = |v: i64, lang| format_int(v, lang);
    if !YEARS.contains(&year) {
        errors.push(Finding {
            field: "year",
            rule: "budget_line_year_range",
            vi: format!("Năm {year} nằm ngoài 2017–2035."),
            en: format!("year {year} is outside 2017–2035"),
        });
    }
    for (field, value) in [
        ("estimate", amounts.estimate),
        ("allocated", amounts.allocated),
        ("disbursed", amounts.disbursed),
        ("settled", amounts.settled),
    ] {
        if value < 0 {
            errors.push(Finding {
                field,
                rule: "amount_not_negative",
                vi: "Số tiền không được âm.".into(),
                en: format!("{field} may not be negative"),
            });
        }
    }
    if amounts.disbursed > amounts.allocated {
        errors.push(Finding {
            field: "disbursed",
            rule: "disbursed_within_allocated",
            vi: format!(
                "Giải ngân ({} đ) vượt số đã phân bổ ({} đ).",
                vnd(amounts.disbursed, Lang::Vi),
                vnd(amounts.allocated, Lang::Vi)
            ),
            en: format!(
                "disbursed ({} VND) exceeds allocated ({} VND)",
                vnd(amounts.disbursed, Lang::En),
                vnd(amounts.allocated, Lang::En)
            ),
        });
    }
    if amounts.settled > 0 && !status.is_done() {
        errors.push(Finding {
            field: "settled",
            rule: "settled_after_completion",
            vi: format!(
                "Chỉ quyết toán khi công trình đã hoàn thành (đang là “{}”).",
                status.label(Lang::Vi)
            ),
            en: format!(
                "settlement only after completion (the work is '{}')",
                status.label(Lang::En)
            ),
        });
    }
    if amounts.allocated > amounts.estimate {
        warnings.push(Finding {
            field: "allocated",
            rule: "estimate_exceeded",
            vi: format!(
                "Phân bổ ({} đ) vượt dự toán ({} đ).",
                vnd(amounts.allocated, Lang::Vi),
                vnd(amounts.estimate, Lang::Vi)
            ),
            en: format!(
                "allocated ({} VND) is above the estimate ({} VND)",
                vnd(amounts.allocated, Lang::En),
                vnd(amounts.estimate, Lang::En)
            ),
        });
    }
    if amounts.settled > amounts.estimate {
        warnings.push(Finding {
            field: "settled",
            rule: "estimate_exceeded",
            vi: "Quyết toán vượt dự toán.".into(),
            en: "settled is above the estimate".into(),
        });
    }
    (errors, warnings)
}

/// A medium-term ceiling as a decision approves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ceiling {
    pub amount: i64,
    pub decision_no: String,
    pub decision_date: chrono::NaiveDate,
}

/// What is wrong with `ceiling` for `year`, decided no later than `today`.
pub fn check_ceiling(ceiling: &Ceiling, year: i16, today: chrono::NaiveDate) -> Vec<Finding> {
    let mut errors = Vec::new();
    if !YEARS.contains(&year) {
        errors.push(Finding {
            field: "year",
            rule: "budget_ceiling_year_range",
            vi: format!("Năm {year} nằm ngoài 2017–2035."),
            en: format!("year {year} is outside 2017–2035"),
        });
    }
    if ceiling.amount < 0 {
        errors.push(Finding {
            field: "ceiling",
            rule: "budget_ceiling_not_negative",
            vi: "Số vốn trung hạn được giao không được âm.".into(),
            en: "the ceiling cannot be negative".into(),
        });
    }
    let number = ceiling.decision_no.trim();
    if number.is_empty() || number.chars().count() > 100 {
        errors.push(Finding {
            field: "decision_no",
            rule: "budget_ceiling_decision_given",
            vi: "Cần số quyết định giao kế hoạch (tối đa 100 ký tự).".into(),
            en: "the decision's number is required (at most 100 characters)".into(),
        });
    }
    if ceiling.decision_date > today {
        errors.push(Finding {
            field: "decision_date",
            rule: "budget_ceiling_decision_not_future",
            vi: "Ngày quyết định ở tương lai.".into(),
            en: "the decision's date is in the future".into(),
        });
    }
    errors
}

/// The warning of an allocation above the medium-term ceiling approved for its line.
pub fn over_ceiling(allocated: i64, ceiling: i64, decision_no: &str) -> Option<Finding> {
    (allocated > ceiling).then(|| Finding {
        field: "allocated",
        rule: "allocated_over_ceiling",
        vi: format!(
            "Vốn phân bổ {} vượt kế hoạch trung hạn được giao {} (quyết định {decision_no}).",
            format_int(allocated, Lang::Vi),
            format_int(ceiling, Lang::Vi)
        ),
        en: format!(
            "allocated {} is above the medium-term ceiling {} (decision {decision_no})",
            format_int(allocated, Lang::En),
            format_int(ceiling, Lang::En)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amounts(e: i64, a: i64, d: i64, s: i64) -> Amounts {
        Amounts {
            estimate: e,
            allocated: a,
            disbursed: d,
            settled: s,
        }
    }

    fn rules(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_sound_line_passes() {
        let (e, w) = check(
            &amounts(100, 80, 60, 0),
            2024,
            SiteStatus::UnderConstruction,
        );
        assert!(e.is_empty() && w.is_empty());
        let (e, _) = check(&amounts(100, 80, 80, 78), 2025, SiteStatus::Completed);
        assert!(e.is_empty());
    }

    #[test]
    fn disbursed_stays_within_allocated() {
        let (e, _) = check(
            &amounts(100, 80, 81, 0),
            2024,
            SiteStatus::UnderConstruction,
        );
        assert_eq!(rules(&e), ["disbursed_within_allocated"]);
    }

    #[test]
    fn settled_only_after_completion() {
        let (e, _) = check(
            &amounts(100, 80, 80, 10),
            2024,
            SiteStatus::UnderConstruction,
        );
        assert_eq!(rules(&e), ["settled_after_completion"]);
        let (e, _) = check(&amounts(100, 80, 80, 10), 2024, SiteStatus::HandedOver);
        assert!(e.is_empty());
    }

    #[test]
    fn exceeding_the_estimate_is_a_warning_only() {
        let (e, w) = check(
            &amounts(100, 120, 110, 0),
            2024,
            SiteStatus::UnderConstruction,
        );
        assert!(e.is_empty());
        assert_eq!(rules(&w), ["estimate_exceeded"]);
    }

    #[test]
    fn a_ceiling_needs_a_year_an_amount_and_a_past_decision() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let good = Ceiling {
            amount: 5_000_000_000,
            decision_no: "1234/QĐ-UBND".into(),
            decision_date: chrono::NaiveDate::from_ymd_opt(2021, 8, 20).unwrap(),
        };
        assert!(check_ceiling(&good, 2022, today).is_empty());
        let bad = Ceiling {
            amount: -1,
            decision_no: "  ".into(),
            decision_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        };
        assert_eq!(
            rules(&check_ceiling(&bad, 2040, today)),
            [
                "budget_ceiling_year_range",
                "budget_ceiling_not_negative",
                "budget_ceiling_decision_given",
                "budget_ceiling_decision_not_future"
            ]
        );
        assert!(over_ceiling(5, 5, "1").is_none());
        let w = over_ceiling(6, 5, "1234/QĐ-UBND").unwrap();
        assert!(w.vi.contains("1234/QĐ-UBND") && w.rule == "allocated_over_ceiling");
    }

    #[test]
    fn years_and_signs_are_checked() {
        let (e, _) = check(&amounts(-1, 0, 0, 0), 2016, SiteStatus::Planned);
        assert_eq!(rules(&e), ["budget_line_year_range", "amount_not_negative"]);
    }
}
