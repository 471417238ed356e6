//! Import jobs kept in PostgreSQL (`import_job`, `0032_import_job.sql`), so that any kvpt
//! instance answers a job's page: the instance running a job writes its stage and counts
//! with a heartbeat every [`HEARTBEAT`]; a running job without one for [`STALE_AFTER`] is
//! [`JobState::Interrupted`] (its instance died, and its transaction with it), unless the
//! import log shows the run ended (the log's outcome is written in the import's own
//! transaction): then it is done. A run is told apart from an earlier run of the same
//! upload by its `started_at` ([`Run`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::Progress;
use crate::db::DbError;
use crate::domain::Classification;

/// How often the running instance writes a job's progress.
pub const HEARTBEAT: Duration = Duration::from_millis(500);
/// A running job whose heartbeat is older than this is interrupted: thirty missed beats,
/// three times the pool's wait for a connection.
pub const STALE_AFTER: Duration = Duration::from_secs(15);

/// One run of a job: its token, the instance running it and when it began.
#[derive(Debug, Clone)]
pub struct Run {
    pub token: String,
    pub instance: std::sync::Arc<str>,
    pub started_at: DateTime<Utc>,
}

/// A job as any instance reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub owner: i32,
    /// The importer's clearance: who may follow the job.
    pub clearance: Classification,
    pub state: JobState,
    /// [`Progress`]'s stage, and its counts.
    pub stage: u8,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    /// Finished: the id of its report (`import_log`).
    Done(i64),
    /// Failed in a way the report could not hold (the database gone, a worker's panic).
    Failed(String),
    /// Its instance stopped answering: nothing of it was written.
    Interrupted,
}

/// A new job under `token` (an upload's): `None` when a job of that token is running
/// (with a live heartbeat) already. A finished or interrupted one is replaced.
#[allow(clippy::too_many_arguments)]
pub async fn begin(
    client: &impl GenericClient,
    token: &str,
    owner: i32,
    clearance: Classification,
    instance: std::sync::Arc<str>,
    file_name: &str,
    options: &serde_json::Value,
    write: bool,
) -> Result<Option<Run>, DbError> {
    let stale = STALE_AFTER.as_secs_f64();
    let row = client
        .query_opt(
            "INSERT INTO import_job (token, owner, instance, file_name, options, write, clearance)
             VALUES ($1, $2, $3, $4, $5, $6, $8::text::classification)
             ON CONFLICT (token) DO UPDATE
                SET owner = excluded.owner, instance = excluded.instance,
                    file_name = excluded.file_name, options = excluded.options,
                    write = excluded.write, clearance = excluded.clearance, state = 'running',
                    stage = 0, done = 0, total = 0, report_id = NULL, error = NULL,
                    started_at = now(), heartbeat_at = now(), finished_at = NULL
              WHERE import_job.state <> 'running'
                 OR import_job.heartbeat_at < now() - make_interval(secs => $7)
             RETURNING started_at",
            &[
                &token,
                &owner,
                &&*instance,
                &file_name,
                options,
                &write,
                &stale,
                &clearance.code(),
            ],
        )
        .await?;
    Ok(row.map(|r| Run {
        token: token.to_string(),
        instance,
        started_at: r.get(0),
    }))
}

/// The running instance's heartbeat: the job's stage and counts now.
pub async fn beat(
    client: &impl GenericClient,
    run: &Run,
    progress: &Progress,
) -> Result<(), DbError> {
    use std::sync::atomic::Ordering::Relaxed;
    let (stage, done, total) = (
        i16::from(progress.stage.load(Relaxed)),
        i64::try_from(progress.done.load(Relaxed)).unwrap_or(i64::MAX),
        i64::try_from(progress.total.load(Relaxed)).unwrap_or(i64::MAX),
    );
    client
        .execute(
            "UPDATE import_job SET stage = $4, done = $5, total = $6, heartbeat_at = now()
              WHERE token = $1 AND instance = $2 AND started_at = $3 AND state = 'running'",
            &[
                &run.token,
                &&*run.instance,
                &run.started_at,
                &stage,
                &done,
                &total,
            ],
        )
        .await?;
    Ok(())
}

/// The job's end: its report's id, or why it failed.
pub async fn finish(
    client: &impl GenericClient,
    run: &Run,
    progress: &Progress,
    result: Result<i64, String>,
) -> Result<(), DbError> {
    beat(client, run, progress).await?;
    let (state, report, error) = match result {
        Ok(id) => ("done", Some(id), None),
        Err(e) => ("failed", None, Some(e)),
    };
    client
        .execute(
            "UPDATE import_job SET state = $4, report_id = $5, error = $6, finished_at = now()
              WHERE token = $1 AND instance = $2 AND started_at = $3 AND state = 'running'",
            &[
                &run.token,
                &&*run.instance,
                &run.started_at,
                &state,
                &report,
                &error,
            ],
        )
        .await?;
    Ok(())
}

/// The job under `token`, whichever instance runs or ran it.
pub async fn get(client: &impl GenericClient, token: &str) -> Result<Option<Job>, DbError> {
    let stale = STALE_AFTER.as_secs_f64();
    let row = client
        .query_opt(
            "SELECT j.owner, j.state, j.stage, j.done, j.total, j.report_id, j.error,
                    j.state = 'running' AND j.heartbeat_at < now() - make_interval(secs => $2),
                    j.clearance::text,
                    (SELECT l.id FROM import_log l
                      WHERE l.upload = j.token AND l.started >= j.started_at
                        AND l.outcome <> 'running'
                      ORDER BY l.id DESC LIMIT 1)
               FROM import_job j WHERE j.token = $1",
            &[&token, &stale],
        )
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let (state, report, error, stale): (String, Option<i64>, Option<String>, bool) =
        (r.get(1), r.get(5), r.get(6), r.get(7));
    let logged: Option<i64> = r.get(9);
    let state = match (state.as_str(), report, error) {
        ("done", Some(id), _) => JobState::Done(id),
        ("failed", _, error) => JobState::Failed(error.unwrap_or_default()),
        // Its instance died after the run ended (the log was written in its transaction).
        _ if stale && logged.is_some() => JobState::Done(logged.unwrap_or_default()),
        _ if stale => JobState::Interrupted,
        _ => JobState::Running,
    };
    let clearance = Classification::from_code(&r.get::<_, String>(8))
        .ok_or_else(|| DbError::Data("an import job's clearance is not a classification".into()))?;
    Ok(Some(Job {
        owner: r.get(0),
        clearance,
        state,
        stage: u8::try_from(r.get::<_, i16>(2)).unwrap_or_default(),
        done: u64::try_from(r.get::<_, i64>(3)).unwrap_or_default(),
        total: u64::try_from(r.get::<_, i64>(4)).unwrap_or_default(),
    }))
}

/// Jobs finished or interrupted more than a week ago go (their reports stay in the log).
pub async fn purge_old(client: &impl GenericClient) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "DELETE FROM import_job WHERE started_at < now() - interval '7 days'",
            &[],
        )
        .await?)
}
