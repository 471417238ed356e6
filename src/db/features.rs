//! Features for OGC API – Features: filtered, paged pages of sites and context
//! layers, each feature built as GeoJSON text in PostGIS.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::tiles::{ContextLayer, CONTEXT_LAYERS};
use super::DbError;
use crate::domain::{Classification, LayerGroup, SiteKind, SiteStatus};
use crate::spatial::crs::Crs;
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

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

/// `ST_AsGeoJSON` text of `column` in `crs`, rings counter-clockwise (RFC 7946's
/// right-hand rule).
fn geojson_geometry_text(column: &str, crs: Crs) -> String {
    let oriented = format!("ST_ForcePolygonCCW({column})");
    let projected = match crs {
        Crs::Crs84 => oriented,
        Crs::Epsg4326 => format!("ST_FlipCoordinates({oriented})"),
        other => format!("ST_Transform({oriented}, {})", other.srid()),
    };
    // Option 0: no `crs` member, whatever the SRID (RFC 7946; Part 2 uses Content-Crs).
    format!("ST_AsGeoJSON({projected}, {}, 0)", crs.decimals())
}

/// [`geojson_geometry_text`] as `json`, for features built by PostgreSQL.
fn geojson_geometry(column: &str, crs: Crs) -> String {
    format!("{}::json", geojson_geometry_text(column, crs))
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
        // Equality on the allowed levels: measured cheaper per row than ordering the enum.
        let allowed: Vec<String> = Classification::ALL
            .iter()
            .filter(|c| **c <= clearance)
            .map(|c| c.code().to_string())
            .collect();
        conditions.push(format!(
            "s.classification = ANY({}::text[]::classification[])",
            binds.bind(allowed)
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
        let envelope = bbox_envelope(bbox, binds);
        conditions.push(if bbox.crs.srid() == 4326 {
            // The envelope is a true rectangle: a work whose box lies inside it intersects
            // it, and only works across its edge need the exact (GEOS) test.
            format!(
                "s.geom && {envelope} AND (s.geom @ {envelope} OR ST_Intersects(s.geom, {envelope}))"
            )
        } else {
            format!("s.geom && {envelope} AND ST_Intersects(s.geom, {envelope})")
        });
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

/// The columns a site feature is written from (see [`write_site_feature`]), the geometry last.
fn site_columns(crs: Crs) -> String {
    format!(
        "s.code, s.name, s.name_en, s.kind, k.layer_group, s.status::text, s.progress_pct,
         coalesce(d.short_name, a.name_vi, a.name), coalesce(d.code, a.code), c.name,
         s.foreign_area_id IS NOT NULL, s.phase, s.programme::text, s.responsible_unit,
         s.classification::text, s.planned_start, s.planned_finish, s.actual_start, s.actual_finish,
         s.updated_at, s.version,
         coalesce(b.estimate, 0)::bigint, coalesce(b.allocated, 0)::bigint,
         coalesce(b.disbursed, 0)::bigint, coalesce(b.settled, 0)::bigint,
         {geometry}",
        geometry = geojson_geometry_text("s.geom", crs)
    )
}

/// Writes one GeoJSON Feature from the [`site_columns`] of `row`, starting at column `at`.
/// Built here rather than by `json_build_object`: PostgreSQL's JSON functions were half
/// the database time of a 1 000-feature page.
fn write_site_feature(out: &mut String, row: &Row, at: usize) {
    use std::fmt::Write;
    let text = |i: usize| row.get::<_, Option<&str>>(at + i);
    let date = |i: usize| row.get::<_, Option<NaiveDate>>(at + i);
    let int = |i: usize| row.get::<_, i64>(at + i);
    let code = text(0).unwrap_or_default();
    out.push_str("{\"type\":\"Feature\",\"id\":");
    push_json_str(out, code);
    out.push_str(",\"geometry\":");
    out.push_str(text(25).unwrap_or("null"));
    out.push_str(",\"properties\":{");
    let field = |out: &mut String, name: &str| {
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
    };
    let strings = [
        ("code", 0),
        ("name", 1),
        ("name_en", 2),
        ("kind", 3),
        ("layer", 4),
        ("status", 5),
    ];
    for (i, (name, col)) in strings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, name);
        push_json_opt(out, text(*col));
    }
    out.push(',');
    field(out, "percent");
    let _ = write!(out, "{}", row.get::<_, i16>(at + 6));
    for (name, col) in [("district", 7), ("district_code", 8), ("commune", 9)] {
        out.push(',');
        field(out, name);
        push_json_opt(out, text(col));
    }
    out.push(',');
    field(out, "country");
    out.push_str(if row.get::<_, bool>(at + 10) {
        "\"KH\""
    } else {
        "\"VN\""
    });
    out.push(',');
    field(out, "phase");
    match row.get::<_, Option<i16>>(at + 11) {
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => out.push_str("null"),
    }
    for (name, col) in [
        ("programme", 12),
        ("responsible_unit", 13),
        ("classification", 14),
    ] {
        out.push(',');
        field(out, name);
        push_json_opt(out, text(col));
    }
    for (name, col) in [
        ("planned_start", 15),
        ("planned_finish", 16),
        ("actual_start", 17),
        ("actual_finish", 18),
    ] {
        out.push(',');
        field(out, name);
        match date(col) {
            Some(d) => {
                let _ = write!(out, "\"{}\"", d.format("%Y-%m-%d"));
            }
            None => out.push_str("null"),
        }
    }
    out.push(',');
    field(out, "updated_at");
    let updated: DateTime<Utc> = row.get(at + 19);
    let _ = write!(
        out,
        "\"{}\"",
        updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    out.push(',');
    field(out, "version");
    let _ = write!(out, "{}", row.get::<_, i32>(at + 20));
    for (name, col) in [
        ("estimate_vnd", 21),
        ("allocated_vnd", 22),
        ("disbursed_vnd", 23),
        ("settled_vnd", 24),
    ] {
        out.push(',');
        field(out, name);
        let _ = write!(out, "{}", int(col));
    }
    out.push_str("}}");
}

fn push_json_opt(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => push_json_str(out, v),
        None => out.push_str("null"),
    }
}

/// A JSON string literal, escaped as RFC 8259 requires.
fn push_json_str(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

const SITE_DETAIL_JOINS: &str = "
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN admin_unit c ON c.id = s.commune_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
      LEFT JOIN LATERAL (
            SELECT sum(estimate_vnd) AS estimate, sum(allocated_vnd) AS allocated,
                   sum(disbursed_vnd) AS disbursed, sum(settled_vnd) AS settled
              FROM budget_line WHERE site_id = s.id) b ON true";

/// The ids of every site matching `filter`, in id order (the order pages follow).
pub async fn matching_site_ids(
    client: &impl GenericClient,
    filter: &SiteFilter,
) -> Result<Vec<i64>, DbError> {
    let mut binds = Binds::default();
    let conditions = site_conditions(filter, &mut binds);
    let sql = format!("SELECT s.id FROM {SITE_FROM} WHERE {conditions} ORDER BY s.id");
    let statement = client.prepare_cached(&sql).await?;
    let rows = client.query(&statement, &binds.refs()).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The sites of `ids` as GeoJSON features in `crs`, in the order given.
pub async fn site_features(
    client: &impl GenericClient,
    ids: &[i64],
    crs: Crs,
) -> Result<Vec<String>, DbError> {
    let sql = format!(
        "SELECT {columns}
           FROM unnest($1::bigint[]) WITH ORDINALITY AS p(id, n)
           JOIN site s ON s.id = p.id JOIN site_kind k ON k.code = s.kind
           {SITE_DETAIL_JOINS}
          ORDER BY p.n",
        columns = site_columns(crs),
    );
    let statement = client.prepare_cached(&sql).await?;
    let rows = client.query(&statement, &[&ids]).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut feature = String::with_capacity(1024);
            write_site_feature(&mut feature, row, 0);
            feature
        })
        .collect())
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
        "SELECT {columns} FROM {SITE_FROM} {SITE_DETAIL_JOINS}
          WHERE s.code = {code} AND {conditions}",
        code = binds.bind(code.to_string()),
        columns = site_columns(crs),
    );
    let statement = client.prepare_cached(&sql).await?;
    let row = client.query_opt(&statement, &binds.refs()).await?;
    Ok(row.map(|r| {
        let mut feature = String::with_capacity(1024);
        write_site_feature(&mut feature, &r, 0);
        feature
    }))
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

#[cfg(test)]
mod tests {
    use super::push_json_str;

    #[test]
    fn json_strings_round_trip() {
        for text in [
            "Kho \"K1\"",
            "a\\b",
            "dòng 1\ndòng 2\t\r",
            "\u{1}\u{1f}",
            "Đồn Biên phòng <script>",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, text);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, text);
        }
    }
}
