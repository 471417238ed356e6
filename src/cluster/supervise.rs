//! `kvpt serve` watches the embedded cluster it started. When the postmaster dies (the
//! OOM killer, a `kill -9`), it is started again at once: PostgreSQL's own crash recovery
//! replays the write-ahead log, so every transaction that committed is there. At most
//! [`MAX_RESTARTS`] restarts in [`WINDOW`]; a cluster that keeps dying, or that will not
//! start again within [`RESTART_FOR`], makes kvpt stop with one line saying why.
//!
//! The server is started through `pg_ctl`, which exits once it runs; its postmaster would
//! then belong to PID 1, which in a container may never reap it, and a dead postmaster
//! left as a zombie still looks alive to `kill(pid, 0)` (and to PostgreSQL's own lock
//! file check). So the serving process makes itself the reaper of its orphans
//! ([`adopt_orphans`]) and reaps them from the supervising thread, the only thread of
//! `kvpt serve` that starts processes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Cluster, ClusterStatus};

/// How often the postmaster is looked at.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Restarts allowed within [`WINDOW`]; one more death and kvpt stops.
pub const MAX_RESTARTS: usize = 3;
/// The window [`MAX_RESTARTS`] counts in.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long a restart may keep failing (the dead server's backends hold its shared memory
/// for a moment after it died) before kvpt gives up.
pub const RESTART_FOR: Duration = Duration::from_secs(30);

/// Makes this process the parent of the processes its children leave behind (the
/// postmaster, once `pg_ctl` has exited), so their deaths are seen and reaped here.
/// Call before starting the cluster.
pub fn adopt_orphans() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer and touches no memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// The thread that watches the cluster; [`Supervisor::stop`] ends it before the cluster
/// is stopped on purpose.
pub struct Supervisor {
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Starts watching `cluster` (running). `give_up` is called once, with one line for
    /// the operator, when the cluster keeps dying or cannot be started again; the thread
    /// ends after it.
    pub fn start(cluster: Cluster, give_up: impl FnOnce(String) + Send + 'static) -> Self {
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let thread = std::thread::Builder::new()
            .name("kvpt-cluster-watch".into())
            .spawn(move || {
                if let Err(line) = watch(&cluster, &flag) {
                    give_up(line);
                }
            })
            .expect("spawning the cluster's supervisor thread");
        Self {
            stopping,
            thread: Some(thread),
        }
    }

    /// Stops watching (a restart under way finishes first).
    pub fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Watches until `stopping`; `Err` with the operator's line when it gives up.
fn watch(cluster: &Cluster, stopping: &AtomicBool) -> Result<(), String> {
    let log = cluster.socket_dir().join("postgresql.log");
    let mut pid = running_pid(cluster);
    let mut restarts: VecDeque<Instant> = VecDeque::new();
    loop {
        if !pause(stopping, CHECK_EVERY) {
            return Ok(());
        }
        reap_orphans();
        if pid.is_some_and(alive) {
            continue;
        }
        // Dead, or never seen: ask pg_ctl (someone may have restarted it by hand).
        if let Some(now) = running_pid(cluster).filter(|p| alive(*p)) {
            pid = Some(now);
            continue;
        }
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        restarts.retain(|at| at.elapsed() < WINDOW);
        if restarts.len() >= MAX_RESTARTS {
            return Err(format!(
                "the embedded PostgreSQL died {} times within {} s; kvpt stops (its log: {})",
                restarts.len() + 1,
                WINDOW.as_secs(),
                log.display()
            ));
        }
        tracing::warn!(
            pid = pid.unwrap_or(0),
            "the embedded PostgreSQL stopped; restarting it (crash recovery)"
        );
        let began = Instant::now();
        loop {
            reap_orphans();
            match cluster.start() {
                Ok(_) => break,
                Err(e) if began.elapsed() < RESTART_FOR => {
                    tracing::debug!(error = %e, "the embedded PostgreSQL is not up yet");
                    if !pause(stopping, Duration::from_millis(300)) {
                        return Ok(());
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "the embedded PostgreSQL died and did not start again within {} s: {e}; \
                         kvpt stops (its log: {})",
                        RESTART_FOR.as_secs(),
                        log.display()
                    ))
                }
            }
        }
        restarts.push_back(Instant::now());
        pid = running_pid(cluster);
        tracing::warn!(
            took_ms = began.elapsed().as_millis() as u64,
            restarts = restarts.len(),
            "the embedded PostgreSQL runs again"
        );
    }
}

/// Sleeps `d` in short steps; `false` as soon as `stopping` is set.
fn pause(stopping: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stopping.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    !stopping.load(Ordering::SeqCst)
}

fn running_pid(cluster: &Cluster) -> Option<u32> {
    match cluster.status() {
        Ok(ClusterStatus::Running { pid }) if pid > 0 => Some(pid),
        _ => None,
    }
}

/// Whether `pid` is a live process (a zombie is dead).
fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
            .unwrap_or(true)
}

/// Reaps every child that has exited: the orphans adopted by [`adopt_orphans`].
fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped <= 0 {
            return;
        }
    }
}
