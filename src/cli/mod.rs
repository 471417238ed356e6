//! The command line: one clap tree (every flag also read from an environment variable)
//! and the code of each command, one file per family: `serve`, `db` (the embedded
//! cluster), `user`, `demo` (geodata and demo data), `export`, `import`, `ops` (backup,
//! restore, audit). `main.rs` parses and calls `run`.

mod db;
mod demo;
mod export;
pub mod import;
mod ops;
mod serve;
mod tls;
mod token;
mod user;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cluster::Cluster;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

pub use db::DbAction;
pub use demo::{DemoAction, DemoArgs, GeodataAction};
pub use export::ExportArgs;
pub use import::ImportArgs;
pub use ops::AuditAction;
pub use serve::ServeArgs;
pub use tls::TlsAction;
pub use user::UserAction;

/// kvpt: map and track the local defence works of Tây Ninh province.
///
/// Without DATABASE_URL, kvpt manages its own PostgreSQL + PostGIS cluster under
/// the data directory (var/pg by default).
#[derive(Debug, Parser)]
#[command(name = "kvpt", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// PostgreSQL + PostGIS to use instead of the embedded cluster
    /// (libpq URL or key=value string). kvpt then manages no server.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// kvpt's data directory: the embedded cluster lives in <dir>/pg, its socket in <dir>/run.
    #[arg(long, env = "KVPT_DATA_DIR", default_value = "var", global = true)]
    pub data_dir: PathBuf,

    /// Directory with the PostgreSQL server binaries (initdb, pg_ctl, postgres).
    #[arg(
        long,
        env = "KVPT_PG_BIN",
        default_value = "/usr/lib/postgresql/15/bin",
        global = true
    )]
    pub pg_bin: PathBuf,

    /// Port of the embedded cluster: names its Unix socket, and is the TCP port with --pg-tcp.
    #[arg(long, env = "KVPT_PG_PORT", default_value_t = 5432, global = true)]
    pub pg_port: u16,

    /// Also let the embedded cluster listen on 127.0.0.1:<pg-port> (for QGIS, ogr2ogr…).
    #[arg(long, env = "KVPT_PG_TCP", value_parser = BoolishValueParser::new(), global = true)]
    pub pg_tcp: bool,

    /// Unprivileged user the embedded cluster runs as when kvpt runs as root.
    #[arg(long, env = "KVPT_PG_USER", default_value = "postgres", global = true)]
    pub pg_user: String,

    /// Run the embedded cluster without fsync: for throwaway test clusters only.
    #[arg(long, env = "KVPT_PG_FAST", value_parser = BoolishValueParser::new(), global = true, hide = true)]
    pub pg_fast: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web viewer and APIs (starts and migrates the database first).
    Serve(ServeArgs),
    /// Apply pending schema migrations.
    Migrate,
    /// Manage the embedded PostgreSQL + PostGIS cluster.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
    /// Context layers (province, districts, border, neighbours, rivers).
    Geodata {
        #[command(subcommand)]
        action: GeodataAction,
    },
    /// Synthetic demonstration data.
    Demo {
        #[command(subcommand)]
        action: DemoAction,
    },
    /// Export works for a partner: GeoJSON, GeoPackage, Shapefile, KML, CSV or FlatGeobuf,
    /// cut to a partner profile and recorded in the export log.
    Export(ExportArgs),
    /// Import works from a GIS file (GeoJSON, GeoPackage, Shapefile, KML, DXF, CSV,
    /// FlatGeobuf): every row checked and reported, nothing written unless all pass.
    Import(ImportArgs),
    /// Local accounts: add, change password, disable, list.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Write the whole database (works, histories, budgets, photos, accounts, audit) to
    /// FILE in PostgreSQL's custom dump format.
    Backup { file: PathBuf },
    /// Restore FILE (from `kvpt backup`) into an empty database, then check it.
    Restore { file: PathBuf },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// HTTPS on a closed network: a private CA and the server's certificate.
    Tls {
        #[command(subcommand)]
        action: TlsAction,
    },
    /// Personal access tokens for QGIS, GDAL and scripts: add, list, revoke.
    Token {
        #[command(subcommand)]
        action: token::TokenAction,
    },
}

/// Logs to stderr; `RUST_LOG` chooses what (default: info for kvpt, warn elsewhere).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kvpt=info,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs one subcommand to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Db { action } => db::run(&global, action),
        Command::Tls { action } => tls::run(action),
        other => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(run_async(global, other))
        }
    }
}

/// The database to use: DATABASE_URL, or the embedded cluster (started if needed).
/// Also returns the cluster when this call started it, so the caller can stop it.
/// `serving`: the process will watch the cluster it starts (it adopts the postmaster).
fn database(global: &Global, serving: bool) -> anyhow::Result<(String, Option<Cluster>)> {
    if let Some(url) = &global.database_url {
        return Ok((url.clone(), None));
    }
    let cluster = global.cluster()?;
    if serving {
        crate::cluster::supervise::adopt_orphans();
    }
    let started = cluster.start()?;
    let url = cluster.database_url();
    Ok((url, started.then_some(cluster)))
}

async fn run_async(global: Global, command: Command) -> anyhow::Result<()> {
    let serving = matches!(command, Command::Serve(_));
    let (url, started) = database(&global, serving)?;
    // `kvpt serve` restarts the embedded cluster it started when it dies, and stops
    // with one line when it keeps dying.
    let supervisor = started.as_ref().filter(|_| serving).map(|cluster| {
        crate::cluster::supervise::Supervisor::start(cluster.clone(), |line| {
            // One line, as main prints an error.
            eprintln!("kvpt: {line}");
            std::process::exit(1);
        })
    });
    if let Some(supervisor) = &supervisor {
        // Told to stop, kvpt lets the cluster stop too (a service manager may stop both).
        let stopping = supervisor.stopping();
        tokio::spawn(async move {
            crate::web::stop_requested().await;
            stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
    let result = run_with_database(&url, &global.pg_bin, command).await;
    if let Some(supervisor) = supervisor {
        supervisor.stop();
    }
    if let Some(cluster) = started {
        // Started for this command only: leave the machine as we found it.
        if let Err(err) = cluster.stop() {
            tracing::warn!(error = %err, "stopping the embedded cluster");
        }
    }
    result
}

/// Runs `command` against the database at `url` (migrated first where it needs it).
async fn run_with_database(url: &str, pg_bin: &Path, command: Command) -> anyhow::Result<()> {
    let pool = crate::db::pool(url)?;
    match command {
        Command::Migrate => {
            let applied = crate::db::migrate::migrate_url(url).await?;
            println!("{applied} migration(s) applied");
        }
        Command::Geodata { action } => demo::geodata(url, &pool, action).await?,
        Command::Demo { action } => demo::demo(url, &pool, action).await?,
        Command::User { action } => user::run(url, &pool, action).await?,
        Command::Token { action } => token::run(url, &pool, action).await?,
        Command::Serve(args) => serve::run(url, pool, args).await?,
        Command::Export(args) => export::run(url, &pool, args).await?,
        Command::Import(args) => {
            crate::db::migrate::migrate_url(url).await?;
            if !import::run(&pool, args).await? {
                std::process::exit(2);
            }
        }
        Command::Backup { file } => ops::backup(url, pg_bin, &file).await?,
        Command::Restore { file } => ops::restore(url, pg_bin, &file).await?,
        Command::Audit { action } => ops::audit(url, action).await?,
        Command::Db { .. } | Command::Tls { .. } => unreachable!("handled without a runtime"),
    }
    Ok(())
}
