//! `/dashboard` (and its flags, plan drill-down and CSV downloads) and the public budget
//! disclosure `/public/budget`.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

use serde::Deserialize;

use super::caller::Caller;
use super::{AppState, PageError};
use crate::db::dashboard::{self, Dashboard, Params, Scope, LISTS};
use crate::domain::{FundingSource, LayerGroup};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;
use crate::views::dashboard::View;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard.csv", get(csv))
        .route("/dashboard/flags/{flag}", get(flag_page))
        .route("/dashboard/plan", get(plan_page))
        .route("/dashboard/summary", get(summary_page))
        .route("/public/budget", get(public_budget))
        .route("/public/budget.csv", get(public_budget_csv))
}

/// The consistency flags' thresholds unless a planner asks otherwise.
#[derive(Debug, Clone, Copy)]
pub struct FlagDefaults {
    pub ahead_points: i32,
    pub stale_days: i32,
}

impl Default for FlagDefaults {
    fn default() -> Self {
        Self {
            ahead_points: 30,
            stale_days: 180,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct DashQuery {
    lang: Option<String>,
    as_of: Option<String>,
    ahead: Option<String>,
    stale: Option<String>,
    table: Option<String>,
    year: Option<String>,
    source: Option<String>,
    district: Option<String>,
    programme: Option<String>,
    kind: Option<String>,
    /// `approved` (default) or `submitted`: whether updates waiting for review count.
    counted: Option<String>,
    /// The plan's drill-down: the district whose works are listed ("" for abroad, "-" for
    /// investments without a district).
    #[serde(rename = "in")]
    drill: Option<String>,
}

/// The view asked for, each parameter checked: 400 naming the one that is wrong.
fn view_of(q: &DashQuery, defaults: FlagDefaults) -> Result<View, AppError> {
    let scope = Scope::parse(
        q.programme.as_deref(),
        q.district.as_deref(),
        q.kind.as_deref(),
    )?;
    let asked = crate::params::dashboard::DashboardQuery::parse(
        q.as_of.as_deref(),
        q.ahead.as_deref(),
        q.stale.as_deref(),
        (defaults.ahead_points, defaults.stale_days),
        scope,
    )?;
    Ok(View {
        as_of: asked.as_of,
        ahead_points: asked.ahead_points,
        stale_days: asked.stale_days,
        scope: asked.scope,
        districts: Vec::new(),
        submitted: crate::params::dashboard::parse_counted(q.counted.as_deref(), asked.as_of)?,
        review: false,
    })
}

pub(super) fn params(view: &View, caller: &Caller) -> Result<Params, AppError> {
    // Figures not yet approved are for those signed in.
    if view.submitted && caller.user.is_none() {
        return Err(AppError::Unauthorized);
    }
    Ok(Params {
        clearance: caller.clearance()?,
        as_of: view.as_of,
        ahead_threshold: f64::from(view.ahead_points) / 100.0,
        stale_days: view.stale_days,
        scope: view.scope.clone(),
        submitted: view.submitted,
    })
}

/// Dashboards recently computed, keyed by what was asked and the version of every table
/// they read (site layers, budget): any write makes its old entries unreachable.
pub struct DashboardCache {
    entries: quick_cache::sync::Cache<String, Arc<Dashboard>>,
    /// On how many connections at most one dashboard is computed (in parts, at once):
    /// `KVPT_DASHBOARD_PARTS`, else the cores of this machine up to 4.
    pub parts: usize,
}

impl DashboardCache {
    /// A cache whose dashboards are computed on at most `parts` connections.
    pub fn with_parts(parts: usize) -> Self {
        Self {
            parts: parts.clamp(1, 16),
            ..Self::default()
        }
    }
}

impl Default for DashboardCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        Self {
            entries: quick_cache::sync::Cache::new(256),
            parts: std::env::var("KVPT_DASHBOARD_PARTS")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| (1..=16).contains(n))
                .unwrap_or(cores),
        }
    }
}

/// The key of `p` at the current data versions; `None` while versions are unknown (the
/// listener is down), when nothing is cached.
fn cache_key(state: &AppState, p: &Params) -> Option<String> {
    let mut key = format!(
        "{}|{:?}|{}|{}|{}|{:?}|{}",
        p.clearance.code(),
        p.as_of,
        p.ahead_threshold,
        p.stale_days,
        p.day(),
        p.scope,
        p.submitted
    );
    // The versions of what the caller sees: a change above their clearance is no miss.
    let layers = LayerGroup::ALL.iter().map(|g| Some(*g)).chain([None]);
    for layer in layers {
        let seen = super::tile_cache::seen_versions(layer, p.clearance);
        key.push_str(&format!("|{}", state.tiles.version_sum(seen)?));
    }
    Some(key)
}

/// The dashboard computed in parts over as many idle connections of the pool to read from
/// as are at hand (a busy pool computes in one part).
async fn compute(state: &AppState, p: &Params, client_lsn: u64) -> Result<Dashboard, AppError> {
    // Every part on the server of the first: they share its snapshot.
    let (first, pool) = state.read_from(client_lsn, false).await?;
    let mut clients = vec![first];
    let at_hand = deadpool_postgres::Timeouts {
        wait: Some(std::time::Duration::ZERO),
        ..pool.timeouts()
    };
    while clients.len() < state.dashboards.parts {
        match pool.timeout_get(&at_hand).await {
            Ok(client) => clients.push(client),
            Err(_) => break,
        }
    }
    Ok(dashboard::summary(&mut clients, p).await?)
}

/// The dashboard for `p`, from the cache when it holds every write of the client (whose
/// last one was at `client_lsn`), else computed on a replica or the primary.
pub(super) async fn load(
    state: &AppState,
    p: &Params,
    client_lsn: u64,
) -> Result<Arc<Dashboard>, AppError> {
    let key = cache_key(state, p);
    if state.freshness.covers(client_lsn) {
        if let Some(hit) = key.as_ref().and_then(|k| state.dashboards.entries.get(k)) {
            return Ok(hit);
        }
    }
    let d = Arc::new(
        state
            .reading(client_lsn, |lsn| compute(state, p, lsn))
            .await?,
    );
    if let Some(key) = key {
        state.dashboards.entries.insert(key, d.clone());
    }
    Ok(d)
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let mut view = view_of(&q, state.flags).map_err(fail)?;
    let p = params(&view, &caller).map_err(fail)?;
    let d = load(&state, &p, caller.min_lsn).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    view.districts = crate::db::areas::districts(&client)
        .await
        .map_err(|e| fail(e.into()))?;
    view.review = crate::progress::review::is_on(&client)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::dashboard::page(lang, &d, &view).into_response())
}

const FLAG_LIMIT: i64 = 2000;

async fn flag_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(flag): Path<String>,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    if !LISTS.contains(&flag.as_str()) {
        return Err(fail(AppError::NotFound(format!(
            "no flag '{flag}'; flags are {}",
            LISTS.join(", ")
        ))));
    }
    let view = view_of(&q, state.flags).map_err(fail)?;
    let p = params(&view, &caller).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let rows = dashboard::flagged(&client, &p, &flag, FLAG_LIMIT)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::dashboard::flag_page(lang, &flag, &rows, &view, FLAG_LIMIT as usize).into_response())
}

/// The "tổng kết" of a programme or any scope: the dashboard's figures and its late works.
async fn summary_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let mut view = view_of(&q, state.flags).map_err(fail)?;
    let p = params(&view, &caller).map_err(fail)?;
    let d = load(&state, &p, caller.min_lsn).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let late = dashboard::flagged(&client, &p, "late", FLAG_LIMIT)
        .await
        .map_err(|e| fail(e.into()))?;
    view.districts = crate::db::areas::districts(&client)
        .await
        .map_err(|e| fail(e.into()))?;
    view.review = crate::progress::review::is_on(&client)
        .await
        .map_err(|e| fail(e.into()))?;
    let page = views::dashboard::summary_page(lang, &d, &late, &view, FLAG_LIMIT as usize);
    Ok(page.into_response())
}

fn year_source(q: &DashQuery) -> Result<(i16, FundingSource), AppError> {
    let year = q
        .year
        .as_deref()
        .and_then(|y| y.trim().parse::<i16>().ok())
        .ok_or_else(|| AppError::bad_request("year", "give the plan's year, e.g. year=2024"))?;
    let source = q
        .source
        .as_deref()
        .and_then(FundingSource::from_code)
        .ok_or_else(|| {
            let known: Vec<&str> = FundingSource::ALL.iter().map(|s| s.code()).collect();
            AppError::bad_request("source", format!("sources are {}", known.join(", ")))
        })?;
    Ok((year, source))
}

async fn plan_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let view = view_of(&q, state.flags).map_err(fail)?;
    let p = params(&view, &caller).map_err(fail)?;
    let (year, source) = year_source(&q).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let districts = dashboard::plan_by_district(&client, &p, year, source.code())
        .await
        .map_err(|e| fail(e.into()))?;
    // `in`: the district drilled into ("" for works abroad); `district` is the scope.
    let sites = match &q.drill {
        Some(d) => Some((
            d.as_str(),
            dashboard::plan_sites(&client, &p, year, source.code(), d)
                .await
                .map_err(|e| fail(e.into()))?,
        )),
        None => None,
    };
    Ok(views::dashboard::plan_page(
        lang,
        year,
        source.code(),
        &districts,
        sites.as_ref().map(|(d, rows)| (*d, rows.as_slice())),
        &view,
    )
    .into_response())
}

fn csv_response(name: &str, rows: Vec<Vec<String>>) -> Result<Response, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.write_record(row)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend_from_slice(&bytes);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A CSV table: `head`, then `rows`.
fn table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<Vec<String>> {
    std::iter::once(head.iter().map(|s| s.to_string()).collect())
        .chain(rows)
        .collect()
}

/// The plan by year × source as CSV rows, with its header.
fn plan_rows(plan: &[dashboard::PlanRow]) -> Vec<Vec<String>> {
    let header = [
        "year",
        "source",
        "estimate_vnd",
        "allocated_vnd",
        "disbursed_vnd",
        "settled_vnd",
    ];
    table(
        &header,
        plan.iter().map(|r| {
            vec![
                r.year.to_string(),
                r.source.clone(),
                r.estimate.to_string(),
                r.allocated.to_string(),
                r.disbursed.to_string(),
                r.settled.to_string(),
            ]
        }),
    )
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_default()
}

/// Each chart's table as CSV: by_kind, by_district, plan, flags or search.
async fn csv(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<DashQuery>,
) -> Result<Response, AppError> {
    let view = view_of(&q, state.flags)?;
    let p = params(&view, &caller)?;
    let table = q
        .table
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("by_kind");
    let tables = [
        "by_kind",
        "by_district",
        "plan",
        "ceilings",
        "flags",
        "search",
        "land",
    ];
    if !tables.contains(&table) {
        return Err(AppError::bad_request(
            "table",
            format!("tables are {}", tables.join(", ")),
        ));
    }
    let d = load(&state, &p, caller.min_lsn).await?;
    let suffix = view.as_of.map(|d| format!("-{d}")).unwrap_or_default();
    let rows = match table {
        "by_kind" => group_rows(&d.by_kind, "kind"),
        "by_district" => group_rows(&d.by_district, "district_code"),
        "plan" => plan_rows(&d.plan),
        "ceilings" => ceiling_rows(&d.plan),
        "land" => land_rows(&d.land),
        "flags" => flag_rows(&d.flags),
        _ => search_rows(&d.search),
    };
    csv_response(&format!("kvpt-{table}{suffix}"), rows)
}

/// Works by kind or district as CSV rows, `first` naming the key column.
fn group_rows(rows: &[dashboard::GroupRow], first: &str) -> Vec<Vec<String>> {
    let head = [
        first,
        "name",
        "total",
        "planned",
        "design",
        "under_construction",
        "completed",
        "handed_over",
        "suspended",
        "cancelled",
        "mean_pct",
        "weighted_pct",
        "late",
    ];
    table(
        &head,
        rows.iter().map(|r| {
            let mut row = vec![r.key.clone(), r.name.clone(), r.total.to_string()];
            row.extend(r.counts().iter().map(|(_, c)| c.to_string()));
            row.extend([opt(r.mean_pct), opt(r.weighted_pct), r.late.to_string()]);
            row
        }),
    )
}

fn flag_rows(flags: &dashboard::Flags) -> Vec<Vec<String>> {
    vec![
        vec!["flag".into(), "works".into()],
        vec!["ahead".into(), flags.ahead.to_string()],
        vec![
            "settled_not_done".into(),
            flags.settled_not_done.to_string(),
        ],
        vec![
            "done_nothing_disbursed".into(),
            flags.done_nothing_disbursed.to_string(),
        ],
        vec!["stale".into(), flags.stale.to_string()],
        vec!["over_ceiling".into(), flags.over_ceiling.to_string()],
    ]
}

/// The land-use plan by planned use × district × legal status × 5-year period.
fn land_rows(land: &[dashboard::LandRow]) -> Vec<Vec<String>> {
    let head = [
        "planned_use",
        "district_code",
        "district",
        "legal_status",
        "five_year",
        "parcels",
        "area_m2",
        "done",
        "done_m2",
        "in_use_m2",
    ];
    table(
        &head,
        land.iter().map(|l| {
            vec![
                l.planned_use.clone(),
                l.district.clone(),
                l.district_name.clone(),
                l.legal_status.clone(),
                l.five_year.clone(),
                l.parcels.to_string(),
                l.area_m2.to_string(),
                l.done.to_string(),
                l.done_m2.to_string(),
                l.in_use_m2.to_string(),
            ]
        }),
    )
}

/// The medium-term ceilings by year × source against the allocations they bound.
fn ceiling_rows(plan: &[dashboard::PlanRow]) -> Vec<Vec<String>> {
    let head = ["year", "source", "ceiling_vnd", "allocated_vnd", "over"];
    table(
        &head,
        plan.iter().filter_map(|r| {
            let c = r.ceiling?;
            Some(vec![
                r.year.to_string(),
                r.source.clone(),
                c.ceiling.to_string(),
                c.allocated.to_string(),
                r.over_ceiling().to_string(),
            ])
        }),
    )
}

fn search_rows(s: &dashboard::Search) -> Vec<Vec<String>> {
    vec![
        vec!["measure".into(), "value".into()],
        vec!["districts_total".into(), s.districts_total.to_string()],
        vec!["districts_done".into(), s.districts_done.to_string()],
        vec!["communes_total".into(), s.communes_total.to_string()],
        vec!["communes_done".into(), s.communes_done.to_string()],
        vec!["zones".into(), s.zones.to_string()],
        vec!["zones_concluded".into(), s.zones_concluded.to_string()],
        vec!["zone_area_ha".into(), format!("{:.1}", s.zone_area_ha)],
        vec![
            "concluded_area_ha".into(),
            format!("{:.1}", s.concluded_area_ha),
        ],
        vec!["remains_expected".into(), s.remains_expected.to_string()],
        vec!["remains_found".into(), s.remains_found.to_string()],
        vec!["abroad_areas_total".into(), s.abroad_done().1.to_string()],
        vec!["abroad_areas_done".into(), s.abroad_done().0.to_string()],
    ]
}

/// Open to everyone, whatever the anonymous setting: the directive requires it.
async fn public_budget(
    State(state): State<AppState>,
    Query(q): Query<DashQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let client = state.db().await.map_err(|e| PageError::new(lang, e))?;
    let (plan, unplaced) = tokio::try_join!(
        dashboard::public_budget(&client, false),
        dashboard::public_budget(&client, true)
    )
    .map_err(|e| PageError::new(lang, e))?;
    Ok(views::dashboard::public_budget(lang, &plan, &unplaced).into_response())
}

async fn public_budget_csv(State(state): State<AppState>) -> Result<Response, AppError> {
    let client = state.db().await?;
    let plan = dashboard::public_budget(&client, false).await?;
    let rows = plan_rows(&plan);
    csv_response("cong-khai-ngan-sach", rows)
}
