//! `report_log`: every report generated, as exports are logged.

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;

use crate::db::DbError;
use crate::domain::Classification;

/// One report to log.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub user_id: Option<i32>,
    pub actor: &'a str,
    pub via: &'a str,
    pub number: &'a str,
    pub scope: serde_json::Value,
    pub as_of: NaiveDate,
    pub from: NaiveDate,
    pub format: &'a str,
    pub marking: Classification,
    pub works: i64,
    pub bytes: i64,
    pub sha256: &'a str,
}

/// Logs `e`: its id.
pub async fn record(client: &impl GenericClient, e: &Entry<'_>) -> Result<i64, DbError> {
    Ok(client
        .query_one(
            "INSERT INTO report_log (user_id, actor, via, number, scope, as_of, period_from, format,
                                     marking, works, bytes, sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::classification, $10, $11, $12) RETURNING id",
            &[
                &e.user_id,
                &e.actor,
                &e.via,
                &e.number,
                &e.scope,
                &e.as_of,
                &e.from,
                &e.format,
                &e.marking.code(),
                &e.works,
                &e.bytes,
                &e.sha256,
            ],
        )
        .await?
        .get(0))
}

/// A logged report.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub number: String,
    pub scope: serde_json::Value,
    pub as_of: NaiveDate,
    pub format: String,
    pub marking: String,
    pub works: i64,
}

/// The last `limit` reports of user `user_id`, or (`None`) of everyone, those of others
/// only when marked no higher than `clearance` (a log row says what a report held).
pub async fn recent(
    client: &impl GenericClient,
    user_id: Option<i32>,
    viewer: i32,
    clearance: Classification,
    limit: i64,
) -> Result<Vec<Row>, DbError> {
    Ok(client
        .query(
            "SELECT id, at, actor, number, scope, as_of, format, marking::text, works FROM report_log
              WHERE ($1::int IS NULL OR user_id = $1)
                AND (user_id = $2 OR marking <= $3::text::classification)
              ORDER BY at DESC, id DESC LIMIT $4",
            &[&user_id, &viewer, &clearance.code(), &limit],
        )
        .await?
        .iter()
        .map(|r| Row {
            id: r.get(0),
            at: r.get(1),
            actor: r.get(2),
            number: r.get(3),
            scope: r.get(4),
            as_of: r.get(5),
            format: r.get(6),
            marking: r.get(7),
            works: r.get(8),
        })
        .collect())
}
