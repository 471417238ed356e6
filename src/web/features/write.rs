//! OGC API – Features Part 4 on the site collections: `POST` an item, `PUT`, `PATCH` (JSON
//! Merge Patch) and `DELETE` one, each through `exchange::item` (the import's rules,
//! history and audit). Every item carries a strong `ETag` from its row version; PUT, PATCH
//! and DELETE need `If-Match` (428 without, 412 when stale).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{find_collection, json_response, GEOJSON};
use crate::db;
use crate::db::features::Collection;
use crate::domain::LayerGroup;
use crate::error::AppError;
use crate::exchange::item::{self, Method};
use crate::spatial::crs::Crs;
use crate::web::caller::Caller;
use crate::web::negotiate::base_url;
use crate::web::AppState;

/// The strong entity tag of an item at `version`, in `crs`.
pub fn etag(version: i64, crs: Crs) -> String {
    match crs {
        Crs::Crs84 => format!("\"v{version}\""),
        other => format!("\"v{version}-{}\"", other.srid()),
    }
}

/// The versions an `If-Match` names: `Ok(None)` for `*` (the item as it is); 428 when
/// there is none. A weak tag never matches (RFC 9110 §13.1.1), nor does one kvpt did not make.
fn if_match(headers: &HeaderMap) -> Result<Option<Vec<i32>>, AppError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(AppError::PreconditionRequired(
            "If-Match is required: send the ETag of the item you read (GET the item first)".into(),
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    Ok(Some(
        text.split(',')
            .filter_map(|tag| {
                let inner = tag.trim().strip_prefix("\"v")?.strip_suffix('"')?;
                inner.split('-').next()?.parse::<i32>().ok()
            })
            .collect(),
    ))
}

/// The work `code` as `who` reads it now, and its version, if `If-Match` names it: 404 when
/// they cannot see it, 412 when the tags name another version.
async fn current(
    state: &AppState,
    headers: &HeaderMap,
    (id, group, code): (&str, Option<LayerGroup>, &str),
    clearance: crate::domain::Classification,
) -> Result<(Value, i32), AppError> {
    let wanted = if_match(headers)?;
    let client = state.db().await?;
    let text = db::features::site_feature(&client, group, code, Crs::Crs84, Some(clearance))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no work '{code}' in collection '{id}'")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("feature JSON: {e}")))?;
    let now = value["properties"]["version"]
        .as_i64()
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0);
    if wanted.is_some_and(|tags| !tags.contains(&now)) {
        return Err(AppError::PreconditionFailed(format!(
            "the work changed since the version your If-Match names (now {}): GET it again and reapply your change",
            etag(i64::from(now), Crs::Crs84)
        )));
    }
    Ok((value, now))
}

/// Who writes: an engineer or administrator, past the CSRF check (a read token stops here).
async fn writer(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<crate::exchange::import::Importer, AppError> {
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let (_, mut who) = crate::web::imports::importer(state, caller).await?;
    who.via = "api";
    Ok(who)
}

fn site_group(id: &str) -> Result<Option<LayerGroup>, AppError> {
    match find_collection(id)? {
        Collection::Sites(group) => Ok(group),
        Collection::Context(_) => Err(AppError::Forbidden(format!(
            "collection '{id}' is a context layer kvpt loads from its geodata: it is read-only"
        ))),
    }
}

fn body_json(body: &Bytes, headers: &HeaderMap) -> Result<Value, AppError> {
    if let Some(crs) = headers.get("content-crs") {
        let text = crs.to_str().unwrap_or("");
        let crs = Crs::parse(text.trim_matches(['<', '>']))
            .map_err(|e| AppError::bad_request("Content-Crs", e.to_string()))?;
        if crs != Crs::Crs84 {
            return Err(AppError::bad_request(
                "Content-Crs",
                "a written feature's coordinates are in CRS84 (longitude, latitude)",
            ));
        }
    }
    serde_json::from_slice(body).map_err(|e| {
        AppError::bad_request(
            "body",
            format!("not JSON: {e} (a GeoJSON Feature is expected)"),
        )
    })
}

/// The item as the caller now reads it, with its ETag: the answer to every write.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    group: Option<LayerGroup>,
    code: &str,
    caller: &Caller,
    status: StatusCode,
) -> Result<Response, AppError> {
    let client = state.db().await?;
    let clearance = caller.clearance()?;
    let text = db::features::site_feature(&client, group, code, Crs::Crs84, Some(clearance))
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no work '{code}' in collection '{id}'")))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("feature JSON: {e}")))?;
    let version = value["properties"]["version"].as_i64().unwrap_or(0);
    let mut response = json_response(GEOJSON, text);
    *response.status_mut() = status;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(version, Crs::Crs84)) {
        h.insert(header::ETAG, v);
    }
    let location = format!(
        "{}/collections/{id}/items/{}",
        base_url(headers),
        super::encode_segment(code)
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `POST /collections/{id}/items`: a new work; 201 with its `Location` and `ETag`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let group = site_group(&id)?;
        let who = writer(&state, &caller, &headers).await?;
        let feature = body_json(&body, &headers)?;
        let checked = item::check(Method::Create, group, None, &feature, None)?;
        let code = checked.code.clone();
        let request = format!("POST /collections/{id}/items");
        item::write(&state.pool, &request, checked, None, &who).await?;
        state.caught_up().await;
        answer(
            &state,
            &headers,
            &id,
            group,
            &code,
            &caller,
            StatusCode::CREATED,
        )
        .await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT` (replace) and `PATCH` (JSON Merge Patch) of one work, at the version `If-Match` names.
async fn change(
    state: AppState,
    caller: Caller,
    (id, code): (String, String),
    headers: HeaderMap,
    body: Bytes,
    method: Method,
) -> Response {
    let result = async {
        let group = site_group(&id)?;
        let who = writer(&state, &caller, &headers).await?;
        let patch = body_json(&body, &headers)?;
        // The body's shape first (400), then the version (428, 412), then the rules (422).
        item::check(method, group, Some(&code), &patch, None)?;
        let (current, now) = current(&state, &headers, (&id, group, &code), who.clearance).await?;
        let checked = item::check(method, group, Some(&code), &patch, Some(&current))?;
        let verb = if method == Method::Patch {
            "PATCH"
        } else {
            "PUT"
        };
        let request = format!("{verb} /collections/{id}/items/{code}");
        item::write(&state.pool, &request, checked, Some(now), &who).await?;
        state.caught_up().await;
        answer(&state, &headers, &id, group, &code, &caller, StatusCode::OK).await
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(state, caller, path, headers, body, Method::Replace).await
}

pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(state, caller, path, headers, body, Method::Patch).await
}

/// `DELETE`: the work leaves every current view (its histories stay); 204.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, code)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let group = site_group(&id)?;
        let who = writer(&state, &caller, &headers).await?;
        let (_, now) = current(&state, &headers, (&id, group, &code), who.clearance).await?;
        item::delete(&state.pool, &code, Some(now), &who).await?;
        state.caught_up().await;
        Ok::<_, AppError>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
