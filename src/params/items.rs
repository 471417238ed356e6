//! The query parameters of `/collections/{id}/items` (and of exports, which take the same
//! filters), read strictly: an unknown, repeated or malformed parameter is an error that
//! names it and says why.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::ParamError;
use crate::domain::{Programme, SiteKind, SiteStatus};
use crate::spatial::crs::{Bbox, Crs};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 10_000;
/// Offsets past this are refused: paging that deep is an export's job.
pub const MAX_OFFSET: i64 = 10_000_000;

/// The parameters every items request may carry; site collections add the filters.
pub const COMMON_PARAMS: &[&str] = &["f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs"];
pub const SITE_PARAMS: &[&str] = &[
    "datetime",
    "kind",
    "status",
    "district",
    "phase",
    "programme",
    "q",
    "filter",
    "filter-lang",
    "filter-crs",
];

/// A half-open or closed time interval on the site's last update; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub start: Option<DateTime<Utc>>,
    /// Inclusive.
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub f: Option<String>,
    pub lang: Option<String>,
    pub limit: i64,
    pub offset: i64,
    pub bbox: Option<Bbox>,
    pub crs: Crs,
    pub datetime: Option<Interval>,
    pub kinds: Vec<SiteKind>,
    pub statuses: Vec<SiteStatus>,
    pub districts: Vec<String>,
    pub phases: Vec<i16>,
    /// Schemes (issue 24 §3): the 2017–2020 and 2021–2025 schemes, the Military Region's
    /// roadmap.
    pub programmes: Vec<Programme>,
    pub q: Option<String>,
    /// A CQL2 `filter` (OGC API – Features Part 3) on the works.
    pub filter: Option<super::filter::Filter>,
}

impl ItemsQuery {
    /// Reads `pairs`, accepting only the names in `allowed`.
    pub fn parse(pairs: &[(String, String)], allowed: &[&str]) -> Result<Self, ParamError> {
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in pairs {
            if !allowed.contains(&name.as_str()) {
                return Err(ParamError::new(
                    name.as_str(),
                    format!(
                        "unknown parameter; this collection takes {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if seen.contains(&name.as_str()) {
                return Err(ParamError::new(
                    name.as_str(),
                    "given more than once; give it once (lists are comma-separated)",
                ));
            }
            seen.push(name);
        }
        // An empty value (`datetime=`) is as if the parameter were not given.
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, v)| n == name && !v.trim().is_empty())
                .map(|(_, v)| v.as_str())
        };
        // Numbers come from links and scripts, never from a form's empty box: `offset=` is
        // a mistake to name, not a default.
        let number = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let crs = match get("crs") {
            Some(v) => Crs::parse(v).map_err(|e| ParamError::new("crs", e.to_string()))?,
            None => Crs::Crs84,
        };
        let bbox_crs = match get("bbox-crs") {
            Some(v) => Crs::parse(v).map_err(|e| ParamError::new("bbox-crs", e.to_string()))?,
            None => Crs::Crs84,
        };
        for name in ["filter-lang", "filter-crs"] {
            if get(name).is_some() && get("filter").is_none() {
                return Err(ParamError::new(
                    name,
                    "given without filter; it says how the filter is written",
                ));
            }
        }
        if get("bbox-crs").is_some() && get("bbox").is_none() {
            return Err(ParamError::new(
                "bbox-crs",
                "given without bbox; it says which CRS the bbox is in",
            ));
        }
        Ok(ItemsQuery {
            f: get("f").map(str::to_string),
            lang: get("lang").map(str::to_string),
            limit: match number("limit") {
                Some(v) => parse_int("limit", v, 1, i64::MAX)?.min(MAX_LIMIT),
                None => DEFAULT_LIMIT,
            },
            offset: match number("offset") {
                Some(v) => parse_int("offset", v, 0, MAX_OFFSET)?,
                None => 0,
            },
            bbox: get("bbox")
                .map(|v| super::bbox::parse_bbox(v, bbox_crs))
                .transpose()?,
            crs,
            datetime: get("datetime").map(parse_datetime).transpose()?,
            kinds: list("kind", get("kind"), |v| {
                SiteKind::from_code(v)
                    .filter(|k| k.is_placed())
                    .ok_or_else(|| {
                        let known: Vec<&str> = SiteKind::PLACED.iter().map(|k| k.code()).collect();
                        format!("no kind '{v}'; kinds are {}", known.join(", "))
                    })
            })?,
            statuses: list("status", get("status"), |v| {
                SiteStatus::from_code(v).ok_or_else(|| {
                    let known: Vec<&str> = SiteStatus::ALL.iter().map(|s| s.code()).collect();
                    format!("no status '{v}'; statuses are {}", known.join(", "))
                })
            })?,
            districts: list("district", get("district"), |v| Ok(v.to_string()))?,
            phases: list("phase", get("phase"), |v| {
                v.parse::<i16>()
                    .ok()
                    .filter(|p| (1..=9).contains(p))
                    .ok_or_else(|| format!("phases are whole numbers 1 to 9, not '{v}'"))
            })?,
            programmes: list("programme", get("programme"), |v| {
                Programme::from_code(v).ok_or_else(|| {
                    let known: Vec<&str> = Programme::ALL.iter().map(|p| p.code()).collect();
                    format!("no programme '{v}'; programmes are {}", known.join(", "))
                })
            })?,
            q: match get("q").map(str::trim) {
                Some("") => return Err(ParamError::new("q", "is empty")),
                Some(v) if v.chars().count() > 100 => {
                    return Err(ParamError::new("q", "is longer than 100 characters"))
                }
                other => other.map(str::to_string),
            },
            filter: get("filter")
                .map(|f| {
                    super::filter::parse(
                        f,
                        get("filter-lang"),
                        get("filter-crs"),
                        super::filter::SITE_QUERYABLES,
                    )
                })
                .transpose()?,
        })
    }
}

fn parse_int(name: &str, value: &str, min: i64, max: i64) -> Result<i64, ParamError> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| ParamError::new(name, format!("must be a whole number, not '{value}'")))?;
    if n < min || n > max {
        return Err(ParamError::new(
            name,
            if max == i64::MAX {
                format!("must be at least {min}, not {n}")
            } else {
                format!("must be between {min} and {max}, not {n}")
            },
        ));
    }
    Ok(n)
}

/// A comma-separated list, each item checked by `item`.
fn list<T>(
    name: &str,
    value: Option<&str>,
    item: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, ParamError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .map(|v| {
            if v.is_empty() {
                Err(ParamError::new(name, "has an empty item"))
            } else {
                item(v).map_err(|reason| ParamError::new(name, reason))
            }
        })
        .collect()
}

/// RFC 3339 instants, dates (the whole day) and intervals `start/end` with `..` or an
/// empty side for an open end.
pub fn parse_datetime(value: &str) -> Result<Interval, ParamError> {
    let bad = |reason: String| ParamError::new("datetime", reason);
    if let Some((start, end)) = value.split_once('/') {
        let open = |s: &str| s.is_empty() || s == "..";
        if open(start) && open(end) {
            return Err(bad("an interval needs at least one end".into()));
        }
        let start = if open(start) {
            None
        } else {
            Some(instant(start).map_err(&bad)?.0)
        };
        let end = if open(end) {
            None
        } else {
            Some(instant(end).map_err(&bad)?.1)
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(bad("the interval ends before it starts".into()));
            }
        }
        Ok(Interval { start, end })
    } else {
        let (start, end) = instant(value).map_err(bad)?;
        Ok(Interval {
            start: Some(start),
            end: Some(end),
        })
    }
}

/// The first and last moment an instant or date stands for.
fn instant(value: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        let t = t.with_timezone(&Utc);
        return Ok((t, t));
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = d.and_time(NaiveTime::MIN).and_utc();
        let end = start + chrono::Duration::days(1) - chrono::Duration::microseconds(1);
        return Ok((start, end));
    }
    Err(format!(
        "'{value}' is neither an RFC 3339 time (2024-05-01T00:00:00Z) nor a date (2024-05-01)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ItemsQuery, ParamError> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        let allowed: Vec<&str> = COMMON_PARAMS.iter().chain(SITE_PARAMS).copied().collect();
        ItemsQuery::parse(&pairs, &allowed)
    }

    fn field_of(err: ParamError) -> String {
        err.param
    }

    #[test]
    fn defaults_and_clamped_limit() {
        let q = parse("").unwrap();
        assert_eq!((q.limit, q.offset, q.crs), (100, 0, Crs::Crs84));
        assert_eq!(parse("limit=50000").unwrap().limit, MAX_LIMIT);
        assert_eq!(parse("limit=7&offset=3").unwrap().offset, 3);
    }

    #[test]
    fn refuses_bad_values_naming_the_parameter() {
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=-5", "limit"),
            ("limit=ten", "limit"),
            ("offset=-1", "offset"),
            ("offset=", "offset"),
            ("limit=", "limit"),
            ("offset=99999999999999999999", "offset"),
            ("bbox=1,2,3", "bbox"),
            ("bbox=106,11,105,12", "bbox"),
            ("bbox=106,12,107,11", "bbox"),
            ("bbox=NaN,1,2,3", "bbox"),
            ("bbox=inf,1,2,3", "bbox"),
            ("bbox=0,-95,1,1", "bbox"),
            ("bbox-crs=EPSG:4326", "bbox-crs"),
            ("bbox=1,2,3,4&bbox-crs=EPSG:1234", "bbox-crs"),
            ("crs=EPSG:32648", "crs"),
            ("datetime=yesterday", "datetime"),
            ("datetime=../..", "datetime"),
            ("datetime=2025-01-02/2024-01-01", "datetime"),
            ("kind=bunker", "kind"),
            ("status=done", "status"),
            ("status=planned,", "status"),
            ("phase=0", "phase"),
            ("phase=x", "phase"),
            ("colour=red", "colour"),
            ("limit=1&limit=2", "limit"),
        ] {
            assert_eq!(field_of(parse(query).unwrap_err()), field, "{query}");
        }
    }

    #[test]
    fn empty_values_are_as_if_not_given() {
        let q = parse("q=&datetime=&bbox=&crs=&kind=&status=").unwrap();
        assert!(q.q.is_none() && q.datetime.is_none() && q.bbox.is_none());
        assert!(q.kinds.is_empty() && q.statuses.is_empty());
    }

    #[test]
    fn bbox_in_a_plane_crs_is_cut_to_its_domain() {
        let q = parse("bbox=-7.6e249,-1.4e221,-6.5e16,-5.3e15&bbox-crs=EPSG:9209").unwrap();
        assert_eq!(q.bbox.unwrap().xy(), [-1e7, -1e7, -1e7, -1e7]);
        let q = parse("bbox=400000,1200000,500000,1300000&bbox-crs=EPSG:9209").unwrap();
        assert_eq!(q.bbox.unwrap().xy(), [4e5, 1.2e6, 5e5, 1.3e6]);
    }

    #[test]
    fn bbox_in_latitude_first_crs_is_turned_to_xy() {
        let q = parse("bbox=11,106,12,107&bbox-crs=EPSG:4326").unwrap();
        assert_eq!(q.bbox.unwrap().xy(), [106.0, 11.0, 107.0, 12.0]);
        let q = parse("bbox=106,11,0,107,12,10").unwrap();
        assert_eq!(q.bbox.unwrap().xy(), [106.0, 11.0, 107.0, 12.0]);
    }

    #[test]
    fn datetimes_instants_dates_and_open_intervals() {
        let day = parse_datetime("2024-03-01").unwrap();
        assert_eq!(day.start.unwrap().to_rfc3339(), "2024-03-01T00:00:00+00:00");
        assert!(day.end.unwrap() < "2024-03-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let open = parse_datetime("../2024-03-01T10:00:00+07:00").unwrap();
        assert_eq!(open.start, None);
        assert_eq!(open.end.unwrap().to_rfc3339(), "2024-03-01T03:00:00+00:00");
        let open = parse_datetime("2024-01-01/").unwrap();
        assert_eq!(open.end, None);
    }

    #[test]
    fn lists_are_comma_separated() {
        let q = parse("kind=warehouse,workshop&status=planned&phase=1,2&district=TBI,705").unwrap();
        assert_eq!(q.kinds, vec![SiteKind::Warehouse, SiteKind::Workshop]);
        assert_eq!(q.statuses, vec![SiteStatus::Planned]);
        assert_eq!(q.phases, vec![1, 2]);
        assert_eq!(q.districts, vec!["TBI".to_string(), "705".to_string()]);
    }
}
