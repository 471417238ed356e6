//! `kvpt serve` watches the embedded cluster it started. When the postmaster dies (the
//! OOM killer, a `kill -9`: anything but a clean shutdown), it is started again at once: PostgreSQL's own crash recovery
//! replays the write-ahead log, so every transaction that committed is there. At most
//! [`MAX_RESTARTS`] restarts in [`WINDOW`]; a cluster that keeps dying, or that will not
//! start again within [`RESTART_FOR`], makes kvpt stop with one line saying why.
//!
//! The server is started through `pg_ctl`, which exits once it runs; its postmaster would
//! then belong to PID 1, which in a container may never reap it, and a dead postmaster
//! left as a zombie still looks alive to `kill(pid, 0)` (and to PostgreSQL's own lock
//! file check). So the serving process makes itself the reaper of its orphans
//! ([`adopt_orphans`]) and reaps them from the supervising thread, the only thread of
//! `kvpt serve` that starts processes (a later feature of `serve` that starts processes of
//! its own must reap them here too, or not through `waitpid`). Being the parent also tells
//! how the postmaster ended: a clean shutdown (`kvpt db stop`, or a service manager
//! stopping everything) is not a crash, and the cluster is left stopped.

use std::collections::{HashMap, VecDeque};
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
/// Longer than `pg_ctl start` waits (60 s), so a long crash recovery is waited for.
pub const RESTART_FOR: Duration = Duration::from_secs(120);

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

    /// The flag that ends the watch: set it as soon as the process is told to stop, so a
    /// cluster stopping with it is not restarted.
    pub fn stopping(&self) -> Arc<AtomicBool> {
        self.stopping.clone()
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
    // Stopped cleanly by someone else: left stopped until it runs again.
    let mut left_stopped = false;
    loop {
        if !pause(stopping, CHECK_EVERY) {
            return Ok(());
        }
        let exits = reap_orphans();
        if pid
            .and_then(|p| exits.get(&p))
            .is_some_and(|s| clean_exit(*s))
        {
            tracing::warn!(
                "the embedded PostgreSQL was shut down cleanly, not by kvpt: left stopped \
                 (kvpt db start starts it again)"
            );
            left_stopped = true;
        }
        if pid.is_some_and(alive) {
            continue;
        }
        // Dead, or never seen: ask pg_ctl (someone may have restarted it by hand).
        if let Some(now) = running_pid(cluster).filter(|p| alive(*p)) {
            pid = Some(now);
            left_stopped = false;
            continue;
        }
        if stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        if left_stopped {
            pid = None;
            continue;
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
            let _ = reap_orphans();
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

/// Reaps every child that has exited (the orphans adopted by [`adopt_orphans`]): how each
/// ended, by pid.
fn reap_orphans() -> HashMap<u32, libc::c_int> {
    let mut exits = HashMap::new();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped <= 0 {
            return exits;
        }
        exits.insert(reaped as u32, status);
    }
}

/// A process that exited with status 0 (a postmaster after a smart or fast shutdown).
fn clean_exit(status: libc::c_int) -> bool {
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
