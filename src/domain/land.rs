//! The defence land-use plan 2021–2030 (issue 24 §2): what a defence land parcel's plan
//! record holds and the rules on it. Pure.

use chrono::NaiveDate;

use super::{LandLegalStatus, LandUse, LAND_FIVE_YEARS};

/// A parcel's plan as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct LandPlan {
    pub five_year: String,
    pub current_use: LandUse,
    pub planned_use: LandUse,
    pub legal_status: LandLegalStatus,
    /// The approving decision's number and date, given together or not at all.
    pub decision: Option<(String, NaiveDate)>,
}

/// What is wrong with `plan` (field, Vietnamese, English), decided no later than `today`.
pub fn check(plan: &LandPlan, today: NaiveDate) -> Vec<(&'static str, String, String)> {
    let mut wrong = Vec::new();
    if !LAND_FIVE_YEARS.contains(&plan.five_year.as_str()) {
        wrong.push((
            "five_year",
            format!(
                "Kỳ kế hoạch “{}” không hợp lệ: 2021-2025 hoặc 2026-2030.",
                plan.five_year
            ),
            format!(
                "the 5-year period '{}' is not 2021-2025 or 2026-2030",
                plan.five_year
            ),
        ));
    }
    if let Some((number, date)) = &plan.decision {
        if number.trim().is_empty() || number.chars().count() > 100 {
            wrong.push((
                "decision_no",
                "Số quyết định từ 1 đến 100 ký tự.".into(),
                "the decision's number has 1 to 100 characters".into(),
            ));
        }
        if *date > today {
            wrong.push((
                "decision_date",
                "Ngày quyết định ở tương lai.".into(),
                "the decision's date is in the future".into(),
            ));
        }
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_needs_a_known_period_and_a_past_decision() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let mut plan = LandPlan {
            five_year: "2021-2025".into(),
            current_use: LandUse::Agriculture,
            planned_use: LandUse::Training,
            legal_status: LandLegalStatus::InProgress,
            decision: Some((
                "12/QĐ-UBND".into(),
                NaiveDate::from_ymd_opt(2022, 3, 1).unwrap(),
            )),
        };
        assert!(check(&plan, today).is_empty());
        plan.five_year = "2031-2035".into();
        plan.decision = Some((" ".into(), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
        let fields: Vec<_> = check(&plan, today).iter().map(|w| w.0).collect();
        assert_eq!(fields, ["five_year", "decision_no", "decision_date"]);
    }
}
