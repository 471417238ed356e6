//! The import log: every run (a check or a commit) with who ran it, on which file, at
//! which clearance, and its report; read back only by those who may (the importer and
//! administrators, cleared at least as high as the run).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::{Importer, Options, Report};
use crate::db::DbError;
use crate::domain::Classification;

/// The file a run is about to read.
pub struct NewRun<'a> {
    pub file_name: &'a str,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub upload: Option<&'a str>,
}

/// The options a run was asked with, as the log and the job keep them.
pub fn options_json(options: &Options) -> serde_json::Value {
    serde_json::json!({
        "kind": options.kind.map(|k| k.code()),
        "srs": options.srs.as_ref().map(|s| s.label.clone()),
        "encoding": options.encoding.map(|e| e.code()),
    })
}

/// Opens a run; its id.
pub async fn start(
    client: &impl GenericClient,
    who: &Importer,
    options: &Options,
    run: &NewRun<'_>,
) -> Result<i64, DbError> {
    let logged_options = options_json(options);
    Ok(client
        .query_one(
            "INSERT INTO import_log (user_id, actor, via, file_name, file_bytes, file_sha256, upload,
                                     options, dry_run, clearance)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::classification) RETURNING id",
            &[
                &who.user_id,
                &who.name,
                &who.via,
                &run.file_name,
                &run.bytes,
                &run.sha256,
                &run.upload,
                &logged_options,
                &options.dry_run,
                &who.clearance.code(),
            ],
        )
        .await?
        .get(0))
}

/// Closes run `id` with its report.
pub async fn finish(client: &impl GenericClient, id: i64, report: &Report) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE import_log SET finished = now(), outcome = $2, format = $3, features = $4,
                    inserted = $5, updated = $6, unchanged = $7, refused = $8, report = $9
              WHERE id = $1",
            &[
                &id,
                &report.outcome,
                &report.format,
                &(report.counts.features as i32),
                &(report.counts.insert as i32),
                &(report.counts.update as i32),
                &(report.counts.unchanged as i32),
                &(report.counts.refused as i32),
                &serde_json::to_value(report).unwrap_or_default(),
            ],
        )
        .await?;
    Ok(())
}

/// Closes run `id` as failed (kvpt's fault, not the file's).
pub async fn fail(client: &impl GenericClient, id: i64, error: &str) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE import_log SET finished = now(), outcome = 'failed',
                    report = jsonb_build_object('error', $2::text) WHERE id = $1",
            &[&id, &error],
        )
        .await?;
    Ok(())
}

/// Who reads the log: a user, whether an administrator, and their clearance.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub user_id: i32,
    pub admin: bool,
    pub clearance: Classification,
}

/// One line of the recent runs.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub started: DateTime<Utc>,
    pub actor: String,
    pub file_name: String,
    pub dry_run: bool,
    pub outcome: String,
    pub features: i32,
    pub inserted: i32,
    pub updated: i32,
    pub refused: i32,
}

/// The last runs `reader` may see: their own, or everyone's for an administrator; only
/// runs checked at their clearance or below (a report speaks of what its importer saw). A
/// web run still "running" whose job lost its heartbeat is "interrupted".
pub async fn recent(client: &impl GenericClient, reader: Reader) -> Result<Vec<Run>, DbError> {
    let rows = client
        .query(
            "SELECT id, started, actor, file_name, dry_run,
                    CASE WHEN l.outcome = 'running' AND l.upload IS NOT NULL AND NOT EXISTS (
                              SELECT 1 FROM import_job j
                               WHERE j.token = l.upload AND j.state = 'running'
                                 AND j.heartbeat_at >= now() - make_interval(secs => $4))
                         THEN 'interrupted' ELSE l.outcome END,
                    coalesce(features, 0), coalesce(inserted, 0), coalesce(updated, 0),
                    coalesce(refused, 0)
               FROM import_log l
              WHERE ($1 OR user_id = $2) AND clearance <= $3::text::classification
              ORDER BY id DESC LIMIT 30",
            &[
                &reader.admin,
                &reader.user_id,
                &reader.clearance.code(),
                &super::jobs::STALE_AFTER.as_secs_f64(),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Run {
            id: r.get(0),
            started: r.get(1),
            actor: r.get(2),
            file_name: r.get(3),
            dry_run: r.get(4),
            outcome: r.get(5),
            features: r.get(6),
            inserted: r.get(7),
            updated: r.get(8),
            refused: r.get(9),
        })
        .collect())
}

/// A finished run as stored: its report, the kept upload, who ran it (0 for the command
/// line) and the options it ran with.
pub struct Stored {
    pub report: serde_json::Value,
    pub upload: Option<String>,
    pub owner: i32,
    pub options: serde_json::Value,
}

/// Run `id`, if `reader` may see it (the same rule as `recent`).
pub async fn stored(
    client: &impl GenericClient,
    reader: Reader,
    id: i64,
) -> Result<Option<Stored>, DbError> {
    Ok(client
        .query_opt(
            "SELECT report, upload, coalesce(user_id, 0), options FROM import_log
              WHERE id = $1 AND report ? 'outcome' AND ($2 OR user_id = $3)
                AND clearance <= $4::text::classification",
            &[
                &id,
                &reader.admin,
                &reader.user_id,
                &reader.clearance.code(),
            ],
        )
        .await?
        .map(|row| Stored {
            report: row.get(0),
            upload: row.get(1),
            owner: row.get(2),
            options: row.get(3),
        }))
}
