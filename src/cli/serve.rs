//! `kvpt serve`: migrate, load the demo when asked and the database is empty, serve.

use std::net::SocketAddr;

use clap::builder::BoolishValueParser;
use clap::Args;
use deadpool_postgres::Pool;

use super::DemoArgs;
use crate::db;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KVPT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Review engineers' progress updates before they count (`on`), or not (`off`): written
    /// to the database at start, so every instance on it agrees; unset leaves it as it is.
    #[arg(long, env = "KVPT_REVIEW", value_parser = ["on", "off"])]
    pub review: Option<String>,
    /// Load the context layers and the demo data when the database has none.
    #[arg(long, env = "KVPT_BOOTSTRAP", value_parser = BoolishValueParser::new())]
    pub bootstrap: bool,
    /// Memory for tiles kept between requests, in MiB (0 turns the cache off).
    #[arg(long, env = "KVPT_TILE_CACHE_MB", default_value_t = crate::web::DEFAULT_TILE_CACHE_MB)]
    pub tile_cache_mb: u64,
    /// What visitors who have not signed in see: `public` works and the public budget
    /// page, or `none` (everything but the public budget page asks them to sign in).
    #[arg(long, env = "KVPT_ANONYMOUS", default_value = "public", value_parser = ["public", "none"])]
    pub anonymous: String,
    /// Proxies (addresses or networks, comma-separated) whose `X-Forwarded-For` names the
    /// client; sign-in throttling counts by that address. Anyone else's header is ignored
    /// and the peer's own address counts. Loopback by default (a proxy on this machine).
    #[arg(long, env = "KVPT_TRUSTED_PROXIES", default_value = "127.0.0.1,::1")]
    pub trusted_proxies: crate::web::client_addr::TrustedProxies,
    /// Serve HTTPS with this certificate chain (PEM; `kvpt tls init` makes one for a
    /// closed network). Needs --tls-key. Plain HTTP without.
    #[arg(long, env = "KVPT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "KVPT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// The same database reached directly, when DATABASE_URL goes through a PgBouncer in
    /// transaction mode: the listener (LISTEN) and migrations (a session lock) connect
    /// here. DATABASE_URL by default.
    #[arg(long, env = "KVPT_DIRECT_URL", hide_env_values = true)]
    pub direct_url: Option<String>,
    /// Streaming replicas of the database (comma-separated libpq URLs): tiles, items, the
    /// home page's figures, dashboards and exports are read from a ready one that holds the
    /// client's last write.
    #[arg(long, env = "KVPT_REPLICA_URLS", default_value = "")]
    pub replica_urls: String,
    /// A replica further behind the primary than this many seconds is skipped until it
    /// catches up.
    #[arg(long, env = "KVPT_REPLICA_MAX_LAG", default_value_t = 5.0)]
    pub replica_max_lag: f64,
    #[command(flatten)]
    pub demo: DemoArgs,
}

/// Serves until stopped.
pub async fn run(url: &str, pool: Pool, args: ServeArgs) -> anyhow::Result<()> {
    // A bad certificate stops the start before anything else, in one line.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::web::tls::load(cert, key)?),
        _ => None,
    };
    let pooled = args.direct_url.is_some();
    let direct = args.direct_url.as_deref().unwrap_or(url);
    db::migrate::migrate_url(direct).await?;
    if let Some(review) = &args.review {
        let client = pool.get().await.map_err(db::DbError::from)?;
        crate::progress::review::set(&client, review == "on").await?;
        println!("review of engineers' updates: {review}");
    }
    if args.bootstrap {
        let mut client = pool.get().await.map_err(db::DbError::from)?;
        if crate::geodata::load(&mut client).await? {
            println!("geodata loaded");
        }
        let report = crate::demo::load(&mut client, args.demo.sites, args.demo.seed, true).await?;
        println!("{report}");
        if let Some(password) = crate::accounts::users::bootstrap_admin(&mut client).await? {
            println!(
                "no accounts yet: created 'admin' (administrator, clearance secret) with \
                 password {password}\n  change it with: kvpt user passwd admin"
            );
        }
    }
    let config: tokio_postgres::Config = url.parse().map_err(db::DbError::Config)?;
    let direct: tokio_postgres::Config = direct
        .parse()
        .map_err(|e| anyhow::anyhow!("KVPT_DIRECT_URL is not a PostgreSQL URL: {e}"))?;
    let max_lag = std::time::Duration::try_from_secs_f64(args.replica_max_lag)
        .map_err(|_| anyhow::anyhow!("KVPT_REPLICA_MAX_LAG: a number of seconds, 0 or more"))?;
    let replicas = db::replicas::Replicas::from_urls(&args.replica_urls, max_lag)
        .map_err(|e| anyhow::anyhow!("KVPT_REPLICA_URLS: {e}"))?;
    let anonymous = (args.anonymous == "public").then_some(crate::domain::Classification::Public);
    let options = crate::web::ServeOptions {
        addr: args.addr,
        tile_cache_mb: args.tile_cache_mb,
        anonymous,
        trusted_proxies: args.trusted_proxies,
        tls,
        replicas,
        direct,
        pooled,
    };
    tokio::spawn(housekeeping(pool.clone()));
    crate::web::serve(pool, config, options).await?;
    Ok(())
}

/// Every hour: expired sessions and Idempotency-Keys older than their 45 days go, also
/// those of users who no longer write; import jobs older than a week, uploads kept over a
/// day.
async fn housekeeping(pool: Pool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let Ok(client) = pool.get().await else {
            continue;
        };
        let sessions = crate::accounts::sessions::purge_expired(&client).await;
        let keys = db::idempotency::purge_expired(&client).await;
        let jobs = crate::exchange::import::jobs::purge_old(&client).await;
        let uploads = crate::exchange::import::uploads::purge_old(&client).await;
        match (sessions, keys, jobs, uploads) {
            (Ok(sessions), Ok(keys), Ok(jobs), Ok(uploads)) => {
                tracing::info!(
                    sessions,
                    keys,
                    jobs,
                    uploads,
                    "housekeeping: expired rows deleted"
                )
            }
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
                tracing::warn!(error = %e, "housekeeping failed")
            }
        }
    }
}
