//! The planners' figures, now or as they stood on any past date, rebuilt from the
//! progress and budget histories (`sql/queries/dashboard_*.sql`).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use super::DbError;
use crate::domain::Classification;

const NOW: &str = include_str!("../../sql/queries/dashboard_now.sql");
const AS_OF: &str = include_str!("../../sql/queries/dashboard_as_of.sql");
const FLAGS_SQL: &str = include_str!("../../sql/queries/dashboard_flags.sql");
const SUMMARY: &str = include_str!("../../sql/queries/dashboard_summary.sql");

/// What a dashboard is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub clearance: Classification,
    /// `None`: now.
    pub as_of: Option<NaiveDate>,
    /// Disbursement (share of estimate) ahead of physical progress by more than this
    /// (0.3 = 30 points) is flagged.
    pub ahead_threshold: f64,
    /// Works not updated for this many days are flagged.
    pub stale_days: i32,
}

/// The first moment after `day` ends in Vietnam (UTC+7): "as of" a day means at its end.
pub fn cutoff_of(day: NaiveDate) -> Option<DateTime<Utc>> {
    let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
    Some(next.and_utc() - chrono::Duration::hours(7))
}

/// An `as_of` parameter: a past date (yyyy-mm-dd or dd/mm/yyyy); today or blank means
/// now (`None`); the future or before 2000 is refused with the reason.
pub fn parse_as_of(text: Option<&str>) -> Result<Option<NaiveDate>, String> {
    let Some(text) = text.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let day = crate::progress::bulk::parse_date(text)
        .ok_or_else(|| format!("'{text}' is not a date (yyyy-mm-dd or dd/mm/yyyy)"))?;
    let today = crate::i18n::today_in_vietnam();
    if day > today {
        return Err(format!("{day} is in the future"));
    }
    if day.year() < 2000 {
        return Err(format!("{day} is before the programme"));
    }
    Ok((day < today).then_some(day))
}

/// The five parameters every dashboard query starts with, owned so they can be lent.
struct Bound {
    clearance: &'static str,
    cutoff: Option<DateTime<Utc>>,
    day: NaiveDate,
    ahead: f64,
    stale: i32,
}

type Arg<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

impl Bound {
    /// $1–$5, then `more` as $6…
    fn args<'a>(&'a self, more: &[Arg<'a>]) -> Vec<Arg<'a>> {
        let mut args: Vec<Arg<'a>> = vec![
            &self.clearance,
            &self.cutoff,
            &self.day,
            &self.ahead,
            &self.stale,
        ];
        args.extend_from_slice(more);
        args
    }
}

impl Params {
    /// The start of every dashboard query: where each visible work stands (now, or as
    /// of the date) with its budget and flags (`state`, `budget`, `site_budget`, `plan`,
    /// `flagged`).
    fn state(&self) -> String {
        let start = if self.as_of.is_some() { AS_OF } else { NOW };
        format!("{start}{FLAGS_SQL}")
    }

    fn bound(&self) -> Bound {
        Bound {
            clearance: self.clearance.code(),
            cutoff: self.cutoff(),
            day: self.day(),
            ahead: self.ahead_threshold,
            stale: self.stale_days,
        }
    }

    /// The first moment after the as-of day, in Vietnam (UTC+7).
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        self.as_of.and_then(cutoff_of)
    }

    pub fn day(&self) -> NaiveDate {
        self.as_of.unwrap_or_else(crate::i18n::today_in_vietnam)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupRow {
    pub key: String,
    #[serde(default)]
    pub name: String,
    pub total: i64,
    pub planned: i64,
    pub design: i64,
    pub under_construction: i64,
    pub completed: i64,
    pub handed_over: i64,
    pub suspended: i64,
    pub cancelled: i64,
    pub mean_pct: Option<f64>,
    pub weighted_pct: Option<f64>,
    pub late: i64,
}

impl GroupRow {
    /// (status code, count) in the statuses' order.
    pub fn counts(&self) -> [(&'static str, i64); 7] {
        [
            ("planned", self.planned),
            ("design", self.design),
            ("under_construction", self.under_construction),
            ("completed", self.completed),
            ("handed_over", self.handed_over),
            ("suspended", self.suspended),
            ("cancelled", self.cancelled),
        ]
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    pub total: i64,
    pub late: i64,
    pub done: i64,
    pub mean_pct: Option<f64>,
    pub weighted_pct: Option<f64>,
    pub estimate: Option<i64>,
    pub allocated: Option<i64>,
    pub disbursed: Option<i64>,
    pub settled: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlanRow {
    pub year: i16,
    pub source: String,
    pub estimate: i64,
    pub allocated: i64,
    pub disbursed: i64,
    pub settled: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flags {
    pub ahead: i64,
    pub settled_not_done: i64,
    pub done_nothing_disbursed: i64,
    pub stale: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Search {
    pub districts_total: i64,
    pub districts_done: i64,
    pub communes_total: i64,
    pub communes_done: i64,
    pub zones: i64,
    pub zones_concluded: i64,
    pub zone_area_ha: f64,
    pub concluded_area_ha: f64,
    pub remains_expected: i64,
    pub remains_found: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dashboard {
    pub by_kind: Vec<GroupRow>,
    pub by_district: Vec<GroupRow>,
    pub totals: Totals,
    pub plan: Vec<PlanRow>,
    pub flags: Flags,
    pub search: Search,
}

/// The consistency flags, by the name used in URLs.
pub const FLAGS: [&str; 4] = [
    "ahead",
    "settled_not_done",
    "done_nothing_disbursed",
    "stale",
];

pub async fn summary(client: &impl GenericClient, p: &Params) -> Result<Dashboard, DbError> {
    let sql = format!("{}\n{SUMMARY}", p.state());
    let statement = client.prepare_cached(&sql).await?;
    let bound = p.bound();
    let row = client.query_one(&statement, &bound.args(&[])).await?;
    let text: String = row.get(0);
    serde_json::from_str(&text).map_err(|e| DbError::Data(format!("dashboard document: {e}")))
}

/// One work in a drill-down or a flag's list.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub district: String,
    pub status: String,
    pub pct: i16,
    pub estimate: i64,
    pub allocated: i64,
    pub disbursed: i64,
    pub settled: i64,
    pub last_update: Option<DateTime<Utc>>,
}

const SITE_ROW: &str =
    "SELECT f.code, f.name, f.kind, coalesce(dd.short_name, ''), f.status::text, f.pct,
        f.e, f.a, f.d, f.s, f.last_update
   FROM flagged f LEFT JOIN admin_unit dd ON dd.id = f.district_id";

fn site_rows(rows: &[tokio_postgres::Row]) -> Vec<SiteRow> {
    rows.iter()
        .map(|r| SiteRow {
            code: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            district: r.get(3),
            status: r.get(4),
            pct: r.get(5),
            estimate: r.get(6),
            allocated: r.get(7),
            disbursed: r.get(8),
            settled: r.get(9),
            last_update: r.get(10),
        })
        .collect()
}

/// The works raising `flag` (one of [`FLAGS`]), at most `limit`.
pub async fn flagged(
    client: &impl GenericClient,
    p: &Params,
    flag: &str,
    limit: i64,
) -> Result<Vec<SiteRow>, DbError> {
    let flag = FLAGS
        .iter()
        .find(|f| **f == flag)
        .ok_or_else(|| DbError::Data(format!("no flag '{flag}'")))?;
    let sql = format!(
        "{}\n{SITE_ROW} WHERE f.{flag} ORDER BY f.code LIMIT $6",
        p.state()
    );
    let bound = p.bound();
    let rows = client.query(&sql, &bound.args(&[&limit])).await?;
    Ok(site_rows(&rows))
}

/// The plan of one year × source by district: (district code, name, estimate, allocated,
/// disbursed, settled).
pub async fn plan_by_district(
    client: &impl GenericClient,
    p: &Params,
    year: i16,
    source: &str,
) -> Result<Vec<(String, String, PlanRow)>, DbError> {
    let sql = format!(
        "{}
         SELECT coalesce(d.code, ''), coalesce(d.short_name, ''), sum(b.estimate_vnd)::int8, sum(b.allocated_vnd)::int8,
                sum(b.disbursed_vnd)::int8, sum(b.settled_vnd)::int8
           FROM budget b JOIN state st ON st.id = b.site_id
           LEFT JOIN admin_unit d ON d.id = st.district_id
          WHERE b.year = $6 AND b.source = $7::text::funding_source
          GROUP BY 1, 2 ORDER BY 1",
        p.state()
    );
    let bound = p.bound();
    let rows = client.query(&sql, &bound.args(&[&year, &source])).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                PlanRow {
                    year,
                    source: source.to_string(),
                    estimate: r.get(2),
                    allocated: r.get(3),
                    disbursed: r.get(4),
                    settled: r.get(5),
                },
            )
        })
        .collect())
}

/// The works of one district (code, "" for abroad) in one year × source of the plan.
pub async fn plan_sites(
    client: &impl GenericClient,
    p: &Params,
    year: i16,
    source: &str,
    district: &str,
) -> Result<Vec<SiteRow>, DbError> {
    let sql = format!(
        "{}
         SELECT f.code, f.name, f.kind, coalesce(dd.short_name, ''), f.status::text, f.pct,
                b.estimate_vnd, b.allocated_vnd, b.disbursed_vnd, b.settled_vnd, f.last_update
           FROM flagged f JOIN budget b ON b.site_id = f.id
           LEFT JOIN admin_unit dd ON dd.id = f.district_id
          WHERE b.year = $6 AND b.source = $7::text::funding_source AND coalesce(dd.code, '') = $8
          ORDER BY b.estimate_vnd DESC, f.code LIMIT 1000",
        p.state()
    );
    let bound = p.bound();
    let rows = client
        .query(&sql, &bound.args(&[&year, &source, &district]))
        .await?;
    Ok(site_rows(&rows))
}

/// The public disclosure: the aggregate budget by year and source, public and classified
/// works alike (as amounts, never as sites), now.
pub async fn public_budget(client: &impl GenericClient) -> Result<Vec<PlanRow>, DbError> {
    let rows = client
        .query(
            "SELECT year, source::text, sum(estimate_vnd)::int8, sum(allocated_vnd)::int8,
                    sum(disbursed_vnd)::int8, sum(settled_vnd)::int8
               FROM budget_line GROUP BY year, source ORDER BY year, source",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PlanRow {
            year: r.get(0),
            source: r.get(1),
            estimate: r.get(2),
            allocated: r.get(3),
            disbursed: r.get(4),
            settled: r.get(5),
        })
        .collect())
}
