//! Read replicas: streaming standbys of the primary that reads may go to
//! (`KVPT_REPLICA_URLS`). A watcher asks each one, every 100 ms, whether it is a standby and
//! how far it has replayed the primary's WAL; a replica that is down, is no standby, or lags
//! more than the allowed delay is skipped until it recovers. Callers say how far a replica
//! must have replayed ([`Replicas::pick`]); none has → the primary.
//!
//! WAL positions are `pg_lsn` values as plain numbers (bytes since the start of the WAL).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use tokio_postgres::GenericClient;

use super::DbError;

/// How long a replica may lag unless told otherwise (`KVPT_REPLICA_MAX_LAG`).
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(5);

/// How often the watcher asks.
const EVERY: Duration = Duration::from_millis(100);

/// How long one question may take before its replica counts as down.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// How far back the primary's positions are kept to measure a lag.
const SAMPLES_FOR: Duration = Duration::from_secs(600);

/// The primary's WAL position now, as the end of the last record written: after a commit,
/// at least that commit's end, and what a standby that replayed everything reports
/// (`pg_last_wal_replay_lsn()`). It is the insert position, not `pg_current_wal_lsn()`'s
/// write position (with `synchronous_commit = off` a commit may not be written out yet when
/// it returns), moved back over a page header when nothing follows one (the insert position
/// is then where the next record will start, past the header; a standby's is the page's
/// start).
pub async fn current_lsn(client: &impl GenericClient) -> Result<u64, DbError> {
    let row = client
        .query_one(
            "SELECT CASE WHEN i % seg = 40 THEN i - 40
                         WHEN i % page = 24 THEN i - 24
                         ELSE i END
               FROM (SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8 AS i,
                            pg_size_bytes(current_setting('wal_segment_size')) AS seg,
                            current_setting('wal_block_size')::int8 AS page) p",
            &[],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Whether the server is a standby, and how far it has replayed (none on a primary).
async fn replay_lsn(client: &impl GenericClient) -> Result<(bool, Option<u64>), DbError> {
    let row = client
        .query_one(
            "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get::<_, Option<i64>>(1).map(|v| v as u64)))
}

/// A WAL position as PostgreSQL writes it (`16/B374D848`).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// A WAL position written as PostgreSQL writes it; `None` when it is not one.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (high, low) = text.trim().split_once('/')?;
    if high.is_empty() || low.is_empty() || high.len() > 8 || low.len() > 8 {
        return None;
    }
    let high = u32::from_str_radix(high, 16).ok()?;
    let low = u32::from_str_radix(low, 16).ok()?;
    Some((u64::from(high) << 32) | u64::from(low))
}

/// What the watcher last found of a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaHealth {
    /// Not asked yet.
    Unknown,
    /// A standby within the allowed lag: reads go to it.
    Ready,
    /// A standby, but further behind than allowed.
    Lagging,
    /// Not a standby (promoted, or pointed at a primary by mistake): never read from.
    NotStandby,
    /// Unreachable or not answering in time.
    Down(String),
}

/// One replica: its pools and what the watcher knows of it.
pub struct Replica {
    /// Where it is, without password (`host:port/dbname`).
    pub name: String,
    config: tokio_postgres::Config,
    pub pool: Pool,
    /// For tiles (see [`super::tile_pool_with`]).
    pub tile_pool: Pool,
    usable: AtomicBool,
    replayed: AtomicU64,
    reads: AtomicU64,
    status: Mutex<(ReplicaHealth, Option<Duration>)>,
}

impl Replica {
    /// How many connections reads have taken from it.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Counts a read sent to it.
    pub fn read_taken(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// What the watcher last found, and the lag it measured.
    pub fn health(&self) -> (ReplicaHealth, Option<Duration>) {
        self.status
            .lock()
            .map(|s| s.clone())
            .unwrap_or((ReplicaHealth::Unknown, None))
    }

    /// How far it had replayed when last asked.
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Acquire)
    }

    /// Skipped until the watcher finds it well again (a connection to it failed).
    pub fn set_down(&self, reason: &str) {
        self.usable.store(false, Ordering::Release);
        if let Ok(mut status) = self.status.lock() {
            status.0 = ReplicaHealth::Down(reason.to_string());
        }
    }
}

/// The replicas reads may go to (none by default).
pub struct Replicas {
    list: Vec<Replica>,
    max_lag: Duration,
    next: AtomicUsize,
    /// The primary's positions, oldest first, with when they were read.
    primary: Mutex<VecDeque<(Instant, u64)>>,
}

impl Default for Replicas {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            max_lag: DEFAULT_MAX_LAG,
            next: AtomicUsize::new(0),
            primary: Mutex::new(VecDeque::new()),
        }
    }
}

impl Replicas {
    /// Replicas from comma-separated libpq URLs or `key=value` strings (`;` separates those).
    pub fn from_urls(urls: &str, max_lag: Duration) -> Result<Self, DbError> {
        let separator = if urls.contains("://") { ',' } else { ';' };
        let mut list = Vec::new();
        let urls = urls
            .split(separator)
            .map(str::trim)
            .filter(|u| !u.is_empty());
        for (n, url) in urls.enumerate() {
            let config: tokio_postgres::Config = url.parse().map_err(|err| {
                DbError::Data(format!("replica {} is not a PostgreSQL URL: {err}", n + 1))
            })?;
            list.push(Replica {
                name: describe(&config),
                pool: super::replica_pool_with(config.clone())?,
                tile_pool: super::replica_tile_pool_with(config.clone())?,
                config,
                usable: AtomicBool::new(false),
                replayed: AtomicU64::new(0),
                reads: AtomicU64::new(0),
                status: Mutex::new((ReplicaHealth::Unknown, None)),
            });
        }
        Ok(Self {
            list,
            max_lag,
            ..Self::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn list(&self) -> &[Replica] {
        &self.list
    }

    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    /// A usable replica that has replayed at least `lsn`, in turn; `None`: read the primary.
    pub fn pick(&self, lsn: u64) -> Option<&Replica> {
        let n = self.list.len();
        if n == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.list[(start + i) % n])
            .find(|r| r.usable.load(Ordering::Acquire) && r.replayed.load(Ordering::Acquire) >= lsn)
    }

    /// Asks the primary and every replica, every 100 ms, until the process ends.
    pub async fn watch(self: Arc<Self>, primary: Pool) {
        if self.list.is_empty() {
            return;
        }
        let mut clients: Vec<Option<tokio_postgres::Client>> =
            self.list.iter().map(|_| None).collect();
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sample_primary(&primary).await;
            let checks = self
                .list
                .iter()
                .zip(clients.iter_mut())
                .map(|(replica, client)| self.check(replica, client));
            futures_util::future::join_all(checks).await;
        }
    }

    async fn sample_primary(&self, primary: &Pool) {
        let lsn = tokio::time::timeout(ANSWER_WITHIN, async {
            let client = primary.get().await?;
            current_lsn(&**client).await
        })
        .await;
        if let Ok(Ok(lsn)) = lsn {
            let now = Instant::now();
            if let Ok(mut samples) = self.primary.lock() {
                if samples.back().is_none_or(|(_, last)| *last != lsn) {
                    samples.push_back((now, lsn));
                }
                while samples
                    .front()
                    .is_some_and(|(at, _)| now.duration_since(*at) > SAMPLES_FOR)
                {
                    samples.pop_front();
                }
            }
        }
    }

    /// How long ago the primary first wrote past `replayed`: zero when nothing is missing.
    fn lag_of(&self, replayed: u64) -> Duration {
        let Ok(samples) = self.primary.lock() else {
            return Duration::ZERO;
        };
        samples
            .iter()
            .find(|(_, lsn)| *lsn > replayed)
            .map_or(Duration::ZERO, |(at, _)| at.elapsed())
    }

    async fn check(&self, replica: &Replica, client: &mut Option<tokio_postgres::Client>) {
        let asked = tokio::time::timeout(ANSWER_WITHIN, async {
            if client.as_ref().is_none_or(|c| c.is_closed()) {
                *client = Some(super::connect_with(replica.config.clone()).await?);
            }
            match client.as_ref() {
                Some(c) => replay_lsn(c).await,
                None => Err(DbError::Data("no connection".into())),
            }
        })
        .await;
        let (health, lag) = match asked {
            Ok(Ok((true, Some(replayed)))) => {
                replica.replayed.fetch_max(replayed, Ordering::AcqRel);
                let lag = self.lag_of(replayed);
                let health = if lag <= self.max_lag {
                    ReplicaHealth::Ready
                } else {
                    ReplicaHealth::Lagging
                };
                (health, Some(lag))
            }
            Ok(Ok(_)) => (ReplicaHealth::NotStandby, None),
            Ok(Err(err)) => {
                *client = None;
                (ReplicaHealth::Down(err.to_string()), None)
            }
            Err(_) => {
                *client = None;
                (
                    ReplicaHealth::Down(format!("no answer within {ANSWER_WITHIN:?}")),
                    None,
                )
            }
        };
        let was = replica.health().0;
        if was != health
            && !matches!(
                (&was, &health),
                (ReplicaHealth::Down(_), ReplicaHealth::Down(_))
            )
        {
            match &health {
                ReplicaHealth::Ready => {
                    tracing::info!(replica = %replica.name, "replica: reads go to it")
                }
                other => {
                    tracing::warn!(replica = %replica.name, state = ?other, "replica: skipped")
                }
            }
        }
        replica
            .usable
            .store(health == ReplicaHealth::Ready, Ordering::Release);
        if let Ok(mut status) = replica.status.lock() {
            *status = (health, lag);
        }
    }
}

/// `host:port/dbname` of a configuration (its password never shown).
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(parse_lsn("0/0"), Some(0));
        for bad in ["", "16", "/1", "1/", "x/1", "1/2/3", "123456789/0"] {
            assert_eq!(parse_lsn(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_replica_is_picked_only_when_usable_and_far_enough() {
        let replicas = Replicas::from_urls(
            "postgresql://kvpt@127.0.0.1:1/a,postgresql://kvpt@127.0.0.1:2/b",
            DEFAULT_MAX_LAG,
        )
        .unwrap();
        assert_eq!(replicas.list()[1].name, "127.0.0.1:2/b");
        assert!(replicas.pick(0).is_none(), "not asked yet");
        replicas.list[1].usable.store(true, Ordering::Release);
        replicas.list[1].replayed.store(100, Ordering::Release);
        assert_eq!(
            replicas.pick(100).map(|r| r.name.as_str()),
            Some("127.0.0.1:2/b")
        );
        assert!(replicas.pick(101).is_none(), "not replayed that far");
        replicas.list[1].set_down("gone");
        assert!(replicas.pick(0).is_none());
    }
}
