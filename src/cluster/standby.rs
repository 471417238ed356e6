//! A streaming standby of the embedded cluster on this machine (`kvpt db standby`), for the
//! read-replica tests and for trying replicas out: it lives in `<data_dir>/standby` (its own
//! `pg` and `run`), listens on a Unix socket there with the primary's port + 1, and is made
//! on first start by `pg_basebackup -R` from the running primary, which it then follows by
//! streaming replication. Read-only, as any hot standby.

use std::path::PathBuf;

use super::{describe, Cluster, ClusterConfig, ClusterError, ClusterStatus};

impl Cluster {
    /// The standby of this cluster (which need not exist yet).
    pub fn standby(&self) -> Result<Cluster, ClusterError> {
        Cluster::new(ClusterConfig {
            data_dir: self.data_dir.join("standby"),
            pg_bin: self.cfg.pg_bin.clone(),
            port: self.cfg.port.wrapping_add(1).max(1024),
            tcp: false,
            run_as: self.cfg.run_as.clone(),
            fast: self.cfg.fast,
        })
    }

    /// Makes this cluster's standby on first use (a base backup of this cluster, which must
    /// be running) and starts it. `true` when this call started it.
    pub fn start_standby(&self) -> Result<bool, ClusterError> {
        let standby = self.standby()?;
        if let ClusterStatus::Running { .. } = standby.status()? {
            return Ok(false);
        }
        if !matches!(self.status()?, ClusterStatus::Running { .. }) {
            return Err(ClusterError::Command {
                what: "starting the standby".into(),
                detail: "the primary is not running; start it first (kvpt db start)".into(),
            });
        }
        let account = standby.account()?;
        if !standby.pgdata().join("PG_VERSION").is_file() {
            standby.prepare_dirs(&account)?;
            self.base_backup_into(&standby)?;
        }
        standby.launch(&account)?;
        Ok(true)
    }

    /// `pg_basebackup -R` of this cluster into the standby's empty data directory: the
    /// copy and `standby.signal` with `primary_conninfo` naming this cluster's socket.
    fn base_backup_into(&self, standby: &Cluster) -> Result<(), ClusterError> {
        let account = self.account()?;
        let target: PathBuf = standby.pgdata();
        let out = self
            .as_account(&account, &self.cfg.pg_bin.join("pg_basebackup"))
            .args(["-D", &target.to_string_lossy()])
            .args(["-h", &self.socket_dir().to_string_lossy()])
            .args(["-p", &self.cfg.port.to_string(), "-U", super::DB_NAME])
            .args(["-R", "-X", "stream", "-c", "fast", "--no-password"])
            .output()
            .map_err(|source| ClusterError::Io {
                what: "running pg_basebackup".into(),
                source,
            })?;
        if !out.status.success() {
            let _ = std::fs::remove_dir_all(&target);
            return Err(ClusterError::Command {
                what: "pg_basebackup".into(),
                detail: describe(&out),
            });
        }
        Ok(())
    }
}
