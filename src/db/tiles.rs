//! Vector tiles built in PostGIS, and the data version that makes their ETags.

use deadpool_postgres::GenericClient;

use super::DbError;
use crate::domain::{Classification, LayerGroup};
use crate::params::tiles::TileFilter;
use crate::spatial::tile::TileCoord;

const TILE_SITES: &str = include_str!("../../sql/queries/tile_sites.sql");
const TILE_SITES_AS_OF: &str = include_str!("../../sql/queries/tile_sites_as_of.sql");
const TILE_CONTEXT: &str = include_str!("../../sql/queries/tile_context.sql");
const TILE_CLUSTERS: &str = include_str!("../../sql/queries/tile_clusters.sql");
const TILE_CLUSTER_WORKS: &str = include_str!("../../sql/queries/tile_cluster_works.sql");
const TILE_CLUSTER_WORKS_AS_OF: &str =
    include_str!("../../sql/queries/tile_cluster_works_as_of.sql");

/// `sql` for one layer: its `$4` written in as the layer's code (from a closed list, never a
/// caller's text) and the parameters after it numbered down, so that PostgreSQL plans each
/// layer's statement with that layer's own index (0031_tile_columns.sql).
fn for_layer(sql: &str, layer: LayerGroup) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits = rest[i + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(&rest[i + 1..], |end| &rest[i + 1..i + 1 + end]);
        match digits.parse::<u32>() {
            Ok(4) => out.push_str(&format!("'{}'", layer.code())),
            Ok(n) if n > 4 => out.push_str(&format!("${}", n - 1)),
            _ => {
                out.push('$');
                out.push_str(digits);
            }
        }
        rest = &rest[i + 1 + digits.len()..];
    }
    out.push_str(rest);
    out
}

/// One statement per layer, in [`LayerGroup::ALL`]'s order.
struct PerLayer(std::sync::LazyLock<Vec<String>>);

impl PerLayer {
    fn get(&self, layer: LayerGroup) -> &str {
        let i = LayerGroup::ALL
            .iter()
            .position(|g| *g == layer)
            .unwrap_or_default();
        &self.0[i]
    }
}

macro_rules! per_layer {
    ($sql:expr) => {
        PerLayer(std::sync::LazyLock::new(|| {
            LayerGroup::ALL
                .iter()
                .map(|g| for_layer(&$sql, *g))
                .collect()
        }))
    };
}

static SITES: PerLayer = per_layer!(TILE_SITES);
static SITES_AS_OF: PerLayer = per_layer!(TILE_SITES_AS_OF);
static CLUSTERS: PerLayer = per_layer!(TILE_CLUSTERS.replace("{works}", TILE_CLUSTER_WORKS));
static CLUSTERS_AS_OF: PerLayer =
    per_layer!(TILE_CLUSTERS.replace("{works}", TILE_CLUSTER_WORKS_AS_OF));

/// The deepest zoom whose site tiles carry clusters (counts per cell) instead of works:
/// below it works cannot be told apart, and a province's tile would weigh megabytes.
pub const CLUSTER_MAX_ZOOM: u8 = 10;

/// A context layer drawn under the works: its name, source rows and properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLayer {
    pub name: &'static str,
    source: &'static str,
    columns: &'static str,
}

/// The context layers, the only tables a context tile can read.
pub const CONTEXT_LAYERS: &[ContextLayer] = &[
    ContextLayer {
        name: "province",
        source: "(SELECT * FROM admin_unit WHERE level = 'province')",
        columns: "t.id, t.code, t.name, t.short_name",
    },
    ContextLayer {
        name: "districts",
        source: "(SELECT * FROM admin_unit WHERE level = 'district')",
        columns: "t.id, t.code, t.name, t.short_name, t.name_en, t.borders_cambodia",
    },
    ContextLayer {
        // Drawn where commune boundaries are loaded: imported, or simulated by the demo
        // (geodata/ has the list but no shapes), which `simulated` says.
        name: "communes",
        source: "(SELECT *, source LIKE 'simulated%' AS simulated
                    FROM admin_unit WHERE level = 'commune' AND geom IS NOT NULL)",
        columns: "t.id, t.code, t.name, t.short_name, t.name_en, t.simulated",
    },
    ContextLayer {
        name: "border",
        source: "border_line",
        columns: "t.id, t.name, t.name_vi, t.is_primary",
    },
    ContextLayer {
        name: "adjacent_provinces",
        source: "adjacent_area",
        columns: "t.id, t.code, t.name, t.name_vi, t.country",
    },
    ContextLayer {
        name: "labels",
        source: "(SELECT id, 'district' AS class, code, short_name AS name_vi, name_en,
                         ST_PointOnSurface(geom) AS geom
                    FROM admin_unit WHERE level = 'district' AND geom IS NOT NULL
                  UNION ALL
                  SELECT 100000 + id, 'neighbour', code, coalesce(name_vi, name), name,
                         ST_PointOnSurface(geom)
                    FROM adjacent_area
                  UNION ALL
                  SELECT 200000 + id, 'commune', code,
                         short_name || CASE WHEN source LIKE 'simulated%' THEN ' (mô phỏng)' ELSE '' END,
                         coalesce(name_en, short_name)
                           || CASE WHEN source LIKE 'simulated%' THEN ' (simulated)' ELSE '' END,
                         ST_PointOnSurface(geom)
                    FROM admin_unit WHERE level = 'commune' AND geom IS NOT NULL)",
        columns: "t.id, t.class, t.code, t.name_vi, t.name_en",
    },
    ContextLayer {
        name: "rivers",
        source: "river",
        columns: "t.id, t.class, t.gshhg_level",
    },
];

impl ContextLayer {
    /// The rows this layer reads (a table, or a subquery of one).
    pub fn source(&self) -> &'static str {
        self.source
    }

    pub fn from_name(name: &str) -> Option<Self> {
        CONTEXT_LAYERS.iter().copied().find(|l| l.name == name)
    }
}

/// A context layer's data version (bumped by `kvpt geodata load`).
pub async fn context_version(
    client: &impl GenericClient,
    layer: ContextLayer,
) -> Result<i64, DbError> {
    version_of(client, layer.name).await
}

/// One context layer's tile, empty where the layer has nothing.
pub async fn context_tile(
    client: &impl GenericClient,
    layer: ContextLayer,
    tile: TileCoord,
) -> Result<Vec<u8>, DbError> {
    let sql = TILE_CONTEXT
        .replace("{columns}", layer.columns)
        .replace("{source}", layer.source);
    let statement = client.prepare_cached(&sql).await?;
    let row = client
        .query_one(
            &statement,
            &[
                &i32::from(tile.z),
                &(tile.x as i32),
                &(tile.y as i32),
                &layer.name,
            ],
        )
        .await?;
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}

/// The layer's data version: bumped by every write to its sites.
pub async fn layer_version(client: &impl GenericClient, layer: LayerGroup) -> Result<i64, DbError> {
    version_of(client, layer.code()).await
}

/// The sum of the versions named (`defence_works@public`, …): it grows whenever any of
/// them does.
pub async fn version_sum(client: &impl GenericClient, layers: &[String]) -> Result<i64, DbError> {
    Ok(client
        .query_one(
            "SELECT coalesce(sum(version), 0)::int8 FROM layer_version WHERE layer = ANY($1)",
            &[&layers],
        )
        .await?
        .get(0))
}

async fn version_of(client: &impl GenericClient, layer: &str) -> Result<i64, DbError> {
    let row = client
        .query_opt(
            "SELECT version FROM layer_version WHERE layer = $1",
            &[&layer],
        )
        .await?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// One site layer's tile, empty when nothing in it is visible at `clearance`; with
/// `as_of`, statuses as they stood before that moment.
pub async fn site_tile(
    client: &impl GenericClient,
    layer: LayerGroup,
    tile: TileCoord,
    clearance: Classification,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<u8>, DbError> {
    let (z, x, y) = (i32::from(tile.z), tile.x as i32, tile.y as i32);
    let ceiling = clearance.code();
    let row = match as_of {
        None => {
            let statement = client.prepare_cached(SITES.get(layer)).await?;
            client
                .query_one(&statement, &[&z, &x, &y, &ceiling])
                .await?
        }
        Some(cutoff) => {
            let statement = client.prepare_cached(SITES_AS_OF.get(layer)).await?;
            client
                .query_one(&statement, &[&z, &x, &y, &ceiling, &cutoff])
                .await?
        }
    };
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}

/// One site layer's cluster tile (zoom [`CLUSTER_MAX_ZOOM`] and below): the works visible
/// at `clearance` that pass `filter`, counted per cell; with `as_of`, as they stood then.
pub async fn cluster_tile(
    client: &impl GenericClient,
    layer: LayerGroup,
    tile: TileCoord,
    clearance: Classification,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    filter: &TileFilter,
) -> Result<Vec<u8>, DbError> {
    let (z, x, y) = (i32::from(tile.z), tile.x as i32, tile.y as i32);
    let ceiling = clearance.code();
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &z,
        &x,
        &y,
        &ceiling,
        &filter.district,
        &filter.kind,
        &filter.status,
        &filter.phase,
        &filter.programme,
    ];
    let sql = match &as_of {
        None => CLUSTERS.get(layer),
        Some(cutoff) => {
            params.push(cutoff);
            CLUSTERS_AS_OF.get(layer)
        }
    };
    let statement = client.prepare_cached(sql).await?;
    let row = client.query_one(&statement, &params).await?;
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}

/// Extent of a context layer as [west, south, east, north], if it has rows.
pub async fn context_layer_bounds(
    client: &impl GenericClient,
    layer: ContextLayer,
) -> Result<Option<[f64; 4]>, DbError> {
    let sql = format!(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
           FROM (SELECT ST_Extent(t.geom)::geometry AS e FROM {} t) x",
        layer.source
    );
    let row = client.query_one(&sql, &[]).await?;
    Ok(bounds_of(&row))
}

fn bounds_of(row: &tokio_postgres::Row) -> Option<[f64; 4]> {
    Some([
        row.get::<_, Option<f64>>(0)?,
        row.get(1),
        row.get(2),
        row.get(3),
    ])
}

impl ContextLayer {
    /// The property names this layer's features carry.
    pub fn fields(&self) -> Vec<&'static str> {
        self.columns
            .split(',')
            .map(|c| c.trim().trim_start_matches("t."))
            .collect()
    }
}

/// Subscribes `client` (a connection of its own, not a pooled one) to the notices the
/// caches follow: changes to site tiles, layer versions, sessions, and sync notices.
pub async fn listen_for_changes(client: &tokio_postgres::Client) -> Result<(), DbError> {
    client
        .batch_execute(
            "LISTEN tile_change; LISTEN layer_version; LISTEN kvpt_sessions; LISTEN kvpt_sync",
        )
        .await?;
    Ok(())
}

/// Sends sync notice `token`: a listener that reads it has read every notice committed
/// before it.
pub async fn notify_sync(client: &impl GenericClient, token: &str) -> Result<(), DbError> {
    client
        .execute("SELECT pg_notify('kvpt_sync', $1)", &[&token])
        .await?;
    Ok(())
}

/// The box (EPSG:3857: xmin, ymin, xmax, ymax) of every work of `layer` a tile may show,
/// whatever its classification: where its tiles may hold something.
pub async fn work_boxes(
    client: &tokio_postgres::Client,
    layer: LayerGroup,
) -> Result<Vec<[f64; 4]>, DbError> {
    Ok(client
        .query(
            "SELECT ST_XMin(geom_3857), ST_YMin(geom_3857), ST_XMax(geom_3857), ST_YMax(geom_3857)
               FROM site
              WHERE layer_group = $1 AND geom_3857 IS NOT NULL",
            &[&layer.code()],
        )
        .await?
        .iter()
        .map(|r| [r.get(0), r.get(1), r.get(2), r.get(3)])
        .collect())
}

/// Every layer's data version, by layer name.
pub async fn layer_versions(
    client: &tokio_postgres::Client,
) -> Result<Vec<(String, i64)>, DbError> {
    Ok(client
        .query("SELECT layer, version FROM layer_version", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_is_written_in_and_later_parameters_move_down() {
        let sql = "WHERE l = $4 AND c <= $5 AND z = $1 AND t < $10::timestamptz AND x = $14";
        assert_eq!(
            for_layer(sql, LayerGroup::Land),
            "WHERE l = 'land' AND c <= $4 AND z = $1 AND t < $9::timestamptz AND x = $13"
        );
        // Each statement's last parameter: the clearance, the moment, the programme filter.
        for (all, last) in [&SITES, &SITES_AS_OF, &CLUSTERS, &CLUSTERS_AS_OF]
            .iter()
            .zip([4, 5, 9, 10])
        {
            let sql = all.get(LayerGroup::Logistics);
            assert!(sql.contains("layer_group = 'logistics'"));
            assert!(sql.contains(&format!("${last}")), "{last}");
            assert!(!sql.contains(&format!("${}", last + 1)), "{last}");
        }
    }
}
