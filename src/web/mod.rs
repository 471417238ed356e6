//! The HTTP service: shared state, the router built from each area's routes,
//! request tracing and graceful shutdown.

mod account;
mod admin;
mod assets;
pub mod auth;
mod budget;
pub mod caller;
pub mod client_addr;
mod communes;
mod conflicts;
pub mod dashboard;
pub mod exports;
pub mod features;
mod field;
pub mod freshness;
mod health;
mod home;
pub mod imports;
mod investments;
mod land;
pub mod limits;
mod listener;
mod map;
mod multipart;
pub mod negotiate;
mod ogc_tiles;
mod page;
mod progress;
mod reports;
mod review;
mod search;
mod security;
pub mod server;
mod sites;
mod style;
pub mod tile_cache;
mod tile_occupancy;
mod tiles;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::http::Request;
use axum::Router;
use deadpool_postgres::Pool;
use tower_http::trace::TraceLayer;

use crate::domain::Classification;
use crate::error::AppError;
use tile_cache::TileCache;

pub use page::PageError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// Where tiles are made: a pool whose connections keep a generic plan of each tile
    /// statement ([`crate::db::tile_pool_with`]); the main pool unless `serve` sets one.
    pub tile_pool: Pool,
    /// What anonymous visitors see: public works, or nothing (`None`) when the deployment
    /// says so. Signed-in users see up to their own clearance.
    pub anonymous: Option<Classification>,
    /// Who recent session cookies belong to.
    pub sessions: Arc<caller::SessionCache>,
    /// Tiles in memory, keyed by their layer's data version.
    pub tiles: Arc<TileCache>,
    /// Heavy database work (large feature pages) waits here, so PostgreSQL runs about as
    /// many of them at once as it has cores instead of thrashing between dozens.
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// The ids matching recent items queries, between their pages.
    pub matched: Arc<features::MatchedIds>,
    /// The dashboard's consistency-flag thresholds unless a planner asks otherwise.
    pub flags: dashboard::FlagDefaults,
    /// Dashboards computed at the current data versions.
    pub dashboards: Arc<dashboard::DashboardCache>,
    /// This process among the instances serving one database (host, pid, a random part):
    /// the import jobs it runs carry it (`exchange::import::jobs`).
    pub instance: Arc<str>,
    /// Largest import upload, in bytes.
    pub import_max_bytes: u64,
    /// Deadlines and sizes (see `limits`).
    pub limits: limits::Limits,
    /// Exports and imports admitted at once, running or waiting.
    pub heavy_work: Arc<limits::HeavyWork>,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Arc<client_addr::TrustedProxies>,
    /// Streaming replicas reads may go to (`KVPT_REPLICA_URLS`; none by default).
    pub replicas: Arc<crate::db::replicas::Replicas>,
    /// How far the listener has read the primary's notices (`freshness`).
    pub freshness: Arc<freshness::Freshness>,
}

/// A client position no replica reaches: reads given it go to the primary.
pub const PRIMARY: u64 = u64::MAX;

/// How many heavy requests run at once: twice the cores (one computing while one waits on I/O).
fn heavy_slots() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get() * 2)
}

/// This process's name among instances: host, pid and a random part.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let random = crate::accounts::sessions::random_token();
    format!(
        "{}:{}:{}",
        host.trim(),
        std::process::id(),
        &random[..8.min(random.len())]
    )
}

/// Tile cache size unless told otherwise.
pub const DEFAULT_TILE_CACHE_MB: u64 = 256;

impl AppState {
    /// State whose tile versions are read from the database on each request.
    pub fn new(pool: Pool) -> Self {
        Self::with_cache(pool, DEFAULT_TILE_CACHE_MB)
    }

    pub fn with_cache(pool: Pool, tile_cache_mb: u64) -> Self {
        Self {
            tile_pool: pool.clone(),
            pool,
            anonymous: Some(Classification::Public),
            sessions: Arc::new(caller::SessionCache::default()),
            tiles: Arc::new(TileCache::new(tile_cache_mb * 1024 * 1024)),
            heavy: Arc::new(tokio::sync::Semaphore::new(heavy_slots())),
            matched: Arc::new(features::MatchedIds::new(64 * 1024 * 1024)),
            flags: dashboard::FlagDefaults::default(),
            dashboards: Arc::new(dashboard::DashboardCache::default()),
            instance: instance_name().into(),
            import_max_bytes: std::env::var("KVPT_IMPORT_MAX_MB")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(imports::DEFAULT_MAX_UPLOAD_MB)
                * 1024
                * 1024,
            limits: limits::Limits::default(),
            heavy_work: Arc::new(limits::HeavyWork::new(
                limits::Limits::default().max_heavy_queue,
            )),
            trusted_proxies: Arc::default(),
            replicas: Arc::default(),
            freshness: Arc::default(),
        }
    }

    /// Computes each dashboard on at most `parts` connections at once.
    pub fn dashboard_parts(mut self, parts: usize) -> Self {
        self.dashboards = Arc::new(dashboard::DashboardCache::with_parts(parts));
        self
    }

    /// Reads through `replicas` where a reply allows it, and watches them.
    pub fn replicas(mut self, replicas: crate::db::replicas::Replicas) -> Self {
        let replicas = Arc::new(replicas);
        tokio::spawn(replicas.clone().watch(self.pool.clone()));
        self.replicas = replicas;
        self
    }

    /// Believes `X-Forwarded-For` from these proxies.
    pub fn trusted_proxies(mut self, proxies: client_addr::TrustedProxies) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Applies `limits` (deadlines, sizes, the heavy-work queue).
    pub fn limits(mut self, limits: limits::Limits) -> Self {
        self.heavy_work = Arc::new(limits::HeavyWork::new(limits.max_heavy_queue));
        self.limits = limits;
        self
    }

    /// Also listens for layer versions on a connection of its own (from `config`), so
    /// repeated tiles and 304s are answered without the database.
    pub fn listening(self, config: tokio_postgres::Config) -> Self {
        tokio::spawn(listener::run(
            config,
            self.tiles.clone(),
            self.sessions.clone(),
            self.freshness.clone(),
        ));
        self
    }

    /// Makes tiles through `pool`.
    pub fn tile_pool(mut self, pool: Pool) -> Self {
        self.tile_pool = pool;
        self
    }

    /// Shows anonymous visitors works up to `clearance` (public), or nothing with `None`.
    pub fn anonymous(mut self, clearance: Option<Classification>) -> Self {
        self.anonymous = clearance;
        self
    }

    /// Limits import uploads to `bytes`.
    pub fn import_limit(mut self, bytes: u64) -> Self {
        self.import_max_bytes = bytes;
        self
    }

    /// A pooled connection, or 503 when the database cannot be reached in time.
    pub async fn db(&self) -> Result<deadpool_postgres::Object, crate::db::DbError> {
        Ok(self.pool.get().await?)
    }

    /// A connection of the tile pool, or 503 when the database cannot be reached in time.
    pub async fn tile_db(&self) -> Result<deadpool_postgres::Object, crate::db::DbError> {
        Ok(self.tile_pool.get().await?)
    }

    /// A data version this process's own write moved, seen before the listener reads its
    /// notice (so the writer's next dashboard shows it): nothing made on a replica is
    /// cached until the listener confirms a position past it (`freshness`).
    pub fn saw_version(&self, layer: &str, version: i64) {
        self.freshness.pending();
        self.tiles.saw_version(layer, version);
    }

    /// What a replica must have replayed to answer a client whose last write was at
    /// `client_lsn`: that write, and every notice this process's caches applied (the
    /// floor, `freshness`; none while the listener is down: the primary answers).
    pub fn read_need(&self, client_lsn: u64) -> u64 {
        client_lsn.max(self.freshness.floor())
    }

    /// A connection to read from for a client whose last write was at `client_lsn`: a
    /// ready replica that has replayed what the reply must hold, else the primary. Writes
    /// never come here.
    pub async fn read_db(
        &self,
        client_lsn: u64,
    ) -> Result<deadpool_postgres::Object, crate::db::DbError> {
        Ok(self.read_from(client_lsn, false).await?.0)
    }

    /// As [`Self::read_db`], from the tile pools.
    pub async fn read_tile_db(
        &self,
        client_lsn: u64,
    ) -> Result<deadpool_postgres::Object, crate::db::DbError> {
        Ok(self.read_from(client_lsn, true).await?.0)
    }

    /// A connection as [`Self::read_db`]'s, and the pool it came from (more connections
    /// to the same server).
    pub async fn read_from(
        &self,
        client_lsn: u64,
        tiles: bool,
    ) -> Result<(deadpool_postgres::Object, &Pool), crate::db::DbError> {
        let primary = if tiles { &self.tile_pool } else { &self.pool };
        if let Some(replica) = self.replicas.pick(self.read_need(client_lsn)) {
            let pool = if tiles {
                &replica.tile_pool
            } else {
                &replica.pool
            };
            match pool.get().await {
                Ok(client) => {
                    replica.read_taken();
                    return Ok((client, pool));
                }
                // All its connections busy: this read goes to the primary.
                Err(deadpool_postgres::PoolError::Timeout(
                    deadpool_postgres::TimeoutType::Wait,
                )) => {}
                // Cannot connect: skipped until the watcher finds it well.
                Err(err) => replica.set_down(&crate::db::DbError::from(err).to_string()),
            }
        }
        Ok((primary.get().await?, primary))
    }

    /// Runs `read` for a client whose last write was at `client_lsn` (it reads through
    /// [`Self::read_db`] or [`Self::read_tile_db`] with the position it is given), and once
    /// more with [`PRIMARY`] when it failed as unavailable while replicas are in use: it may
    /// have failed on a replica that just went away.
    pub async fn reading<T, F, Fut>(&self, client_lsn: u64, read: F) -> Result<T, AppError>
    where
        F: Fn(u64) -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        match read(client_lsn).await {
            Err(AppError::Unavailable) if !self.replicas.is_empty() => read(PRIMARY).await,
            other => other,
        }
    }

    /// Waits (a second at most) until this process's listener has read every notice
    /// committed so far, so the writer's next tile shows what was just written. Called by
    /// a write's handler after its commit; nothing to wait for while no listener runs. The
    /// write stands whatever happens here: a failure is logged, and other processes catch
    /// up through their listeners anyway.
    pub async fn caught_up(&self) {
        if !self.tiles.is_live() {
            return;
        }
        let (token, read) = self.tiles.expect_sync();
        let sent = match self.db().await {
            Ok(client) => crate::db::tiles::notify_sync(&client, &token).await,
            Err(err) => Err(err),
        };
        let waited = match sent {
            Ok(()) => tokio::time::timeout(std::time::Duration::from_secs(1), read)
                .await
                .is_ok(),
            Err(err) => {
                tracing::warn!(error = %err, "cannot send a sync notice");
                false
            }
        };
        if !waited {
            self.tiles.forget_sync(&token);
            tracing::warn!("the listener did not read a sync notice within a second");
        }
    }
}

/// Every area's routes but the uploads' and the tiles' (which keep their own limits).
fn areas() -> Router<AppState> {
    Router::new()
        .merge(home::routes())
        .merge(auth::routes())
        .merge(health::routes())
        .merge(tiles::routes())
        .merge(ogc_tiles::routes())
        .merge(features::routes())
        .merge(style::routes())
        .merge(map::routes())
        .merge(sites::routes())
        .merge(progress::routes())
        .merge(search::routes())
        .merge(conflicts::routes())
        .merge(field::routes())
        .merge(budget::routes())
        .merge(land::routes())
        .merge(investments::routes())
        .merge(dashboard::routes())
        .merge(reports::routes())
        .merge(review::routes())
        .merge(admin::routes())
        .merge(account::routes())
        .merge(exports::routes())
        .merge(assets::routes())
}

/// The whole application, ready for `axum::serve` or `oneshot` in tests.
pub fn router(state: AppState) -> Router {
    let deadline = state.limits.request_timeout;
    let timed = areas().layer(axum::middleware::from_fn(move |request, next| {
        limits::deadline(deadline, request, next)
    }));
    // Uploads take as long as the client's line needs; the body timeout still applies.
    let compressed = Router::new()
        .merge(timed)
        .merge(imports::routes(state.import_max_bytes))
        .merge(communes::routes(state.import_max_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            caller::identify,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            freshness::stamp,
        ))
        .layer(axum::middleware::map_response(page::plain_rejections))
        .layer(tower_http::compression::CompressionLayer::new());
    let app = Router::new()
        .merge(compressed)
        .fallback(page::not_found)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            // Nothing to build when the span would be thrown away (RUST_LOG above info).
            if !tracing::enabled!(tracing::Level::INFO) {
                return tracing::Span::none();
            }
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), uri = %request.uri(), route)
        }))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.limits.body_timeout,
        ))
        .layer(axum::middleware::from_fn(limits::query_sanity));
    // Tiles outside the request trace, the checks and the page headers above (a GET
    // without a body, its path parsed strictly, its own headers): tens of thousands a
    // second, errors logged anyway.
    security::headers(app)
        .merge(tiles::tile_routes())
        .merge(ogc_tiles::tile_routes())
        .with_state(state)
}

/// The application as the TCP server serves it: the router with the tile lane in front.
pub fn served(state: AppState) -> server::Served {
    server::Served::with_tile_lane(router(state.clone()), state)
}

/// How `kvpt serve` serves.
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub tile_cache_mb: u64,
    /// What anonymous visitors see (`None`: nothing).
    pub anonymous: Option<Classification>,
    pub trusted_proxies: client_addr::TrustedProxies,
    /// HTTPS (HTTP/2 and HTTP/1.1) with this configuration; plain HTTP/1.1 without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Streaming replicas reads may go to.
    pub replicas: crate::db::replicas::Replicas,
    /// The database reached directly (not through a transaction-pooling PgBouncer), for
    /// the listener.
    pub direct: tokio_postgres::Config,
    /// Whether the pools go through a transaction pooler (a direct URL was given): then a
    /// dashboard is one transaction on one connection, unless `KVPT_DASHBOARD_PARTS` says
    /// otherwise (its parts would each hold a pooler's server connection while waiting for
    /// the others', which a small pool can deadlock).
    pub pooled: bool,
}

/// Serves until SIGTERM or ctrl-c, letting requests in flight finish.
pub async fn serve(
    pool: Pool,
    config: tokio_postgres::Config,
    options: ServeOptions,
) -> anyhow::Result<()> {
    let limits = limits::Limits::from_env()?;
    let addr = options.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let tile_pool = crate::db::tile_pool_with(config)?;
    let mut state = AppState::with_cache(pool.clone(), options.tile_cache_mb);
    if options.pooled && std::env::var_os("KVPT_DASHBOARD_PARTS").is_none() {
        state = state.dashboard_parts(1);
    }
    let state = state
        .tile_pool(tile_pool.clone())
        .anonymous(options.anonymous)
        .trusted_proxies(options.trusted_proxies)
        .limits(limits.clone())
        .replicas(options.replicas)
        .listening(options.direct);
    let app = served(state);
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("kvpt is serving on {scheme}://{addr}/");
    server::run_with(listener, app, &limits, options.tls, shutdown_signal()).await;
    pool.close();
    tile_pool.close();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    stop_requested().await;
    tracing::info!("shutting down: finishing requests in flight");
}

/// SIGTERM or Ctrl-C.
pub async fn stop_requested() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
