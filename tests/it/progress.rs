//! Progress updates through every door (form, JSON API, CSV): who may, the rules, the
//! version check, one transaction, photos, and many engineers at once losing nothing.

use crate::common::{call, count, multipart, with_cookie, TestDb};
use axum::http::{header, StatusCode};
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

/// A demo database and one site under construction in Tân Biên, below 50%: its code.
pub(crate) async fn site_in_tan_bien(db: &TestDb) -> String {
    let client = db.client().await;
    let code: String = client
        .query_one(
            "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id
              WHERE d.abbr = 'TBI' AND s.status = 'under_construction' AND s.progress_pct BETWEEN 1 AND 49
                AND s.geom IS NOT NULL
              ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .expect("a site under construction in Tân Biên")
        .get(0);
    client
        .execute(
            "UPDATE site SET classification = 'internal' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    code
}

struct Engineer {
    app: axum::Router,
    csrf: String,
}

async fn engineer(db: &TestDb, name: &str, districts: &[&str]) -> Engineer {
    let cookie = db
        .sign_in(
            name,
            UserRole::Engineer,
            Classification::Confidential,
            districts,
        )
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    Engineer { app, csrf }
}

async fn state(app: &axum::Router, code: &str) -> Value {
    let (status, _, body) = call(app, "GET", &format!("/api/sites/{code}/progress"), &[], "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn patch(e: &Engineer, code: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, text) = call(
        &e.app,
        "PATCH",
        &format!("/api/sites/{code}/progress"),
        &[
            ("x-csrf-token", &e.csrf),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

pub(crate) async fn history_rows(db: &TestDb, code: &str) -> i64 {
    count(
        &db.client().await,
        &format!(
            "SELECT count(*) FROM progress_history h JOIN site s ON s.id = h.site_id WHERE s.code = '{code}'"
        ),
    )
    .await
}

async fn audit_rows(db: &TestDb, code: &str) -> i64 {
    count(
        &db.client().await,
        &format!("SELECT count(*) FROM audit_log WHERE action = 'site.progress' AND entity_key = '{code}'"),
    )
    .await
}

#[tokio::test]
async fn an_update_writes_site_history_and_audit_together() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site_in_tan_bien(&db).await;
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    let before = state(&e.app, &code).await;
    let (history, audit) = (history_rows(&db, &code).await, audit_rows(&db, &code).await);
    // The z10 tile the site lies in.
    let tile = {
        let r = db
            .client()
            .await
            .query_one(
                "SELECT k.layer_group, ST_X(ST_PointOnSurface(s.geom)), ST_Y(ST_PointOnSurface(s.geom))
                   FROM site s JOIN site_kind k ON k.code = s.kind WHERE s.code = $1",
                &[&code],
            )
            .await
            .unwrap();
        let t = kvpt::spatial::tile::TileCoord::containing(r.get(1), r.get(2), 12);
        format!(
            "/tiles/{}/{}/{}/{}.mvt",
            r.get::<_, String>(0),
            t.z,
            t.x,
            t.y
        )
    };
    let tile = tile.as_str();
    let (_, tile_before, _) = call(&e.app, "GET", tile, &[], "").await;
    let (status, body) = patch(
        &e,
        &code,
        json!({ "version": before["version"], "percent": 55, "note": "Xây xong tường rào" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["site"]["percent"], 55);
    assert_eq!(
        body["site"]["version"],
        before["version"].as_i64().unwrap() + 1
    );
    assert_eq!(body["site"]["last_update"]["actor"], "ks.tbi");
    assert_eq!(history_rows(&db, &code).await, history + 1);
    assert_eq!(audit_rows(&db, &code).await, audit + 1);
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT a.before->>'percent', a.after->>'percent', h.note, h.site_version
               FROM audit_log a, progress_history h JOIN site s ON s.id = h.site_id
              WHERE a.entity_key = $1 AND s.code = $1
              ORDER BY a.id DESC, h.id DESC LIMIT 1",
            &[&code],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), before["percent"].to_string());
    assert_eq!(row.get::<_, String>(1), "55");
    assert_eq!(row.get::<_, String>(2), "Xây xong tường rào");
    assert_eq!(
        row.get::<_, i32>(3),
        before["version"].as_i64().unwrap() as i32 + 1
    );
    // The map shows it on the next request.
    let (_, tile_after, _) = call(&e.app, "GET", tile, &[], "").await;
    assert_ne!(tile_before.get(header::ETAG), tile_after.get(header::ETAG));
}

#[tokio::test]
async fn every_rule_refuses_and_writes_nothing() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site_in_tan_bien(&db).await;
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    let v = state(&e.app, &code).await["version"].clone();
    let pct = state(&e.app, &code).await["percent"].as_i64().unwrap();
    let history = history_rows(&db, &code).await;
    for (body, rule) in [
        (json!({ "version": v, "percent": 101 }), "percent_range"),
        (json!({ "version": v, "percent": -3 }), "percent_range"),
        (
            json!({ "version": v, "status": "completed", "percent": 99 }),
            "done_at_full_progress",
        ),
        (
            json!({ "version": v, "status": "handed_over", "percent": 90 }),
            "done_at_full_progress",
        ),
        (
            json!({ "version": v, "percent": pct - 1 }),
            "percent_never_down",
        ),
        (
            json!({ "version": v, "status": "planned" }),
            "status_never_backwards",
        ),
        (
            json!({ "version": v, "actual_start": "2099-01-01" }),
            "date_not_in_future",
        ),
        (
            json!({ "version": v, "actual_start": "2024-05-01", "actual_finish": "2024-04-01" }),
            "actual_dates_order",
        ),
    ] {
        let (status, answer) = patch(&e, &code, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let rules: Vec<&str> = answer["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&rule), "{body}: {rules:?}");
    }
    assert_eq!(history_rows(&db, &code).await, history, "nothing written");
    // With a correction reason, lowering the percent and stepping back are allowed.
    let (status, answer) = patch(
        &e,
        &code,
        json!({ "version": v, "status": "design", "percent": 0.max(pct - 1),
                "correction_reason": "Nhập nhầm: công trình chưa khởi công" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["site"]["last_update"]["correction_reason"],
        "Nhập nhầm: công trình chưa khởi công"
    );
    // Bad bodies say what is wrong.
    for (body, field) in [
        // Neither version nor base_version: named (issue 20 made version one of two).
        ("{\"percent\": 3}", "version"),
        ("not json", "body"),
        ("{\"version\": 1, \"status\": \"finished\"}", "status"),
        ("{\"version\": 1, \"colour\": \"red\"}", "body"),
    ] {
        let (status, _, text) = call(
            &e.app,
            "PATCH",
            &format!("/api/sites/{code}/progress"),
            &[("x-csrf-token", &e.csrf)],
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["field"], field, "{body}");
    }
}

#[tokio::test]
async fn roles_districts_clearance_and_csrf_decide_who_may_update() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site_in_tan_bien(&db).await;
    let v = {
        let e = engineer(&db, "ks.tbi", &["TBI"]).await;
        state(&e.app, &code).await["version"].clone()
    };
    let uri = format!("/api/sites/{code}/progress");
    let form = format!("/sites/{code}/progress");
    let body = json!({ "version": v, "percent": 60 }).to_string();
    // Anonymous: 401 from the API, sent to sign in from the page.
    let (status, _, _) = call(&db.app(), "PATCH", &uri, &[], body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, _) = call(&db.app(), "GET", &form, &[], "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?next="));
    let (mp, content_type) = multipart(
        &[
            ("csrf", "x"),
            ("version", "1"),
            ("status", "design"),
            ("percent", "60"),
        ],
        &[],
    );
    let (status, headers, _) = call(
        &db.app(),
        "POST",
        &form,
        &[("content-type", &content_type)],
        mp,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "anonymous form post");
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login"));
    // Wrong roles: 403, on the API and on the pages.
    for role in [UserRole::Viewer, UserRole::BudgetOfficer, UserRole::Admin] {
        let app = db.app_as(role, Classification::Secret).await;
        let csrf = crate::common::csrf_of(&app).await;
        let (status, _, _) = call(
            &app,
            "PATCH",
            &uri,
            &[("x-csrf-token", &csrf)],
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        let (status, _, page) = call(&app, "GET", &form, &[], "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        assert!(page.contains("không có quyền"), "{page}");
        let (status, _, _) = call(&app, "GET", "/api/progress/template.csv", &[], "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // An engineer of another district: 403, nothing written.
    let other = engineer(&db, "ks.tch", &["TCH"]).await;
    let (status, answer) = patch(&other, &code, json!({ "version": v, "percent": 60 })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, _, _) = call(&other.app, "GET", &form, &[], "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A site above the engineer's clearance does not exist for them.
    db.client()
        .await
        .execute(
            "UPDATE site SET classification = 'secret' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let own = engineer(&db, "ks.tbi2", &["TBI"]).await;
    let (status, _) = patch(&own, &code, json!({ "version": v, "percent": 60 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db.client()
        .await
        .execute(
            "UPDATE site SET classification = 'internal' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    // Missing or wrong CSRF token: 403, on the API and on the form.
    for token in [None, Some("0000")] {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(t) = token {
            headers.push(("x-csrf-token", t));
        }
        let (status, _, _) = call(&own.app, "PATCH", &uri, &headers, body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{token:?}");
        let fields: Vec<(&str, &str)> = [("version", "1"), ("status", "design"), ("percent", "60")]
            .into_iter()
            .chain(token.map(|t| ("csrf", t)))
            .collect();
        let (mp, content_type) = multipart(&fields, &[]);
        let (status, _, _) = call(
            &own.app,
            "POST",
            &form,
            &[("content-type", &content_type)],
            mp,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "form {token:?}");
    }
    assert_eq!(
        audit_rows(&db, &code).await,
        0,
        "no refused update was written"
    );
    // The rightful engineer may.
    let (status, answer) = patch(&own, &code, json!({ "version": v, "percent": 60 })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([40, 120, 60]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn the_form_takes_photos_refuses_stale_versions_and_escapes_names() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site_in_tan_bien(&db).await;
    db.client()
        .await
        .execute(
            "UPDATE site SET name = '<script>alert(1)</script> Chốt' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    let s = state(&e.app, &code).await;
    let version = s["version"].to_string();
    let percent = (s["percent"].as_i64().unwrap() + 5).to_string();
    let form = format!("/sites/{code}/progress");
    // The page shows the form, and the name escaped.
    let (status, _, page) = call(&e.app, "GET", &form, &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>alert"),
        "escaped"
    );
    let fields = |version: &str, percent: &str| {
        vec![
            ("csrf".to_string(), e.csrf.clone()),
            ("version".to_string(), version.to_string()),
            ("status".to_string(), "under_construction".to_string()),
            ("percent".to_string(), percent.to_string()),
            ("note".to_string(), "Ảnh hiện trường".to_string()),
        ]
    };
    let post = |fields: Vec<(String, String)>,
                files: Vec<(&'static str, &'static str, Vec<u8>)>| {
        let app = e.app.clone();
        let form = form.clone();
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let files: Vec<(&str, &str, &[u8])> = files
                .iter()
                .map(|(a, b, c)| (*a, *b, c.as_slice()))
                .collect();
            let (body, content_type) = multipart(&f, &files);
            call(
                &app,
                "POST",
                &form,
                &[("content-type", &content_type)],
                body,
            )
            .await
        }
    };
    // A file that is not a picture: refused by its content, nothing written.
    let history = history_rows(&db, &code).await;
    let (status, _, page) = post(
        fields(&version, &percent),
        vec![("photos", "fake.jpg", b"<html>not a picture</html>".to_vec())],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("fake.jpg: không phải ảnh JPEG hoặc PNG"),
        "{page}"
    );
    assert_eq!(history_rows(&db, &code).await, history);
    // A real picture: stored with the update, thumbnailed, served to those cleared.
    let (status, headers, _) = post(
        fields(&version, &percent),
        vec![("photos", "IMG_0001.png", png(1200, 900))],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], format!("/sites/{code}?lang=vi"));
    let client = db.client().await;
    let photo: i64 = client
        .query_one(
            "SELECT p.id FROM site_photo p JOIN site s ON s.id = p.site_id
               JOIN progress_history h ON h.id = p.history_id
              WHERE s.code = $1 AND p.width = 1200 AND p.height = 900 AND h.note = 'Ảnh hiện trường'",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    let (status, headers, _) =
        call(&e.app, "GET", &format!("/photos/{photo}/thumb"), &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    let (_, _, page) = call(&e.app, "GET", &format!("/sites/{code}"), &[], "").await;
    assert!(
        page.contains(&format!("/photos/{photo}/thumb")),
        "the timeline shows the photo"
    );
    let (status, _, _) = call(&db.app(), "GET", &format!("/photos/{photo}"), &[], "").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "anonymous visitors do not see internal photos"
    );
    // The same old version again: 409, and the page shows the newer update.
    let (status, _, page) = post(fields(&version, &percent), vec![]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("cập nhật mới hơn"), "{page}");
    assert!(page.contains("Ảnh hiện trường") && page.contains("ks.tbi"));
    assert_eq!(history_rows(&db, &code).await, history + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_are_applied_in_order_or_refused_never_lost() {
    let db = TestDb::with_demo(200, 21).await;
    let code = site_in_tan_bien(&db).await;
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    db.client()
        .await
        .execute(
            "UPDATE site SET progress_pct = 0, status = 'under_construction' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let start = state(&e.app, &code).await;
    let history = history_rows(&db, &code).await;
    // 32 engineers send against the same version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..32 {
        let app = e.app.clone();
        let csrf = e.csrf.clone();
        let code = code.clone();
        let body = json!({ "version": start["version"], "percent": 1 + i % 3, "note": format!("lần {i}") });
        tasks.push(tokio::spawn(async move {
            call(
                &app,
                "PATCH",
                &format!("/api/sites/{code}/progress"),
                &[("x-csrf-token", &csrf)],
                body.to_string(),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        31
    );
    assert_eq!(history_rows(&db, &code).await, history + 1);
    // 16 engineers each raise the percent once, retrying on 409 from the newest version:
    // every one lands, in order, the history complete.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let app = e.app.clone();
        let csrf = e.csrf.clone();
        let code = code.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            loop {
                let now = state(&app, &code).await;
                let body = json!({ "version": now["version"], "percent": now["percent"].as_i64().unwrap() + 1 });
                let (status, _, text) = call(
                    &app,
                    "PATCH",
                    &format!("/api/sites/{code}/progress"),
                    &[("x-csrf-token", &csrf)],
                    body.to_string(),
                )
                .await;
                match status {
                    StatusCode::OK => return conflicts,
                    StatusCode::CONFLICT => conflicts += 1,
                    other => panic!("{other}: {text}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let end = state(&e.app, &code).await;
    let first = history_rows(&db, &code).await - history - 1;
    assert_eq!(first, 16, "every update written once");
    let after_first = end["percent"].as_i64().unwrap() - 16;
    assert!(
        (1..=3).contains(&after_first),
        "each raised the percent by one from the last"
    );
    // Versions and percents in the history rise step by step: nothing overwritten.
    let rows = db
        .client()
        .await
        .query(
            "SELECT h.old_pct, h.new_pct, h.site_version FROM progress_history h JOIN site s ON s.id = h.site_id
              WHERE s.code = $1 AND h.site_version IS NOT NULL ORDER BY h.id",
            &[&code],
        )
        .await
        .unwrap();
    for pair in rows.windows(2) {
        assert_eq!(
            pair[1].get::<_, Option<i16>>(0),
            Some(pair[0].get::<_, i16>(1))
        );
        assert_eq!(pair[1].get::<_, i32>(2), pair[0].get::<_, i32>(2) + 1);
    }
}

#[tokio::test]
async fn a_csv_commits_whole_or_not_at_all_with_a_report_per_row() {
    let db = TestDb::with_demo(400, 21).await;
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    let (status, headers, template) =
        call(&e.app, "GET", "/api/progress/template.csv", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut lines = template.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "code,status,percent,version,actual_start,actual_finish,note,correction_reason"
    );
    // Sites still under construction, each raised by one point.
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .filter(|r: &Vec<String>| r[1] == "under_construction" && r[2].parse::<i32>().unwrap() < 90)
        .take(3)
        .collect();
    assert_eq!(rows.len(), 3, "{template}");
    let csv = |rows: &[Vec<String>], bad_second: bool| {
        let mut out = String::from("code,status,percent,version,note\n");
        for (i, r) in rows.iter().enumerate() {
            let pct: i32 = r[2].parse().unwrap();
            let pct = if bad_second && i == 1 { 150 } else { pct + 1 };
            out.push_str(&format!(
                "{},Đang thi công,{pct},{},Cập nhật hàng loạt\n",
                r[0], r[3]
            ));
        }
        out
    };
    let history = count(&db.client().await, "SELECT count(*) FROM progress_history").await;
    let send = |body: String| {
        let app = e.app.clone();
        let csrf = e.csrf.clone();
        async move {
            let (status, _, text) = call(
                &app,
                "POST",
                "/api/progress/bulk",
                &[("x-csrf-token", &csrf), ("content-type", "text/csv")],
                body,
            )
            .await;
            (status, serde_json::from_str::<Value>(&text).unwrap())
        }
    };
    // One bad row: nothing written, the report names it.
    let (status, report) = send(csv(&rows, true)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert_eq!(report["committed"], false);
    let row_reports = report["rows"].as_array().unwrap();
    assert_eq!(row_reports.len(), 3);
    assert_eq!(row_reports[0]["ok"], true);
    assert_eq!(row_reports[1]["ok"], false);
    assert_eq!(row_reports[1]["line"], 3);
    assert_eq!(row_reports[1]["errors"][0]["field"], "percent");
    assert_eq!(
        count(&db.client().await, "SELECT count(*) FROM progress_history").await,
        history
    );
    // A site twice, or outside the engineer's districts: refused too.
    let mut twice = csv(&rows, false);
    twice.push_str(&format!(
        "{},under_construction,99,{}\n",
        rows[0][0], rows[0][3]
    ));
    let (status, report) = send(twice).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rows"][3]["errors"][0]["field"], "code");
    let (status, report) = send("code,status,percent\nX-1,planned,0\n".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["file_errors"][0]["field"], "version");
    // All good: all written, each with its history row.
    let (status, report) = send(csv(&rows, false)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["committed"], true);
    assert_eq!(
        count(&db.client().await, "SELECT count(*) FROM progress_history").await,
        history + 3
    );
    // The same file again is stale: every row 409-like, nothing written.
    let (status, report) = send(csv(&rows, false)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rows"][0]["errors"][0]["field"], "version");
    assert_eq!(
        count(&db.client().await, "SELECT count(*) FROM progress_history").await,
        history + 3
    );
}

#[tokio::test]
async fn no_progress_path_carries_a_classification() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site_in_tan_bien(&db).await;
    let e = engineer(&db, "ks.tbi", &["TBI"]).await;
    let before = state(&e.app, &code).await;
    // The API names the field it does not take; the work stays as it was.
    let (status, body) = patch(
        &e,
        &code,
        json!({ "version": before["version"], "percent": 1 + before["percent"].as_i64().unwrap(),
                "classification": "public" }),
    )
    .await;
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body.to_string().contains("classification"), "{body}");
    let (status, _, text) = call(
        &e.app,
        "POST",
        "/api/progress/bulk",
        &[("x-csrf-token", &e.csrf), ("content-type", "text/csv")],
        format!(
            "code,percent,version,classification\n{code},60,{},public\n",
            before["version"]
        ),
    )
    .await;
    assert!(status.is_client_error(), "{status}: {text}");
    assert!(text.contains("unknown column 'classification'"), "{text}");
    assert_eq!(
        count(
            &db.client().await,
            &format!(
                "SELECT count(*) FROM site WHERE code = '{code}' AND classification = 'internal'"
            )
        )
        .await,
        1
    );
}
