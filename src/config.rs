//! The command line: one clap tree, every flag also read from an environment
//! variable, and the dispatch of each subcommand.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

use crate::cluster::{Cluster, ClusterConfig, ClusterStatus};
use crate::db;

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
    Import(crate::exchange::import::cli::ImportArgs),
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
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the audit chain and report any row changed, removed or relinked
    /// (exit status 1 if so).
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account. The password is asked twice on a terminal, else read from the
    /// first line of standard input.
    Add {
        username: String,
        /// Full name as shown on pages.
        #[arg(long)]
        name: String,
        /// viewer, engineer, budget_officer or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Highest classification the user may see: public, internal, confidential, secret.
        #[arg(long, default_value = "internal")]
        clearance: String,
        /// The unit the user belongs to.
        #[arg(long)]
        unit: Option<String>,
        /// Districts an engineer may update, comma-separated codes or abbreviations (TBI,TCH).
        #[arg(long, value_delimiter = ',')]
        districts: Vec<String>,
    },
    /// Change a user's role, clearance, unit or districts (audited; applies at once).
    Set {
        username: String,
        /// viewer, engineer, budget_officer or admin.
        #[arg(long)]
        role: Option<String>,
        /// public, internal, confidential or secret.
        #[arg(long)]
        clearance: Option<String>,
        /// The user's unit; an empty value (`--unit ""`) takes them out of it.
        #[arg(long)]
        unit: Option<String>,
        /// Replace the districts an engineer may update (comma-separated codes or abbreviations).
        #[arg(long, value_delimiter = ',')]
        districts: Option<Vec<String>>,
    },
    /// Set a new password (ends the user's sessions).
    Passwd { username: String },
    /// Disable an account (ends its sessions; its history stays).
    Disable { username: String },
    /// Enable a disabled account again (audited).
    Enable { username: String },
    /// List the accounts.
    List,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The partner profile the export is cut to (see /admin/profiles).
    #[arg(long)]
    pub profile: String,
    /// The file to write; its extension picks the format unless --format says it
    /// (.geojson, .gpkg, .shp.zip, .kml, .csv, .fgb). "-" writes to standard output.
    #[arg(long, short)]
    pub output: std::path::PathBuf,
    /// geojson, gpkg, shp, kml, csv or fgb.
    #[arg(long)]
    pub format: Option<String>,
    /// Layers, comma-separated (defence_works, border_militia, logistics, search_zones,
    /// border_markers, land).
    #[arg(long)]
    pub layer: Option<String>,
    /// Kinds, comma-separated codes.
    #[arg(long)]
    pub kind: Option<String>,
    /// Statuses, comma-separated codes.
    #[arg(long)]
    pub status: Option<String>,
    /// Districts: codes (705), abbreviations (TBI) or Cambodian province codes.
    #[arg(long)]
    pub district: Option<String>,
    /// Phases, comma-separated.
    #[arg(long)]
    pub phase: Option<String>,
    /// Code or name contains (diacritics ignored).
    #[arg(long)]
    pub q: Option<String>,
    /// min x, min y, max x, max y (in --bbox-crs, CRS84 by default).
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    #[arg(long)]
    pub bbox_crs: Option<String>,
    /// As they stood at the end of this day (yyyy-mm-dd or dd/mm/yyyy).
    #[arg(long)]
    pub as_of: Option<String>,
    /// CRS of the coordinates: CRS84 (default) or EPSG:9209 (VN-2000 / TM-3 105°30′).
    #[arg(long)]
    pub crs: Option<String>,
}

impl ExportArgs {
    /// The same parameters the web route reads, so both are checked by one parser.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("profile".to_string(), self.profile.clone())];
        for (name, value) in [
            ("format", &self.format),
            ("layer", &self.layer),
            ("kind", &self.kind),
            ("status", &self.status),
            ("district", &self.district),
            ("phase", &self.phase),
            ("q", &self.q),
            ("bbox", &self.bbox),
            ("bbox-crs", &self.bbox_crs),
            ("as_of", &self.as_of),
            ("crs", &self.crs),
        ] {
            if let Some(v) = value {
                pairs.push((name.to_string(), v.clone()));
            }
        }
        pairs
    }

    /// The format the output file's name implies, if any.
    fn format_of_output(&self) -> Option<crate::exchange::format::Format> {
        let name = self.output.file_name()?.to_str()?.to_ascii_lowercase();
        crate::exchange::format::Format::ALL
            .iter()
            .copied()
            .find(|f| name.ends_with(&format!(".{}", f.extension())))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KVPT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
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
    /// client; sign-in throttling counts by that address. Empty: the peer's own address.
    #[arg(long, env = "KVPT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: crate::web::client_addr::TrustedProxies,
    #[command(flatten)]
    pub demo: DemoArgs,
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Initialise the cluster on first use and start it.
    Start,
    /// Stop the cluster cleanly.
    Stop,
    /// Say whether the cluster exists and runs.
    Status,
    /// Print the connection string of the embedded cluster.
    Url,
}

#[derive(Debug, Subcommand)]
pub enum GeodataAction {
    /// Load the layers from geodata/ (skipped when already loaded).
    Load,
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Generate and load a deterministic synthetic dataset.
    Load {
        #[command(flatten)]
        demo: DemoArgs,
        /// Do nothing (successfully) when the database already holds sites.
        #[arg(long, env = "KVPT_DEMO_IF_EMPTY", value_parser = BoolishValueParser::new())]
        if_empty: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of sites to generate.
    #[arg(long = "sites", env = "KVPT_DEMO_SITES", default_value_t = 2000)]
    pub sites: usize,
    /// Seed of the generator: same seed, same data.
    #[arg(long = "seed", env = "KVPT_DEMO_SEED", default_value_t = 2020)]
    pub seed: u64,
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

impl Global {
    /// The embedded cluster these options describe.
    pub fn cluster(&self) -> anyhow::Result<Cluster> {
        Ok(Cluster::new(ClusterConfig {
            data_dir: self.data_dir.clone(),
            pg_bin: self.pg_bin.clone(),
            port: self.pg_port,
            tcp: self.pg_tcp,
            run_as: self.pg_user.clone(),
            fast: self.pg_fast,
        })?)
    }
}

/// Runs one subcommand to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    match cli.command {
        Command::Db { action } => run_db(&global, action),
        other => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(run_async(global, other))
        }
    }
}

fn run_db(global: &Global, action: DbAction) -> anyhow::Result<()> {
    if global.database_url.is_some() {
        anyhow::bail!(
            "DATABASE_URL is set: kvpt uses that server and manages no cluster of its own"
        );
    }
    let cluster = global.cluster()?;
    match action {
        DbAction::Start => {
            let started = cluster.start()?;
            println!(
                "{} {}",
                if started {
                    "started"
                } else {
                    "already running:"
                },
                cluster.database_url()
            );
        }
        DbAction::Stop => {
            let stopped = cluster.stop()?;
            println!("{}", if stopped { "stopped" } else { "not running" });
        }
        DbAction::Status => match cluster.status()? {
            ClusterStatus::NotInitialised => {
                println!("not initialised ({})", cluster.pgdata().display())
            }
            ClusterStatus::Stopped => println!("stopped ({})", cluster.pgdata().display()),
            ClusterStatus::Running { pid } => {
                println!("running, pid {pid}: {}", cluster.database_url())
            }
        },
        DbAction::Url => println!("{}", cluster.database_url()),
    }
    Ok(())
}

/// The database to use: DATABASE_URL, or the embedded cluster (started if needed).
/// Also returns the cluster when this call started it, so the caller can stop it.
fn database(global: &Global) -> anyhow::Result<(String, Option<Cluster>)> {
    if let Some(url) = &global.database_url {
        return Ok((url.clone(), None));
    }
    let cluster = global.cluster()?;
    let started = cluster.start()?;
    let url = cluster.database_url();
    Ok((url, started.then_some(cluster)))
}

async fn run_async(global: Global, command: Command) -> anyhow::Result<()> {
    let (url, started) = database(&global)?;
    let result = run_with_database(&url, &global.pg_bin, command).await;
    if let Some(cluster) = started {
        // Started for this command only: leave the machine as we found it.
        if let Err(err) = cluster.stop() {
            tracing::warn!(error = %err, "stopping the embedded cluster");
        }
    }
    result
}

async fn run_with_database(url: &str, pg_bin: &Path, command: Command) -> anyhow::Result<()> {
    let pool = db::pool(url)?;
    match command {
        Command::Migrate => {
            let applied = db::migrate::migrate_url(url).await?;
            println!("{applied} migration(s) applied");
        }
        Command::Geodata {
            action: GeodataAction::Load,
        } => {
            db::migrate::migrate_url(url).await?;
            let mut client = pool.get().await.map_err(db::DbError::from)?;
            let loaded = crate::geodata::load(&mut client).await?;
            println!(
                "{}",
                if loaded {
                    "geodata loaded"
                } else {
                    "geodata already loaded"
                }
            );
        }
        Command::Demo {
            action: DemoAction::Load { demo, if_empty },
        } => {
            db::migrate::migrate_url(url).await?;
            let mut client = pool.get().await.map_err(db::DbError::from)?;
            crate::geodata::load(&mut client).await?;
            let report = crate::demo::load(&mut client, demo.sites, demo.seed, if_empty).await?;
            println!("{report}");
        }
        Command::User { action } => {
            db::migrate::migrate_url(url).await?;
            let mut client = pool.get().await.map_err(db::DbError::from)?;
            user_command(&mut client, action).await?;
        }
        Command::Serve(args) => {
            db::migrate::migrate_url(url).await?;
            if args.bootstrap {
                let mut client = pool.get().await.map_err(db::DbError::from)?;
                if crate::geodata::load(&mut client).await? {
                    println!("geodata loaded");
                }
                let report =
                    crate::demo::load(&mut client, args.demo.sites, args.demo.seed, true).await?;
                println!("{report}");
                if let Some(password) = crate::accounts::users::bootstrap_admin(&mut client).await?
                {
                    println!(
                        "no accounts yet: created 'admin' (administrator, clearance secret) with \
                         password {password}\n  change it with: kvpt user passwd admin"
                    );
                }
            }
            let config: tokio_postgres::Config = url.parse().map_err(db::DbError::Config)?;
            let anonymous =
                (args.anonymous == "public").then_some(crate::domain::Classification::Public);
            crate::web::serve(
                pool,
                config,
                args.addr,
                args.tile_cache_mb,
                anonymous,
                args.trusted_proxies,
            )
            .await?;
        }
        Command::Export(args) => {
            db::migrate::migrate_url(url).await?;
            export_command(&pool, args).await?;
        }
        Command::Import(args) => {
            db::migrate::migrate_url(url).await?;
            if !crate::exchange::import::cli::run(&pool, args).await? {
                std::process::exit(2);
            }
        }
        Command::Backup { file } => {
            let (summary, sha) = crate::ops::backup::backup(url, pg_bin, &file).await?;
            println!(
                "backup written: {} ({} bytes, sha256 {sha})\n{summary}",
                file.display(),
                std::fs::metadata(&file).map_or(0, |m| m.len())
            );
        }
        Command::Restore { file } => {
            let (summary, verdict) = crate::ops::backup::restore(url, pg_bin, &file).await?;
            println!("restored from {}\n{summary}", file.display());
            if !verdict.intact() {
                for b in &verdict.breaks {
                    eprintln!("audit chain broken: {b}");
                }
                anyhow::bail!("the restored audit log does not verify");
            }
            println!("  audit chain intact ({} rows)", verdict.rows);
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => {
            db::migrate::migrate_url(url).await?;
            let client = db::connect(url).await?;
            let verdict = crate::ops::audit::verify(&client).await?;
            if verdict.intact() {
                println!(
                    "audit log intact: {} rows, chain head {}",
                    verdict.rows,
                    crate::ops::audit::hex(&verdict.head)
                );
            } else {
                for b in &verdict.breaks {
                    println!("audit chain broken: {b}");
                }
                anyhow::bail!(
                    "{} break(s) in {} rows: the audit log was tampered with",
                    verdict.breaks.len(),
                    verdict.rows
                );
            }
        }
        Command::Db { .. } => unreachable!("handled without a runtime"),
    }
    Ok(())
}

/// The password for `username`: asked twice on a terminal, else the first line of stdin.
fn read_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

async fn user_command(
    client: &mut tokio_postgres::Client,
    action: UserAction,
) -> anyhow::Result<()> {
    use crate::accounts::users;
    use crate::domain::{Classification, UserRole};
    let actor = "cli";
    match action {
        UserAction::Add {
            username,
            name,
            role,
            clearance,
            unit,
            districts,
        } => {
            let role = UserRole::from_code(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "no role '{role}'; roles are viewer, engineer, budget_officer, admin"
                )
            })?;
            let clearance = Classification::from_code(&clearance).ok_or_else(|| {
                anyhow::anyhow!(
                    "no clearance '{clearance}'; levels are public, internal, confidential, secret"
                )
            })?;
            let password = read_password(&username)?;
            let user = users::NewUser {
                username: username.clone(),
                display_name: name,
                role,
                clearance,
                unit,
                districts,
            };
            users::add(client, &user, &password, actor).await?;
            println!(
                "user {username} added ({}, clearance {})",
                role.code(),
                clearance.code()
            );
        }
        UserAction::Set {
            username,
            role,
            clearance,
            unit,
            districts,
        } => {
            let role = match role {
                Some(r) => Some(UserRole::from_code(&r).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no role '{r}'; roles are viewer, engineer, budget_officer, admin"
                    )
                })?),
                None => None,
            };
            let clearance = match clearance {
                Some(c) => Some(Classification::from_code(&c).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no clearance '{c}'; levels are public, internal, confidential, secret"
                    )
                })?),
                None => None,
            };
            let change = users::UserChange {
                role,
                clearance,
                unit: unit.map(|u| Some(u.trim().to_string()).filter(|u| !u.is_empty())),
                districts,
            };
            users::set(client, &username, &change, actor).await?;
            println!("user {username} changed");
        }
        UserAction::Passwd { username } => {
            let password = read_password(&username)?;
            users::set_password(client, &username, &password, actor).await?;
            println!("password of {username} changed; their sessions ended");
        }
        UserAction::Disable { username } => {
            users::disable(client, &username, actor).await?;
            println!("user {username} disabled; their sessions ended");
        }
        UserAction::Enable { username } => {
            users::enable(client, &username, actor).await?;
            println!("user {username} enabled");
        }
        UserAction::List => {
            for u in users::list(client).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    u.username,
                    u.display_name,
                    u.role,
                    u.clearance,
                    u.districts.join(","),
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// `kvpt export`: the web route's parser and pipeline, written to a file (renamed into
/// place only when complete) or to standard output.
async fn export_command(pool: &deadpool_postgres::Pool, args: ExportArgs) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let pairs = args.pairs();
    let format = if args.format.is_some() {
        None
    } else {
        args.format_of_output()
    };
    let request = {
        let client = pool.get().await.map_err(db::DbError::from)?;
        // The operator reaches the database itself: the profile's ceiling is the limit.
        crate::exchange::request::read(
            &client,
            &pairs,
            format,
            crate::domain::Classification::Secret,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let actor = crate::exchange::run::Actor {
        user_id: None,
        name: std::env::var("USER").unwrap_or_else(|_| "cli".to_string()),
        via: "cli",
    };
    let to_stdout = args.output.as_os_str() == "-";
    let partial = args.output.with_extension("partial");
    let output = crate::exchange::run::start(pool, request, &actor).await?;
    let mut body = output.body;
    let mut written = 0u64;
    if to_stdout {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
    } else {
        let mut file = tokio::fs::File::create(&partial).await?;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&partial).await;
                    return Err(e.into());
                }
            };
            written += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        tokio::fs::rename(&partial, &args.output).await?;
    }
    let client = pool.get().await.map_err(db::DbError::from)?;
    let row = client
        .query_one(
            "SELECT features, sha256 FROM export_log WHERE id = $1",
            &[&output.log_id],
        )
        .await
        .map_err(db::DbError::from)?;
    eprintln!(
        "export {}: {} features, {} bytes, sha256 {}{}",
        output.log_id,
        row.get::<_, Option<i64>>(0).unwrap_or(0),
        written,
        row.get::<_, Option<String>>(1).unwrap_or_default(),
        if to_stdout {
            String::new()
        } else {
            format!(" → {}", args.output.display())
        }
    );
    Ok(())
}
