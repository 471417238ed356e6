//! Vector tiles built in PostGIS, and the data version that makes their ETags.

use tokio_postgres::GenericClient;

use super::DbError;
use crate::domain::{Classification, LayerGroup};
use crate::spatial::tile::TileCoord;

const TILE_SITES: &str = include_str!("../../sql/queries/tile_sites.sql");

/// The layer's data version: bumped by every write to its sites.
pub async fn layer_version(client: &impl GenericClient, layer: LayerGroup) -> Result<i64, DbError> {
    let row = client
        .query_opt(
            "SELECT version FROM layer_version WHERE layer = $1",
            &[&layer.code()],
        )
        .await?;
    Ok(row.map_or(0, |r| r.get(0)))
}

/// One site layer's tile, empty when nothing in it is visible at `clearance`.
pub async fn site_tile(
    client: &impl GenericClient,
    layer: LayerGroup,
    tile: TileCoord,
    clearance: Classification,
) -> Result<Vec<u8>, DbError> {
    let row = client
        .query_one(
            TILE_SITES,
            &[
                &i32::from(tile.z),
                &(tile.x as i32),
                &(tile.y as i32),
                &layer.code(),
                &clearance.code(),
            ],
        )
        .await?;
    Ok(row.get::<_, Option<Vec<u8>>>(0).unwrap_or_default())
}
