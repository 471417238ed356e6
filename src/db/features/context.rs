//! Context layers (province, districts, border, …) as features.

use deadpool_postgres::GenericClient;

use super::{bbox_envelope, geojson_geometry, Binds, FeaturePage};
use crate::db::tiles::ContextLayer;
use crate::db::DbError;
use crate::spatial::crs::{Bbox, Crs};

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
