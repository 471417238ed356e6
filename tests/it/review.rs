//! Issue 24 §6: review and approval of updates. With review off nothing changes; with it
//! on, an engineer's update (online, synced, bulk) waits as submitted — the work stands as
//! it was, the dashboards count approved figures unless asked for the submitted ones too —
//! until a reviewer or an administrator approves it (applied, its history row the
//! engineer's, its photos that row's) or returns it with a reason the engineer sees on
//! /field and on the work's page. Each role may do only its part.

use crate::common::{call, count, multipart, request, with_cookie, TestDb};
use crate::progress::{history_rows, site_in_tan_bien};
use axum::http::StatusCode;
use kvpt::db::dashboard::{self, Params, Scope};
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

use crate::field::{state, Engineer as User};

async fn user(db: &TestDb, name: &str, role: UserRole, districts: &[&str]) -> User {
    let cookie = db
        .sign_in(name, role, Classification::Confidential, districts)
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    User { app, csrf }
}

async fn patch(u: &User, code: &str, body: Value) -> (StatusCode, Value) {
    crate::field::patch(u, code, None, body).await
}

async fn decide(u: &User, id: i64, what: &str, reason: &str) -> (StatusCode, String) {
    let body = format!("csrf={}&reason={}", u.csrf, reason.replace(' ', "+"));
    let (status, _, page) = call(
        &u.app,
        "POST",
        &format!("/review/{id}/{what}?lang=vi"),
        &[FORM],
        body,
    )
    .await;
    (status, page)
}

fn params(submitted: bool, kind: &str) -> Params {
    Params {
        clearance: Classification::Secret,
        as_of: None,
        ahead_threshold: 0.3,
        stale_days: 180,
        scope: Scope {
            district: Some("703".into()),
            kind: kvpt::domain::SiteKind::from_code(kind),
            ..Scope::default()
        },
        submitted,
    }
}

#[tokio::test]
async fn with_review_on_an_engineers_update_counts_once_approved_and_comes_back_when_returned() {
    let db = TestDb::with_demo(300, 31).await;
    let client = db.client().await;
    let code = site_in_tan_bien(&db).await;
    let engineer = user(&db, "ks.tbi", UserRole::Engineer, &["TBI"]).await;
    let engineer2 = user(&db, "ks.tbi2", UserRole::Engineer, &["TBI"]).await;
    let reviewer = user(&db, "duyet", UserRole::Reviewer, &[]).await;
    let admin = user(&db, "qt", UserRole::Admin, &[]).await;
    // Review off: an update applies at once, as before.
    let before = state(&engineer, &code).await;
    let (v, pct) = (
        before["version"].as_i64().unwrap(),
        before["percent"].as_i64().unwrap(),
    );
    let history0 = history_rows(&db, &code).await;
    let (status, answer) = patch(
        &engineer,
        &code,
        json!({ "version": v, "percent": pct + 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["site"]["submitted"].is_null() && answer["site"]["percent"] == pct + 1,
        "{answer}"
    );
    assert_eq!(history_rows(&db, &code).await, history0 + 1);
    let (pct, v) = (pct + 1, v + 1);

    // Review on: the update waits; the work stands as it was.
    kvpt::progress::review::set(&db.pool().get().await.unwrap(), true)
        .await
        .unwrap();
    let (status, answer) = patch(
        &engineer,
        &code,
        json!({ "version": v, "percent": pct + 5, "note": "Đổ bê tông" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let submitted = answer["site"]["submitted"]
        .as_i64()
        .expect("kept for review");
    assert_eq!(
        (
            answer["site"]["percent"].as_i64(),
            answer["site"]["version"].as_i64()
        ),
        (Some(pct), Some(v))
    );
    assert_eq!(
        history_rows(&db, &code).await,
        history0 + 1,
        "no history before approval"
    );
    // The rules still answer at once.
    let (status, _) = patch(&engineer, &code, json!({ "version": v, "percent": 101 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A photo sent after it (as the phone's queue sends it) waits with it, off the work's page.
    // (Taken a degree east of the work: the list warns of its distance.)
    let (lon, lat) = crate::photos::point_on(&client, &code).await;
    let jpeg = crate::common::jpeg_with(
        64,
        48,
        &crate::common::exif_segment(lon + 1.0, lat, &crate::photos::exif_time(0), 1),
    );
    let submission = submitted.to_string();
    let (body, content_type) = multipart(
        &[("submission_id", submission.as_str())],
        &[("photo", "anh.jpg", &jpeg)],
    );
    let (status, _, text) = call(
        &engineer.app,
        "POST",
        &format!("/api/sites/{code}/photos"),
        &[
            ("x-csrf-token", engineer.csrf.as_str()),
            ("content-type", content_type.as_str()),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let photo = serde_json::from_str::<Value>(&text).unwrap()["photo"]
        .as_i64()
        .unwrap();
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM site_photo WHERE id = {photo} AND submission_id = {submitted}")).await,
        1
    );
    let early = user(&db, "xem.som", UserRole::Viewer, &[]).await;
    let (status, _, _) = request(&early.app, &format!("/photos/{photo}/thumb"), &[]).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a waiting photo is not the work's yet"
    );
    let (status, _, _) = request(&reviewer.app, &format!("/photos/{photo}/thumb"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, page) = request(&engineer.app, &format!("/sites/{code}?lang=vi"), &[]).await;
    assert!(
        page.contains("id=\"review-waiting\"") && !page.contains(&format!("/photos/{photo}\"")),
        "waits, photo not shown yet"
    );
    let (_, _, page) = request(&engineer.app, "/field?lang=vi", &[]).await;
    assert!(page.contains("id=\"review-waiting\"") && page.contains(&code));

    // Dashboards count approved figures unless asked; they say which.
    let pool = db.pool();
    // (The work's district and kind, where one work's 5 points show in a mean of tenths.)
    let (district, kind): (String, String) = {
        let r = client
            .query_one(
                "SELECT d.code, s.kind FROM site s JOIN admin_unit d ON d.id = s.district_id WHERE s.code = $1",
                &[&code],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let mean = |submitted: bool| {
        let (pool, kind, district) = (pool.clone(), kind.clone(), district.clone());
        async move {
            let mut p = params(submitted, &kind);
            p.scope.district = Some(district);
            let mut clients = vec![pool.get().await.unwrap()];
            let d = dashboard::summary(&mut clients, &p).await.unwrap();
            (d.totals.mean_pct.unwrap(), d.totals.total as f64)
        }
    };
    let ((approved, n), (with_submitted, _)) = (mean(false).await, mean(true).await);
    assert!(
        with_submitted > approved && (with_submitted - approved - 5.0 / n).abs() <= 0.1 + 1e-9,
        "{approved} {with_submitted} of {n}"
    );
    let (status, _, page) = request(&admin.app, "/dashboard?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Số liệu chỉ tính cập nhật đã được duyệt."));
    let (status, _, page) = request(&admin.app, "/dashboard?lang=vi&counted=submitted", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Số liệu tính cả cập nhật đang chờ duyệt."));
    let (status, _, page) = request(
        &admin.app,
        "/dashboard?lang=vi&counted=submitted&as_of=2024-01-01",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("chỉ tính cập nhật chờ duyệt cho số liệu hiện tại"),
        "{page}"
    );
    let (status, _, docx) =
        crate::reports::fetch(&admin.app, "lang=vi&counted=submitted", "docx").await;
    assert_eq!(status, StatusCode::OK);
    let doc = crate::reports::read_docx(&docx, "bao-cao-cho-duyet.docx").await;
    assert!(doc["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "Số liệu tính cả các cập nhật đang chờ duyệt."));
    // By default a report and the "tổng kết" count approved figures only, and say so.
    let (status, _, docx) = crate::reports::fetch(&admin.app, "lang=vi", "docx").await;
    assert_eq!(status, StatusCode::OK);
    let doc = crate::reports::read_docx(&docx, "bao-cao-da-duyet.docx").await;
    assert!(doc["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "Số liệu chỉ tính các cập nhật đã được duyệt."));
    let (status, _, page) = request(
        &admin.app,
        "/dashboard/summary?lang=vi&programme=kvpt_2021_2025",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Số liệu chỉ tính cập nhật đã được duyệt."));
    let (_, _, page) = request(
        &admin.app,
        "/dashboard/summary?lang=vi&programme=kvpt_2021_2025&counted=submitted",
        &[],
    )
    .await;
    assert!(page.contains("Số liệu tính cả cập nhật đang chờ duyệt."));

    // Only reviewers and administrators review.
    for (who, u) in [
        ("engineer", &engineer),
        (
            "budget officer",
            &user(&db, "ns", UserRole::BudgetOfficer, &[]).await,
        ),
    ] {
        assert_eq!(
            request(&u.app, "/review", &[]).await.0,
            StatusCode::FORBIDDEN,
            "{who}"
        );
        assert_eq!(
            decide(u, submitted, "approve", "").await.0,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    // The list: what changes, the note, the photo, the work on a small map.
    let (status, _, page) = request(&reviewer.app, "/review?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        format!("id=\"s{submitted}\""),
        format!("{pct}%"),
        format!("{}%", pct + 5),
        "Đổ bê tông".into(),
        format!("/photos/{photo}/thumb"),
        "Chụp cách công trình ".into(),
        "class=\"review-map\"".into(),
        "class=\"minimap\"".into(),
    ] {
        assert!(page.contains(&needle), "{needle}");
    }
    // Approved: applied, the engineer's history row, the photo on it, audited.
    let (status, _) = decide(&reviewer, submitted, "approve", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let now = state(&engineer, &code).await;
    assert_eq!(
        (now["percent"].as_i64(), now["version"].as_i64()),
        (Some(pct + 5), Some(v + 1))
    );
    let row = client
        .query_one(
            "SELECT h.actor, (SELECT history_id FROM site_photo WHERE id = $2) = h.id, p.state::text
               FROM progress_submission p JOIN progress_history h ON h.id = p.history_id WHERE p.id = $1",
            &[&submitted, &photo],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, bool>(1),
            row.get::<_, String>(2)
        ),
        ("ks.tbi".into(), true, "approved".into())
    );
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM audit_log WHERE action = 'site.progress' AND entity_key = '{code}' AND after->>'approved_by' = 'duyet'")).await,
        1
    );
    assert_eq!(
        decide(&reviewer, submitted, "approve", "").await.0,
        StatusCode::NOT_FOUND,
        "decided once"
    );

    // Two updates from the same version: the first approved, the second can only be returned.
    let (v, pct) = (v + 1, pct + 5);
    let (_, a) = patch(
        &engineer,
        &code,
        json!({ "version": v, "percent": pct + 1 }),
    )
    .await;
    let (_, b) = patch(
        &engineer2,
        &code,
        json!({ "version": v, "percent": pct + 2 }),
    )
    .await;
    let (a, b) = (
        a["site"]["submitted"].as_i64().unwrap(),
        b["site"]["submitted"].as_i64().unwrap(),
    );
    assert_eq!(
        decide(&admin, a, "approve", "").await.0,
        StatusCode::SEE_OTHER
    );
    let (status, page) = decide(&reviewer, b, "approve", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("đã thay đổi từ khi cập nhật này được gửi"),
        "{page}"
    );
    assert_eq!(
        state(&engineer, &code).await["percent"].as_i64(),
        Some(pct + 1),
        "nothing overwritten"
    );
    // Returned: a reason is needed; the engineer sees it on /field and the work's page.
    let (status, page) = decide(&reviewer, b, "return", " ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Cần lý do trả lại"));
    let (status, _) = decide(&reviewer, b, "return", "Ảnh chưa đúng công trình").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // (B's engineer on /field; any engineer of the work on its page.)
    for (u, uri) in [
        (&engineer2, "/field?lang=vi".to_string()),
        (&engineer, format!("/sites/{code}?lang=vi")),
    ] {
        let (_, _, page) = request(&u.app, &uri, &[]).await;
        assert!(
            page.contains("Bị trả lại") && page.contains("Ảnh chưa đúng công trình"),
            "{uri}"
        );
    }
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM audit_log WHERE action = 'review.return' AND entity_key = '{b}'")).await,
        1
    );

    // An engineer's second update of a work replaces their first one still waiting.
    let (_, first) = patch(
        &engineer,
        &code,
        json!({ "version": v + 1, "percent": pct + 2 }),
    )
    .await;
    let (_, second) = patch(
        &engineer,
        &code,
        json!({ "version": v + 1, "percent": pct + 3 }),
    )
    .await;
    let (first, second) = (
        first["site"]["submitted"].as_i64().unwrap(),
        second["site"]["submitted"].as_i64().unwrap(),
    );
    let replaced: (String, String) = {
        let r = client
            .query_one(
                "SELECT state::text, reason FROM progress_submission WHERE id = $1",
                &[&first],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(replaced.0, "returned");
    assert!(replaced.1.contains(&format!("#{second}")), "{}", replaced.1);
    assert_eq!(
        decide(&reviewer, second, "return", "Chưa cần").await.0,
        StatusCode::SEE_OTHER
    );
    // Only engineers update progress, review on or off: reviewers and administrators decide
    // on updates but send none (nothing is kept for them).
    let now = state(&admin, &code).await;
    for u in [&admin, &reviewer] {
        let waiting = count(&client, "SELECT count(*) FROM progress_submission").await;
        let (status, answer) = patch(
            u,
            &code,
            json!({ "version": now["version"], "percent": now["percent"].as_i64().unwrap() + 1 }),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        assert_eq!(
            count(&client, "SELECT count(*) FROM progress_submission").await,
            waiting
        );
    }
    // A bad id is no update, "maybe" no decision; a decision needs the form's token.
    assert_eq!(
        decide(&reviewer, second, "maybe", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        decide(&engineer, second, "maybe", "").await.0,
        StatusCode::FORBIDDEN,
        "who may decide comes first"
    );
    assert_eq!(
        decide(&reviewer, 0, "approve", "").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = call(
        &reviewer.app,
        "POST",
        "/review/abc/approve",
        &[FORM],
        format!("csrf={}", reviewer.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &reviewer.app,
        "POST",
        &format!("/review/{second}/approve"),
        &[FORM],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Waiting photos are for their engineer and reviewers only; waiting figures are not shown
    // to other readers, nor counted for anonymous visitors.
    let viewer = user(&db, "xem", UserRole::Viewer, &[]).await;
    let (status, _, _) = request(&viewer.app, &format!("/photos/{photo}/thumb"), &[]).await;
    assert_eq!(status, StatusCode::OK, "approved: the work's photo now");
    let (_, _, page) = request(&viewer.app, &format!("/sites/{code}?lang=vi"), &[]).await;
    assert!(!page.contains("Bị trả lại") && !page.contains("review-notices"));
    let (status, _, _) = request(&db.app(), "/dashboard?counted=submitted", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "asked to sign in");
    // A reviewer sees no update of a work above their clearance, and cannot decide it.
    client
        .execute(
            "UPDATE site_all SET classification = 'confidential' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let (_, c) = patch(
        &engineer,
        &code,
        json!({ "version": v + 1, "percent": pct + 2 }),
    )
    .await;
    let c = c["site"]["submitted"].as_i64().unwrap();
    let cookie = db
        .sign_in(
            "duyet.noibo",
            UserRole::Reviewer,
            Classification::Internal,
            &[],
        )
        .await;
    let internal = User {
        app: with_cookie(db.app(), &cookie),
        csrf: String::new(),
    };
    let internal = User {
        csrf: crate::common::csrf_of(&internal.app).await,
        ..internal
    };
    let (status, _, page) = request(&internal.app, "/review?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&code) && !page.contains(&format!("id=\"s{c}\"")));
    assert_eq!(
        decide(&internal, c, "approve", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        decide(&reviewer, c, "return", "Chưa đủ ảnh").await.0,
        StatusCode::SEE_OTHER
    );
    // An update synced from the field waits the same way.
    let (status, _, text) = call(
        &engineer.app,
        "POST",
        "/api/sync/progress",
        &[("x-csrf-token", engineer.csrf.as_str()), ("content-type", "application/json")],
        json!({ "updates": [{ "code": code, "key": "review-sync-0001",
                              "body": json!({ "base_version": v + 1, "percent": pct + 2 }).to_string() }] })
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let synced: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(synced["answers"][0]["status"], 200, "{synced}");
    let waiting = synced["answers"][0]["body"]["site"]["submitted"]
        .as_i64()
        .expect("kept for review");
    assert_eq!(
        decide(&reviewer, waiting, "return", "Trùng cập nhật")
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    // An engineer's GIS import may not change progress while review is on.
    let path = std::env::temp_dir().join(format!("kvpt-review-{}.geojson", std::process::id()));
    std::fs::write(
        &path,
        crate::imports::geojson(&[crate::imports::feature(
            json!({ "code": code, "percent": 99 }),
            Value::Null,
        )]),
    )
    .unwrap();
    let engineer_import = kvpt::exchange::import::Importer {
        user_id: None,
        name: "ks.tbi".into(),
        via: "web",
        clearance: Classification::Confidential,
        declassify: false,
        districts: None,
    };
    let report = kvpt::exchange::import::run(
        &db.pool(),
        &path,
        "tien-do.geojson",
        &crate::imports::dry(),
        &engineer_import,
        std::sync::Arc::new(kvpt::exchange::import::Progress::default()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, "refused");
    assert!(
        report.rows[0]
            .errors
            .iter()
            .any(|e| e.en.contains("progress waits for review")),
        "{:?}",
        report.rows
    );
    // A bulk file waits too; review off again, updates apply at once.
    let template = format!(
        "code,status,percent,version\n{code},under_construction,{},{}\n",
        pct + 3,
        v + 1
    );
    let (status, _, text) = call(
        &engineer.app,
        "POST",
        "/api/progress/bulk",
        &[
            ("x-csrf-token", engineer.csrf.as_str()),
            ("content-type", "text/csv"),
        ],
        template,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let bulk: Value = serde_json::from_str(&text).unwrap();
    assert!(bulk["rows"][0]["submitted"].is_i64(), "{bulk}");
    assert_eq!(
        state(&engineer, &code).await["percent"].as_i64(),
        Some(pct + 1)
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM progress_submission WHERE state = 'submitted'"
        )
        .await,
        1
    );
    kvpt::progress::review::set(&db.pool().get().await.unwrap(), false)
        .await
        .unwrap();
    let (status, answer) = patch(
        &engineer,
        &code,
        json!({ "version": v + 1, "percent": pct + 4 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        answer["site"]["submitted"].is_null() && answer["site"]["percent"] == pct + 4,
        "{answer}"
    );
    let (_, _, page) = request(&admin.app, "/dashboard?lang=vi", &[]).await;
    assert!(
        !page.contains("id=\"counted\""),
        "review off: the dashboard says nothing of it"
    );
    // An update whose engineer may no longer update the work (account disabled since) is
    // not applied: it can only be returned.
    kvpt::progress::review::set(&db.pool().get().await.unwrap(), true)
        .await
        .unwrap();
    let now = state(&engineer, &code).await;
    let (_, last) = patch(
        &engineer,
        &code,
        json!({ "version": now["version"], "percent": pct + 5 }),
    )
    .await;
    let last = last["site"]["submitted"].as_i64().expect("kept for review");
    client
        .execute(
            "UPDATE app_user SET disabled = true WHERE username = 'ks.tbi'",
            &[],
        )
        .await
        .unwrap();
    let (status, page) = decide(&reviewer, last, "approve", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("Người gửi không còn được cập nhật công trình này"),
        "{page}"
    );
    assert_eq!(
        decide(&reviewer, last, "return", "Tài khoản đã khóa")
            .await
            .0,
        StatusCode::SEE_OTHER
    );
}

/// `kvpt serve` with `KVPT_REVIEW=on|off` writes the setting every instance reads; without
/// it the setting stays as it is; any other value stops the start with a one-line error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kvpt_review_switches_review_for_every_instance_at_start() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let review = || async {
        client
            .query_one("SELECT review FROM app_setting", &[])
            .await
            .unwrap()
            .get::<_, bool>(0)
    };
    assert!(!review().await, "off unless switched on");
    for (value, expected) in [(Some("on"), true), (None, true), (Some("off"), false)] {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvpt"));
        command
            .arg("serve")
            .env("DATABASE_URL", db.url())
            .env("KVPT_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env_remove("KVPT_REVIEW")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(v) = value {
            command.env("KVPT_REVIEW", v);
        }
        let mut server = command.spawn().unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let since = std::time::Instant::now();
        while crate::common::http(addr, "GET", "/readyz", &[], b"")
            .await
            .ok()
            .flatten()
            .is_none_or(|w| w.status != 200)
        {
            assert!(since.elapsed().as_secs() < 60, "kvpt serve came up");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(review().await, expected, "KVPT_REVIEW={value:?}");
        server.kill().await.unwrap();
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("KVPT_REVIEW", "maybe")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("KVPT_REVIEW") || stderr.contains("--review"),
        "{stderr}"
    );
    assert!(!review().await, "a refused start changes nothing");
}
