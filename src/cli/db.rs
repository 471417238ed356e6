//! `kvpt db start | stop | status | url`: the embedded PostgreSQL + PostGIS cluster.

use clap::Subcommand;

use super::Global;
use crate::cluster::{Cluster, ClusterConfig, ClusterStatus};

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

pub fn run(global: &Global, action: DbAction) -> anyhow::Result<()> {
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
