//! Liveness and readiness probes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::AppState;
use crate::db;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up: no database involved.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers and its schema is current; 503 with the reason otherwise.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let unavailable = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        )
    };
    let client = match state.db().await {
        Ok(client) => client,
        Err(err) => return unavailable(err.to_string()),
    };
    match db::migrate::pending(&**client).await {
        Ok(0) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Ok(n) => unavailable(format!("{n} migration(s) pending: run `kvpt migrate`")),
        Err(err) => unavailable(err.to_string()),
    }
}
