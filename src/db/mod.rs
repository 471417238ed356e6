//! The database layer: the pool, the migration runner and one file per topic.
//! No HTTP types here; callers map [`DbError`] at their edge.

pub mod areas;
pub mod audit;
pub mod dashboard;
pub mod features;
pub mod idempotency;
pub mod migrate;
pub mod replicas;
pub mod reports;
pub mod sites;
pub mod stats;
pub mod tiles;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;

/// Oldest PostGIS kvpt runs on: ST_AsMVT, ST_TileEnvelope and friends.
pub const MIN_POSTGIS: (u32, u32) = (3, 0);

/// A failure talking to PostgreSQL, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server is unreachable, gone or not answering in time.
    #[error("database unavailable: {reason}")]
    Unavailable { reason: String },
    /// A named constraint refused the write.
    #[error("{message}")]
    Constraint { constraint: String, message: String },
    /// PostgreSQL refused a value (SQLSTATE class 22: data exception).
    #[error("{message}")]
    Invalid { message: String },
    /// Any other error from a statement.
    #[error("query failed")]
    Query(#[source] tokio_postgres::Error),
    #[error("invalid DATABASE_URL")]
    Config(#[source] tokio_postgres::Error),
    #[error(
        "PostGIS is not installed on this PostgreSQL server (install postgresql-15-postgis-3)"
    )]
    PostgisMissing,
    #[error("PostGIS {found} is older than the required {}.{}", MIN_POSTGIS.0, MIN_POSTGIS.1)]
    PostgisTooOld { found: String },
    #[error("migration {version} ({name}) was changed after it was applied; restore it or use a fresh database")]
    MigrationEdited { version: i32, name: String },
    /// What the database (or the geodata loaded into it) holds is not what kvpt expects.
    #[error("{0}")]
    Data(String),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(err: tokio_postgres::Error) -> Self {
        if let Some(db) = err.as_db_error() {
            if let Some(constraint) = db.constraint() {
                return DbError::Constraint {
                    constraint: constraint.to_string(),
                    message: constraint_message(constraint)
                        .map(str::to_string)
                        .unwrap_or_else(|| db.message().to_string()),
                };
            }
            // Admin shutdown, cannot connect now, database dropped: the server is going away.
            let code = db.code().code();
            // Data exceptions (a NUL in text, a number or date out of range): the input
            // was wrong, not kvpt.
            if code.starts_with("22") {
                return DbError::Invalid {
                    message: db.message().to_string(),
                };
            }
            // 40001: a serialization failure, or on a standby a query cancelled by a
            // conflict with recovery: the same read, tried again, succeeds.
            if code.starts_with("57P") || code == "3D000" || code == "40001" {
                return DbError::Unavailable {
                    reason: db.message().to_string(),
                };
            }
            return DbError::Query(err);
        }
        if err.is_closed()
            || std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>())
        {
            return DbError::Unavailable {
                reason: err.to_string(),
            };
        }
        DbError::Query(err)
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(e) => {
                // A backend error while getting a connection means we could not connect.
                match DbError::from(e) {
                    DbError::Query(e) => DbError::Unavailable {
                        reason: e.to_string(),
                    },
                    other => other,
                }
            }
            other => DbError::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

/// What each named constraint means, said to a user (English; pages translate by name).
pub fn constraint_message(constraint: &str) -> Option<&'static str> {
    Some(match constraint {
        "site_code_key" => "a site with this code already exists",
        "site_code_format" => "site codes are upper-case letters and digits in dash-separated parts, like CHOT-TBI-0012",
        "site_name_not_blank" => "the site name is empty",
        "site_kind_known" => "unknown kind of work",
        "site_geometry_matches_kind" => "this geometry type is not allowed for this kind of work",
        "site_geometry_valid" => "the geometry is invalid (self-intersecting or malformed)",
        "site_geometry_not_empty" => "the geometry is empty",
        "site_phase_range" => "phase must be between 1 and 9",
        "site_progress_pct_range" => "percent complete must be between 0 and 100",
        "site_planned_dates_order" => "the planned finish is before the planned start",
        "site_actual_dates_order" => "the actual finish is before the actual start",
        "site_done_at_full_progress" => "a completed or handed-over work must be at 100%",
        "progress_history_append_only" => "progress history is append-only and cannot be changed",
        "progress_history_pct_range" => "percent complete must be between 0 and 100",
        "budget_line_pkey" => "this site already has a budget line for that year and funding source",
        "budget_line_year_range" => "budget year must be between 2017 and 2035",
        "budget_line_amounts_not_negative" => "amounts cannot be negative",
        "budget_line_disbursed_within_allocated" => "disbursed cannot exceed allocated",
        "search_zone_counts_not_negative" => "remains counts cannot be negative",
        "search_zone_area_not_negative" => "the concluded area cannot be negative",
        "search_zone_site_is_zone" => "only remains search zones carry search data",
        "app_user_username_key" => "this username is taken",
        "app_user_username_format" => "usernames are 2–64 lower-case letters, digits, dots, dashes or underscores",
        _ => return None,
    })
}

/// A connection pool that gives up quickly when the server is down, so requests
/// answer 503 instead of hanging.
pub fn pool(url: &str) -> Result<Pool, DbError> {
    pool_with(url.parse().map_err(DbError::Config)?)
}

/// [`pool`] from an already parsed configuration.
pub fn pool_with(config: tokio_postgres::Config) -> Result<Pool, DbError> {
    // Prepared statements are planned for their values each time: a generic plan cannot
    // fold ST_MakeEnvelope($1, …) or ST_TileEnvelope($1, …) into a constant and recomputes
    // it for every row (twice the time of a bbox page).
    build_pool(config, "force_custom_plan", 32, Duration::from_secs(5))
}

/// The pool tiles are made through ([`crate::db::tiles`]): like [`pool_with`], but
/// PostgreSQL may keep one generic plan per tile statement (`plan_cache_mode=auto`). A
/// tile's statement computes its envelope once, in a one-row CTE, so a generic plan costs
/// nothing per row, and planning it afresh was more than half of a cold tile's time
/// (pgbench on the z14 tiles of a layer: 1 450 tiles/s with custom plans, 3 200 with the
/// generic one; BENCHMARKS.md).
pub fn tile_pool_with(config: tokio_postgres::Config) -> Result<Pool, DbError> {
    build_pool(config, "auto", 16, Duration::from_secs(5))
}

/// A read replica's pool, as [`pool_with`]'s but quick to give up connecting: the request
/// then reads the primary.
pub fn replica_pool_with(config: tokio_postgres::Config) -> Result<Pool, DbError> {
    build_pool(config, "force_custom_plan", 32, Duration::from_secs(1))
}

/// A read replica's tile pool, as [`tile_pool_with`]'s (see [`replica_pool_with`]).
pub fn replica_tile_pool_with(config: tokio_postgres::Config) -> Result<Pool, DbError> {
    build_pool(config, "auto", 16, Duration::from_secs(1))
}

fn build_pool(
    mut config: tokio_postgres::Config,
    plan_cache_mode: &str,
    max_size: usize,
    connect_within: Duration,
) -> Result<Pool, DbError> {
    config.connect_timeout(connect_within);
    config.application_name("kvpt");
    // Short queries under concurrency: JIT compiling and parallel workers cost more than
    // they save on a small server (JIT alone was 40 ms of a 100 ms items page). The
    // dashboard groups 100 000 works and 300 000 budget lines: with the default 4 MB its
    // hashes spill to disk (15 % slower).
    config.options(format!(
        "-c jit=off -c max_parallel_workers_per_gather=0 -c plan_cache_mode={plan_cache_mode} \
         -c work_mem=32MB"
    ));
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            // Fast: no query per checkout; a connection the server closed is seen as closed.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .timeouts(Timeouts {
            wait: Some(Duration::from_secs(5)),
            create: Some(connect_within),
            recycle: Some(Duration::from_secs(2)),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Data(format!("building the pool: {e}")))
}

/// One connection outside the pool (migrations, bulk loads, tests).
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, DbError> {
    connect_with(url.parse().map_err(DbError::Config)?).await
}

/// [`connect`] from an already parsed configuration.
pub async fn connect_with(
    mut config: tokio_postgres::Config,
) -> Result<tokio_postgres::Client, DbError> {
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "connection ended");
        }
    });
    Ok(client)
}
