//! `/api/conflicts`: the updates that crossed another one (made offline from an older
//! version, a field changed meanwhile by someone else), listed for their author (and every
//! one for administrators), and resolved by their author, or an administrator as their
//! supervisor, picking mine or theirs per field. A conflict is about a site's progress or
//! a search zone's figures; each is resolved by its own feature.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::caller::Caller;
use super::AppState;
use crate::accounts::sessions::SessionUser;
use crate::domain::UserRole;
use crate::error::AppError;
use crate::i18n::today_in_vietnam;
use crate::progress::conflicts;
use crate::progress::rules::Violation;
use crate::progress::store::ProgressError;
use crate::progress::sync::{self, Pick};
use crate::search::{self, store::SearchError};

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
    let answer = resolve_any(&state, &mut client, user, id, &body.picks)
        .await
        .map_err(|e| match e {
            Failed::Progress(e) => AppError::from(e),
            Failed::Search(e) => AppError::from(e),
        })?
        .ok_or_else(|| AppError::NotFound(format!("no open conflict {id} you may resolve")))?;
    Ok(Json(answer))
}

/// Why a resolution was refused, as the feature of the conflict's kind said it.
pub(super) enum Failed {
    Progress(ProgressError),
    Search(SearchError),
}

impl Failed {
    /// The rules the picks broke, if that was why.
    pub(super) fn rules(&self) -> Option<&[Violation]> {
        match self {
            Failed::Progress(ProgressError::Rules(v)) | Failed::Search(SearchError::Rules(v)) => {
                Some(v)
            }
            _ => None,
        }
    }

    /// The site or zone moved on since the conflict was shown ("theirs" now refreshed).
    pub(super) fn moved(&self) -> bool {
        matches!(
            self,
            Failed::Progress(ProgressError::Conflict { .. })
                | Failed::Search(SearchError::Conflict { .. })
        )
    }
}

/// Resolves conflict `id` by the feature of its kind (a site's progress, a search zone's
/// figures) and moves the tile caches on: the answer the API gives, or `None` when `user`
/// has no such open conflict.
pub(super) async fn resolve_any(
    state: &AppState,
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    id: i64,
    picks: &HashMap<String, Pick>,
) -> Result<Option<Value>, Failed> {
    let today = today_in_vietnam();
    let kind = conflicts::kind_of(&*client, id)
        .await
        .map_err(|e| Failed::Progress(ProgressError::Db(e)))?;
    if kind.as_deref() == Some("search") {
        let Some(resolved) = search::store::resolve(client, user, id, picks, today)
            .await
            .map_err(Failed::Search)?
        else {
            return Ok(None);
        };
        let versions = search::store::layer_versions(&*client)
            .await
            .map_err(|e| Failed::Search(SearchError::Db(e)))?;
        for (layer, version) in versions {
            state.saw_version(&layer, version);
        }
        state.caught_up().await;
        return Ok(Some(json!(resolved)));
    }
    let Some(applied) = sync::resolve(client, user, id, picks, today)
        .await
        .map_err(Failed::Progress)?
    else {
        return Ok(None);
    };
    for (layer, version) in &applied.layer_versions {
        state.saw_version(layer, *version);
    }
    state.caught_up().await;
    Ok(Some(
        json!({ "site": applied.state, "history_id": (applied.history_id != 0).then_some(applied.history_id) }),
    ))
}
