//! Stateless instances (issue 23 §1): two kvpt over one database, as behind a load
//! balancer. An import started on one is followed to its report on the other; an
//! instance killed during an import's write leaves the job "interrupted" on the other,
//! nothing of it written, and a new import works.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};

use crate::common::{call, csrf_of, http, multipart, request, with_cookie, TestDb};
use crate::imports::{feature, follow, geojson, point, upload};

/// The job token of an import page's address.
fn token_of(location: &str) -> String {
    location
        .trim_start_matches("/imports/jobs/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

/// Warehouses in the province with codes `prefix-00000`…
fn warehouses(prefix: &str, n: usize) -> Vec<u8> {
    let features: Vec<_> = (0..n)
        .map(|i| {
            feature(
                serde_json::json!({
                    "code": format!("{prefix}-{i:05}"),
                    "name": format!("Kho thử {i}"),
                    "kind": "warehouse",
                }),
                point(
                    106.0 + (i % 200) as f64 * 0.001,
                    11.3 + (i / 200) as f64 * 0.001,
                ),
            )
        })
        .collect();
    geojson(&features)
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn an_import_started_on_one_instance_is_followed_to_its_report_on_another() {
    let db = TestDb::with_demo(20, 8).await;
    let cookie = db
        .sign_in("nhap.hai-may", UserRole::Admin, Classification::Secret, &[])
        .await;
    // Two instances: each its own process state, one database.
    let a = with_cookie(db.app(), &cookie);
    let b = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&a).await;
    let file = warehouses("KHO-HM", 3);
    let (status, headers, page) = upload(&a, &csrf, "kho.geojson", &file).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let location = headers["location"].to_str().unwrap().to_string();
    let token = token_of(&location);
    let checked = follow(&b, &location).await;
    let (status, _, page) = request(&b, &format!("/imports/{checked}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // B on another machine: the upload is not on its disk, it is in PostgreSQL.
    std::fs::remove_dir_all(kvpt::exchange::import::uploads_dir().join(&token)).unwrap();
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM import_upload WHERE token = '{token}'")
        )
        .await,
        1
    );
    // Written through B, followed on A.
    let (status, headers, page) = call(
        &b,
        "POST",
        &format!("/imports/{checked}/again"),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("csrf={csrf}&write=1"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let location = headers["location"].to_str().unwrap().to_string();
    let written = follow(&a, &location).await;
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM import_upload WHERE token = '{token}'")
        )
        .await,
        0,
        "a written upload is forgotten"
    );
    let (_, _, json) = request(&a, &format!("/api/imports/{written}"), &[]).await;
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["outcome"], "committed", "{json}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM site WHERE code LIKE 'KHO-HM-%'").await,
        3
    );
    // The job's page on either instance leads to the report.
    let (status, headers, _) = request(&a, &location, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .starts_with(&format!("/imports/{written}")));
    // An administrator cleared below the importer does not follow the job either.
    let lower = db
        .sign_in("qt.noi-bo", UserRole::Admin, Classification::Internal, &[])
        .await;
    let lower = with_cookie(db.app(), &lower);
    let api = format!("/api/imports/jobs/{}", token_of(&location));
    let (status, _, body) = request(&lower, &api, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // Someone else's job is not theirs to follow, on any instance.
    let other = db
        .sign_in(
            "ks.khac",
            UserRole::Engineer,
            Classification::Secret,
            &["BCA"],
        )
        .await;
    for app in [db.app(), db.app()] {
        let app = with_cookie(app, &other);
        let api = format!("/api/imports/jobs/{}", token_of(&location));
        let (status, _, body) = request(&app, &api, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _, page) = request(&app, &location, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
        assert!(page.contains("Lỗi 404"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_during_an_import_leaves_it_interrupted_with_nothing_written() {
    let db = TestDb::with_demo(20, 8).await;
    let cookie = db
        .sign_in("nhap.bi-dung", UserRole::Admin, Classification::Secret, &[])
        .await;
    // A: a `kvpt serve` of its own, to be killed; B: in this process.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut a = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("KVPT_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let since = Instant::now();
    while http(addr, "GET", "/readyz", &[], b"")
        .await
        .ok()
        .flatten()
        .is_none_or(|w| w.status != 200)
    {
        assert!(since.elapsed() < Duration::from_secs(60), "A came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&b).await;

    // Checked on A (a file large enough for its write to take a while), then written there.
    let file = warehouses("KHO-GD", 20_000);
    let (body, content_type) = multipart(&[("csrf", &csrf)], &[("file", "kho.geojson", &file)]);
    let posted = http(
        addr,
        "POST",
        "/imports",
        &[("cookie", &cookie), ("content-type", &content_type)],
        &body,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(posted.status, 303, "{}", posted.text());
    let checked = follow(&b, posted.header("location").unwrap()).await;
    let form = format!("csrf={csrf}&write=1");
    let posted = http(
        addr,
        "POST",
        &format!("/imports/{checked}/again"),
        &[
            ("cookie", &cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(posted.status, 303, "{}", posted.text());
    let location = posted.header("location").unwrap();
    let api = format!("/api/imports/jobs/{}", token_of(location));

    // B sees A writing; A is killed as the OOM killer would.
    let since = Instant::now();
    loop {
        let (status, _, body) = request(&b, &api, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            job["state"], "running",
            "the write ended before A could be killed: {body}"
        );
        if job["stage"] == 2 {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(120), "{body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    let killed = Instant::now();

    // B: interrupted once the heartbeat is old, with what to do.
    let body = loop {
        let (status, _, body) = request(&b, &api, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let job: serde_json::Value = serde_json::from_str(&body).unwrap();
        if job["state"] == "interrupted" {
            break body;
        }
        assert_eq!(job["state"], "running", "{body}");
        assert!(
            killed.elapsed() < kvpt::exchange::import::jobs::STALE_AFTER + Duration::from_secs(5),
            "still running {:?} after A died: {body}",
            killed.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(body.contains("nothing of it was written"), "{body}");
    let job: serde_json::Value = serde_json::from_str(&body).unwrap();
    crate::api_document::assert_documented_answer(&b, "get", "/api/imports/jobs/{token}", &job)
        .await;
    let (status, _, page) = request(&b, location, &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Lần nhập bị gián đoạn") && page.contains("Không có dữ liệu nào"),
        "{page}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM site_all WHERE code LIKE 'KHO-GD-%'"
        )
        .await,
        0,
        "nothing of the interrupted write"
    );
    let (_, _, page) = request(&b, "/imports", &[]).await;
    assert!(page.contains("Bị gián đoạn, không ghi gì"), "{page}");

    // The same file again, now through B: checked and written.
    let (status, headers, page) = upload(&b, &csrf, "kho.geojson", &file).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let checked = follow(&b, headers["location"].to_str().unwrap()).await;
    let (status, headers, page) = call(
        &b,
        "POST",
        &format!("/imports/{checked}/again"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    follow(&b, headers["location"].to_str().unwrap()).await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM site WHERE code LIKE 'KHO-GD-%'").await,
        20_000
    );
}

/// Two instances each listening, as `kvpt serve` runs them, once both listeners are up.
async fn listening_pair(db: &TestDb) -> (axum::Router, axum::Router) {
    let a = kvpt::web::AppState::new(db.pool()).listening(db.config());
    let b = kvpt::web::AppState::new(db.pool()).listening(db.config());
    let started = Instant::now();
    while !(a.tiles.is_live() && b.tiles.is_live()) {
        assert!(started.elapsed() < Duration::from_secs(10), "listeners up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (kvpt::web::router(a), kvpt::web::router(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_instance_is_refused_on_the_next_request_to_another() {
    let db = TestDb::with_demo(20, 9).await;
    let (a, b) = listening_pair(&db).await;
    let mut sessions = vec![
        db.sign_in(
            "nhieu.phien",
            UserRole::Viewer,
            Classification::Internal,
            &[],
        )
        .await,
    ];
    for _ in 0..29 {
        sessions.push(db.session_of("nhieu.phien").await);
    }
    for session in &sessions {
        // B knows the session (and keeps it in its cache).
        let (status, _, me) = request(&b, "/api/me", &[("cookie", session)]).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, headers, _) = call(
            &a,
            "POST",
            "/logout",
            &[
                ("cookie", session),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        // The browser keeps the position cookie the sign-out set; anyone replaying the old
        // session from it is refused by B at once, whatever B's listener has read.
        let position = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("kvpt_lsn="))
            .expect("the sign-out's position")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let replayed = format!("{session}; {position}");
        let (status, _, body) = request(&b, "/api/me", &[("cookie", &replayed)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_disabled_on_one_instance_is_refused_on_the_next_request_to_another() {
    let db = TestDb::with_demo(20, 10).await;
    let (a, b) = listening_pair(&db).await;
    let admin = db
        .sign_in("qt.hai-may", UserRole::Admin, Classification::Secret, &[])
        .await;
    let (_, _, me) = request(&a, "/api/me", &[("cookie", &admin)]).await;
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..12 {
        let name = format!("xem.{i:02}");
        // Each account with three sessions, all of them known to B.
        let mut sessions = vec![
            db.sign_in(&name, UserRole::Viewer, Classification::Internal, &[])
                .await,
        ];
        sessions.push(db.session_of(&name).await);
        sessions.push(db.session_of(&name).await);
        for session in &sessions {
            assert_eq!(
                request(&b, "/api/me", &[("cookie", session)]).await.0,
                StatusCode::OK
            );
        }
        let (status, _, page) = call(
            &a,
            "POST",
            &format!("/admin/users/{name}"),
            &[
                ("cookie", &admin),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            format!("csrf={csrf}&action=disable"),
        )
        .await;
        assert!(
            status.is_redirection() || status.is_success(),
            "{status} {page}"
        );
        // At once, on B, from the disabled user's own browser (no position cookie of the
        // administrator's write): every session is refused (the user is anonymous).
        for session in &sessions {
            let (status, _, body) = request(&b, "/api/me", &[("cookie", session)]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        }
    }
}
