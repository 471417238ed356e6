//! `/api`: the OpenAPI 3.0 document describing exactly the routes kvpt serves.
//! A test requests every path it lists.

use serde_json::{json, Value};

use crate::db::features::Collection;
use crate::domain::{SiteKind, SiteStatus};
use crate::params::items::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET};
use crate::spatial::crs::Crs;
use crate::spatial::tile::MAX_ZOOM;

pub(super) fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": schema, "style": "form", "explode": false })
}

pub(super) fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

fn ok(description: &str, content: &[(&str, Value)]) -> Value {
    let content: serde_json::Map<String, Value> = content
        .iter()
        .map(|(t, s)| (t.to_string(), json!({ "schema": s })))
        .collect();
    json!({ "description": description, "content": content })
}

fn html() -> Value {
    json!({ "type": "string" })
}

fn err(description: &str) -> Value {
    json!({ "description": description, "content": {
        "application/json": { "schema": { "$ref": "#/components/schemas/Error" } },
        "text/html": { "schema": { "type": "string" } } } })
}

fn standard_errors(mut responses: Value, not_found: bool) -> Value {
    responses["400"] = err("A parameter is malformed or unknown: `field` names it");
    if not_found {
        responses["404"] = err("No such collection or feature");
    }
    responses["503"] = err("The database is unavailable; retry after the `Retry-After` seconds");
    responses
}

/// Who may write: a personal access token (Bearer, or HTTP Basic with the token as the
/// password: QGIS, GDAL), or a browser session with its CSRF token.
pub(super) fn writers() -> Value {
    json!([{ "bearerAuth": [] }, { "basicAuth": [] }, { "sessionCookie": [], "csrfToken": [] }])
}

/// `responses` with an error response for each (status, description) of `errors`.
pub(super) fn with_errors(mut responses: Value, errors: &[(&str, &str)]) -> Value {
    for (status, description) in errors {
        responses[*status] = err(description);
    }
    responses
}

fn write_errors(responses: Value, codes: &[(&str, &str)]) -> Value {
    let responses = with_errors(
        responses,
        &[
            ("400", "The body is not a feature kvpt can read: `field` names the member or property"),
            ("401", "Sign in first, or send a token (Bearer, or Basic with the token as the password)"),
            ("403", "Your role, your token's scope (read) or the CSRF token does not allow writing; context layers are read-only"),
            ("404", "No such collection, or no such work you may see"),
            ("422", "The rules refused the work: `problems` lists each, naming its field, in English and Vietnamese"),
            ("429", "Too many failed tokens or sign-ins from your address lately; retry after the `Retry-After` seconds"),
            ("503", "The database is unavailable; retry after the `Retry-After` seconds"),
        ],
    );
    with_errors(responses, codes)
}

fn etag_header() -> Value {
    json!({ "ETag": { "description": "The work's version as a strong entity tag (\"v12\"); send it back in If-Match",
                      "schema": { "type": "string" } } })
}

fn if_match() -> Value {
    // Required by kvpt (428 without it), but not "required" here: OpenAPI's word would make
    // a missing header a malformed request (400), where HTTP says 428.
    json!({ "name": "If-Match", "in": "header", "required": false,
            "description": "Required: the ETag of the work as you read it (or * for the work as it is now); 428 without it, 412 when stale",
            "schema": { "type": "string" } })
}

fn feature_body(types: &[&str]) -> Value {
    let content: serde_json::Map<String, Value> = types
        .iter()
        .map(|t| {
            (
                t.to_string(),
                json!({ "schema": { "$ref": "#/components/schemas/FeatureInput" } }),
            )
        })
        .collect();
    json!({ "required": true, "content": content })
}

/// The whole document, with absolute server URL `base`.
pub fn document(base: &str) -> Value {
    let f = query(
        "f",
        "Representation: json or html (else the Accept header decides)",
        json!({ "type": "string", "enum": ["json", "html"] }),
    );
    let lang = query(
        "lang",
        "Language of HTML pages: vi (default) or en; empty is the default",
        json!({ "type": "string", "enum": ["vi", "en", ""] }),
    );
    let crs_uris: Vec<&str> = Crs::ALL.iter().map(|c| c.uri()).collect();
    let collection_ids: Vec<&str> = Collection::all().into_iter().map(|c| c.id()).collect();
    let tile_layers: Vec<&str> = crate::domain::LayerGroup::ALL
        .iter()
        .map(|g| g.code())
        .chain(crate::db::tiles::CONTEXT_LAYERS.iter().map(|l| l.name))
        .collect();
    let tilesets: Vec<String> = tile_layers.iter().map(|l| format!("{l}.json")).collect();
    // An empty value (`kind=`, as an HTML form with nothing chosen sends) is no filter,
    // as if the parameter were not given: "" is in the enums for that.
    let kinds: Vec<&str> = SiteKind::PLACED
        .iter()
        .map(|k| k.code())
        .chain([""])
        .collect();
    let statuses: Vec<&str> = SiteStatus::ALL
        .iter()
        .map(|s| s.code())
        .chain([""])
        .collect();
    let programmes: Vec<&str> = crate::domain::Programme::ALL
        .iter()
        .map(|p| p.code())
        .chain([""])
        .collect();
    let collection_id = path_param(
        "collectionId",
        "A collection: sites, a layer group or a context layer",
        json!({ "type": "string", "enum": collection_ids }),
    );
    let feature_id = path_param(
        "featureId",
        "A site's code (CHOT-TBI-0012) or a context feature's number",
        json!({ "type": "string" }),
    );
    let tiled: Vec<&str> = collection_ids
        .iter()
        .copied()
        .filter(|c| *c != "sites")
        .collect();
    let tiled_collection = path_param(
        "collectionId",
        "A layer group or a context layer (the sites collection has no tileset)",
        json!({ "type": "string", "enum": tiled }),
    );
    let tms_id = path_param(
        "tileMatrixSetId",
        "The tiling scheme",
        json!({ "type": "string", "enum": ["WebMercatorQuad"] }),
    );
    let items_parameters = json!([
        collection_id,
        query("limit", &format!("Features per page, 1 to {MAX_LIMIT} (larger values are capped)"),
              json!({ "type": "integer", "minimum": 1, "default": DEFAULT_LIMIT })),
        query("offset", "Features to skip (the `next` link carries it)",
              json!({ "type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0 })),
        query("bbox", "min x, min y, max x, max y (or 6 numbers with heights) in bbox-crs axis order",
              json!({ "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } })),
        query("bbox-crs", "CRS of bbox (default CRS84)", json!({ "type": "string", "enum": crs_uris })),
        query("crs", "CRS of the answer (default CRS84); named in the Content-Crs header",
              json!({ "type": "string", "enum": crs_uris })),
        query("datetime", "Last update: an RFC 3339 instant, a date, or an interval start/end with .. for an open end (site collections only)",
              json!({ "type": "string" })),
        query("kind", "Kinds of work, comma-separated; empty is no filter (site collections only)",
              json!({ "type": "array", "items": { "type": "string", "enum": kinds } })),
        query("status", "Statuses, comma-separated; empty is no filter (site collections only)",
              json!({ "type": "array", "items": { "type": "string", "enum": statuses } })),
        query("district", "District codes (705) or abbreviations (TBI), or Cambodian province codes (KHM-1801), comma-separated (site collections only)",
              json!({ "type": "array", "items": { "type": "string" } })),
        query("phase", "Phases 1–9, comma-separated (site collections only)",
              json!({ "type": "array", "items": { "type": "integer", "minimum": 1, "maximum": 9 } })),
        query("programme", "Programmes (schemes), comma-separated (site collections only)",
              json!({ "type": "array", "items": { "type": "string", "enum": programmes } })),
        query("q", "Text in the code or name, diacritics ignored (site collections only)",
              json!({ "type": "string", "maxLength": 100 })),
        query("filter", "A CQL2 condition on the properties /collections/{collectionId}/queryables names (site collections only)",
              json!({ "type": "string" })),
        // `cql-text` is the draft's name, which GDAL 3.6 looks for before it sends a filter.
        query("filter-lang", "How filter is written: cql2-text (the default) or cql2-json; cql-text is read as cql2-text",
              json!({ "type": "string", "enum": ["cql2-text", "cql2-json", "cql-text"], "default": "cql2-text" })),
        query("filter-crs", "CRS of the geometries in filter (default CRS84)",
              json!({ "type": "string", "enum": crs_uris })),
        f, lang,
    ]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "kvpt – Tây Ninh local defence works",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API – Features (Parts 1, 2, 3 and 4) and vector tiles of the local defence works of Tây Ninh province. Demo data is synthetic.",
        },
        "servers": [{ "url": base }],
        "paths": {
            "/": { "get": {
                "summary": "Landing page", "operationId": "getLandingPage",
                "parameters": [f, lang],
                "responses": standard_errors(json!({ "200": ok("Links to the API, conformance and collections",
                    &[("application/json", json!({ "$ref": "#/components/schemas/Landing" })), ("text/html", html())]) }), false),
            }},
            "/conformance": { "get": {
                "summary": "Conformance classes", "operationId": "getConformance",
                "parameters": [f, lang],
                "responses": standard_errors(json!({ "200": ok("The conformance classes implemented",
                    &[("application/json", json!({ "$ref": "#/components/schemas/Conformance" })), ("text/html", html())]) }), false),
            }},
            "/api": { "get": {
                "summary": "This API definition", "operationId": "getApi",
                "parameters": [f, lang],
                "responses": standard_errors(json!({ "200": ok("The OpenAPI 3.0 document",
                    &[("application/vnd.oai.openapi+json;version=3.0", json!({ "type": "object" })), ("text/html", html())]) }), false),
            }},
            "/collections": { "get": {
                "summary": "Feature collections", "operationId": "getCollections",
                "parameters": [f, lang],
                "responses": standard_errors(json!({ "200": ok("Every collection with its extent",
                    &[("application/json", json!({ "$ref": "#/components/schemas/Collections" })), ("text/html", html())]) }), false),
            }},
            "/collections/{collectionId}": { "get": {
                "summary": "One collection", "operationId": "describeCollection",
                "parameters": [collection_id, f, lang],
                "responses": standard_errors(json!({ "200": ok("The collection",
                    &[("application/json", json!({ "$ref": "#/components/schemas/Collection" })), ("text/html", html())]) }), true),
            }},
            "/collections/{collectionId}/queryables": { "get": {
                "summary": "What a filter may name: each property of a work with its type (JSON Schema)", "operationId": "getQueryables",
                "parameters": [collection_id, f, lang],
                "responses": standard_errors(json!({ "200": ok("The queryables",
                    &[("application/schema+json", json!({ "type": "object" })), ("application/json", json!({ "type": "object" }))]) }), true),
            }},
            "/collections/{collectionId}/items": { "get": {
                "summary": "Features of a collection", "operationId": "getFeatures",
                "parameters": items_parameters,
                "responses": standard_errors(json!({ "200": ok("A page of features",
                    &[("application/geo+json", json!({ "$ref": "#/components/schemas/FeatureCollection" })), ("text/html", html())]) }), true),
            }, "post": {
                "summary": "Add a work (OGC API Features Part 4): a GeoJSON Feature in CRS84 with its code, kind and name; checked by the import's rules", "operationId": "createFeature",
                "parameters": [collection_id],
                "requestBody": feature_body(&["application/geo+json", "application/json"]),
                "security": writers(),
                "responses": write_errors(json!({ "201": { "description": "Added: the work as kvpt now holds it",
                    "headers": { "ETag": etag_header()["ETag"], "Location": { "description": "The new work's URL", "schema": { "type": "string" } } },
                    "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/Feature" } } } } }),
                    &[("409", "The code is taken (also by a deleted work)")]),
            }},
            "/collections/{collectionId}/items/{featureId}": { "get": {
                "summary": "One feature", "operationId": "getFeature",
                "parameters": [collection_id, feature_id,
                    query("crs", "CRS of the answer (default CRS84)", json!({ "type": "string", "enum": crs_uris })),
                    f, lang],
                "responses": standard_errors(json!({ "200": { "description": "The feature", "headers": etag_header(),
                    "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/Feature" } }, "text/html": { "schema": html() } } } }), true),
            }, "put": {
                "summary": "Replace a work's properties and geometry; optional properties left out are emptied", "operationId": "replaceFeature",
                "parameters": [collection_id, feature_id, if_match()],
                "requestBody": feature_body(&["application/geo+json", "application/json"]),
                "security": writers(),
                "responses": write_errors(json!({ "200": { "description": "Replaced: the work as kvpt now holds it", "headers": etag_header(),
                    "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/Feature" } } } } }),
                    &[("412", "The work changed since the version If-Match names"), ("428", "If-Match is required")]),
            }, "patch": {
                "summary": "Change some of a work's properties (JSON Merge Patch, RFC 7396); null empties an optional one", "operationId": "updateFeature",
                "parameters": [collection_id, feature_id, if_match()],
                "requestBody": { "required": true, "content": {
                    "application/merge-patch+json": { "schema": { "type": "object" } },
                    "application/json": { "schema": { "type": "object" } } } },
                "security": writers(),
                "responses": write_errors(json!({ "200": { "description": "Changed: the work as kvpt now holds it", "headers": etag_header(),
                    "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/Feature" } } } } }),
                    &[("412", "The work changed since the version If-Match names"), ("428", "If-Match is required")]),
            }, "delete": {
                "summary": "Delete a work: it leaves every current view; its histories stay and its code stays taken", "operationId": "deleteFeature",
                "parameters": [collection_id, feature_id, if_match()],
                "security": writers(),
                "responses": write_errors(json!({ "204": { "description": "Deleted" } }),
                    &[("409", "The work has budget lines: it cannot be deleted"), ("412", "The work changed since the version If-Match names"),
                      ("428", "If-Match is required")]),
            }},
            "/tiles/{tileset}": { "get": {
                "summary": "TileJSON 3.0 of a tile layer", "operationId": "getTileJson",
                "parameters": [path_param("tileset", "A layer name followed by .json (sites by group, or a context layer)",
                    json!({ "type": "string", "enum": tilesets }))],
                "responses": { "200": ok("TileJSON", &[("application/json", json!({ "type": "object" }))]),
                               "404": err("No such layer"), "503": err("The database is unavailable") },
            }},
            "/tiles/{layer}/{z}/{x}/{y}": { "get": {
                "summary": "A Mapbox Vector Tile", "operationId": "getTile",
                "parameters": [
                    path_param("layer", "A tile layer", json!({ "type": "string", "enum": tile_layers })),
                    path_param("z", &format!("Zoom, 0 to {MAX_ZOOM}"), json!({ "type": "integer", "minimum": 0, "maximum": MAX_ZOOM })),
                    path_param("x", "Column, 0 to 2^z − 1", json!({ "type": "integer", "minimum": 0 })),
                    path_param("y", "Row, 0 to 2^z − 1, followed by .mvt", json!({ "type": "string", "pattern": "^[0-9]+\\.mvt$" })),
                ],
                "responses": {
                    "200": { "description": "The tile", "content": { "application/vnd.mapbox-vector-tile": { "schema": { "type": "string", "format": "binary" } } } },
                    "204": { "description": "Nothing in this tile" },
                    "304": { "description": "Unchanged since the ETag given in If-None-Match" },
                    "400": err("Bad tile address"), "404": err("No such layer"), "503": err("The database is unavailable"),
                },
            }},
            "/tileMatrixSets": { "get": {
                "summary": "Tiling schemes (OGC API – Tiles): WebMercatorQuad", "operationId": "getTileMatrixSets",
                "responses": standard_errors(json!({ "200": ok("The tiling schemes", &[("application/json", json!({ "type": "object" }))]) }), false),
            }},
            "/tileMatrixSets/{tileMatrixSetId}": { "get": {
                "summary": "A tiling scheme (TMS 2.0 JSON)", "operationId": "getTileMatrixSet",
                "parameters": [tms_id],
                "responses": standard_errors(json!({ "200": ok("The tiling scheme", &[("application/json", json!({ "type": "object" }))]) }), true),
            }},
            "/collections/{collectionId}/tiles": { "get": {
                "summary": "A layer's vector tilesets", "operationId": "getCollectionTilesets",
                "parameters": [tiled_collection],
                "responses": standard_errors(json!({ "200": ok("The tilesets", &[("application/json", json!({ "type": "object" }))]),
                    "401": err("Sign in first: this deployment shows anonymous visitors nothing") }), true),
            }},
            "/collections/{collectionId}/tiles/{tileMatrixSetId}": { "get": {
                "summary": "A layer's vector tileset: its tile template, layers and bounds", "operationId": "getCollectionTileset",
                "parameters": [tiled_collection, tms_id],
                "responses": standard_errors(json!({ "200": ok("The tileset", &[("application/json", json!({ "type": "object" }))]),
                    "401": err("Sign in first: this deployment shows anonymous visitors nothing") }), true),
            }},
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": { "get": {
                "summary": "A vector tile (the tile of /tiles/{layer}/{z}/{x}/{y}.mvt: row before column)", "operationId": "getCollectionTile",
                "parameters": [
                    tiled_collection, tms_id,
                    path_param("tileMatrix", &format!("Zoom, 0 to {MAX_ZOOM}"), json!({ "type": "integer", "minimum": 0, "maximum": MAX_ZOOM })),
                    path_param("tileRow", "Row (y), 0 to 2^z − 1", json!({ "type": "integer", "minimum": 0 })),
                    path_param("tileCol", "Column (x), 0 to 2^z − 1", json!({ "type": "integer", "minimum": 0 })),
                ],
                "responses": {
                    "200": { "description": "The tile", "content": { "application/vnd.mapbox-vector-tile": { "schema": { "type": "string", "format": "binary" } } } },
                    "204": { "description": "Nothing in this tile" },
                    "304": { "description": "Unchanged since the ETag given in If-None-Match" },
                    "400": err("Bad tile address"), "401": err("Sign in first"), "404": err("No such layer or tiling scheme"),
                    "503": err("The database is unavailable"),
                },
            }},
            "/healthz": { "get": {
                "summary": "Liveness", "operationId": "getHealth",
                "responses": { "200": { "description": "The process is up", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } } },
            }},
            "/readyz": { "get": {
                "summary": "Readiness: database reachable, migrations applied", "operationId": "getReady",
                "responses": {
                    "200": { "description": "Ready", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } },
                    "503": { "description": "Not ready, and why", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } } },
                },
            }},
        },
        "components": { "schemas": schemas(), "securitySchemes": {
            "bearerAuth": { "type": "http", "scheme": "bearer", "description": "A personal access token (account page, or `kvpt token add`)" },
            "basicAuth": { "type": "http", "scheme": "basic", "description": "User name and a personal access token as the password (never the account's password): what QGIS and GDAL send" },
            "sessionCookie": { "type": "apiKey", "in": "cookie", "name": "kvpt_session", "description": "A browser session" },
            "csrfToken": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token", "description": "The session's CSRF token, with a browser session's writes" },
        } },
    })
}

fn schemas() -> Value {
    let link = json!({ "type": "object", "required": ["href"], "properties": {
        "href": { "type": "string" }, "rel": { "type": "string" }, "type": { "type": "string" },
        "title": { "type": "string" } } });
    let links = json!({ "type": "array", "items": { "$ref": "#/components/schemas/Link" } });
    json!({
        "Link": link,
        "Health": { "type": "object", "required": ["status"], "properties": {
            "status": { "type": "string", "enum": ["ok", "ready", "unavailable"] },
            "reason": { "type": "string" } } },
        "Error": { "type": "object", "required": ["error", "status"], "properties": {
            "error": { "type": "string" }, "status": { "type": "integer" },
            "field": { "type": "string" }, "constraint": { "type": "string" }, "message_vi": { "type": "string" },
            "problems": { "type": "array", "items": { "type": "object", "properties": {
                "field": { "type": "string" }, "message": { "type": "string" }, "message_vi": { "type": "string" } } } } } },
        "Landing": { "type": "object", "required": ["links"], "properties": {
            "title": { "type": "string" }, "description": { "type": "string" }, "links": links } },
        "Conformance": { "type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": { "type": "array", "items": { "type": "string" } } } },
        "Collection": { "type": "object", "required": ["id", "links"], "properties": {
            "id": { "type": "string" }, "title": { "type": "string" }, "description": { "type": "string" },
            "itemType": { "type": "string" }, "links": links,
            "crs": { "type": "array", "items": { "type": "string" } }, "storageCrs": { "type": "string" },
            "extent": { "type": "object" } } },
        "Collections": { "type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": { "type": "array", "items": { "$ref": "#/components/schemas/Collection" } } } },
        "Feature": { "type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "oneOf": [{ "type": "string" }, { "type": "integer" }] },
            "geometry": { "type": "object", "nullable": true },
            "properties": { "type": "object", "nullable": true },
            "links": links } },
        "FeatureInput": { "type": "object", "required": ["type", "geometry"], "properties": {
            "type": { "type": "string", "enum": ["Feature"] },
            "id": { "type": "string", "nullable": true, "description": "The work's code (or properties.code)" },
            "geometry": { "type": "object", "required": ["type"], "properties": { "type": { "type": "string" } },
                          "description": "GeoJSON geometry in CRS84, of a type the work's kind takes" },
            "properties": { "type": "object", "nullable": true, "description": "What /collections/{collectionId}/queryables lists; kvpt's derived properties (district, layer, budget totals, updated_at, version) are read past" } } },
        "FeatureCollection": { "type": "object", "required": ["type", "features"], "properties": {
            "type": { "type": "string", "enum": ["FeatureCollection"] },
            "features": { "type": "array", "items": { "$ref": "#/components/schemas/Feature" } },
            "links": links,
            "timeStamp": { "type": "string", "format": "date-time" },
            "numberMatched": { "type": "integer", "minimum": 0 },
            "numberReturned": { "type": "integer", "minimum": 0 } } },
    })
}
