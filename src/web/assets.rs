//! Static files, embedded in the binary: kvpt's stylesheet and viewer script, and
//! MapLibre GL JS vendored from npm at build time (see build.rs). Nothing comes from a CDN.

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal, $path:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("kvpt.css", "text/css; charset=utf-8", "web/static/kvpt.css"),
    asset!("map.css", "text/css; charset=utf-8", "web/static/map.css"),
    asset!(
        "map.js",
        "text/javascript; charset=utf-8",
        "web/static/map.js"
    ),
    asset!(
        "exports.js",
        "text/javascript; charset=utf-8",
        "web/static/exports.js"
    ),
    asset!(
        "imports.js",
        "text/javascript; charset=utf-8",
        "web/static/imports.js"
    ),
    asset!(
        "queue.js",
        "text/javascript; charset=utf-8",
        "web/static/queue.js"
    ),
    asset!(
        "field.js",
        "text/javascript; charset=utf-8",
        "web/static/field.js"
    ),
    asset!(
        "icons/kvpt-192.png",
        "image/png",
        "web/static/icons/kvpt-192.png"
    ),
    asset!(
        "icons/kvpt-512.png",
        "image/png",
        "web/static/icons/kvpt-512.png"
    ),
    asset!(
        "manifest.webmanifest",
        "application/manifest+json",
        "web/static/manifest.webmanifest"
    ),
    asset!(
        "vendor/maplibre-gl.mjs",
        "text/javascript; charset=utf-8",
        "web/node_modules/maplibre-gl/dist/maplibre-gl.mjs"
    ),
    asset!(
        "vendor/maplibre-gl-worker.mjs",
        "text/javascript; charset=utf-8",
        "web/node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs"
    ),
    asset!(
        "vendor/maplibre-gl.css",
        "text/css; charset=utf-8",
        "web/node_modules/maplibre-gl/dist/maplibre-gl.css"
    ),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(serve))
        .route("/static/vendor/{file}", get(vendor))
        .route("/static/icons/{file}", get(icon))
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
}

/// The field app's service worker, at the root so it may keep `/sites/…` pages for offline
/// use; it names this build so a new binary replaces the files it kept.
const SERVICE_WORKER: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/static/sw.js"));

/// An ETag per build: the files only change with the binary.
fn etag() -> String {
    format!("\"{}-{}\"", env!("CARGO_PKG_VERSION"), build_id())
}

fn build_id() -> u64 {
    // Hash of every asset's length and first bytes: cheap, and changes with any vendored update.
    ASSETS.iter().fold(1469598103934665603u64, |h, a| {
        let mut h = h ^ a.body.len() as u64;
        h = h.wrapping_mul(1099511628211);
        for b in a.body.iter().take(256).chain(a.body.iter().rev().take(256)) {
            h = (h ^ u64::from(*b)).wrapping_mul(1099511628211);
        }
        h
    })
}

fn respond(name: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let tag = etag();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag)
        })
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, asset.content_type.to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::ETAG, tag),
        ],
        asset.body,
    )
        .into_response()
}

async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    respond(&file, &headers)
}

async fn icon(Path(file): Path<String>, headers: HeaderMap) -> Response {
    respond(&format!("icons/{file}"), &headers)
}

async fn manifest(headers: HeaderMap) -> Response {
    respond("manifest.webmanifest", &headers)
}

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        format!("const BUILD = '{}';\n{SERVICE_WORKER}", build_id()),
    )
        .into_response()
}

async fn vendor(Path(file): Path<String>, headers: HeaderMap) -> Response {
    respond(&format!("vendor/{file}"), &headers)
}
