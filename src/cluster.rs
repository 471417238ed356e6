//! The embedded default database: a private PostgreSQL + PostGIS cluster that kvpt
//! creates and runs under its data directory (`var/pg` by default).
//!
//! PostgreSQL refuses to run as root, so when kvpt runs as root the cluster runs as
//! an unprivileged user (the owner of an existing data directory, else `postgres`)
//! through `runuser`. The server listens on a Unix socket in `var/run`, and on a
//! loopback TCP port only when one is asked for.

mod standby;
pub mod supervise;

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The database and superuser name inside the private cluster.
pub const DB_NAME: &str = "kvpt";

/// Where the cluster lives and how it listens.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// kvpt's data directory; the cluster is `<data_dir>/pg`, the socket `<data_dir>/run`.
    pub data_dir: PathBuf,
    /// Directory holding `initdb`, `pg_ctl` and `postgres`.
    pub pg_bin: PathBuf,
    /// Port number: names the Unix socket and, with `tcp`, the loopback port.
    pub port: u16,
    /// Also listen on 127.0.0.1:`port`.
    pub tcp: bool,
    /// Unprivileged user to run the server as when kvpt runs as root.
    pub run_as: String,
    /// Trade durability for speed (fsync off): for throwaway test clusters only.
    pub fast: bool,
}

/// Everything that can stop the cluster from being managed, each with a one-line message.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("PostgreSQL server binaries not found in {dir} (missing {binary}); install postgresql-15 or set KVPT_PG_BIN")]
    BinariesMissing { dir: PathBuf, binary: &'static str },
    #[error(
        "port {port} on 127.0.0.1 is taken by another program; choose another with KVPT_PG_PORT"
    )]
    PortTaken { port: u16 },
    #[error("data directory {dir} belongs to {owner}, not to {expected}; remove it or set KVPT_DATA_DIR")]
    DataDirOwner {
        dir: PathBuf,
        owner: String,
        expected: String,
    },
    #[error("no unprivileged user '{user}' to run PostgreSQL as (it refuses root); create it or set KVPT_PG_USER")]
    NoUser { user: String },
    #[error("user '{user}' cannot reach {dir}; make its parent directories traversable or set KVPT_DATA_DIR elsewhere")]
    Unreachable { user: String, dir: PathBuf },
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

/// What `kvpt db status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterStatus {
    NotInitialised,
    Stopped,
    Running { pid: u32 },
}

/// A Unix account: name and numeric ids.
#[derive(Debug, Clone)]
struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

/// The private cluster described by a [`ClusterConfig`].
#[derive(Debug, Clone)]
pub struct Cluster {
    cfg: ClusterConfig,
    data_dir: PathBuf,
}

impl Cluster {
    /// Checks the binaries are there; touches nothing on disk.
    pub fn new(cfg: ClusterConfig) -> Result<Self, ClusterError> {
        for binary in ["initdb", "pg_ctl", "postgres", "createdb"] {
            if !cfg.pg_bin.join(binary).is_file() {
                return Err(ClusterError::BinariesMissing {
                    dir: cfg.pg_bin.clone(),
                    binary,
                });
            }
        }
        let data_dir = absolute(&cfg.data_dir)?;
        Ok(Self { cfg, data_dir })
    }

    /// The cluster's data directory (`PGDATA`).
    pub fn pgdata(&self) -> PathBuf {
        self.data_dir.join("pg")
    }

    /// Where the server puts its Unix socket and log.
    pub fn socket_dir(&self) -> PathBuf {
        self.data_dir.join("run")
    }

    /// Connection string for tokio-postgres / libpq (key=value form).
    pub fn database_url(&self) -> String {
        format!(
            "host={} port={} user={DB_NAME} dbname={DB_NAME}",
            self.socket_dir().display(),
            self.cfg.port
        )
    }

    /// Whether the cluster exists and runs.
    pub fn status(&self) -> Result<ClusterStatus, ClusterError> {
        if !self.pgdata().join("PG_VERSION").is_file() {
            return Ok(ClusterStatus::NotInitialised);
        }
        let account = self.account()?;
        let out = self.pg_ctl(&account, &["status"])?;
        if out.status.success() {
            let pid = std::fs::read_to_string(self.pgdata().join("postmaster.pid"))
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
                .unwrap_or(0);
            Ok(ClusterStatus::Running { pid })
        } else {
            Ok(ClusterStatus::Stopped)
        }
    }

    /// Initialises the cluster on first use and starts it. Returns `true` when this
    /// call started the server, `false` when it was already running.
    pub fn start(&self) -> Result<bool, ClusterError> {
        let account = self.account()?;
        if let ClusterStatus::Running { .. } = self.status()? {
            return Ok(false);
        }
        if self.cfg.tcp {
            // Checked before PostgreSQL tries, so the message says what to do.
            TcpListener::bind(("127.0.0.1", self.cfg.port)).map_err(|_| {
                ClusterError::PortTaken {
                    port: self.cfg.port,
                }
            })?;
        }
        let fresh = !self.pgdata().join("PG_VERSION").is_file();
        self.prepare_dirs(&account)?;
        if fresh {
            self.initdb(&account)?;
        }
        self.launch(&account)?;
        if fresh {
            self.create_database(&account)?;
        }
        Ok(true)
    }

    /// Writes the settings and starts the server of this data directory; a failure says
    /// the last lines of its log.
    fn launch(&self, account: &Account) -> Result<(), ClusterError> {
        self.write_settings(account)?;
        let log = self.socket_dir().join("postgresql.log");
        let out = self.pg_ctl(
            account,
            &["start", "-w", "-t", "60", "-l", &log.to_string_lossy()],
        )?;
        if !out.status.success() {
            let tail = std::fs::read_to_string(&log)
                .map(|s| s.lines().rev().take(3).collect::<Vec<_>>().join(" / "))
                .unwrap_or_default();
            return Err(ClusterError::Command {
                what: "pg_ctl start".into(),
                detail: format!("{} {tail}", describe(&out)),
            });
        }
        Ok(())
    }

    /// Stops the server (fast mode: running transactions are rolled back). Returns
    /// `true` when it was running.
    pub fn stop(&self) -> Result<bool, ClusterError> {
        match self.status()? {
            ClusterStatus::Running { .. } => {}
            _ => return Ok(false),
        }
        let account = self.account()?;
        let out = self.pg_ctl(&account, &["stop", "-w", "-t", "60", "-m", "fast"])?;
        if !out.status.success() {
            return Err(ClusterError::Command {
                what: "pg_ctl stop".into(),
                detail: describe(&out),
            });
        }
        Ok(true)
    }

    /// The account the server runs as: ourselves, or when root the owner of the
    /// data directory (if any) or the configured unprivileged user.
    fn account(&self) -> Result<Account, ClusterError> {
        let me = unsafe { libc::geteuid() };
        let pgdata = self.pgdata();
        let owner = std::fs::metadata(&pgdata).ok().map(|m| m.uid());
        if me != 0 {
            if let Some(uid) = owner {
                if uid != me {
                    return Err(ClusterError::DataDirOwner {
                        dir: pgdata,
                        owner: user_name(uid),
                        expected: user_name(me),
                    });
                }
            }
            return Ok(Account {
                name: user_name(me),
                uid: me,
                gid: unsafe { libc::getegid() },
            });
        }
        let name = match owner {
            Some(0) => {
                return Err(ClusterError::DataDirOwner {
                    dir: pgdata,
                    owner: "root".into(),
                    expected: "an unprivileged user (PostgreSQL refuses root)".into(),
                })
            }
            Some(uid) => user_name(uid),
            None => self.cfg.run_as.clone(),
        };
        let uid = id_of(&name, "-u").ok_or_else(|| ClusterError::NoUser { user: name.clone() })?;
        let gid = id_of(&name, "-g").ok_or_else(|| ClusterError::NoUser { user: name.clone() })?;
        if uid == 0 {
            return Err(ClusterError::NoUser { user: name });
        }
        Ok(Account { name, uid, gid })
    }

    fn prepare_dirs(&self, account: &Account) -> Result<(), ClusterError> {
        let io = |what: String| move |source| ClusterError::Io { what, source };
        std::fs::create_dir_all(&self.data_dir)
            .map_err(io(format!("creating {}", self.data_dir.display())))?;
        for dir in [self.pgdata(), self.socket_dir()] {
            if !dir.exists() {
                std::fs::create_dir(&dir).map_err(io(format!("creating {}", dir.display())))?;
            }
            let meta = std::fs::metadata(&dir).map_err(io(format!("reading {}", dir.display())))?;
            if meta.uid() != account.uid {
                std::os::unix::fs::chown(&dir, Some(account.uid), Some(account.gid))
                    .map_err(io(format!("giving {} to {}", dir.display(), account.name)))?;
            }
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(io(format!("restricting {}", dir.display())))?;
        }
        if account.uid != unsafe { libc::geteuid() } {
            let reach = self
                .as_account(account, Path::new("test"))
                .args(["-x", &self.pgdata().to_string_lossy()])
                .output()
                .map_err(io("running runuser".into()))?;
            if !reach.status.success() {
                return Err(ClusterError::Unreachable {
                    user: account.name.clone(),
                    dir: self.pgdata(),
                });
            }
        }
        Ok(())
    }

    fn initdb(&self, account: &Account) -> Result<(), ClusterError> {
        let out = self
            .as_account(account, &self.cfg.pg_bin.join("initdb"))
            .args(["-D", &self.pgdata().to_string_lossy()])
            .args([
                "-U",
                DB_NAME,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .arg("--no-instructions")
            .output()
            .map_err(|source| ClusterError::Io {
                what: "running initdb".into(),
                source,
            })?;
        if !out.status.success() {
            return Err(ClusterError::Command {
                what: "initdb".into(),
                detail: describe(&out),
            });
        }
        let conf = self.pgdata().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|source| ClusterError::Io {
            what: "reading postgresql.conf".into(),
            source,
        })?;
        text.push_str("\n# kvpt writes its own settings here at every start\ninclude_if_exists = 'kvpt.conf'\n");
        std::fs::write(&conf, text).map_err(|source| ClusterError::Io {
            what: "writing postgresql.conf".into(),
            source,
        })
    }

    /// Listening and tuning settings, rewritten at each start so a changed port or
    /// data directory takes effect.
    fn write_settings(&self, account: &Account) -> Result<(), ClusterError> {
        let mut text = format!(
            "listen_addresses = '{}'\nport = {}\nunix_socket_directories = '{}'\nunix_socket_permissions = 0700\n",
            if self.cfg.tcp { "127.0.0.1" } else { "" },
            self.cfg.port,
            self.socket_dir().display().to_string().replace('\'', "''"),
        );
        text.push_str("max_connections = 200\nshared_buffers = 256MB\nwork_mem = 16MB\nmaintenance_work_mem = 256MB\n");
        if self.cfg.fast {
            text.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.pgdata().join("kvpt.conf");
        std::fs::write(&path, text).map_err(|source| ClusterError::Io {
            what: "writing kvpt.conf".into(),
            source,
        })?;
        std::os::unix::fs::chown(&path, Some(account.uid), Some(account.gid)).map_err(|source| {
            ClusterError::Io {
                what: "chown kvpt.conf".into(),
                source,
            }
        })
    }

    fn create_database(&self, account: &Account) -> Result<(), ClusterError> {
        let out = self
            .as_account(account, &self.cfg.pg_bin.join("createdb"))
            .args(["-h", &self.socket_dir().to_string_lossy()])
            .args(["-p", &self.cfg.port.to_string(), "-U", DB_NAME, DB_NAME])
            .output()
            .map_err(|source| ClusterError::Io {
                what: "running createdb".into(),
                source,
            })?;
        if !out.status.success() {
            return Err(ClusterError::Command {
                what: "createdb".into(),
                detail: describe(&out),
            });
        }
        Ok(())
    }

    fn pg_ctl(&self, account: &Account, args: &[&str]) -> Result<Output, ClusterError> {
        self.as_account(account, &self.cfg.pg_bin.join("pg_ctl"))
            .args(args)
            .args(["-D", &self.pgdata().to_string_lossy()])
            .output()
            .map_err(|source| ClusterError::Io {
                what: "running pg_ctl".into(),
                source,
            })
    }

    /// A command run as `account`: directly, or through `runuser` when we are root.
    fn as_account(&self, account: &Account, program: &Path) -> Command {
        if account.uid == unsafe { libc::geteuid() } {
            Command::new(program)
        } else {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", &account.name, "--"]).arg(program);
            // The server must not inherit a working directory it cannot read.
            cmd.current_dir("/");
            cmd
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf, ClusterError> {
    std::path::absolute(path).map_err(|source| ClusterError::Io {
        what: format!("resolving {}", path.display()),
        source,
    })
}

fn describe(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    let text = if text.trim().is_empty() {
        String::from_utf8_lossy(&out.stdout)
    } else {
        text
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn id_of(name: &str, flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, name]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn user_name(uid: u32) -> String {
    Command::new("id")
        .args(["-nu", &uid.to_string()])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("uid {uid}"))
}
