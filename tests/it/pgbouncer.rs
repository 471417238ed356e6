//! Behind PgBouncer (issue 23 §1): kvpt's pools through a PgBouncer 1.24 in transaction
//! mode with protocol-level prepared statements (`max_prepared_statements`), its listener
//! on a direct connection (`KVPT_DIRECT_URL`). Many requests at once over few server
//! connections (each statement prepared on whichever connection the transaction gets),
//! writes and the tiles they change, an import's one transaction, and `kvpt serve` wired
//! that way. PgBouncer is built from Debian's source by `make test` (target/test-tools).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};

use crate::common::{call, call_bytes, cluster_config, request, TestDb};

/// A PgBouncer in front of `db`'s database, in transaction mode; stopped when dropped.
struct Bouncer {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Bouncer {
    fn start(db: &TestDb) -> Bouncer {
        let root = env!("CARGO_MANIFEST_DIR");
        let built = format!("{root}/target/test-tools/pgbouncer/bin/pgbouncer");
        assert!(
            std::path::Path::new(&built).exists(),
            "PgBouncer is missing: run `make test` (it builds it into target/test-tools)"
        );
        let dir = std::env::temp_dir().join(format!("kvpt-pgbouncer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // PgBouncer refuses to run as root: as root it runs as the cluster's user, from a
        // copy that user can reach.
        let bin = dir.join("pgbouncer");
        std::fs::copy(&built, &bin).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = db.config();
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        };
        let mut target = format!(
            "host={host} port={} dbname={} user={}",
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_dbname().unwrap(),
            config.get_user().unwrap(),
        );
        if let Some(password) = config.get_password() {
            target.push_str(&format!(" password={}", String::from_utf8_lossy(password)));
        }
        let log = dir.join("pgbouncer.log");
        let ini = format!(
            "[databases]\nkvpt = {target}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
             listen_port = {port}\nunix_socket_dir =\nauth_type = any\npool_mode = transaction\n\
             max_prepared_statements = 200\ndefault_pool_size = 4\nmax_client_conn = 200\n\
             ignore_startup_parameters = options\nlogfile = {}\npidfile = {}\n",
            log.display(),
            dir.join("pgbouncer.pid").display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
        let mut command = if unsafe { libc::geteuid() } == 0 {
            let user = cluster_config(&dir).run_as;
            let chown = std::process::Command::new("chown")
                .args(["-R", &user, &dir.to_string_lossy()])
                .status()
                .unwrap();
            assert!(chown.success());
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", &user, "--"]).arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        let child = command
            .arg(dir.join("pgbouncer.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let bouncer = Bouncer {
            child,
            dir,
            port,
            log,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "PgBouncer did not start: {}",
                std::fs::read_to_string(&bouncer.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        bouncer
    }

    /// Where clients connect: PgBouncer, the user the database line names.
    fn url(&self, db: &TestDb) -> String {
        let user = db.config().get_user().unwrap().to_string();
        format!("host=127.0.0.1 port={} dbname=kvpt user={user}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kvpt_works_through_pgbouncer_in_transaction_mode_with_its_listener_direct() {
    let db = TestDb::with_demo(300, 23).await;
    let bouncer = Bouncer::start(&db);
    let bounced = bouncer.url(&db);
    let pool = kvpt::db::pool(&bounced).unwrap();
    let tile_pool = kvpt::db::tile_pool_with(bounced.parse().unwrap()).unwrap();
    let state = kvpt::web::AppState::new(pool.clone())
        .tile_pool(tile_pool)
        .dashboard_parts(1)
        .listening(db.config());
    let started = Instant::now();
    while !state.tiles.is_live() {
        assert!(started.elapsed() < Duration::from_secs(10), "listener up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let app = kvpt::web::router(state);
    let client = db.client().await;
    let districts = crate::common::district_abbrs(&client).await;
    let districts: Vec<&str> = districts.iter().map(String::as_str).collect();
    let session = db
        .sign_in(
            "ks.pgbouncer",
            UserRole::Engineer,
            Classification::Secret,
            &districts,
        )
        .await;

    // Many requests at once: 32 pool connections over 4 server connections, every
    // statement prepared on whichever one its transaction gets.
    let mut tasks = Vec::new();
    for i in 0..48 {
        let (app, session) = (app.clone(), session.clone());
        tasks.push(tokio::spawn(async move {
            let uris = [
                format!("/collections/sites/items?f=json&limit={}", 5 + i % 7),
                format!(
                    "/tiles/defence_works/{}/{}/{}.mvt",
                    12,
                    3249 + i % 4,
                    1907 + i % 3
                ),
                "/dashboard?lang=en".to_string(),
                "/api/me".to_string(),
            ];
            for uri in &uris {
                let (status, _, body) =
                    call_bytes(&app, "GET", uri, &[("cookie", &session)], "").await;
                assert!(
                    status == StatusCode::OK || status == StatusCode::NO_CONTENT,
                    "{uri}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // They went through PgBouncer: besides this test's own connection and the listener,
    // the database saw no more than PgBouncer's four server connections.
    let backends: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND application_name <> 'kvpt-listener'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!((1..=4).contains(&backends), "{backends} server connections");

    // A write through it, read back, and its tile changed through the direct listener.
    let (code, layer, x, y): (String, String, i64, i64) = {
        let row = client
            .query_one(
                "SELECT code, layer_group, floor((ST_X(geom) + 180) / 360 * 16384)::int8,
                        floor((1 - ln(tan(radians(ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) / pi()) / 2 * 16384)::int8
                   FROM site WHERE geom_family = 'point' AND layer_group <> 'search_zones'
                    AND status IN ('planned', 'under_construction') AND progress_pct < 90
                  ORDER BY code LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2), row.get(3))
    };
    let tile = format!("/tiles/{layer}/14/{x}/{y}.mvt");
    let (_, before, _) = request(&app, &tile, &[("cookie", &session)]).await;
    let path = format!("/api/sites/{code}/progress");
    let (_, _, now) = request(&app, &path, &[("cookie", &session)]).await;
    let now: serde_json::Value = serde_json::from_str(&now).unwrap();
    let (_, _, me) = request(&app, "/api/me", &[("cookie", &session)]).await;
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let percent = now["percent"].as_i64().unwrap() + 1;
    let (status, _, body) = call(
        &app,
        "PATCH",
        &path,
        &[
            ("cookie", &session),
            ("x-csrf-token", &csrf),
            ("content-type", "application/json"),
        ],
        serde_json::json!({"version": now["version"], "percent": percent}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, after) = request(&app, &path, &[("cookie", &session)]).await;
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(after["percent"], percent);
    let (_, again, _) = request(&app, &tile, &[("cookie", &session)]).await;
    assert_ne!(
        before["etag"], again["etag"],
        "the edited work's tile was made again"
    );

    // `kvpt serve` the same way: migrations and the listener direct, the pools through it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .arg("serve")
        .env("DATABASE_URL", &bounced)
        .env("KVPT_DIRECT_URL", db.url())
        .env("KVPT_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    crate::faults::ready_within(addr, Duration::from_secs(30))
        .await
        .expect("kvpt serve ready");
    let answer = crate::common::http(addr, "GET", &tile, &[], b"")
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.status == 200 || answer.status == 204,
        "{}",
        answer.status
    );
    serve.kill().await.unwrap();
    pool.close();
}
