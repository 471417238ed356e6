//! OGC API – Features (Part 1 Core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS by
//! reference): the landing document, `/conformance`, `/api`, `/collections` and items.

mod matched;
pub use matched::MatchedIds;
mod openapi;
mod openapi_app;
mod queryables;
mod write;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use super::caller::Caller;
use super::negotiate::{base_url, choose, Format};
use super::{AppState, PageError};
use crate::db;
use crate::db::features::{Collection, SiteFilter};
use crate::domain::Classification;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::params::items::DEFAULT_LIMIT;
use crate::params::{ItemsQuery, COMMON_PARAMS, SITE_PARAMS};
use crate::spatial::crs::Crs;
use crate::views;

pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
];

const GEOJSON: &str = "application/geo+json";
const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/conformance", get(conformance))
        .route("/api", get(api))
        .route("/collections", get(collections))
        .route("/collections/{collection}", get(collection))
        .route(
            "/collections/{collection}/items",
            get(items).post(write::create),
        )
        .route(
            "/collections/{collection}/queryables",
            get(queryables::queryables),
        )
        .route(
            "/collections/{collection}/items/{feature}",
            get(item)
                .put(write::replace)
                .patch(write::patch)
                .delete(write::delete),
        )
}

type Pairs = Query<Vec<(String, String)>>;

/// The request's `f` and `lang`, from parameters that may hold others too.
struct Common {
    format: Format,
    lang: Lang,
}

fn common(
    pairs: &[(String, String)],
    headers: &HeaderMap,
    allowed: &[&str],
) -> Result<Common, AppError> {
    let lang = Lang::from_param(param(pairs, "lang"));
    for (name, _) in pairs {
        if !allowed.contains(&name.as_str()) {
            return Err(AppError::bad_request(
                name.as_str(),
                format!(
                    "unknown parameter; this resource takes {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(Common {
        format: choose(param(pairs, "f"), headers, Format::Json)?,
        lang,
    })
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Errors as JSON for API callers, as a page in their language for browsers.
fn fail(format: Format, lang: Lang, error: AppError) -> Response {
    match format {
        Format::Json => error.into_response(),
        Format::Html => PageError::new(lang, error).into_response(),
    }
}

fn json_response(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// `GET /` as JSON: the OGC landing document.
pub fn landing(headers: &HeaderMap) -> Response {
    let base = base_url(headers);
    let body = json!({
        "title": "kvpt – Tây Ninh local defence works",
        "description": "Local defence works of Tây Ninh province (2020–2025 programme): sites, progress and context layers. Demo data is synthetic.",
        "links": [
            link(format!("{base}/?f=json"), "self", "application/json", "This document"),
            link(format!("{base}/?f=html"), "alternate", "text/html", "This document as HTML"),
            link(format!("{base}/api"), "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link(format!("{base}/api?f=html"), "service-doc", "text/html", "The API documentation"),
            link(format!("{base}/conformance"), "conformance", "application/json", "Conformance classes"),
            link(format!("{base}/collections"), "data", "application/json", "Collections"),
            link(format!("{base}/tileMatrixSets"), super::ogc_tiles::REL_TILING_SCHEMES, "application/json", "Tiling schemes (OGC API – Tiles)"),
        ],
    });
    json_response("application/json", body.to_string())
}

/// Features' classes and Tiles' (`web::ogc_tiles`).
fn conformance_classes() -> Vec<&'static str> {
    CONFORMANCE
        .iter()
        .chain(super::ogc_tiles::CONFORMANCE)
        .copied()
        .collect()
}

async fn conformance(Query(pairs): Pairs, headers: HeaderMap) -> Response {
    let c = match common(&pairs, &headers, &["f", "lang"]) {
        Ok(c) => c,
        Err(e) => return fail(Format::Json, Lang::Vi, e),
    };
    match c.format {
        Format::Json => json_response(
            "application/json",
            json!({ "conformsTo": conformance_classes() }).to_string(),
        ),
        Format::Html => {
            views::features::conformance(c.lang, &conformance_classes()).into_response()
        }
    }
}

async fn api(Query(pairs): Pairs, headers: HeaderMap) -> Response {
    let c = match common(&pairs, &headers, &["f", "lang"]) {
        Ok(c) => c,
        Err(e) => return fail(Format::Json, Lang::Vi, e),
    };
    let mut document = openapi::document(&base_url(&headers));
    if let Some(paths) = document["paths"].as_object_mut() {
        paths.extend(openapi_app::paths());
    }
    match c.format {
        Format::Json => json_response(OPENAPI, document.to_string()),
        Format::Html => views::features::api(c.lang, &document).into_response(),
    }
}

/// The JSON description of one collection, with its extent.
async fn describe(
    state: &AppState,
    clearance: Classification,
    collection: Collection,
    base: &str,
    lang: Lang,
) -> Result<Value, AppError> {
    let client = state.db().await?;
    let (bbox, interval) = db::features::extent(&client, collection, Some(clearance)).await?;
    let id = collection.id();
    let mut extent = json!({
        "spatial": {
            "bbox": [bbox.unwrap_or([105.8, 10.9, 106.5, 11.8])],
            "crs": Crs::Crs84.uri(),
        }
    });
    if let Some((first, last)) = interval {
        extent["temporal"] = json!({
            "interval": [[first, last]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        });
    }
    let mut described = json!({
        "id": id,
        "title": views::features::collection_title(collection, lang),
        "description": views::features::collection_description(collection, lang),
        "itemType": "feature",
        "extent": extent,
        "crs": Crs::ALL.iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": Crs::Crs84.uri(),
        "links": [
            link(format!("{base}/collections/{id}"), "self", "application/json", "This collection"),
            link(format!("{base}/collections/{id}?f=html"), "alternate", "text/html", "This collection as HTML"),
            link(format!("{base}/collections/{id}/items"), "items", GEOJSON, "The features"),
            link(format!("{base}/collections/{id}/items?f=html"), "items", "text/html", "The features as HTML"),
        ],
    });
    let links = described["links"].as_array_mut().expect("links");
    links.extend(more_links(collection, base));
    Ok(described)
}

/// A collection's links beyond its items: its vector tiles (OGC API – Tiles) and, for
/// works, its queryables (OGC API – Features Part 3).
fn more_links(collection: Collection, base: &str) -> Vec<Value> {
    let id = collection.id();
    let mut links = Vec::new();
    if !matches!(collection, Collection::Sites(None)) {
        links.push(link(
            format!("{base}/collections/{id}/tiles"),
            super::ogc_tiles::REL_TILESETS_VECTOR,
            "application/json",
            "Vector tiles (OGC API – Tiles)",
        ));
    }
    if let Collection::Sites(_) = collection {
        links.push(link(
            format!("{base}/collections/{id}/queryables"),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "What a filter may name",
        ));
        // The drafts' relation, which GDAL 3.6 follows (as JSON) before it sends a filter.
        links.push(link(
            format!("{base}/collections/{id}/queryables"),
            "queryables",
            "application/json",
            "What a filter may name (JSON)",
        ));
    }
    links
}

async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let c = match common(&pairs, &headers, &["f", "lang"]) {
        Ok(c) => c,
        Err(e) => return fail(Format::Json, Lang::Vi, e),
    };
    let clearance = match caller.clearance() {
        Ok(clearance) => clearance,
        Err(e) => return fail(c.format, c.lang, e),
    };
    let base = base_url(&headers);
    let mut described = Vec::new();
    for collection in Collection::all() {
        match describe(&state, clearance, collection, &base, c.lang).await {
            Ok(d) => described.push(d),
            Err(e) => return fail(c.format, c.lang, e),
        }
    }
    match c.format {
        Format::Json => json_response(
            "application/json",
            json!({
                "links": [
                    link(format!("{base}/collections"), "self", "application/json", "This document"),
                    link(format!("{base}/collections?f=html"), "alternate", "text/html", "This document as HTML"),
                ],
                "collections": described,
            })
            .to_string(),
        ),
        Format::Html => views::features::collections(c.lang, &described).into_response(),
    }
}

fn find_collection(id: &str) -> Result<Collection, AppError> {
    Collection::from_id(id).ok_or_else(|| {
        let known: Vec<&str> = Collection::all().into_iter().map(|c| c.id()).collect();
        AppError::NotFound(format!(
            "no collection '{id}'; collections are {}",
            known.join(", ")
        ))
    })
}

async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let c = match common(&pairs, &headers, &["f", "lang"]) {
        Ok(c) => c,
        Err(e) => return fail(Format::Json, Lang::Vi, e),
    };
    let result = async {
        let clearance = caller.clearance()?;
        let collection = find_collection(&id)?;
        describe(&state, clearance, collection, &base_url(&headers), c.lang).await
    }
    .await;
    match (result, c.format) {
        (Ok(d), Format::Json) => json_response("application/json", d.to_string()),
        (Ok(d), Format::Html) => views::features::collection(c.lang, &d).into_response(),
        (Err(e), format) => fail(format, c.lang, e),
    }
}

/// The query string of `pairs` with `offset` (and `f`) replaced.
fn query_with(pairs: &[(String, String)], offset: i64, f: Option<&str>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if name != "offset" && !(f.is_some() && name == "f") {
            out.append_pair(name, value);
        }
    }
    if offset > 0 {
        out.append_pair("offset", &offset.to_string());
    }
    if let Some(f) = f {
        out.append_pair("f", f);
    }
    out.finish()
}

fn with_crs(mut response: Response, crs: Crs) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        response.headers_mut().insert("content-crs", value);
    }
    response
}

async fn items(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_param(param(&pairs, "lang"));
    let format = match choose(param(&pairs, "f"), &headers, Format::Json) {
        Ok(f) => f,
        Err(e) => return fail(Format::Json, lang, e),
    };
    let page = match caller.clearance() {
        Ok(clearance) => {
            let asked = Asked {
                clearance,
                client_lsn: caller.min_lsn,
                generation: 0,
            };
            items_page(&state, asked, &id, &pairs, &headers, format, lang).await
        }
        Err(e) => Err(e),
    };
    match page {
        Ok(response) => response,
        Err(e) => fail(format, lang, e),
    }
}

/// Who asks for a page: what they may see, and the position of their last write.
#[derive(Clone, Copy)]
struct Asked {
    clearance: Classification,
    client_lsn: u64,
    /// `freshness`'s generation before the read's replica was picked.
    generation: u64,
}

async fn items_page(
    state: &AppState,
    asked: Asked,
    id: &str,
    pairs: &[(String, String)],
    headers: &HeaderMap,
    format: Format,
    lang: Lang,
) -> Result<Response, AppError> {
    let collection = find_collection(id)?;
    let allowed: Vec<&str> = match collection {
        Collection::Sites(_) => COMMON_PARAMS.iter().chain(SITE_PARAMS).copied().collect(),
        Collection::Context(_) => COMMON_PARAMS.to_vec(),
    };
    let query = ItemsQuery::parse(pairs, &allowed)?;
    // Pages of more than the default size are heavy: take a slot first.
    let _slot = if query.limit > DEFAULT_LIMIT {
        Some(
            state
                .heavy
                .acquire()
                .await
                .map_err(|e| AppError::Internal(e.into()))?,
        )
    } else {
        None
    };
    let page = state
        .reading(asked.client_lsn, |client_lsn| {
            page_of(
                state,
                collection,
                &query,
                Asked {
                    client_lsn,
                    ..asked
                },
                id,
            )
        })
        .await?;
    let returned = page.features.len() as i64;
    let links = PageLinks::new(
        &base_url(headers),
        id,
        pairs,
        &query,
        returned,
        page.matched,
        format,
    );
    let response = match format {
        Format::Json => geojson_page(&page, returned, &links.all),
        Format::Html => html_page(lang, collection, &page, &query, &links),
    };
    Ok(with_crs(response, query.crs))
}

/// The page of `collection`, read from a replica that holds what the caller must see, or
/// from the primary.
async fn page_of(
    state: &AppState,
    collection: Collection,
    query: &ItemsQuery,
    asked: Asked,
    id: &str,
) -> Result<db::features::FeaturePage, AppError> {
    let asked = Asked {
        generation: state.freshness.generation(),
        ..asked
    };
    let client = state.read_db(asked.client_lsn).await?;
    Ok(match collection {
        Collection::Sites(group) => sites_page(state, &client, group, query, asked, id).await?,
        Collection::Context(layer) => {
            let bbox = query.bbox.as_ref();
            db::features::context_page(&client, layer, bbox, query.crs, query.limit, query.offset)
                .await?
        }
    })
}

/// The page as HTML.
fn html_page(
    lang: Lang,
    collection: Collection,
    page: &db::features::FeaturePage,
    query: &ItemsQuery,
    links: &PageLinks,
) -> Response {
    let features: Vec<Value> = page
        .features
        .iter()
        .filter_map(|f| serde_json::from_str(f).ok())
        .collect();
    let items = views::features::ItemsPage {
        features: &features,
        matched: page.matched,
        offset: query.offset,
        next: links.next.as_deref(),
        prev: links.prev.as_deref(),
        crs: query.crs,
    };
    views::features::items(lang, collection, &items).into_response()
}

/// A page of works of `group` matching `query`: the matching ids (kept between pages of
/// one query), then the features of this page's slice.
async fn sites_page(
    state: &AppState,
    client: &deadpool_postgres::Object,
    group: Option<crate::domain::LayerGroup>,
    query: &ItemsQuery,
    asked: Asked,
    id: &str,
) -> Result<db::features::FeaturePage, AppError> {
    let clearance = asked.clearance;
    if let Some(kind) = group.and_then(|g| query.kinds.iter().find(|k| k.layer_group() != g)) {
        return Err(AppError::bad_request(
            "kind",
            format!("'{}' is not in collection '{id}'", kind.code()),
        ));
    }
    let (district_ids, foreign_area_ids) =
        db::features::resolve_districts(client, &query.districts)
            .await?
            .map_err(|reason| AppError::bad_request("district", reason))?;
    let filter = SiteFilter {
        group,
        kinds: query.kinds.clone(),
        statuses: query.statuses.clone(),
        district_ids,
        foreign_area_ids,
        phases: query.phases.clone(),
        programmes: query.programmes.clone(),
        q: query.q.clone(),
        bbox: query.bbox,
        datetime: query.datetime,
        cql: query.filter.clone(),
        clearance: Some(clearance),
    };
    let key = state.matched.key(&state.tiles, &filter);
    let cached = key
        .as_ref()
        .filter(|_| state.freshness.covers(asked.client_lsn))
        .and_then(|k| state.matched.get(k));
    let ids = match cached {
        Some(ids) => ids,
        None => {
            let ids = std::sync::Arc::new(db::features::matching_site_ids(client, &filter).await?);
            // Kept only if no version moved since the replica was picked: the key's
            // versions are then those its floor covered.
            let unmoved = state.freshness.generation() == asked.generation;
            if let Some(key) = key.filter(|_| unmoved) {
                state.matched.insert(key, ids.clone());
            }
            ids
        }
    };
    let start = (query.offset as usize).min(ids.len());
    let end = (start + query.limit as usize).min(ids.len());
    Ok(db::features::FeaturePage {
        matched: ids.len() as i64,
        features: db::features::site_features(client, &ids[start..end], query.crs).await?,
    })
}

/// A page's links: itself, as HTML, its collection, and the next and previous pages.
struct PageLinks {
    all: Vec<Value>,
    next: Option<String>,
    prev: Option<String>,
}

impl PageLinks {
    fn new(
        base: &str,
        id: &str,
        pairs: &[(String, String)],
        query: &ItemsQuery,
        returned: i64,
        matched: i64,
        format: Format,
    ) -> Self {
        let path = format!("{base}/collections/{id}/items");
        let mut all = vec![
            link(
                format!("{path}?{}", query_with(pairs, query.offset, Some("json"))),
                "self",
                GEOJSON,
                "This page",
            ),
            link(
                format!("{path}?{}", query_with(pairs, query.offset, Some("html"))),
                "alternate",
                "text/html",
                "This page as HTML",
            ),
            link(
                format!("{base}/collections/{id}"),
                "collection",
                "application/json",
                "The collection",
            ),
        ];
        let (f, kind) = match format {
            Format::Json => ("json", GEOJSON),
            Format::Html => ("html", "text/html"),
        };
        let at = |offset: i64| format!("{path}?{}", query_with(pairs, offset, Some(f)));
        let next = (query.offset + returned < matched && returned > 0)
            .then(|| at(query.offset + returned));
        let prev = (query.offset > 0).then(|| at((query.offset - query.limit).max(0)));
        if let Some(href) = &next {
            all.push(link(href.clone(), "next", kind, "Next page"));
        }
        if let Some(href) = &prev {
            all.push(link(href.clone(), "prev", kind, "Previous page"));
        }
        Self { all, next, prev }
    }
}

/// The page as a GeoJSON FeatureCollection, its features spliced in as PostGIS wrote them.
fn geojson_page(page: &db::features::FeaturePage, returned: i64, links: &[Value]) -> Response {
    let head = json!({
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": returned,
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    })
    .to_string();
    let mut body = String::with_capacity(
        head.len() + page.features.iter().map(|f| f.len() + 1).sum::<usize>() + 16,
    );
    body.push_str(&head[..head.len() - 1]);
    body.push_str(",\"features\":[");
    for (i, feature) in page.features.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(feature);
    }
    body.push_str("]}");
    json_response(GEOJSON, body)
}

async fn item(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, feature)): Path<(String, String)>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_param(param(&pairs, "lang"));
    let format = match choose(param(&pairs, "f"), &headers, Format::Json) {
        Ok(f) => f,
        Err(e) => return fail(Format::Json, lang, e),
    };
    let result = async {
        let c = common(&pairs, &headers, &["f", "lang", "crs"])?;
        let clearance = caller.clearance()?;
        let crs = match param(&pairs, "crs") {
            Some(v) => Crs::parse(v).map_err(|e| AppError::bad_request("crs", e.to_string()))?,
            None => Crs::Crs84,
        };
        let collection = find_collection(&id)?;
        let asked = Asked {
            clearance,
            client_lsn: caller.min_lsn,
            generation: 0,
        };
        let mut value = read_feature(&state, asked, collection, &id, &feature, crs).await?;
        let base = base_url(&headers);
        let href = format!("{base}/collections/{id}/items/{}", encode_segment(&feature));
        value["links"] = json!([
            link(format!("{href}?f=json"), "self", GEOJSON, "This feature"),
            link(
                format!("{href}?f=html"),
                "alternate",
                "text/html",
                "This feature as HTML"
            ),
            link(
                format!("{base}/collections/{id}"),
                "collection",
                "application/json",
                "The collection"
            ),
        ]);
        let response = match c.format {
            Format::Json => {
                let mut response = json_response(GEOJSON, value.to_string());
                if let Some(v) = value["properties"]["version"].as_i64() {
                    if let Ok(tag) = HeaderValue::from_str(&write::etag(v, crs)) {
                        response.headers_mut().insert(header::ETAG, tag);
                    }
                }
                response
            }
            Format::Html => views::features::item(c.lang, collection, &value).into_response(),
        };
        Ok::<_, AppError>(with_crs(response, crs))
    }
    .await;
    result.unwrap_or_else(|e| fail(format, lang, e))
}

/// [`find_feature`] read from a replica that holds the caller's last write, and once more
/// on the primary when that replica goes away mid-read.
async fn read_feature(
    state: &AppState,
    asked: Asked,
    collection: Collection,
    id: &str,
    feature: &str,
    crs: Crs,
) -> Result<Value, AppError> {
    state
        .reading(asked.client_lsn, |lsn| async move {
            let client = state.read_db(lsn).await?;
            find_feature(&client, collection, id, feature, crs, asked.clearance).await
        })
        .await
}

/// Feature `feature` of collection `id` as JSON, if `clearance` may see it.
async fn find_feature(
    client: &deadpool_postgres::Object,
    collection: Collection,
    id: &str,
    feature: &str,
    crs: Crs,
    clearance: Classification,
) -> Result<Value, AppError> {
    let found = match collection {
        Collection::Sites(group) => {
            db::features::site_feature(client, group, feature, crs, Some(clearance)).await?
        }
        Collection::Context(layer) => match feature.parse::<i32>() {
            Ok(n) => db::features::context_feature(client, layer, n, crs).await?,
            Err(_) => None,
        },
    };
    let text = found.ok_or_else(|| {
        AppError::NotFound(format!("no feature '{feature}' in collection '{id}'"))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("feature JSON: {e}")))
}

/// A path segment with everything but unreserved characters percent-encoded.
fn encode_segment(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
