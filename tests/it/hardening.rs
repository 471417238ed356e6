//! Hostile and careless clients: security headers everywhere, slow or oversized
//! requests cut off, a response deadline, heavy work beyond the queue refused with 429,
//! and a shutdown that finishes what is in flight while refusing newcomers.

use std::time::{Duration, Instant};

use crate::common::{call, http, read_answer, serve_until, with_cookie, TestDb};
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use kvpt::web::limits::Limits;
use tokio::io::AsyncWriteExt;

fn app_with(db: &TestDb, limits: Limits) -> axum::Router {
    kvpt::web::router(kvpt::web::AppState::new(db.pool()).limits(limits))
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let db = TestDb::with_demo(30, 3).await;
    let app = db.app();
    for uri in [
        "/",
        "/map",
        "/dashboard",
        "/collections?f=json",
        "/static/kvpt.css",
        "/no/such/page",
        "/sites/KHONG-CO-0000",
    ] {
        let (status, headers, _) = call(&app, "GET", uri, &[], "").await;
        let csp = headers
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{uri} ({status}) has no CSP"))
            .to_str()
            .unwrap();
        assert!(csp.contains("script-src 'self';"), "{uri}: {csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{uri}");
        assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
    }
    // Tiles are data: nothing in them may run or be framed, and they are not sniffed.
    for uri in ["/tiles/districts/9/408/242", "/tiles/districts/99/0/0"] {
        let (status, headers, _) = call(&app, "GET", uri, &[], "").await;
        assert_eq!(
            headers
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap()),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{uri} ({status})"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
    }
}

#[tokio::test]
async fn slow_and_oversized_requests_are_cut_off() {
    let db = TestDb::with_demo(30, 4).await;
    let limits = Limits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_header_bytes: 8 * 1024,
        ..Limits::default()
    };
    let (_stop, stop) = tokio::sync::oneshot::channel();
    let (addr, _) = serve_until(app_with(&db, limits.clone()), limits, stop).await;

    // A head larger than allowed: 431, the connection is not held.
    let cookie = format!("junk={}", "x".repeat(20 * 1024));
    let answer = http(addr, "GET", "/", &[("cookie", &cookie)], b"")
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(answer.status, 431);

    // A client that never finishes its head is dropped after the header timeout.
    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nhost: kvpt\r\n")
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut slow))
        .await
        .expect("the server hangs up on a slow head");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "cut too early: {took:?}"
    );
    if let Ok(Some(a)) = answer {
        assert_eq!(a.status, 408, "{}", a.text());
    }

    // A body that stops arriving: the request fails with a 4xx, soon, and nothing hangs.
    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /login HTTP/1.1\r\nhost: kvpt\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nusername=a",
    )
    .await
    .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut slow))
        .await
        .expect("the server gives up on a stalled body")
        .unwrap();
    if let Some(a) = answer {
        assert!((400..500).contains(&a.status), "{} {}", a.status, a.text());
    }
    assert!(started.elapsed() < Duration::from_secs(8));

    // Normal requests still pass.
    let answer = http(addr, "GET", "/healthz", &[], b"")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_response_that_misses_its_deadline_is_a_clear_503() {
    let db = TestDb::with_demo(30, 5).await;
    let app = app_with(
        &db,
        Limits {
            request_timeout: Duration::from_nanos(1),
            ..Limits::default()
        },
    );
    let (status, headers, body) = call(
        &app,
        "GET",
        "/collections/border_markers/items?f=json",
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("took longer than"), "{body}");
    assert!(headers.contains_key("retry-after"));
    let (status, _, body) = call(
        &app,
        "GET",
        "/dashboard?lang=vi",
        &[("accept", "text/html")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Yêu cầu chạy quá"), "{body}");
    // Health answers regardless.
    let (status, _, _) = call(&app, "GET", "/healthz", &[], "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn heavy_work_beyond_the_queue_is_refused_with_429() {
    let db = TestDb::with_demo(200, 6).await;
    let cookie = db
        .sign_in("xuat", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let app = with_cookie(
        app_with(
            &db,
            Limits {
                max_heavy_queue: 1,
                ..Limits::default()
            },
        ),
        &cookie,
    );
    let export = || {
        axum::http::Request::builder()
            .uri("/exports/sites.geojson?profile=bien-phong")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    use tower::ServiceExt;
    // The first export holds its place while its body is being sent.
    let first = app.clone().oneshot(export()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = app.clone().oneshot(export()).await.unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(second.headers().contains_key("retry-after"));
    let text = String::from_utf8(
        http_body_util::BodyExt::collect(second.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("too many exports"), "{text}");
    // Once it is sent, the next one is admitted.
    let body = http_body_util::BodyExt::collect(first.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(body.len() > 100);
    let third = app.clone().oneshot(export()).await.unwrap();
    assert_eq!(third.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_refuses_new_ones() {
    let db = TestDb::with_demo(30, 7).await;
    let (stop_tx, stop) = tokio::sync::oneshot::channel();
    let (addr, server) = serve_until(db.served(), Limits::default(), stop).await;
    // A request in flight: its head sent, its body not yet complete.
    let mut inflight = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = "username=nobody&password=wrong";
    inflight
        .write_all(
            format!(
                "POST /login?lang=en HTTP/1.1\r\nhost: kvpt\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\nusername=",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Newcomers are refused...
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );
    // ...while the request in flight completes with a full answer.
    inflight.write_all(&body.as_bytes()[9..]).await.unwrap();
    let answer = read_answer(&mut inflight)
        .await
        .unwrap()
        .expect("an answer");
    assert!(
        (200..500).contains(&answer.status),
        "{} {}",
        answer.status,
        answer.text()
    );
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops once nothing is in flight")
        .unwrap();
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let db = TestDb::with_demo(30, 8).await;
    let cookie = db
        .sign_in(
            "ks.to",
            UserRole::Engineer,
            Classification::Secret,
            &["TBI"],
        )
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    // Forms and JSON: 2 MiB; the CSV bulk update: 8 MiB.
    for (method, uri, content_type, size) in [
        (
            "PATCH",
            "/api/sites/CHOT-TBI-0001/progress",
            "application/json",
            3,
        ),
        ("POST", "/api/progress/bulk", "text/csv", 9),
        ("POST", "/login", "application/x-www-form-urlencoded", 3),
    ] {
        let big = format!(
            r#"{{"version": 1, "note": "{}"}}"#,
            "x".repeat(size * 1024 * 1024)
        );
        let (status, _, body) = call(
            &app,
            method,
            uri,
            &[("x-csrf-token", &csrf), ("content-type", content_type)],
            big.clone(),
        )
        .await;
        let shown: String = body.chars().take(300).collect();
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {uri}: {shown}"
        );
    }
}
