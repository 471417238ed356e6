//! OGC API – Tiles over the tile engine and cache of `/tiles/…`: the tiling scheme
//! (`/tileMatrixSets`, WebMercatorQuad only, the grid every tile of kvpt is cut on), each
//! layer's vector tileset (`/collections/{id}/tiles`, `…/tiles/WebMercatorQuad`) and its
//! tiles at `…/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}`: the row (y) before the
//! column (x), the same bytes, ETag and clearance as `/tiles/{layer}/{z}/{x}/{y}.mvt`.
//! The `sites` collection has no tileset: tiles are cut per layer group.

use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::base_url;
use super::tiles::{self, TileLayer};
use super::AppState;
use crate::error::AppError;
use crate::spatial::tile::MAX_ZOOM;

pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
];

pub const TMS_ID: &str = "WebMercatorQuad";
const TMS_URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
const EPSG_3857: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const MVT: &str = "application/vnd.mapbox-vector-tile";
pub const REL_TILESETS_VECTOR: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";
/// Half the width of the Web Mercator world, metres.
const ORIGIN: f64 = crate::spatial::tile::WEB_MERCATOR_HALF;

/// The tiling scheme and tileset documents.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tileMatrixSets", get(tile_matrix_sets))
        .route("/tileMatrixSets/{id}", get(tile_matrix_set))
        .route("/collections/{collection}/tiles", get(tilesets))
        .route("/collections/{collection}/tiles/{tms}", get(tileset))
}

/// The tiles, beside `/tiles/…` outside the page layers (they are the same tiles).
pub fn tile_routes() -> Router<AppState> {
    Router::new().route(
        "/collections/{collection}/tiles/{tms}/{z}/{row}/{col}",
        get(tile),
    )
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// The tile layer of collection `id`: 404 for an unknown one and for `sites`.
fn layer_of(id: &str) -> Result<TileLayer, AppError> {
    TileLayer::from_name(id).ok_or_else(|| {
        AppError::NotFound(format!(
            "collection '{id}' has no tiles: tiles are cut per layer group (defence_works, border_militia, …) and context layer"
        ))
    })
}

fn check_tms(tms: &str) -> Result<(), AppError> {
    if tms == TMS_ID {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "no tiling scheme '{tms}': kvpt cuts tiles on {TMS_ID} only"
        )))
    }
}

/// WebMercatorQuad (OGC 17-083r4 / TMS 2.0), with the 1.0 names beside (GDAL 3.6 reads those).
fn web_mercator_quad() -> Value {
    let matrices: Vec<Value> = (0..=MAX_ZOOM)
        .map(|z| {
            let n = 1u64 << z;
            let cell = 2.0 * ORIGIN / 256.0 / n as f64;
            json!({
                "id": z.to_string(), "identifier": z.to_string(),
                "scaleDenominator": cell / 0.000_28, "cellSize": cell,
                "cornerOfOrigin": "topLeft", "pointOfOrigin": [-ORIGIN, ORIGIN],
                "topLeftCorner": [-ORIGIN, ORIGIN],
                "tileWidth": 256, "tileHeight": 256, "matrixWidth": n, "matrixHeight": n,
            })
        })
        .collect();
    json!({
        "id": TMS_ID, "identifier": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": EPSG_3857, "supportedCRS": EPSG_3857,
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": { "crs": EPSG_3857, "lowerLeft": [-ORIGIN, -ORIGIN], "upperRight": [ORIGIN, ORIGIN] },
        "tileMatrices": matrices.clone(),
        "tileMatrix": matrices,
    })
}

async fn tile_matrix_sets(headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers);
    Json(json!({ "tileMatrixSets": [{
        "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
        "links": [link(format!("{base}/tileMatrixSets/{TMS_ID}"), REL_TILING_SCHEME, "application/json", TMS_ID)],
    }] }))
}

async fn tile_matrix_set(Path(id): Path<String>) -> Result<Json<Value>, AppError> {
    check_tms(&id)?;
    Ok(Json(web_mercator_quad()))
}

/// One tileset's summary, as the list and the collection give it.
fn tileset_summary(base: &str, id: &str) -> Value {
    json!({
        "title": format!("{id} ({TMS_ID})"),
        "dataType": "vector", "crs": EPSG_3857, "tileMatrixSetURI": TMS_URI,
        "links": [
            link(format!("{base}/collections/{id}/tiles/{TMS_ID}"), "self", "application/json", "The tileset"),
            link(format!("{base}/tileMatrixSets/{TMS_ID}"), REL_TILING_SCHEME, "application/json", TMS_ID),
        ],
    })
}

async fn tilesets(
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    layer_of(&id)?;
    caller.clearance()?;
    let base = base_url(&headers);
    Ok(Json(json!({
        "links": [
            link(format!("{base}/collections/{id}/tiles"), "self", "application/json", "Tilesets"),
            link(format!("{base}/collections/{id}"), "collection", "application/json", "The collection"),
        ],
        "tilesets": [tileset_summary(&base, &id)],
    })))
}

async fn tileset(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tms)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let layer = layer_of(&id)?;
    check_tms(&tms)?;
    let clearance = caller.clearance()?;
    let client = state.db().await?;
    let (fields, bounds) = tiles::layer_fields_and_bounds(&client, layer, clearance).await?;
    let bounds = bounds.unwrap_or([105.8, 10.9, 106.5, 11.8]);
    let base = base_url(&headers);
    let properties: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|f| {
            let kind = if matches!(f, "id" | "percent" | "phase" | "count") || f.starts_with("n_") {
                "integer"
            } else {
                "string"
            };
            (f.to_string(), json!({ "type": kind }))
        })
        .collect();
    let mut doc = tileset_summary(&base, &id);
    doc["links"]
        .as_array_mut()
        .expect("links")
        .push(json!({
            "href": format!("{base}/collections/{id}/tiles/{TMS_ID}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
            "rel": "item", "type": MVT, "templated": true, "title": "A tile",
        }));
    doc["boundingBox"] = json!({ "crs": CRS84, "lowerLeft": [bounds[0], bounds[1]], "upperRight": [bounds[2], bounds[3]] });
    doc["layers"] = json!([{
        "id": id, "dataType": "vector",
        "minTileMatrix": layer.min_zoom().to_string(), "maxTileMatrix": MAX_ZOOM.to_string(),
        "propertiesSchema": { "type": "object", "properties": properties },
    }]);
    Ok(Json(doc))
}

/// A tile: the request sent on to `/tiles/{layer}/{z}/{x}/{y}.mvt` (its headers, its
/// query, its caller), so the cache, the ETag and the clearance are that route's.
async fn tile(
    State(state): State<AppState>,
    Path((id, tms, z, row, col)): Path<(String, String, String, String, String)>,
    request: Request,
) -> Response {
    let target = layer_of(&id).and_then(|layer| {
        check_tms(&tms)?;
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("/tiles/{}/{z}/{col}/{row}.mvt{query}", layer.name())
            .parse::<axum::http::Uri>()
            .map_err(|_| AppError::bad_request("tile", "not a tile address"))
    });
    match target {
        Ok(uri) => {
            let (mut parts, body) = request.into_parts();
            parts.uri = uri;
            tiles::answer(&state, Request::from_parts(parts, body)).await
        }
        Err(e) => {
            let mut response = e.into_response();
            super::security::data_headers(response.headers_mut());
            response
        }
    }
}
