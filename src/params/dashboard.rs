//! What a dashboard is asked for: a day (`as_of`) and the thresholds of its consistency
//! flags (`ahead`: percentage points of progress ahead of money; `stale`: days without an
//! update).

use chrono::NaiveDate;

use super::{parse_as_of, ParamError};

/// A dashboard's parameters, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardQuery {
    pub as_of: Option<NaiveDate>,
    pub ahead_points: i32,
    pub stale_days: i32,
}

impl DashboardQuery {
    /// Reads the three parameters; a blank threshold is the deployment's `defaults`
    /// (ahead points, stale days).
    pub fn parse(
        as_of: Option<&str>,
        ahead: Option<&str>,
        stale: Option<&str>,
        defaults: (i32, i32),
    ) -> Result<Self, ParamError> {
        Ok(Self {
            as_of: parse_as_of(as_of)?,
            ahead_points: whole("ahead", ahead, defaults.0, 100)?,
            stale_days: whole("stale", stale, defaults.1, 3650)?,
        })
    }
}

/// A whole number from 1 to `max`, `default` when blank.
fn whole(name: &str, value: Option<&str>, default: i32, max: i32) -> Result<i32, ParamError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(t) => t
            .parse::<i32>()
            .ok()
            .filter(|v| (1..=max).contains(v))
            .ok_or_else(|| {
                ParamError::new(name, format!("'{t}' is not a whole number from 1 to {max}"))
                    .vi(format!("{t} không phải số nguyên từ 1 đến {max}."))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_whole_numbers_in_range_or_the_defaults() {
        let q = DashboardQuery::parse(None, Some(" "), None, (20, 90)).unwrap();
        assert_eq!((q.as_of, q.ahead_points, q.stale_days), (None, 20, 90));
        let q = DashboardQuery::parse(None, Some("35"), Some("3650"), (20, 90)).unwrap();
        assert_eq!((q.ahead_points, q.stale_days), (35, 3650));
        for (ahead, stale, param) in [
            ("0", "1", "ahead"),
            ("101", "1", "ahead"),
            ("5", "x", "stale"),
        ] {
            let e = DashboardQuery::parse(None, Some(ahead), Some(stale), (20, 90)).unwrap_err();
            assert_eq!(e.param, param);
            assert!(e.vi.is_some());
        }
    }
}
