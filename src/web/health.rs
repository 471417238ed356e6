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

/// The database answers and its schema is current; 503 with the reason otherwise. Each
/// read replica's state and lag is listed (by its place in `KVPT_REPLICA_URLS`): one down
/// or lagging is skipped, reads go to the primary, and the instance stays ready.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let replicas = replicas(&state);
    let unavailable = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason, "replicas": replicas })),
        )
    };
    let client = match state.db().await {
        Ok(client) => client,
        Err(err) => return unavailable(err.to_string()),
    };
    match db::migrate::pending(&**client).await {
        Ok(0) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "replicas": replicas })),
        ),
        Ok(n) => unavailable(format!("{n} migration(s) pending: run `kvpt migrate`")),
        Err(err) => unavailable(err.to_string()),
    }
}

/// Each replica's state, lag (milliseconds, when it answered) and why it is skipped.
fn replicas(state: &AppState) -> Value {
    use crate::db::replicas::ReplicaHealth;
    let list: Vec<Value> = state
        .replicas
        .list()
        .iter()
        .enumerate()
        .map(|(i, replica)| {
            let (health, lag) = replica.health();
            let (name, reason) = match health {
                ReplicaHealth::Unknown => ("unknown", None),
                ReplicaHealth::Ready => ("ready", None),
                ReplicaHealth::Lagging => (
                    "lagging",
                    Some("behind by more than KVPT_REPLICA_MAX_LAG".to_string()),
                ),
                ReplicaHealth::NotStandby => (
                    "not_standby",
                    Some("not in recovery: never read from".to_string()),
                ),
                ReplicaHealth::Down(why) => ("down", Some(why)),
            };
            json!({
                "replica": i + 1,
                "state": name,
                "lag_ms": lag.map(|l| l.as_millis() as u64),
                "reads": replica.reads(),
                "reason": reason,
            })
        })
        .collect();
    Value::Array(list)
}
