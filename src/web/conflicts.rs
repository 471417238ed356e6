//! `/api/conflicts`: the updates that crossed another one (made offline from an older
//! version, a field changed meanwhile by someone else), listed for their author (and every
//! one for administrators), and resolved by their author, or an administrator as their
//! supervisor, picking mine or theirs per field.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::caller::Caller;
use super::AppState;
use crate::domain::UserRole;
use crate::error::AppError;
use crate::i18n::today_in_vietnam;
use crate::progress::conflicts;
use crate::progress::sync::{self, Pick};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/conflicts", get(list))
        .route("/api/conflicts/{id}", post(resolve))
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, AppError> {
    let user = caller.with_role(&[UserRole::Engineer, UserRole::Admin])?;
    let client = state.db().await?;
    let open = conflicts::open(&client, user).await?;
    Ok(Json(json!({ "conflicts": open })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    /// For each field the conflict names: "mine" or "theirs".
    picks: HashMap<String, Pick>,
}

async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let user = caller.with_role(&[UserRole::Engineer, UserRole::Admin])?;
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let body: ResolveBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("body", format!("not a resolution: {e}")))?;
    let mut client = state.db().await?;
    let applied = sync::resolve(&mut client, user, id, &body.picks, today_in_vietnam())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no open conflict {id} you may resolve")))?;
    for (layer, version) in &applied.layer_versions {
        state.tiles.saw_version(layer, *version);
    }
    Ok(Json(
        json!({ "site": applied.state, "history_id": applied.history_id }),
    ))
}
