//! Features for OGC API – Features: filtered, paged pages of sites and context layers.
//! `sites` finds and writes the works, `context` the context layers, `json` the few JSON
//! helpers the writer needs.

mod context;
mod filter;
pub(crate) mod json;
mod sites;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::tiles::{ContextLayer, CONTEXT_LAYERS};
use super::DbError;
use crate::domain::{Classification, LayerGroup, SiteKind, SiteStatus};
use crate::spatial::crs::{Bbox, Crs};

pub use context::{context_feature, context_page};
pub(crate) use sites::site_conditions;
use sites::SITE_FROM;
pub use sites::{matching_site_ids, site_feature, site_features};

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

pub use crate::params::Interval;

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
    pub programmes: Vec<crate::domain::Programme>,
    /// Code or name, diacritics and case ignored.
    pub q: Option<String>,
    pub bbox: Option<Bbox>,
    pub datetime: Option<Interval>,
    /// A CQL2 filter, checked against the works' queryables.
    pub cql: Option<crate::params::filter::Filter>,
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
pub(crate) struct Binds {
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Binds {
    pub(crate) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// `ST_AsGeoJSON` text of `column` in `crs`, rings counter-clockwise (RFC 7946's
/// right-hand rule).
pub(crate) fn geojson_geometry_text(column: &str, crs: Crs) -> String {
    let oriented = format!("ST_ForcePolygonCCW({column})");
    let projected = match crs {
        Crs::Crs84 => oriented,
        Crs::Epsg4326 => format!("ST_FlipCoordinates({oriented})"),
        other => project(&oriented, other),
    };
    // Option 0: no `crs` member, whatever the SRID (RFC 7946; Part 2 uses Content-Crs).
    format!("ST_AsGeoJSON({projected}, {}, 0)", crs.decimals())
}

/// `geometry` (EPSG:4326) in `crs`: VN-2000 through the pinned EPSG:6960 transformation
/// (`to_vn2000_tm3`, migration 0013), never whichever operation PROJ would pick.
pub(crate) fn project(geometry: &str, crs: Crs) -> String {
    match crs {
        Crs::Crs84 => geometry.to_string(),
        Crs::Epsg4326 => format!("ST_FlipCoordinates({geometry})"),
        Crs::Epsg3857 => format!("ST_Transform({geometry}, 3857)"),
        Crs::Vn2000Tm3 => format!("to_vn2000_tm3({geometry})"),
    }
}

/// [`geojson_geometry_text`] as `json`, for features built by PostgreSQL.
pub(crate) fn geojson_geometry(column: &str, crs: Crs) -> String {
    format!("{}::json", geojson_geometry_text(column, crs))
}

/// The bbox as a polygon in EPSG:4326, for `ST_Intersects` against stored geometries.
pub(crate) fn bbox_envelope(bbox: &Bbox, binds: &mut Binds) -> String {
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
        // (16 pieces along the longer side: a narrow tall box must not become millions.)
        let step = binds.bind((x2 - x1).max(y2 - y1).max(1.0) / 16.0);
        let densified = format!("ST_Segmentize({envelope}, {step})");
        match bbox.crs {
            Crs::Vn2000Tm3 => format!("from_vn2000_tm3({densified})"),
            _ => format!("ST_Transform({densified}, 4326)"),
        }
    }
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
