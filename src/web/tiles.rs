//! `GET /tiles/{layer}/{z}/{x}/{y}.mvt`: site and context layers as Mapbox Vector Tiles,
//! cached until a change meets them (`tile_cache`: no stale tile survives an edit, and an
//! edit drops only the tiles it touches), with an ETag made from the tile's bytes (so it
//! tells nothing the tile does not).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};

use super::caller::Caller;
use super::tile_cache::{CachedTile, TileKey};
use super::AppState;
use crate::db;
use crate::db::tiles::{ContextLayer, CONTEXT_LAYERS};
use crate::domain::{Classification, LayerGroup, SiteStatus};
use crate::error::AppError;
use crate::params::tiles::TileQuery;
use crate::spatial::tile::TileCoord;

/// A layer a tile can be asked of: sites of a group, or a context layer.
#[derive(Debug, Clone, Copy)]
pub(super) enum TileLayer {
    Sites(LayerGroup),
    Context(ContextLayer),
}

impl TileLayer {
    pub(super) fn name(self) -> &'static str {
        match self {
            TileLayer::Sites(group) => group.code(),
            TileLayer::Context(context) => context.name,
        }
    }

    pub(super) fn min_zoom(self) -> u8 {
        match self {
            TileLayer::Sites(group) => group.min_zoom(),
            // Context layers are simplified per zoom and small: drawn from zoom 0.
            TileLayer::Context(_) => 0,
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Self> {
        LayerGroup::from_code(name)
            .map(TileLayer::Sites)
            .or_else(|| ContextLayer::from_name(name).map(TileLayer::Context))
    }
}

/// The tiles themselves: gzipped once when cached, so outside the compression layer.
pub fn tile_routes() -> Router<AppState> {
    Router::new().route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
}

/// TileJSON descriptions.
pub fn routes() -> Router<AppState> {
    Router::new().route("/tiles/{file}", get(tilejson))
}

/// True for the paths the tile route matches and the tile handler can answer:
/// `/tiles/` then four non-empty parts, the last ending in `.mvt` (the lane in
/// `server` sends these straight here; anything else goes through the router).
pub fn is_tile_path(path: &str) -> bool {
    path.strip_prefix("/tiles/").is_some_and(|rest| {
        let mut parts = 0;
        rest.ends_with(".mvt")
            && rest.split('/').all(|p| {
                parts += 1;
                !p.is_empty()
            })
            && parts == 4
    })
}

/// The hottest route, outside the layers the other routes pass through: its few security
/// headers are set here (the page set, with its long CSP, cost 13 % of tile throughput).
async fn tile(State(state): State<AppState>, request: Request) -> Response {
    answer(&state, request).await
}

/// A tile request answered: the router's handler and the server's tile lane both come
/// here. It borrows the state (the lane clones nothing shared between cores per request).
pub async fn answer(state: &AppState, request: Request) -> Response {
    let mut response = match serve_tile(state, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    super::security::data_headers(response.headers_mut());
    response
}

/// It borrows the request (no copy of its headers, no allocation for the path's parts)
/// and answers a cached tile without touching PostgreSQL.
async fn serve_tile(state: &AppState, request: Request) -> Result<Response, AppError> {
    let (layer, coord) = tile_address(request.uri().path())?;
    let headers = request.headers();
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let caller = state
        .caller(headers, peer, super::caller::Lookup::Cache)
        .await?;
    let clearance = caller.clearance()?;
    let query = TileQuery::parse(request.uri().query())?;
    let asked = Asked {
        clearance,
        client_lsn: caller.min_lsn,
    };
    let (tile, hit) = cached_tile(state, layer, coord, asked, &query).await?;
    // Whether the tile came from memory moves with every write to the layer, works above
    // the caller's clearance included: only callers who see them all are told.
    let hit = (clearance == Classification::Secret).then_some(hit);
    // The tag is the tile's bytes' (kept with the cached tile): a repeated tile is a 304
    // from memory; after an edit the tile is made again and is a 304 still when what this
    // caller sees did not change.
    let etag = tile.etag.clone();
    if not_modified(headers, &etag) {
        let response = StatusCode::NOT_MODIFIED.into_response();
        return Ok(with_cache_headers(response, etag, hit));
    }
    Ok(with_cache_headers(tile_response(tile, headers), etag, hit))
}

/// The tile of a place no work is near (204, one shared tag).
static EMPTY_TILE: std::sync::LazyLock<CachedTile> =
    std::sync::LazyLock::new(|| CachedTile::new(Bytes::new()));

/// Who asks for a tile: what they may see, and the position of their last write.
#[derive(Clone, Copy)]
pub(super) struct Asked {
    pub clearance: Classification,
    pub client_lsn: u64,
}

/// The tile, from memory when it is there and still good, and whether it was. Memory
/// answers only once it holds the caller's last write (`freshness`).
async fn cached_tile(
    state: &AppState,
    layer: TileLayer,
    coord: TileCoord,
    asked: Asked,
    query: &TileQuery,
) -> Result<(CachedTile, bool), AppError> {
    let clearance = asked.clearance;
    let from_memory = state.freshness.covers(asked.client_lsn);
    let clustered = matches!(layer, TileLayer::Sites(_)) && coord.z <= db::tiles::CLUSTER_MAX_ZOOM;
    let mut key = tile_key(layer, coord, clearance, query, clustered);
    let made = |mark| async move {
        let bytes = make_tile(state, layer, coord, asked, query).await?;
        Ok::<_, AppError>(CachedTile::new(Bytes::from(bytes)).made_after(mark))
    };
    match layer {
        TileLayer::Sites(group) => {
            // Without the listener, changes would go unseen: made afresh, not kept.
            if !state.tiles.is_live() {
                return Ok((made(0).await?, false));
            }
            // No work near: empty for everyone, without PostgreSQL (current works only).
            if from_memory
                && !clustered
                && query.as_of.is_none()
                && state.tiles.is_empty_site(group, coord)
            {
                return Ok((EMPTY_TILE.clone(), true));
            }
            // The epoch and the mark before the query: a change it may lack comes after.
            key.version = state.tiles.epoch(group, clearance);
            let mark = state.tiles.mark();
            if let Some(tile) = state
                .tiles
                .get_site(&key, group, clearance, coord)
                .filter(|_| from_memory)
            {
                return Ok((tile, true));
            }
            let tile = made(mark).await?;
            state.tiles.insert(key, tile.clone());
            Ok((tile, false))
        }
        TileLayer::Context(context) => {
            key.version = match state.tiles.version(context.name) {
                Some(version) => version,
                None => db::tiles::context_version(&state.db().await?, context).await?,
            };
            if let Some(tile) = state.tiles.get(&key).filter(|_| from_memory) {
                return Ok((tile, true));
            }
            let tile = made(0).await?;
            state.tiles.insert(key, tile.clone());
            Ok((tile, false))
        }
    }
}

/// The cache's key of a tile, its version left at 0 for the caller to set.
fn tile_key(
    layer: TileLayer,
    coord: TileCoord,
    clearance: Classification,
    query: &TileQuery,
    clustered: bool,
) -> TileKey {
    TileKey {
        layer: layer.name(),
        version: 0,
        clearance: clearance.code(),
        as_of: query
            .as_of
            .map_or(0, |d| (d - chrono::NaiveDate::default()).num_days() as i32),
        // Only clusters are filtered here; works are filtered in the browser.
        filter: if clustered { query.filter.key() } else { None },
        z: coord.z,
        x: coord.x,
        y: coord.y,
    }
}

/// The layer and tile a path names (the router matched /tiles/{layer}/{z}/{x}/{y}: four
/// parts after "/tiles/").
fn tile_address(path: &str) -> Result<(TileLayer, TileCoord), AppError> {
    let mut parts = path["/tiles/".len()..].splitn(4, '/');
    let (layer, z, x, y) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let layer = TileLayer::from_name(layer).ok_or_else(|| {
        let known: Vec<&str> = LayerGroup::ALL
            .iter()
            .map(|g| g.code())
            .chain(CONTEXT_LAYERS.iter().map(|l| l.name))
            .collect();
        AppError::NotFound(format!(
            "no layer '{layer}'; layers are {}",
            known.join(", ")
        ))
    })?;
    let coord = TileCoord::parse(z, x, y, "mvt")
        .map_err(|e| AppError::bad_request("tile", e.to_string()))?;
    Ok((layer, coord))
}

/// A tile from PostGIS (empty below the layer's first zoom): of a site layer, its clusters
/// up to [`db::tiles::CLUSTER_MAX_ZOOM`], its works beyond. Made on a replica that holds
/// what it must, else (or when that replica goes away meanwhile) on the primary.
async fn make_tile(
    state: &AppState,
    layer: TileLayer,
    coord: TileCoord,
    asked: Asked,
    query: &TileQuery,
) -> Result<Vec<u8>, AppError> {
    if coord.z < layer.min_zoom() {
        return Ok(Vec::new());
    }
    state
        .reading(asked.client_lsn, |lsn| async move {
            let client = state.read_tile_db(lsn).await?;
            make_tile_on(client, layer, coord, asked.clearance, query).await
        })
        .await
}

async fn make_tile_on(
    client: deadpool_postgres::Object,
    layer: TileLayer,
    coord: TileCoord,
    clearance: Classification,
    query: &TileQuery,
) -> Result<Vec<u8>, AppError> {
    Ok(match layer {
        TileLayer::Sites(group) => {
            let cutoff = query.as_of.and_then(crate::params::cutoff_of);
            if coord.z <= db::tiles::CLUSTER_MAX_ZOOM {
                db::tiles::cluster_tile(&client, group, coord, clearance, cutoff, &query.filter)
                    .await?
            } else {
                db::tiles::site_tile(&client, group, coord, clearance, cutoff).await?
            }
        }
        TileLayer::Context(context) => db::tiles::context_tile(&client, context, coord).await?,
    })
}

/// Whether `If-None-Match` names `etag` (weakly: gzip and identity share it) or `*`.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(asked) = headers.get(header::IF_NONE_MATCH) else {
        return false;
    };
    let ours = etag
        .as_bytes()
        .strip_prefix(b"W/")
        .unwrap_or(etag.as_bytes());
    asked.to_str().is_ok_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/").as_bytes() == ours
        })
    })
}

/// The tile's bytes, gzipped when the client takes gzip; 204 for an empty tile.
fn tile_response(tile: CachedTile, headers: &HeaderMap) -> Response {
    let mut response = if tile.raw.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else if accepts_gzip(headers) {
        (
            [
                (header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            Body::from(tile.gzip()),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/vnd.mapbox-vector-tile")],
            Body::from(tile.raw),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// True when `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Caches may keep a tile but must ask again each time: a 304 is cheap, a stale tile is wrong.
/// `X-Cache` says whether the tile came from memory (`hit`) or from PostgreSQL (`miss`), to
/// callers cleared secret.
fn with_cache_headers(mut response: Response, etag: HeaderValue, hit: Option<bool>) -> Response {
    let headers = response.headers_mut();
    if let Some(hit) = hit {
        headers.insert(
            "x-cache",
            HeaderValue::from_static(if hit { "hit" } else { "miss" }),
        );
    }
    headers.insert(header::ETAG, etag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /tiles/{layer}.json`: TileJSON 3.0 describing one layer; its tiles' URL carries the
/// query given (`as_of` and the map's filters, as the tiles take them).
async fn tilejson(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let name = file.strip_suffix(".json").ok_or_else(|| {
        AppError::NotFound(format!("no '{file}': layer descriptions end in .json"))
    })?;
    let layer = TileLayer::from_name(name)
        .ok_or_else(|| AppError::NotFound(format!("no layer '{name}'")))?;
    let clearance = caller.clearance()?;
    let query = TileQuery::parse(uri.query())?;
    let mut parts: Vec<String> = query
        .as_of
        .map(|d| format!("as_of={d}"))
        .into_iter()
        .collect();
    parts.extend(query.filter.key().map(String::from));
    let suffix = if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    };
    let client = state.db().await?;
    let (fields, bounds) = layer_fields_and_bounds(&client, layer, clearance).await?;
    let base = super::negotiate::base_url(&headers);
    let fields: serde_json::Map<String, Value> = fields
        .into_iter()
        .map(|f| {
            (
                f.to_string(),
                json!(
                    if matches!(f, "id" | "percent" | "phase" | "count") || f.starts_with("n_") {
                        "Number"
                    } else {
                        "String"
                    }
                ),
            )
        })
        .collect();
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": name,
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{suffix}")],
        "minzoom": layer.min_zoom(),
        "maxzoom": crate::spatial::tile::MAX_ZOOM,
        "bounds": bounds.unwrap_or([105.8, 10.9, 106.5, 11.8]),
        "attribution": "kvpt; boundaries dvhcvn (GPL-3.0), Natural Earth, GSHHG",
        "vector_layers": [{ "id": name, "fields": fields }],
    })))
}

/// A layer's attributes, and the bounds of what `clearance` sees of it.
pub(super) async fn layer_fields_and_bounds(
    client: &deadpool_postgres::Object,
    layer: TileLayer,
    clearance: Classification,
) -> Result<(Vec<&'static str>, Option<[f64; 4]>), AppError> {
    Ok(match layer {
        TileLayer::Sites(group) => {
            let sites = db::features::Collection::Sites(Some(group));
            // A work's (zoom 11 on), then a cluster's (zoom 10 and below): its count, and
            // its count per status.
            let mut fields = vec![
                "id",
                "code",
                "name",
                "kind",
                "status",
                "percent",
                "phase",
                "programme",
                "district",
                "district_code",
                "count",
            ];
            fields.extend(SiteStatus::ALL.iter().map(|s| s.cluster_field()));
            (
                fields,
                db::features::extent(client, sites, Some(clearance))
                    .await?
                    .0,
            )
        }
        TileLayer::Context(context) => (
            context.fields(),
            db::tiles::context_layer_bounds(client, context).await?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::is_tile_path;

    #[test]
    fn the_lane_takes_tile_paths_and_nothing_else() {
        assert!(is_tile_path("/tiles/districts/8/203/121.mvt"));
        assert!(is_tile_path("/tiles/x/y/z/w.mvt"));
        for other in [
            "/tiles/districts.json",
            "/tiles/districts/8/203/121",
            "/tiles/districts/8/203/121.pbf",
            "/tiles/districts/8/0/203/121.mvt",
            "/tiles/districts//203/121.mvt",
            "/tiles/districts/8/203/.mvt/x",
            "/tile/districts/8/203/121.mvt",
            "/",
        ] {
            assert!(!is_tile_path(other), "{other}");
        }
    }
}
