//! Languages of the pages (Vietnamese first, English available) and the number
//! and date formats each uses.

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// From a `lang` query parameter; anything but "en" is Vietnamese.
    pub fn from_param(param: Option<&str>) -> Self {
        match param {
            Some("en") => Lang::En,
            _ => Lang::Vi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// Whole numbers with thousands separators: "1.234.567" in Vietnamese, "1,234,567" in English.
pub fn format_int(value: i64, lang: Lang) -> String {
    let sep = match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    };
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// An amount of đồng in millions ("triệu đồng", as official reports' tables give money),
/// to the thousand đồng: "4.774", "1.234,5", "0,001"; "1.234,5" is 1 234 500 000 đồng.
pub fn format_million_vnd(vnd: i64, lang: Lang) -> String {
    let thousands = (vnd.unsigned_abs() + 500) / 1000;
    let (whole, fraction) = (thousands / 1000, thousands % 1000);
    let sign = if vnd < 0 && thousands > 0 { "-" } else { "" };
    let whole = format_int(whole as i64, lang);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let point = match lang {
        Lang::Vi => ',',
        Lang::En => '.',
    };
    let fraction = format!("{fraction:03}");
    format!("{sign}{whole}{point}{}", fraction.trim_end_matches('0'))
}

/// dd/mm/yyyy in Vietnamese pages, ISO 8601 in English ones.
pub fn format_date(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Vi => date.format("%d/%m/%Y").to_string(),
        Lang::En => date.format("%Y-%m-%d").to_string(),
    }
}

/// A number with `places` decimals, with a decimal comma in Vietnamese: "12,35".
pub fn format_decimal(value: f64, places: usize, lang: Lang) -> String {
    let text = format!("{value:.places$}");
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A date as forms show it and engineers type it, whatever the page's language: dd/mm/yyyy.
pub fn typed_date(date: Option<NaiveDate>) -> String {
    date.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

/// Lower case without Vietnamese diacritics (đ → d): what a search typed on a phone
/// without a Vietnamese keyboard compares.
pub fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
        .replace('đ', "d")
}

/// The day a moment falls on in Vietnam (UTC+7).
pub fn day_in_vietnam(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(7)).date_naive()
}

/// Today's date in Vietnam (UTC+7), whatever the server's time zone: "dates not in the
/// future" means the engineer's today.
pub fn today_in_vietnam() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millions_of_dong_keep_the_thousands() {
        let m = |v| format_million_vnd(v, Lang::Vi);
        assert_eq!(m(4_774_000_000), "4.774");
        assert_eq!(m(1_234_500_000), "1.234,5");
        assert_eq!(m(1_000), "0,001");
        assert_eq!(m(499), "0");
        assert_eq!(m(1_999_999_600), "2.000");
        assert_eq!(m(-2_500_000), "-2,5");
        assert_eq!(format_million_vnd(1_234_560_000, Lang::En), "1,234.56");
    }

    #[test]
    fn search_ignores_case_and_diacritics() {
        assert_eq!(folded("Đường cơ động Tân Biên"), "duong co dong tan bien");
    }

    #[test]
    fn thousands_separators_follow_the_language() {
        assert_eq!(format_int(1_234_567, Lang::Vi), "1.234.567");
        assert_eq!(format_int(1_234_567, Lang::En), "1,234,567");
        assert_eq!(format_int(-1000, Lang::Vi), "-1.000");
        assert_eq!(format_int(999, Lang::Vi), "999");
        assert_eq!(format_int(0, Lang::En), "0");
    }

    #[test]
    fn vietnamese_dates_are_day_month_year() {
        let date = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        assert_eq!(format_date(date, Lang::Vi), "31/12/2023");
        assert_eq!(format_date(date, Lang::En), "2023-12-31");
    }
}
