//! `GET /collections/{id}/queryables` (OGC API – Features Part 3): the properties a
//! `filter` may name on a works collection, as a JSON Schema that also carries the drafts'
//! `queryables` list, which GDAL 3.6 reads.

use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{common, fail, find_collection, json_response, Pairs};
use crate::db::features::Collection;
use crate::domain::{Classification, LayerGroup, SiteKind, SiteStatus};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::params::filter::{Type, SITE_QUERYABLES};
use crate::web::negotiate::{base_url, Format};

pub async fn queryables(
    Path(id): Path<String>,
    Query(pairs): Pairs,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_param(super::param(&pairs, "lang"));
    let result = common(&pairs, &headers, &["f", "lang"]).and_then(|_| {
        match find_collection(&id)? {
            Collection::Sites(_) => Ok(schema(&base_url(&headers), &id)),
            Collection::Context(_) => Err(AppError::NotFound(format!(
                "collection '{id}' is a context layer and takes no filter; the works' collections do"
            ))),
        }
    });
    match result {
        // Part 3's type when asked for by name; GDAL 3.6 asks for JSON and refuses any other.
        Ok(body) => {
            let accept = headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let kind = if accept.contains("application/schema+json") {
                "application/schema+json"
            } else {
                "application/json"
            };
            json_response(kind, body.to_string())
        }
        Err(e) => fail(Format::Json, lang, e),
    }
}

fn schema(base: &str, id: &str) -> Value {
    let mut properties = Map::new();
    let mut listed = Vec::new();
    for q in SITE_QUERYABLES {
        let mut p = match q.ty {
            Type::Text => json!({ "type": "string" }),
            Type::Integer => json!({ "type": "integer" }),
            Type::Number => json!({ "type": "number" }),
            Type::Boolean => json!({ "type": "boolean" }),
            Type::Date => json!({ "type": "string", "format": "date" }),
            Type::Timestamp => json!({ "type": "string", "format": "date-time" }),
            Type::Geometry => json!({
                "format": "geometry-any",
                "$ref": "https://geojson.org/schema/Geometry.json",
            }),
        };
        p["title"] = json!(q.name);
        p["description"] = json!(q.description);
        let values: Option<Vec<&str>> = match q.name {
            "kind" => Some(SiteKind::PLACED.iter().map(|k| k.code()).collect()),
            "status" => Some(SiteStatus::ALL.iter().map(|s| s.code()).collect()),
            "layer" => Some(LayerGroup::ALL.iter().map(|g| g.code()).collect()),
            "classification" => Some(Classification::ALL.iter().map(|c| c.code()).collect()),
            "country" => Some(vec!["VN", "KH"]),
            _ => None,
        };
        if let Some(values) = values {
            p["enum"] = json!(values);
        }
        listed.push(json!({ "id": q.name, "type": p["type"].clone() }));
        properties.insert(q.name.to_string(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/collections/{id}/queryables"),
        "type": "object",
        "title": format!("What a filter on '{id}' may name"),
        "description": "Properties of the works for filter (CQL2 text or JSON). The datetime parameter filters on updated_at. Text compares as written; CASEI() ignores case and ACCENTI() Vietnamese diacritics.",
        "properties": properties,
        "additionalProperties": false,
        // The drafts' list, which GDAL 3.6 reads (JSON Schema ignores a keyword it does not know).
        "queryables": listed,
    })
}
