//! Features for OGC API – Features: filtered, paged pages of sites and context
//! layers, each feature built as GeoJSON text in PostGIS.

use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

use super::tiles::{ContextLayer, CONTEXT_LAYERS};
use super::DbError;
use crate::domain::{Classification, LayerGroup, SiteKind, SiteStatus};
use crate::spatial::crs::Crs;
use chrono::{DateTime, Utc};

use crate::spatial::crs::Bbox;

/// A feature collection: all sites, the sites of one layer group, or a context layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Sites(Option<LayerGroup>),
    Context(ContextLayer),
}

impl Collection {
    /// Every collection, sites first.
    pub fn all() -> Vec<Collection> {
        std::iter::once(Collection::Sites(None))
            .chain(LayerGroup::ALL.iter().map(|g| Collection::Sites(Some(*g))))
            .chain(
                CONTEXT_LAYERS
                    .iter()
                    // Label points exist for the map only.
                    .filter(|l| l.name != "labels")
                    .map(|l| Collection::Context(*l)),
            )
            .collect()
    }

    pub fn id(self) -> &'static str {
        match self {
            Collection::Sites(None) => "sites",
            Collection::Sites(Some(group)) => group.code(),
            Collection::Context(layer) => layer.name,
        }
    }

    pub fn from_id(id: &str) -> Option<Collection> {
        Collection::all().into_iter().find(|c| c.id() == id)
    }
}

/// A half-open or closed time interval on the site's last update; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub start: Option<DateTime<Utc>>,
    /// Inclusive.
    pub end: Option<DateTime<Utc>>,
}

/// Which sites an items request wants; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct SiteFilter {
    pub group: Option<LayerGroup>,
    pub kinds: Vec<SiteKind>,
    pub statuses: Vec<SiteStatus>,
    /// Vietnamese districts (admin_unit ids) and Cambodian provinces (adjacent_area ids).
    pub district_ids: Vec<i32>,
    pub foreign_area_ids: Vec<i32>,
    pub phases: Vec<i16>,
    /// Code or name, diacritics and case ignored.
    pub q: Option<String>,
    pub bbox: Option<Bbox>,
    pub datetime: Option<Interval>,
    pub clearance: Option<Classification>,
}

/// A page of features as GeoJSON text, and how many match in all.
#[derive(Debug)]
pub struct FeaturePage {
    pub matched: i64,
    pub features: Vec<String>,
}

/// Parameters bound as `$1`, `$2`, … in the order the SQL asks for them.
#[derive(Default)]
struct Binds {
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Binds {
    fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// `ST_AsGeoJSON` of `column` in `crs`, rings counter-clockwise (RFC 7946's right-hand rule).
fn geojson_geometry(column: &str, crs: Crs) -> String {
    let oriented = format!("ST_ForcePolygonCCW({column})");
    let projected = match crs {
        Crs::Crs84 => oriented,
        Crs::Epsg4326 => format!("ST_FlipCoordinates({oriented})"),
        other => format!("ST_Transform({oriented}, {})", other.srid()),
    };
    // Option 0: no `crs` member, whatever the SRID (RFC 7946; Part 2 uses Content-Crs).
    format!("ST_AsGeoJSON({projected}, {}, 0)::json", crs.decimals())
}

/// The bbox as a polygon in EPSG:4326, for `ST_Intersects` against stored geometries.
fn bbox_envelope(bbox: &Bbox, binds: &mut Binds) -> String {
    let [x1, y1, x2, y2] = bbox.xy();
    let envelope = format!(
        "ST_MakeEnvelope({}, {}, {}, {}, {})",
        binds.bind(x1),
        binds.bind(y1),
        binds.bind(x2),
        binds.bind(y2),
        bbox.crs.srid()
    );
    if bbox.crs.srid() == 4326 {
        envelope
    } else {
        // Densified first, so the box's edges stay straight lines in its own CRS.
        let step = binds.bind((x2 - x1).max(1.0) / 16.0);
        format!("ST_Transform(ST_Segmentize({envelope}, {step}), 4326)")
    }
}

const SITE_FROM: &str = "site s JOIN site_kind k ON k.code = s.kind";

fn site_conditions(filter: &SiteFilter, binds: &mut Binds) -> String {
    let mut conditions = vec!["true".to_string()];
    if let Some(group) = filter.group {
        conditions.push(format!("k.layer_group = {}", binds.bind(group.code())));
    }
    if let Some(clearance) = filter.clearance {
        conditions.push(format!(
            "s.classification <= {}::text::classification",
            binds.bind(clearance.code())
        ));
    }
    if !filter.kinds.is_empty() {
        let codes: Vec<String> = filter.kinds.iter().map(|k| k.code().to_string()).collect();
        conditions.push(format!("s.kind = ANY({})", binds.bind(codes)));
    }
    if !filter.statuses.is_empty() {
        let codes: Vec<String> = filter
            .statuses
            .iter()
            .map(|k| k.code().to_string())
            .collect();
        conditions.push(format!("s.status::text = ANY({})", binds.bind(codes)));
    }
    if !filter.district_ids.is_empty() || !filter.foreign_area_ids.is_empty() {
        conditions.push(format!(
            "(s.district_id = ANY({}) OR s.foreign_area_id = ANY({}))",
            binds.bind(filter.district_ids.clone()),
            binds.bind(filter.foreign_area_ids.clone())
        ));
    }
    if !filter.phases.is_empty() {
        conditions.push(format!(
            "s.phase = ANY({})",
            binds.bind(filter.phases.clone())
        ));
    }
    if let Some(q) = &filter.q {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        conditions.push(format!(
            "search_key(s.code || ' ' || s.name) LIKE '%' || search_key({}) || '%'",
            binds.bind(escaped)
        ));
    }
    if let Some(bbox) = &filter.bbox {
        conditions.push(format!(
            "ST_Intersects(s.geom, {})",
            bbox_envelope(bbox, binds)
        ));
    }
    if let Some(interval) = filter.datetime {
        if let Some(start) = interval.start {
            conditions.push(format!("s.updated_at >= {}", binds.bind(start)));
        }
        if let Some(end) = interval.end {
            conditions.push(format!("s.updated_at <= {}", binds.bind(end)));
        }
    }
    conditions.join(" AND ")
}

/// The GeoJSON Feature of each site row `s` (with `k`, and budget totals `b`).
fn site_feature_sql(crs: Crs) -> String {
    format!(
        "json_build_object(
            'type', 'Feature',
            'id', s.code,
            'geometry', {geometry},
            'properties', json_build_object(
                'code', s.code, 'name', s.name, 'name_en', s.name_en,
                'kind', s.kind, 'layer', k.layer_group,
                'status', s.status, 'percent', s.progress_pct,
                'district', coalesce(d.short_name, a.name_vi, a.name),
                'district_code', coalesce(d.code, a.code),
                'commune', c.name,
                'country', CASE WHEN s.foreign_area_id IS NULL THEN 'VN' ELSE 'KH' END,
                'phase', s.phase, 'programme', s.programme,
                'responsible_unit', s.responsible_unit,
                'classification', s.classification,
                'planned_start', s.planned_start, 'planned_finish', s.planned_finish,
                'actual_start', s.actual_start, 'actual_finish', s.actual_finish,
                'updated_at', s.updated_at, 'version', s.version,
                'estimate_vnd', coalesce(b.estimate, 0), 'allocated_vnd', coalesce(b.allocated, 0),
                'disbursed_vnd', coalesce(b.disbursed, 0), 'settled_vnd', coalesce(b.settled, 0)))::text",
        geometry = geojson_geometry("s.geom", crs)
    )
}

const SITE_DETAIL_JOINS: &str = "
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN admin_unit c ON c.id = s.commune_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
      LEFT JOIN LATERAL (
            SELECT sum(estimate_vnd) AS estimate, sum(allocated_vnd) AS allocated,
                   sum(disbursed_vnd) AS disbursed, sum(settled_vnd) AS settled
              FROM budget_line WHERE site_id = s.id) b ON true";

/// One page of sites in `crs`, ordered by id, with the number matching the filter.
pub async fn site_page(
    client: &impl GenericClient,
    filter: &SiteFilter,
    crs: Crs,
    limit: i64,
    offset: i64,
) -> Result<FeaturePage, DbError> {
    let mut binds = Binds::default();
    let conditions = site_conditions(filter, &mut binds);
    let count_sql = format!("SELECT count(*) FROM {SITE_FROM} WHERE {conditions}");
    let count_binds = binds.refs();
    let matched = client.query_one(&count_sql, &count_binds).await?.get(0);
    let mut page_binds = Binds::default();
    let conditions = site_conditions(filter, &mut page_binds);
    let page_sql = format!(
        "WITH page AS (
            SELECT s.id FROM {SITE_FROM} WHERE {conditions}
             ORDER BY s.id LIMIT {} OFFSET {})
         SELECT {feature}
           FROM page JOIN site s ON s.id = page.id JOIN site_kind k ON k.code = s.kind
           {SITE_DETAIL_JOINS}
          ORDER BY s.id",
        page_binds.bind(limit),
        page_binds.bind(offset),
        feature = site_feature_sql(crs),
    );
    let rows = client.query(&page_sql, &page_binds.refs()).await?;
    Ok(FeaturePage {
        matched,
        features: rows.iter().map(|r| r.get(0)).collect(),
    })
}

/// One site by code, if it is in the group and within the clearance.
pub async fn site_feature(
    client: &impl GenericClient,
    group: Option<LayerGroup>,
    code: &str,
    crs: Crs,
    clearance: Option<Classification>,
) -> Result<Option<String>, DbError> {
    let filter = SiteFilter {
        group,
        clearance,
        ..SiteFilter::default()
    };
    let mut binds = Binds::default();
    let conditions = site_conditions(&filter, &mut binds);
    let sql = format!(
        "SELECT {feature} FROM {SITE_FROM} {SITE_DETAIL_JOINS}
          WHERE s.code = {code} AND {conditions}",
        code = binds.bind(code.to_string()),
        feature = site_feature_sql(crs),
    );
    let row = client.query_opt(&sql, &binds.refs()).await?;
    Ok(row.map(|r| r.get(0)))
}

/// A page of a context layer: bbox, limit and offset are its only filters.
pub async fn context_page(
    client: &impl GenericClient,
    layer: ContextLayer,
    bbox: Option<&Bbox>,
    crs: Crs,
    limit: i64,
    offset: i64,
) -> Result<FeaturePage, DbError> {
    let where_bbox = |binds: &mut Binds| match bbox {
        Some(b) => format!("ST_Intersects(t.geom, {})", bbox_envelope(b, binds)),
        None => "true".to_string(),
    };
    let mut binds = Binds::default();
    let condition = where_bbox(&mut binds);
    let count_sql = format!(
        "SELECT count(*) FROM {} t WHERE {condition}",
        layer.source()
    );
    let matched = client.query_one(&count_sql, &binds.refs()).await?.get(0);
    let mut binds = Binds::default();
    let condition = where_bbox(&mut binds);
    let sql = format!(
        "SELECT {feature} FROM {source} t WHERE {condition} ORDER BY t.id LIMIT {} OFFSET {}",
        binds.bind(limit),
        binds.bind(offset),
        feature = context_feature_sql(layer, crs),
        source = layer.source(),
    );
    let rows = client.query(&sql, &binds.refs()).await?;
    Ok(FeaturePage {
        matched,
        features: rows.iter().map(|r| r.get(0)).collect(),
    })
}

/// One context feature by its numeric id.
pub async fn context_feature(
    client: &impl GenericClient,
    layer: ContextLayer,
    id: i32,
    crs: Crs,
) -> Result<Option<String>, DbError> {
    let sql = format!(
        "SELECT {feature} FROM {source} t WHERE t.id = $1",
        feature = context_feature_sql(layer, crs),
        source = layer.source(),
    );
    let row = client.query_opt(&sql, &[&id]).await?;
    Ok(row.map(|r| r.get(0)))
}

fn context_feature_sql(layer: ContextLayer, crs: Crs) -> String {
    let properties: Vec<String> = layer
        .fields()
        .into_iter()
        .filter(|f| *f != "id")
        .map(|f| format!("'{f}', t.{f}"))
        .collect();
    format!(
        "json_build_object('type', 'Feature', 'id', t.id, 'geometry', {}, 'properties', json_build_object({}))::text",
        geojson_geometry("t.geom", crs),
        properties.join(", ")
    )
}

/// District names as given in a filter, resolved to ids. Each may be a district's
/// code (705), its abbreviation (TBI) or a Cambodian province's code (KHM-1801).
pub async fn resolve_districts(
    client: &impl GenericClient,
    names: &[String],
) -> Result<Result<(Vec<i32>, Vec<i32>), String>, DbError> {
    let mut districts = Vec::new();
    let mut foreign = Vec::new();
    for name in names {
        let row = client
            .query_opt(
                "SELECT id, false FROM admin_unit
                  WHERE level = 'district' AND (code = $1 OR upper(abbr) = upper($1))
                 UNION ALL
                 SELECT id, true FROM adjacent_area WHERE country = 'KH' AND upper(code) = upper($1)
                 LIMIT 1",
                &[name],
            )
            .await?;
        match row {
            Some(r) if r.get::<_, bool>(1) => foreign.push(r.get(0)),
            Some(r) => districts.push(r.get(0)),
            None => {
                let known = client
                    .query(
                        "SELECT abbr FROM admin_unit WHERE level = 'district' ORDER BY abbr",
                        &[],
                    )
                    .await?;
                let known: Vec<String> = known.iter().map(|r| r.get(0)).collect();
                return Ok(Err(format!(
                    "no district '{name}'; give a district code (705) or abbreviation ({}), or a Cambodian province code (KHM-1801)",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(Ok((districts, foreign)))
}

/// Spatial and temporal extent of a collection: [w, s, e, n] and first/last update.
pub async fn extent(
    client: &impl GenericClient,
    collection: Collection,
    clearance: Option<Classification>,
) -> Result<(Option<[f64; 4]>, Option<(String, String)>), DbError> {
    match collection {
        Collection::Context(layer) => Ok((
            super::tiles::context_layer_bounds(client, layer).await?,
            None,
        )),
        Collection::Sites(group) => {
            let filter = SiteFilter {
                group,
                clearance,
                ..SiteFilter::default()
            };
            let mut binds = Binds::default();
            let conditions = site_conditions(&filter, &mut binds);
            let sql = format!(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e),
                        to_char(first AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        to_char(last AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                   FROM (SELECT ST_Extent(s.geom)::geometry AS e,
                                min(s.updated_at) AS first, max(s.updated_at) AS last
                           FROM {SITE_FROM} WHERE {conditions}) x"
            );
            let row = client.query_one(&sql, &binds.refs()).await?;
            let bounds = row
                .get::<_, Option<f64>>(0)
                .map(|w| [w, row.get(1), row.get(2), row.get(3)]);
            let interval = row
                .get::<_, Option<String>>(4)
                .map(|first| (first, row.get(5)));
            Ok((bounds, interval))
        }
    }
}
