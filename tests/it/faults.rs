//! Faults: the database stops for ten seconds under load, and kvpt answers 503 quickly,
//! says so on /readyz, loses and half-writes nothing, and serves again within two
//! seconds of the database returning. The embedded cluster's postmaster killed under
//! load is restarted by `kvpt serve`, which stops with one line when it keeps dying. A
//! shutdown finishes cleanly and stops the embedded cluster it started.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{cluster_config, http, serve_until};
use kvpt::cluster::{Cluster, ClusterStatus};
use kvpt::domain::{Classification, UserRole};
use kvpt::web::limits::Limits;

pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one request got and how long it took.
#[derive(Debug, Clone)]
struct Outcome {
    what: &'static str,
    status: u16,
    took: Duration,
    at: Instant,
}

/// An engineer for every district of a loaded database, signed in: the session's token,
/// the sites it updates, and the progress rows before.
async fn engineer_and_sites(url: &str) -> (String, Vec<String>, i64) {
    let mut client = kvpt::db::connect(url).await.unwrap();
    let districts = crate::common::district_abbrs(&client).await;
    kvpt::accounts::users::add(
        &mut client,
        &kvpt::accounts::users::NewUser {
            username: "ks.su-co".into(),
            display_name: "Kỹ sư thử sự cố".into(),
            role: UserRole::Engineer,
            clearance: Classification::Secret,
            unit: None,
            districts,
        },
        crate::common::PASSWORD,
        "test",
    )
    .await
    .unwrap();
    let token = match kvpt::accounts::sessions::login(
        &mut client,
        "ks.su-co",
        crate::common::PASSWORD,
        None,
        None,
    )
    .await
    .unwrap()
    {
        kvpt::accounts::sessions::LoginOutcome::Ok(t) => t,
        other => panic!("{other:?}"),
    };
    let codes: Vec<String> = client
        .query(
            "SELECT code FROM site WHERE status = 'under_construction' AND progress_pct < 60
              ORDER BY code LIMIT 32",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(codes.len() >= 16, "sites to update: {}", codes.len());
    let before: i64 = client
        .query_one("SELECT count(*) FROM progress_history", &[])
        .await
        .unwrap()
        .get(0);
    (token, codes, before)
}

/// Eight clients of one engineer: each reads one of its own sites, raises its percent by
/// one, and reads a page of features, over and over, recording every answer.
struct Load {
    running: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    /// Per site: updates answered 200, and updates whose answer was lost (503 or cut).
    accepted: Arc<Mutex<BTreeMap<String, (i64, i64)>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    async fn start(addr: std::net::SocketAddr, token: &str, codes: &[String]) -> Load {
        let cookie = format!("kvpt_session={token}");
        let me = http(addr, "GET", "/api/me", &[("cookie", &cookie)], b"")
            .await
            .unwrap()
            .unwrap();
        let csrf = serde_json::from_slice::<serde_json::Value>(&me.body).unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .to_string();
        let load = Load {
            running: Arc::new(AtomicBool::new(true)),
            outcomes: Arc::new(Mutex::new(Vec::new())),
            accepted: Arc::new(Mutex::new(BTreeMap::new())),
            workers: Vec::new(),
        };
        let mut workers = Vec::new();
        for w in 0..8 {
            let mine: Vec<String> = codes.iter().skip(w).step_by(8).cloned().collect();
            let (running, outcomes, accepted) = (
                load.running.clone(),
                load.outcomes.clone(),
                load.accepted.clone(),
            );
            let (cookie, csrf) = (cookie.clone(), csrf.clone());
            workers.push(tokio::spawn(async move {
                let mut i = 0;
                while running.load(Ordering::Relaxed) {
                    let code = &mine[i % mine.len()];
                    i += 1;
                    let record = |what, status, started: Instant| {
                        outcomes.lock().unwrap().push(Outcome {
                            what,
                            status,
                            took: started.elapsed(),
                            at: started,
                        })
                    };
                    let started = Instant::now();
                    let path = format!("/api/sites/{code}/progress");
                    let state = http(addr, "GET", &path, &[("cookie", &cookie)], b"").await;
                    let state = match state {
                        Ok(Some(a)) => {
                            record("read", a.status, started);
                            if a.status != 200 {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                continue;
                            }
                            serde_json::from_slice::<serde_json::Value>(&a.body).unwrap()
                        }
                        _ => {
                            record("read", 0, started);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let percent = state["percent"].as_i64().unwrap();
                    if percent >= 99 {
                        continue;
                    }
                    let body =
                        serde_json::json!({"version": state["version"], "percent": percent + 1})
                            .to_string();
                    let started = Instant::now();
                    let headers = [
                        ("cookie", cookie.as_str()),
                        ("x-csrf-token", csrf.as_str()),
                        ("content-type", "application/json"),
                    ];
                    let answer = http(addr, "PATCH", &path, &headers, body.as_bytes()).await;
                    let status = answer.ok().flatten().map_or(0, |a| a.status);
                    record("update", status, started);
                    {
                        let mut acc = accepted.lock().unwrap();
                        let entry = acc.entry(code.clone()).or_default();
                        match status {
                            200 => entry.0 += 1,
                            503 | 0 => entry.1 += 1,
                            _ => {}
                        }
                    }
                    let started = Instant::now();
                    let items = "/collections/defence_works/items?f=json&limit=50";
                    let page = http(addr, "GET", items, &[("cookie", &cookie)], b"").await;
                    record(
                        "items",
                        page.ok().flatten().map_or(0, |a| a.status),
                        started,
                    );
                }
            }));
        }
        Load { workers, ..load }
    }

    /// Stops the clients: every outcome, and per site the updates accepted and lost.
    async fn finish(self) -> (Vec<Outcome>, BTreeMap<String, (i64, i64)>) {
        self.running.store(false, Ordering::Relaxed);
        for w in self.workers {
            w.await.unwrap();
        }
        let outcomes = self.outcomes.lock().unwrap().clone();
        let accepted = self.accepted.lock().unwrap().clone();
        (outcomes, accepted)
    }
}

/// Nothing lost, nothing half-written: per site, the history is one unbroken chain (each
/// row starts where the last ended, the site stands at the last), and it has one row per
/// accepted update plus at most the updates whose answer was lost; an audit row for each.
/// Returns the updates accepted.
async fn nothing_lost(url: &str, accepted: &BTreeMap<String, (i64, i64)>, before: i64) -> i64 {
    let client = kvpt::db::connect(url).await.unwrap();
    let mut total_accepted = 0;
    for (code, (ok, lost)) in accepted {
        let rows = client
            .query(
                "SELECT h.old_pct, h.new_pct, s.progress_pct, s.version
                   FROM progress_history h JOIN site s ON s.id = h.site_id
                  WHERE s.code = $1 AND h.actor = 'ks.su-co' ORDER BY h.id",
                &[code],
            )
            .await
            .unwrap();
        let n = rows.len() as i64;
        assert!(
            n >= *ok && n <= ok + lost,
            "{code}: {n} rows, {ok} accepted, {lost} unanswered"
        );
        for pair in rows.windows(2) {
            let (prev_new, old): (i16, Option<i16>) = (pair[0].get(1), pair[1].get(0));
            assert_eq!(Some(prev_new), old, "{code}: a broken chain");
        }
        if let Some(last) = rows.last() {
            let (new, now): (i16, i16) = (last.get(1), last.get(2));
            assert_eq!(new, now, "{code}: the site stands at its last history row");
        }
        total_accepted += ok;
    }
    let after: i64 = client
        .query_one("SELECT count(*) FROM progress_history", &[])
        .await
        .unwrap()
        .get(0);
    assert!(after - before >= total_accepted);
    let audited: i64 = client
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'site.progress' AND actor = 'ks.su-co'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        audited,
        after - before,
        "an audit row for every history row"
    );
    total_accepted
}

/// Never a hang, never a crash: every answer within the pool's 5 s timeout (and some
/// margin), only 2xx, 409 (two updates crossing) or 503.
fn never_hung(outcomes: &[Outcome]) {
    for o in outcomes {
        assert!(o.took < Duration::from_secs(7), "{o:?}");
        assert!(
            matches!(o.status, 200 | 409 | 503),
            "{o:?} (0 means no answer)"
        );
    }
}

async fn ready(addr: std::net::SocketAddr) -> Option<(u16, String)> {
    http(addr, "GET", "/readyz", &[], b"")
        .await
        .ok()
        .flatten()
        .map(|a| (a.status, a.text()))
}

/// Waits up to `limit` for /readyz to say 200; how long it took.
pub(crate) async fn ready_within(addr: std::net::SocketAddr, limit: Duration) -> Option<Duration> {
    let since = Instant::now();
    while since.elapsed() < limit {
        if ready(addr).await.is_some_and(|(s, _)| s == 200) {
            return Some(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_gone_under_load_gives_503_then_service_resumes_with_nothing_lost() {
    let dir = scratch("outage");
    let (cluster, url, token, codes, before) = loaded_cluster(&dir).await;

    let pool = kvpt::db::pool(&url).unwrap();
    let config: tokio_postgres::Config = url.parse().unwrap();
    let app = kvpt::web::router(kvpt::web::AppState::new(pool).listening(config));
    let (_stop, stop) = tokio::sync::oneshot::channel();
    let (addr, _server) = serve_until(app, Limits::default(), stop).await;
    let load = Load::start(addr, &token, &codes).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ready(addr).await.unwrap().0, 200);

    // The database goes away for ten seconds.
    let down = Instant::now();
    let c = cluster_config(&dir);
    tokio::task::spawn_blocking(move || Cluster::new(c).unwrap().stop().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, text) = ready(addr).await.unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("unavailable"), "{text}");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(down.elapsed())).await;
    let c = cluster_config(&dir);
    tokio::task::spawn_blocking(move || Cluster::new(c).unwrap().start().unwrap())
        .await
        .unwrap();
    let back = Instant::now();
    let ready_after = ready_within(addr, Duration::from_secs(10))
        .await
        .expect("ready again");
    assert!(
        ready_after <= Duration::from_secs(2),
        "ready after {ready_after:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (outcomes, accepted) = load.finish().await;

    never_hung(&outcomes);
    let during =
        |o: &&Outcome| o.at > down + Duration::from_secs(1) && o.at < down + Duration::from_secs(9);
    let unavailable = outcomes
        .iter()
        .filter(during)
        .filter(|o| o.status == 503)
        .count();
    assert!(unavailable > 0, "503s while the database was down");
    // Served normally within 2 s of its return: every update that started later succeeded.
    let late: Vec<_> = outcomes
        .iter()
        .filter(|o| o.at > back + Duration::from_secs(2))
        .collect();
    assert!(
        late.iter().any(|o| o.what == "update"),
        "updates after the return"
    );
    for o in &late {
        assert!(matches!(o.status, 200 | 409), "after the return: {o:?}");
    }
    let total_accepted = nothing_lost(&url, &accepted, before).await;
    eprintln!(
        "outage: {} requests, {unavailable} answered 503 while down, ready {ready_after:?} after the return, {total_accepted} updates accepted",
        outcomes.len()
    );
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cluster under `dir`, started, with 300 demo sites and a signed-in engineer: the
/// cluster, its URL, the session's token, the sites to update and the progress rows before.
pub(crate) async fn loaded_cluster(
    dir: &std::path::Path,
) -> (Cluster, String, String, Vec<String>, i64) {
    let cluster = Cluster::new(cluster_config(dir)).unwrap();
    cluster.start().unwrap();
    let url = cluster.database_url();
    load_demo(&url);
    let (token, codes, before) = engineer_and_sites(&url).await;
    (cluster, url, token, codes, before)
}

fn load_demo(url: &str) {
    let loaded = std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(["demo", "load", "--sites", "300"])
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{loaded:?}");
}

/// `kvpt serve` on the embedded cluster under `dir` (no DATABASE_URL), its log in
/// `dir/serve.log`; returns once it is ready. `fast`: without fsync and synchronous
/// commits (a crash of the server may then lose the last commits).
async fn serve_embedded(
    dir: &std::path::Path,
    fast: bool,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = cluster_config(dir);
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("KVPT_DATA_DIR", dir)
        .env("KVPT_PG_FAST", if fast { "1" } else { "0" })
        .env("KVPT_PG_BIN", &config.pg_bin)
        .env("KVPT_PG_USER", &config.run_as)
        .env("KVPT_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    ready_within(addr, Duration::from_secs(60))
        .await
        .expect("kvpt serve came up");
    (child, addr)
}

/// SIGTERM to a `kvpt serve`, as a service manager sends it: how it exited (30 s at most).
async fn stop_serve(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    unsafe { libc::kill(child.id().unwrap() as i32, libc::SIGTERM) };
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("kvpt serve exits after SIGTERM")
        .unwrap()
}

/// The postmaster's pid, killed as the OOM killer would.
fn kill_postmaster(dir: &std::path::Path) -> u32 {
    let cluster = Cluster::new(cluster_config(dir)).unwrap();
    let ClusterStatus::Running { pid } = cluster.status().unwrap() else {
        panic!("the cluster is not running");
    };
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_restarts_the_embedded_cluster_when_it_dies_and_stops_when_it_keeps_dying() {
    let dir = scratch("supervised");
    let (cluster, url, token, codes, before) = loaded_cluster(&dir).await;
    cluster.stop().unwrap();

    // Durable, as `make run` runs it: an acknowledged commit survives the server's crash.
    let (mut child, addr) = serve_embedded(&dir, false).await;
    let load = Load::start(addr, &token, &codes).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ready(addr).await.unwrap().0, 200);

    // The postmaster killed under a load of updates: requests in the gap get 503 (never a
    // hang), and kvpt serve starts it again within seconds.
    let killed = Instant::now();
    let first = kill_postmaster(&dir);
    let mut said_unavailable = false;
    while killed.elapsed() < Duration::from_secs(2) && !said_unavailable {
        said_unavailable = ready(addr).await.is_some_and(|(s, _)| s == 503);
    }
    let back_after = ready_within(addr, Duration::from_secs(20))
        .await
        .expect("kvpt serve restarted the cluster");
    let back = Instant::now();
    assert!(
        back_after < Duration::from_secs(10),
        "back after {back_after:?}"
    );
    let ClusterStatus::Running { pid } = cluster.status().unwrap() else {
        panic!("not running after the restart");
    };
    assert_ne!(pid, first, "a new postmaster");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (outcomes, accepted) = load.finish().await;
    never_hung(&outcomes);
    assert!(
        said_unavailable,
        "/readyz said 503 while the cluster was down"
    );
    let late: Vec<_> = outcomes
        .iter()
        .filter(|o| o.at > back + Duration::from_secs(1))
        .collect();
    assert!(late.iter().any(|o| o.what == "update" && o.status == 200));
    for o in &late {
        assert!(matches!(o.status, 200 | 409), "after the restart: {o:?}");
    }

    // Killed again and again: three restarts a minute, then kvpt stops with one line.
    let mut last = pid;
    kill_postmaster(&dir);
    for _ in 0..2 {
        let since = Instant::now();
        loop {
            let restarted =
                matches!(cluster.status().unwrap(), ClusterStatus::Running { pid } if pid != last);
            if restarted && ready(addr).await.is_some_and(|(s, _)| s == 200) {
                break;
            }
            assert!(since.elapsed() < Duration::from_secs(20), "restarted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        last = kill_postmaster(&dir);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("kvpt serve stops when the cluster keeps dying")
        .unwrap();
    assert!(!status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    let said: Vec<_> = log.lines().filter(|l| l.starts_with("kvpt: ")).collect();
    assert_eq!(said.len(), 1, "{log}");
    assert!(
        said[0].starts_with("kvpt: the embedded PostgreSQL died 4 times within 60 s; kvpt stops"),
        "{log}"
    );
    assert_eq!(log.matches("restarting it").count(), 3, "{log}");

    // Every acknowledged update is there, the chains hold, and the audit chain verifies.
    // (The dead server's last backends may hold its shared memory for a moment.)
    let since = Instant::now();
    while let Err(e) = cluster.start() {
        assert!(since.elapsed() < Duration::from_secs(20), "{e}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let total_accepted = nothing_lost(&url, &accepted, before).await;
    let verified = std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
    eprintln!(
        "supervised: {} requests, back {back_after:?} after the kill, {total_accepted} updates accepted",
        outcomes.len()
    );
    cluster.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_cluster_shut_down_cleanly_by_hand_is_left_stopped() {
    let dir = scratch("by-hand");
    let (mut child, addr) = serve_embedded(&dir, true).await;
    let cluster = Cluster::new(cluster_config(&dir)).unwrap();
    assert!(cluster.stop().unwrap(), "stopped as `kvpt db stop` does");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        cluster.status().unwrap(),
        ClusterStatus::Stopped,
        "not restarted"
    );
    assert!(child.try_wait().unwrap().is_none(), "kvpt serve goes on");
    assert_eq!(ready(addr).await.unwrap().0, 503);
    // Started again by hand, kvpt serves again.
    cluster.start().unwrap();
    ready_within(addr, Duration::from_secs(10))
        .await
        .expect("ready once started by hand");
    let status = stop_serve(&mut child).await;
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert!(log.contains("shut down cleanly, not by kvpt"), "{log}");
    let _ = cluster.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_stops_on_sigterm_and_stops_the_cluster_it_started() {
    let dir = scratch("shutdown");
    let (mut child, addr) = serve_embedded(&dir, true).await;
    let cluster = Cluster::new(cluster_config(&dir)).unwrap();
    assert!(matches!(
        cluster.status().unwrap(),
        ClusterStatus::Running { .. }
    ));
    let status = stop_serve(&mut child).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(
        cluster.status().unwrap(),
        ClusterStatus::Stopped,
        "the cluster was stopped cleanly"
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
