//! Dates as people type them, and `as_of`: the day a view is asked for.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::ParamError;

/// A date as engineers type it: 31/12/2024 or 2024-12-31.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d"))
        .ok()
}

/// An `as_of` parameter: a past date (yyyy-mm-dd or dd/mm/yyyy); today or blank means
/// now (`None`); the future or before 2000 is refused with the reason.
pub fn parse_as_of(text: Option<&str>) -> Result<Option<NaiveDate>, ParamError> {
    let Some(text) = text.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let refused = |en: String, vi: String| ParamError::new("as_of", en).vi(vi);
    let day = parse_date(text).ok_or_else(|| {
        refused(
            format!("'{text}' is not a date (yyyy-mm-dd or dd/mm/yyyy)"),
            format!("'{text}' không phải là ngày (yyyy-mm-dd hoặc dd/mm/yyyy)."),
        )
    })?;
    let today = crate::i18n::today_in_vietnam();
    if day > today {
        return Err(refused(
            format!("{day} is in the future"),
            format!("ngày {day} ở tương lai; hãy chọn hôm nay hoặc một ngày đã qua."),
        ));
    }
    if day.year() < 2000 {
        return Err(refused(
            format!("{day} is before the programme"),
            format!("ngày {day} trước khi chương trình bắt đầu."),
        ));
    }
    Ok((day < today).then_some(day))
}

/// The first moment after `day` ends in Vietnam (UTC+7): "as of" a day means at its end.
pub fn cutoff_of(day: NaiveDate) -> Option<DateTime<Utc>> {
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(next.and_utc() - chrono::Duration::hours(7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_typed_and_as_of_within_the_programme() {
        assert_eq!(parse_date("31/12/2024"), "2024-12-31".parse().ok());
        assert_eq!(parse_date(" 2024-12-31 "), "2024-12-31".parse().ok());
        assert_eq!(parse_date("12/31/2024"), None);
        assert_eq!(parse_as_of(Some(" ")), Ok(None));
        assert_eq!(
            parse_as_of(Some("01/06/2023")),
            Ok("2023-06-01".parse().ok())
        );
        for bad in ["2999-01-01", "1999-12-31", "hôm qua"] {
            let e = parse_as_of(Some(bad)).unwrap_err();
            assert_eq!(e.param, "as_of");
            assert!(e.vi.is_some(), "{bad}");
        }
    }
}
