//! What a dashboard is asked for: a day (`as_of`), the thresholds of its consistency
//! flags (`ahead`: percentage points of progress ahead of money; `stale`: days without an
//! update) and its scope (`programme`, `district`, `kind`).

use chrono::NaiveDate;

use super::{parse_as_of, ParamError};
use crate::domain::{Programme, SiteKind};

/// A dashboard's parameters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    pub as_of: Option<NaiveDate>,
    pub ahead_points: i32,
    pub stale_days: i32,
    pub scope: Scope,
}

/// The works a dashboard (or a report) covers: every work the caller may see, or those of
/// one programme, one district (its GSO code), one kind, or where these meet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub programme: Option<Programme>,
    pub district: Option<String>,
    pub kind: Option<SiteKind>,
}

impl Scope {
    /// Reads `programme`, `district` and `kind`; blank is "all".
    pub fn parse(
        programme: Option<&str>,
        district: Option<&str>,
        kind: Option<&str>,
    ) -> Result<Self, ParamError> {
        let programme = given(programme)
            .map(|v| {
                Programme::from_code(v).ok_or_else(|| {
                    let known: Vec<&str> = Programme::ALL.iter().map(|p| p.code()).collect();
                    ParamError::new(
                        "programme",
                        format!("no programme '{v}'; programmes are {}", known.join(", ")),
                    )
                    .vi(format!(
                        "không có chương trình '{v}'; các chương trình: {}.",
                        known.join(", ")
                    ))
                })
            })
            .transpose()?;
        let district = given(district)
            .map(|v| {
                if !v.is_empty() && v.len() <= 5 && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(v.to_string())
                } else {
                    Err(
                        ParamError::new("district", format!("'{v}' is not a district code"))
                            .vi(format!("'{v}' không phải mã huyện.")),
                    )
                }
            })
            .transpose()?;
        let kind = given(kind)
            .map(|v| {
                SiteKind::from_code(v).ok_or_else(|| {
                    ParamError::new("kind", format!("no kind of work '{v}'"))
                        .vi(format!("không có loại công trình '{v}'."))
                })
            })
            .transpose()?;
        Ok(Self {
            programme,
            district,
            kind,
        })
    }

    /// Whether this is every work.
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }

    /// The scope as query parameters (`&programme=…`), empty for all.
    pub fn query(&self) -> String {
        let mut q = String::new();
        if let Some(p) = self.programme {
            q.push_str(&format!("&programme={}", p.code()));
        }
        if let Some(d) = &self.district {
            q.push_str(&format!("&district={d}"));
        }
        if let Some(k) = self.kind {
            q.push_str(&format!("&kind={}", k.code()));
        }
        q
    }
}

impl DashboardQuery {
    /// Reads the three parameters; a blank threshold is the deployment's `defaults`
    /// (ahead points, stale days).
    pub fn parse(
        as_of: Option<&str>,
        ahead: Option<&str>,
        stale: Option<&str>,
        defaults: (i32, i32),
        scope: Scope,
    ) -> Result<Self, ParamError> {
        Ok(Self {
            as_of: parse_as_of(as_of)?,
            ahead_points: whole("ahead", ahead, defaults.0, 100)?,
            stale_days: whole("stale", stale, defaults.1, 3650)?,
            scope,
        })
    }
}

/// `counted`: the figures of the engineers' updates approved only (`approved`, the default)
/// or those waiting for review too (`submitted`; only for a dashboard of now).
pub fn parse_counted(value: Option<&str>, as_of: Option<NaiveDate>) -> Result<bool, ParamError> {
    match given(value) {
        None | Some("approved") => Ok(false),
        Some("submitted") if as_of.is_none() => Ok(true),
        Some("submitted") => Err(ParamError::new(
            "counted",
            "updates waiting for review are counted only in the figures of now, not as of a day",
        )
        .vi("chỉ tính cập nhật chờ duyệt cho số liệu hiện tại, không cho một ngày đã qua")),
        Some(v) => Err(
            ParamError::new("counted", format!("'{v}' is not approved or submitted")).vi(format!(
                "“{v}” không phải approved (đã duyệt) hay submitted (tính cả chờ duyệt)"
            )),
        ),
    }
}

/// The trimmed value, `None` when blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
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
        let all = Scope::default;
        let q = DashboardQuery::parse(None, Some(" "), None, (20, 90), all()).unwrap();
        assert_eq!((q.as_of, q.ahead_points, q.stale_days), (None, 20, 90));
        let q = DashboardQuery::parse(None, Some("35"), Some("3650"), (20, 90), all()).unwrap();
        assert_eq!((q.ahead_points, q.stale_days), (35, 3650));
        for (ahead, stale, param) in [
            ("0", "1", "ahead"),
            ("101", "1", "ahead"),
            ("5", "x", "stale"),
        ] {
            let e =
                DashboardQuery::parse(None, Some(ahead), Some(stale), (20, 90), all()).unwrap_err();
            assert_eq!(e.param, param);
            assert!(e.vi.is_some());
        }
    }

    #[test]
    fn a_scope_is_a_known_programme_district_code_and_kind_or_all() {
        let s = Scope::parse(Some("kvpt_2017_2020"), Some(" 705 "), Some("warehouse")).unwrap();
        assert_eq!(s.programme, Some(Programme::Kvpt2017));
        assert_eq!(s.district.as_deref(), Some("705"));
        assert_eq!(
            s.query(),
            "&programme=kvpt_2017_2020&district=705&kind=warehouse"
        );
        assert!(Scope::parse(Some(""), None, Some(" ")).unwrap().is_all());
        for (p, d, k, param) in [
            (Some("kvpt_2030"), None, None, "programme"),
            (None, Some("70x"), None, "district"),
            (None, Some("123456"), None, "district"),
            (None, None, Some("castle"), "kind"),
        ] {
            let e = Scope::parse(p, d, k).unwrap_err();
            assert_eq!(e.param, param);
            assert!(e.vi.is_some());
        }
    }
}
