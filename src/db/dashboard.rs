//! The planners' figures, now or as they stood on any past date, rebuilt from the
//! progress and budget histories (`sql/queries/dashboard_*.sql`).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use super::DbError;
use crate::domain::Classification;
pub use crate::params::dashboard::Scope;

const NOW: &str = include_str!("../../sql/queries/dashboard_now.sql");
const AS_OF: &str = include_str!("../../sql/queries/dashboard_as_of.sql");
const FLAGS_SQL: &str = include_str!("../../sql/queries/dashboard_flags.sql");
const CELLS: &str = include_str!("../../sql/queries/dashboard_cells.sql");

/// What a dashboard is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub clearance: Classification,
    /// `None`: now.
    pub as_of: Option<NaiveDate>,
    /// Disbursement (share of estimate) ahead of physical progress by more than this
    /// (0.3 = 30 points) is flagged.
    pub ahead_threshold: f64,
    /// Works not updated for this many days are flagged.
    pub stale_days: i32,
    /// The works counted.
    pub scope: Scope,
    /// Count the engineers' updates waiting for review too (issue 24 §6): each work as its
    /// latest submitted update would leave it. Only for a dashboard of now.
    pub submitted: bool,
}

/// The ten parameters every dashboard query starts with, owned so they can be lent:
/// what is asked, the works taken (ids from `from`, included, to `to`, excluded) and the
/// scope (programme, district code, kind).
pub(super) struct Bound {
    clearance: &'static str,
    cutoff: Option<DateTime<Utc>>,
    day: NaiveDate,
    ahead: f64,
    stale: i32,
    from: i64,
    to: i64,
    programme: Option<&'static str>,
    district: Option<String>,
    kind: Option<&'static str>,
}

type Arg<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

impl Bound {
    /// $1–$10, then `more` as $11…
    pub(super) fn args<'a>(&'a self, more: &[Arg<'a>]) -> Vec<Arg<'a>> {
        let mut args: Vec<Arg<'a>> = vec![
            &self.clearance,
            &self.cutoff,
            &self.day,
            &self.ahead,
            &self.stale,
            &self.from,
            &self.to,
            &self.programme,
            &self.district,
            &self.kind,
        ];
        args.extend_from_slice(more);
        args
    }
}

impl Params {
    /// The start of every dashboard query: where each visible work stands (now, or as
    /// of the date) with its budget and flags (`state`, `budget`, `site_budget`, `plan`,
    /// `flagged`).
    pub(super) fn state(&self) -> String {
        let start = match (self.as_of, self.submitted) {
            (Some(_), _) => AS_OF.to_string(),
            (None, false) => NOW.to_string(),
            // The views `site_submitted` (migration 0041) and `search_zone_submitted`
            // (0042) in place of `site` and `search_zone`.
            (None, true) => NOW
                .replacen("      FROM site s\n", "      FROM site_submitted s\n", 1)
                .replacen(
                    "      FROM search_zone z\n",
                    "      FROM search_zone_submitted z\n",
                    1,
                ),
        };
        format!("{start}{FLAGS_SQL}")
    }

    /// The parameters for every work.
    pub(super) fn bound(&self) -> Bound {
        self.bound_part(i64::MIN, i64::MAX)
    }

    /// The parameters for the works with ids from `from` (included) to `to` (excluded).
    fn bound_part(&self, from: i64, to: i64) -> Bound {
        Bound {
            clearance: self.clearance.code(),
            cutoff: self.cutoff(),
            day: self.day(),
            ahead: self.ahead_threshold,
            stale: self.stale_days,
            from,
            to,
            programme: self.scope.programme.map(|p| p.code()),
            district: self.scope.district.clone(),
            kind: self.scope.kind.map(|k| k.code()),
        }
    }

    /// The first moment after the as-of day, in Vietnam (UTC+7).
    pub fn cutoff(&self) -> Option<DateTime<Utc>> {
        self.as_of.and_then(crate::params::cutoff_of)
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
    /// The medium-term ceilings approved for this year × source (of the works that have
    /// one), and what those works' lines allocate; `None` when no work has one.
    #[serde(default)]
    pub ceiling: Option<CeilingSum>,
}

/// Ceilings of one year × source summed, with the allocations they bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeilingSum {
    pub ceiling: i64,
    pub allocated: i64,
}

impl PlanRow {
    /// Whether the allocations exceed the approved ceilings.
    pub fn over_ceiling(&self) -> bool {
        self.ceiling.is_some_and(|c| c.allocated > c.ceiling)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flags {
    pub ahead: i64,
    pub settled_not_done: i64,
    pub done_nothing_disbursed: i64,
    pub stale: i64,
    /// Works with a year × source allocated above its medium-term ceiling.
    #[serde(default)]
    pub over_ceiling: i64,
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
    /// The unit areas in Cambodia: each Cambodian area × unit in charge with zones.
    #[serde(default)]
    pub abroad: Vec<AbroadArea>,
}

impl Search {
    /// Unit areas in Cambodia with a concluded, mapped zone, of those with zones.
    pub fn abroad_done(&self) -> (i64, i64) {
        let done = self.abroad.iter().filter(|a| a.concluded > 0).count();
        (done as i64, self.abroad.len() as i64)
    }
}

/// One Cambodian area searched by one unit: its zones, those concluded and mapped, and
/// the area searched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbroadArea {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub zones: i64,
    pub concluded: i64,
    pub zone_area_ha: f64,
    pub concluded_area_ha: f64,
}

/// One part's zones of one Cambodian area × unit (dashboard_cells.sql).
#[derive(Debug, Deserialize)]
struct PartAbroad {
    code: String,
    name: String,
    unit: String,
    zones: i64,
    concluded: i64,
    zone_area_m2: f64,
    concluded_ha_100: i64,
}

/// The land-use plan's parcels of one planned use × district × legal status × 5-year
/// period: how many, their area, and of those whose work is done or already in the planned
/// use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LandRow {
    pub planned_use: String,
    pub district: String,
    pub district_name: String,
    pub legal_status: String,
    pub five_year: String,
    pub parcels: i64,
    /// Whole square metres.
    pub area_m2: i64,
    pub done: i64,
    pub done_m2: i64,
    pub in_use_m2: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dashboard {
    pub by_kind: Vec<GroupRow>,
    pub by_district: Vec<GroupRow>,
    pub totals: Totals,
    pub plan: Vec<PlanRow>,
    pub flags: Flags,
    pub search: Search,
    /// The defence land-use plan, in keys' order.
    #[serde(default)]
    pub land: Vec<LandRow>,
}

/// The consistency flags, by the name used in URLs.
pub const FLAGS: [&str; 5] = [
    "ahead",
    "settled_not_done",
    "done_nothing_disbursed",
    "stale",
    "over_ceiling",
];

/// The lists of works a dashboard links to: each flag's, and the late works'.
pub const LISTS: [&str; 6] = [
    "ahead",
    "settled_not_done",
    "done_nothing_disbursed",
    "stale",
    "over_ceiling",
    "late",
];

/// The works of one kind × district × status × lateness, summed (dashboard_cells.sql).
#[derive(Debug, Clone, Deserialize)]
struct Cell {
    kind: String,
    district: String,
    district_name: String,
    status: String,
    late: bool,
    n: i64,
    pct_sum: f64,
    pct_e: f64,
    e: i64,
    a: i64,
    d: i64,
    s: i64,
    ahead: i64,
    settled_not_done: i64,
    done_nothing_disbursed: i64,
    stale: i64,
    over_ceiling: i64,
}

/// One year × source's ceilings in one part (dashboard_cells.sql).
#[derive(Debug, Deserialize)]
struct PartCeiling {
    year: i16,
    source: String,
    ceiling: i64,
    allocated: i64,
}

/// One part's remains search zones summed, with the districts and communes where one is
/// concluded and mapped (dashboard_cells.sql).
#[derive(Debug, Deserialize)]
struct PartSearch {
    zones: i64,
    zones_concluded: i64,
    zone_area_m2: f64,
    /// Hectares concluded, in hundredths (exact).
    concluded_ha_100: i64,
    remains_expected: i64,
    remains_found: i64,
    done_districts: Vec<i64>,
    done_communes: Vec<i64>,
}

/// What one part of the works gives: its cells and its share of the plan.
#[derive(Debug, Deserialize)]
struct Part {
    cells: Vec<Cell>,
    land: Vec<LandRow>,
    plan: Vec<PlanRow>,
    ceilings: Vec<PartCeiling>,
    search: PartSearch,
    abroad: Vec<PartAbroad>,
    districts_total: i64,
    communes_total: i64,
}

/// The ids from `min` to `max` cut into `parts` ranges of about equal width, the first
/// open to the smallest id and the last to the largest (works added meanwhile fall in one).
fn ranges(min: i64, max: i64, parts: usize) -> Vec<(i64, i64)> {
    let parts = parts.max(1) as i128;
    let width = (i128::from(max) - i128::from(min) + 1).max(1);
    let cut = |k: i128| (i128::from(min) + width * k / parts) as i64;
    (0..parts)
        .map(|k| {
            let from = if k == 0 { i64::MIN } else { cut(k) };
            let to = if k == parts - 1 { i64::MAX } else { cut(k + 1) };
            (from, to)
        })
        .collect()
}

/// Every dashboard figure, the works summed in as many parts as there are `clients`,
/// each on its own connection at once (a 100 000-work dashboard as of a date is mostly
/// reading histories, which one PostgreSQL backend does on one core). All parts read one
/// snapshot, exported by the first connection, so the figures are those of one moment
/// even while engineers write.
pub async fn summary(
    clients: &mut [deadpool_postgres::Object],
    p: &Params,
) -> Result<Dashboard, DbError> {
    let (lead, rest) = clients
        .split_first_mut()
        .ok_or_else(|| DbError::Data("a dashboard needs a connection".into()))?;
    let lead = repeatable_read(lead).await?;
    let row = lead
        .query_one(
            "SELECT pg_export_snapshot(), coalesce(min(id), 0), coalesce(max(id), 0) FROM site",
            &[],
        )
        .await?;
    let (snapshot, min, max): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
    if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(DbError::Data(format!(
            "unexpected snapshot name {snapshot:?}"
        )));
    }
    let mut followers = Vec::with_capacity(rest.len());
    for client in rest.iter_mut() {
        let tx = repeatable_read(client).await?;
        tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
            .await?;
        followers.push(tx);
    }
    let txs: Vec<&deadpool_postgres::Transaction<'_>> =
        std::iter::once(&lead).chain(followers.iter()).collect();

    for tx in &txs {
        // The histories and works a dashboard reads are the ones the cache holds: at the
        // default cost of a random page (4, for spinning disks) the planner reads every
        // work to keep one part of them, where the id index gives that part in order.
        tx.batch_execute(
            "SET LOCAL random_page_cost = 1.1; SET LOCAL plan_cache_mode = force_custom_plan",
        )
        .await?;
    }
    let sql = format!("{}\n{CELLS}", p.state());
    let parts = ranges(min, max, txs.len());
    let computed =
        futures_util::future::try_join_all(txs.iter().zip(&parts).map(|(tx, &(from, to))| {
            let sql = &sql;
            async move {
                let statement = tx.prepare_cached(sql).await?;
                let bound = p.bound_part(from, to);
                let row = tx.query_one(&statement, &bound.args(&[])).await?;
                let text: String = row.get(0);
                serde_json::from_str::<Part>(&text)
                    .map_err(|e| DbError::Data(format!("dashboard part: {e}")))
            }
        }));
    let computed = computed.await?;
    drop(txs);
    for tx in followers {
        tx.commit().await?;
    }
    lead.commit().await?;
    Ok(Dashboard::of_parts(computed))
}

/// A read-only transaction that sees one snapshot throughout.
async fn repeatable_read(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, tokio_postgres::Error> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
}

/// `sum / n` to one decimal, or `None` when there is nothing to divide by.
fn share(sum: f64, n: f64) -> Option<f64> {
    (n != 0.0).then(|| tenths(sum / n))
}

impl GroupRow {
    /// The row of `cells` (all of one group) under `key`.
    fn of<'a>(key: String, name: String, cells: impl Iterator<Item = &'a Cell>) -> Self {
        let mut row = GroupRow {
            key,
            name,
            ..GroupRow::default()
        };
        let (mut pct_sum, mut pct_e, mut e) = (0.0, 0.0, 0.0);
        for c in cells {
            row.total += c.n;
            match c.status.as_str() {
                "planned" => row.planned += c.n,
                "design" => row.design += c.n,
                "under_construction" => row.under_construction += c.n,
                "completed" => row.completed += c.n,
                "handed_over" => row.handed_over += c.n,
                "suspended" => row.suspended += c.n,
                _ => row.cancelled += c.n,
            }
            if c.late {
                row.late += c.n;
            }
            pct_sum += c.pct_sum;
            pct_e += c.pct_e;
            e += c.e as f64;
        }
        row.mean_pct = share(pct_sum, row.total as f64);
        row.weighted_pct = share(pct_e, e);
        row
    }
}

impl Dashboard {
    /// Every figure from the parts' cells and plans.
    fn of_parts(parts: Vec<Part>) -> Self {
        use std::collections::BTreeMap;
        let mut cells = Vec::new();
        let mut plan: BTreeMap<(i16, String), PlanRow> = BTreeMap::new();
        let (mut districts_total, mut communes_total) = (0, 0);
        let mut searches = Vec::new();
        // (Cambodian area, unit) → (area name, zones, concluded, zone m², concluded ha × 100).
        type Abroad = BTreeMap<(String, String), (String, i64, i64, f64, i64)>;
        let mut abroad: Abroad = BTreeMap::new();
        let mut land: BTreeMap<(String, String, String, String), LandRow> = BTreeMap::new();
        for part in parts {
            for row in part.land {
                let key = (
                    row.planned_use.clone(),
                    row.district.clone(),
                    row.legal_status.clone(),
                    row.five_year.clone(),
                );
                let sum = land.entry(key).or_insert_with(|| LandRow {
                    parcels: 0,
                    area_m2: 0,
                    done: 0,
                    done_m2: 0,
                    in_use_m2: 0,
                    ..row.clone()
                });
                sum.parcels += row.parcels;
                sum.area_m2 += row.area_m2;
                sum.done += row.done;
                sum.done_m2 += row.done_m2;
                sum.in_use_m2 += row.in_use_m2;
            }
            searches.push(part.search);
            for a in part.abroad {
                let sum = abroad.entry((a.code, a.unit)).or_default();
                sum.0 = a.name;
                sum.1 += a.zones;
                sum.2 += a.concluded;
                sum.3 += a.zone_area_m2;
                sum.4 += a.concluded_ha_100;
            }
            // Every part counts the same units in the same snapshot.
            districts_total = districts_total.max(part.districts_total);
            communes_total = communes_total.max(part.communes_total);
            cells.extend(part.cells);
            for row in part.plan {
                let sum = plan
                    .entry((row.year, row.source.clone()))
                    .or_insert_with(|| PlanRow {
                        year: row.year,
                        source: row.source.clone(),
                        ..PlanRow::default()
                    });
                sum.estimate += row.estimate;
                sum.allocated += row.allocated;
                sum.disbursed += row.disbursed;
                sum.settled += row.settled;
            }
            for c in part.ceilings {
                let row = plan
                    .entry((c.year, c.source.clone()))
                    .or_insert_with(|| PlanRow {
                        year: c.year,
                        source: c.source.clone(),
                        ..PlanRow::default()
                    });
                let sum = row.ceiling.get_or_insert_with(CeilingSum::default);
                sum.ceiling += c.ceiling;
                sum.allocated += c.allocated;
            }
        }
        let mut kinds: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
        let mut districts: BTreeMap<(&str, &str), Vec<&Cell>> = BTreeMap::new();
        for c in &cells {
            kinds.entry(&c.kind).or_default().push(c);
            districts
                .entry((&c.district, &c.district_name))
                .or_default()
                .push(c);
        }
        let all = GroupRow::of(String::new(), String::new(), cells.iter());
        let any = !cells.is_empty();
        let sum = |f: fn(&Cell) -> i64| cells.iter().map(f).sum::<i64>();
        Dashboard {
            by_kind: kinds
                .into_iter()
                .map(|(k, cs)| GroupRow::of(k.to_string(), String::new(), cs.into_iter()))
                .collect(),
            by_district: districts
                .into_iter()
                .map(|((k, name), cs)| {
                    GroupRow::of(k.to_string(), name.to_string(), cs.into_iter())
                })
                .collect(),
            totals: Totals {
                total: all.total,
                late: all.late,
                done: all.completed + all.handed_over,
                mean_pct: all.mean_pct,
                weighted_pct: all.weighted_pct,
                estimate: any.then(|| sum(|c| c.e)),
                allocated: any.then(|| sum(|c| c.a)),
                disbursed: any.then(|| sum(|c| c.d)),
                settled: any.then(|| sum(|c| c.s)),
            },
            plan: plan.into_values().collect(),
            flags: Flags {
                ahead: sum(|c| c.ahead),
                settled_not_done: sum(|c| c.settled_not_done),
                done_nothing_disbursed: sum(|c| c.done_nothing_disbursed),
                stale: sum(|c| c.stale),
                over_ceiling: sum(|c| c.over_ceiling),
            },
            search: Search {
                abroad: abroad
                    .into_iter()
                    .map(
                        |((code, unit), (name, zones, concluded, m2, ha_100))| AbroadArea {
                            code,
                            name,
                            unit,
                            zones,
                            concluded,
                            zone_area_ha: tenths(m2 / 10_000.0),
                            concluded_area_ha: hundredths_to_tenths(ha_100),
                        },
                    )
                    .collect(),
                ..Search::of_parts(&searches, districts_total, communes_total)
            },
            land: land.into_values().collect(),
        }
    }
}

impl Search {
    /// The parts' zones summed; a district or commune named by several parts counts once.
    fn of_parts(parts: &[PartSearch], districts_total: i64, communes_total: i64) -> Self {
        let sum = |f: fn(&PartSearch) -> i64| parts.iter().map(f).sum::<i64>();
        let distinct = |f: fn(&PartSearch) -> &[i64]| {
            (parts.iter().flat_map(|p| f(p).iter()))
                .collect::<BTreeSet<_>>()
                .len() as i64
        };
        Search {
            districts_total,
            districts_done: distinct(|p| &p.done_districts),
            communes_total,
            communes_done: distinct(|p| &p.done_communes),
            zones: sum(|p| p.zones),
            zones_concluded: sum(|p| p.zones_concluded),
            zone_area_ha: tenths(parts.iter().map(|p| p.zone_area_m2).sum::<f64>() / 10_000.0),
            concluded_area_ha: hundredths_to_tenths(sum(|p| p.concluded_ha_100)),
            remains_expected: sum(|p| p.remains_expected),
            remains_found: sum(|p| p.remains_found),
            abroad: Vec::new(),
        }
    }
}

/// Hundredths to tenths, half away from zero as PostgreSQL's round().
fn hundredths_to_tenths(v: i64) -> f64 {
    ((v + 5) / 10) as f64 / 10.0
}

/// To one decimal.
fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
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

pub(super) const SITE_ROW: &str =
    "SELECT sa.code, sa.name, f.kind, coalesce(dd.short_name, ''), f.status::text, f.pct,
        f.e, f.a, f.d, f.s, f.last_update
   FROM flagged f JOIN site_all sa ON sa.id = f.id LEFT JOIN admin_unit dd ON dd.id = f.district_id";

pub(super) fn site_rows(rows: &[tokio_postgres::Row]) -> Vec<SiteRow> {
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

/// The works raising `flag` (one of [`LISTS`]), at most `limit`.
pub async fn flagged(
    client: &impl GenericClient,
    p: &Params,
    flag: &str,
    limit: i64,
) -> Result<Vec<SiteRow>, DbError> {
    let flag = LISTS
        .iter()
        .find(|f| **f == flag)
        .ok_or_else(|| DbError::Data(format!("no flag '{flag}'")))?;
    let sql = format!(
        "{}\n{SITE_ROW} WHERE f.{flag} ORDER BY sa.code LIMIT $11",
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
         SELECT area_key(d.code, st.kind), coalesce(d.short_name, ''), sum(b.estimate_vnd)::int8, sum(b.allocated_vnd)::int8,
                sum(b.disbursed_vnd)::int8, sum(b.settled_vnd)::int8
           FROM budget b JOIN state st ON st.id = b.site_id
           LEFT JOIN admin_unit d ON d.id = st.district_id
          WHERE b.year = $11 AND b.source = $12::text::funding_source
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
                    ceiling: None,
                },
            )
        })
        .collect())
}

/// The works of one district (code, "" for abroad, "-" for investments without one) in
/// one year × source of the plan.
pub async fn plan_sites(
    client: &impl GenericClient,
    p: &Params,
    year: i16,
    source: &str,
    district: &str,
) -> Result<Vec<SiteRow>, DbError> {
    let sql = format!(
        "{}
         SELECT sa.code, sa.name, f.kind, coalesce(dd.short_name, ''), f.status::text, f.pct,
                b.estimate_vnd, b.allocated_vnd, b.disbursed_vnd, b.settled_vnd, f.last_update
           FROM flagged f JOIN site_all sa ON sa.id = f.id JOIN budget b ON b.site_id = f.id
           LEFT JOIN admin_unit dd ON dd.id = f.district_id
          WHERE b.year = $11 AND b.source = $12::text::funding_source AND area_key(dd.code, f.kind) = $13
          ORDER BY b.estimate_vnd DESC, sa.code LIMIT 1000",
        p.state()
    );
    let bound = p.bound();
    let rows = client
        .query(&sql, &bound.args(&[&year, &source, &district]))
        .await?;
    Ok(site_rows(&rows))
}

/// The fewest investments a cell of the disclosure's investments part sums: fewer would tell
/// one package's (often classified) money.
pub const DISCLOSED_AT_LEAST: i64 = 5;

/// The public disclosure: the aggregate budget by year and source, public and classified
/// works alike (as amounts, never as sites), now; with `unplaced`, only that of the
/// investments without a place on the map (a part of the whole), in the cells that sum at
/// least [`DISCLOSED_AT_LEAST`] of them.
pub async fn public_budget(
    client: &impl GenericClient,
    unplaced: bool,
) -> Result<Vec<PlanRow>, DbError> {
    let rows = client
        .query(
            "SELECT b.year, b.source::text, sum(b.estimate_vnd)::int8, sum(b.allocated_vnd)::int8,
                    sum(b.disbursed_vnd)::int8, sum(b.settled_vnd)::int8
               FROM budget_line b
              WHERE NOT $1 OR b.site_id IN (SELECT id FROM site_all WHERE geom IS NULL)
              GROUP BY b.year, b.source
             HAVING NOT $1 OR count(DISTINCT b.site_id) >= $2
              ORDER BY b.year, b.source",
            &[&unplaced, &DISCLOSED_AT_LEAST],
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
            ceiling: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn the_submitted_figures_read_the_view_in_place_of_the_works() {
        let p = super::Params {
            clearance: crate::domain::Classification::Secret,
            as_of: None,
            ahead_threshold: 0.3,
            stale_days: 180,
            scope: Default::default(),
            submitted: true,
        };
        let sql = p.state();
        assert!(sql.contains("FROM site_submitted s\n") && !sql.contains("      FROM site s\n"));
        assert!(
            sql.contains("FROM search_zone_submitted z\n")
                && !sql.contains("      FROM search_zone z\n")
        );
    }

    #[test]
    fn parts_cover_every_id_once() {
        assert_eq!(ranges(1, 100, 1), [(i64::MIN, i64::MAX)]);
        assert_eq!(ranges(1, 100, 2), [(i64::MIN, 51), (51, i64::MAX)]);
        let three = ranges(-5, 1_000_000, 3);
        assert_eq!(three.len(), 3);
        assert_eq!(three[0].0, i64::MIN);
        assert_eq!(three[2].1, i64::MAX);
        assert!(three
            .windows(2)
            .all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
        // No works yet, or one: still ranges that take everything.
        assert_eq!(ranges(0, 0, 2), [(i64::MIN, 0), (0, i64::MAX)]);
        assert_eq!(ranges(i64::MIN, i64::MAX, 2)[1].0, 0);
    }
}
