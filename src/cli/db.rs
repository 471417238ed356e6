//! `kvpt db start | stop | status | url`: the embedded PostgreSQL + PostGIS cluster;
//! `kvpt db standby start | stop | status | url`: a streaming standby of it on this machine.

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
    /// A streaming standby of the embedded cluster on this machine (read-only): made by
    /// pg_basebackup -R on first start, in <data-dir>/standby.
    Standby {
        #[command(subcommand)]
        action: StandbyAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum StandbyAction {
    /// Make the standby from the running cluster on first use, and start it.
    Start,
    /// Stop the standby cleanly.
    Stop,
    /// Say whether the standby exists and runs.
    Status,
    /// Print the standby's connection string.
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
        DbAction::Standby { action } => standby(&cluster, action)?,
    }
    Ok(())
}

fn standby(cluster: &Cluster, action: StandbyAction) -> anyhow::Result<()> {
    let standby = cluster.standby()?;
    match action {
        StandbyAction::Start => {
            let started = cluster.start_standby()?;
            let state = if started {
                "standby started"
            } else {
                "standby already running:"
            };
            println!("{state} {}", standby.database_url());
        }
        StandbyAction::Stop => {
            let stopped = standby.stop()?;
            println!("{}", if stopped { "stopped" } else { "not running" });
        }
        StandbyAction::Status => match standby.status()? {
            ClusterStatus::NotInitialised => {
                println!("no standby ({})", standby.pgdata().display())
            }
            ClusterStatus::Stopped => println!("stopped ({})", standby.pgdata().display()),
            ClusterStatus::Running { pid } => {
                println!("running, pid {pid}: {}", standby.database_url())
            }
        },
        StandbyAction::Url => println!("{}", standby.database_url()),
    }
    Ok(())
}
