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
        // Drawn where commune boundaries are loaded (geodata/ has the list but no shapes yet).
        name: "communes",
        source: "(SELECT * FROM admin_unit WHERE level = 'commune' AND geom IS NOT NULL)",
        columns: "t.id, t.code, t.name, t.short_name, t.name_en",
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
                    FROM adjacent_area)",
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
    let row = match as_of {
        None => {
            let statement = client.prepare_cached(TILE_SITES).await?;
            client
                .query_one(&statement, &[&z, &x, &y, &layer.code(), &clearance.code()])
                .await?
        }
        Some(cutoff) => {
            let statement = client.prepare_cached(TILE_SITES_AS_OF).await?;
            client
                .query_one(
                    &statement,
                    &[&z, &x, &y, &layer.code(), &clearance.code(), &cutoff],
                )
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
    static CURRENT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| TILE_CLUSTERS.replace("{works}", TILE_CLUSTER_WORKS));
    static AS_OF: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| TILE_CLUSTERS.replace("{works}", TILE_CLUSTER_WORKS_AS_OF));
    let (z, x, y) = (i32::from(tile.z), tile.x as i32, tile.y as i32);
    let (code, ceiling) = (layer.code(), clearance.code());
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
        &z,
        &x,
        &y,
        &code,
        &ceiling,
        &filter.district,
        &filter.kind,
        &filter.status,
        &filter.phase,
    ];
    let sql = match &as_of {
        None => CURRENT.as_str(),
        Some(cutoff) => {
            params.push(cutoff);
            AS_OF.as_str()
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
