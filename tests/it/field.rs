//! Updates from the field's queue (issue 20): a repeated Idempotency-Key writes once and
//! answers the same; an update made from an older version is merged field by field with
//! what changed since, and one that crossed another is kept as a conflict until its author
//! picks, with one history row and one audit row naming both authors.

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

use crate::common::{call, count, with_cookie, TestDb};
use crate::progress::{history_rows as history, site_in_tan_bien as site};

struct Engineer {
    app: axum::Router,
    csrf: String,
}

async fn engineer(db: &TestDb, name: &str) -> Engineer {
    let cookie = db
        .sign_in(
            name,
            UserRole::Engineer,
            Classification::Confidential,
            &["TBI"],
        )
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    Engineer { app, csrf }
}

async fn state(e: &Engineer, code: &str) -> Value {
    let (status, _, body) = call(
        &e.app,
        "GET",
        &format!("/api/sites/{code}/progress"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn patch(e: &Engineer, code: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut headers = vec![
        ("x-csrf-token", e.csrf.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let (status, _, text) = call(
        &e.app,
        "PATCH",
        &format!("/api/sites/{code}/progress"),
        &headers,
        body.to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

async fn audits(db: &TestDb, code: &str) -> i64 {
    count(
        &db.client().await,
        &format!("SELECT count(*) FROM audit_log WHERE entity_key = '{code}'"),
    )
    .await
}

#[tokio::test]
async fn a_repeated_idempotency_key_gets_the_first_answer_and_writes_once() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    let a = engineer(&db, "ks.a").await;
    let start = state(&a, &code).await;
    let (history0, audits0) = (history(&db, &code).await, audits(&db, &code).await);
    let key = "0b6f6a8e-2f4c-4c1e-9d3a-6f0e1c2b3a4d";
    let body = json!({ "version": start["version"], "percent": start["percent"].as_i64().unwrap() + 1,
                       "note": "gửi từ hàng đợi" });
    let (status, first) = patch(&a, &code, Some(key), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The answer was lost on the way back: the phone sends the same again, twice.
    for _ in 0..2 {
        let (status, again) = patch(&a, &code, Some(key), body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again, first, "the same answer");
    }
    assert_eq!(history(&db, &code).await, history0 + 1, "one history row");
    assert_eq!(audits(&db, &code).await, audits0 + 1, "one audit row");
    // The same key for another request is refused; a malformed key is a 400.
    let other = json!({ "version": first["site"]["version"], "percent": 90 });
    let (status, answer) = patch(&a, &code, Some(key), other.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = patch(&a, &code, Some("kort"), other).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(history(&db, &code).await, history0 + 1);
    // Another engineer's same key is theirs: keys are per user.
    let b = engineer(&db, "ks.b").await;
    let now = state(&b, &code).await;
    let (status, answer) = patch(
        &b,
        &code,
        Some(key),
        json!({ "version": now["version"], "percent": now["percent"].as_i64().unwrap() + 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(history(&db, &code).await, history0 + 2);
    // A refusal is an answer too: the same key gets it again, nothing written.
    let down = json!({ "version": answer["site"]["version"], "percent": 0 });
    let key2 = "second-key-0001";
    let (status, refused) = patch(&b, &code, Some(key2), down.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(patch(&b, &code, Some(key2), down).await.1, refused);
    assert_eq!(history(&db, &code).await, history0 + 2);
    // A repeat after the user lost the right to see the site shows nothing of it.
    db.client()
        .await
        .execute(
            "UPDATE app_user SET clearance = 'public' WHERE username = 'ks.a'",
            &[],
        )
        .await
        .unwrap();
    let (status, answer) = patch(&a, &code, Some(key), body).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(!answer.to_string().contains("gửi từ hàng đợi"), "{answer}");
}

#[tokio::test]
async fn an_update_from_an_older_version_keeps_what_others_changed_meanwhile() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    let (a, b) = (engineer(&db, "ks.a").await, engineer(&db, "ks.b").await);
    let base = state(&a, &code).await;
    let pct = base["percent"].as_i64().unwrap();
    // B, online, notes the work; A, offline since, raised the percent from the same base.
    let (status, answer) = patch(
        &b,
        &code,
        None,
        json!({ "version": base["version"], "note": "kiểm tra hiện trường" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = patch(
        &a,
        &code,
        Some("merge-key-0001"),
        json!({ "base_version": base["version"], "percent": pct + 4, "note": "từ hàng đợi" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "merged: {answer}");
    assert_eq!(answer["site"]["percent"], pct + 4);
    // With `version` (must be current) the same would have been a 409, as before.
    let (status, _) = patch(
        &a,
        &code,
        None,
        json!({ "version": base["version"], "percent": pct + 5 }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Both versions at once, or neither, is a 400.
    for body in [
        json!({ "version": 1, "base_version": 1, "percent": 1 }),
        json!({ "percent": 1 }),
    ] {
        assert_eq!(
            patch(&a, &code, None, body).await.0,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn crossing_updates_become_a_conflict_that_its_author_resolves_once() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    let (a, b) = (engineer(&db, "ks.a").await, engineer(&db, "ks.b").await);
    let base = state(&a, &code).await;
    let pct = base["percent"].as_i64().unwrap();
    // B raises the percent online; A, from the same base, raised it to something else.
    let (status, _) = patch(
        &b,
        &code,
        None,
        json!({ "version": base["version"], "percent": pct + 2 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let history0 = history(&db, &code).await;
    let (status, crossed) = patch(
        &a,
        &code,
        Some("cross-key-0001"),
        json!({ "base_version": base["version"], "percent": pct + 6, "note": "đo lại" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{crossed}");
    assert_eq!(crossed["conflict"]["fields"], json!(["percent"]));
    assert_eq!(crossed["conflict"]["base"]["percent"], pct);
    assert_eq!(crossed["conflict"]["theirs"]["percent"], pct + 2);
    assert_eq!(crossed["conflict"]["mine"]["percent"], pct + 6);
    let id = crossed["conflict"]["id"].as_i64().unwrap();
    assert_eq!(history(&db, &code).await, history0, "nothing applied");
    // Sent again with the same key: the same answer, no second conflict.
    let (_, again) = patch(
        &a,
        &code,
        Some("cross-key-0001"),
        json!({ "base_version": base["version"], "percent": pct + 6, "note": "đo lại" }),
    )
    .await;
    assert_eq!(again, crossed);
    assert_eq!(
        count(&db.client().await, "SELECT count(*) FROM progress_conflict").await,
        1
    );
    // Listed for A, not for B.
    let listed = |e: &Engineer| {
        let app = e.app.clone();
        async move {
            let (_, _, body) = call(&app, "GET", "/api/conflicts", &[], "").await;
            serde_json::from_str::<Value>(&body).unwrap()["conflicts"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(listed(&a).await, 1);
    assert_eq!(listed(&b).await, 0);
    // B may not resolve it; A must pick every field.
    let resolve = |e: &Engineer, body: Value| {
        let (app, csrf) = (e.app.clone(), e.csrf.clone());
        async move {
            let (status, _, text) = call(
                &app,
                "POST",
                &format!("/api/conflicts/{id}"),
                &[
                    ("x-csrf-token", &csrf),
                    ("content-type", "application/json"),
                ],
                body.to_string(),
            )
            .await;
            (status, text)
        }
    };
    assert_eq!(
        resolve(&b, json!({ "picks": { "percent": "mine" } }))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        resolve(&a, json!({ "picks": {} })).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        resolve(
            &a,
            json!({ "picks": { "percent": "mine", "status": "mine" } })
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a field the conflict does not name"
    );
    // B moves the site on meanwhile: A is shown where it stands and picks again.
    let now = state(&b, &code).await;
    let (status, _) = patch(
        &b,
        &code,
        None,
        json!({ "version": now["version"], "percent": pct + 3 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let history0 = history(&db, &code).await;
    let (status, text) = resolve(&a, json!({ "picks": { "percent": "mine" } })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{text}");
    assert_eq!(history(&db, &code).await, history0, "nothing applied");
    let (status, text) = resolve(&a, json!({ "picks": { "percent": "mine" } })).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let resolved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resolved["site"]["percent"], pct + 6);
    assert_eq!(history(&db, &code).await, history0 + 1, "one history row");
    let named = count(
        &db.client().await,
        &format!(
            "SELECT count(*) FROM audit_log WHERE entity_key = '{code}' AND actor = 'ks.a'
               AND after->'conflict'->>'mine_by' = 'ks.a'
               AND after->'conflict'->'theirs_by' ? 'ks.b'"
        ),
    )
    .await;
    assert_eq!(named, 1, "one audit row naming both authors");
    assert_eq!(listed(&a).await, 0);
    assert_eq!(
        resolve(&a, json!({ "picks": { "percent": "mine" } }))
            .await
            .0,
        StatusCode::NOT_FOUND,
        "resolved once"
    );
}

#[tokio::test]
async fn no_conflict_is_kept_for_a_site_the_engineer_may_not_see_or_update() {
    let db = TestDb::with_demo(300, 21).await;
    let client = db.client().await;
    let a = engineer(&db, "ks.a").await;
    // A secret site in Tân Biên, and an internal one elsewhere.
    let secret: String = client
        .query_one(
            "UPDATE site SET classification = 'secret'
              WHERE id = (SELECT s.id FROM site s JOIN admin_unit d ON d.id = s.district_id
                           WHERE d.abbr = 'TBI' ORDER BY s.id LIMIT 1) RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let elsewhere: String = client
        .query_one(
            "UPDATE site SET classification = 'internal'
              WHERE id = (SELECT s.id FROM site s JOIN admin_unit d ON d.id = s.district_id
                           WHERE d.abbr <> 'TBI' ORDER BY s.id LIMIT 1) RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute("UPDATE site SET version = version + 3, progress_pct = progress_pct")
        .await
        .unwrap();
    for (code, expected) in [
        (&secret, StatusCode::NOT_FOUND),
        (&elsewhere, StatusCode::FORBIDDEN),
    ] {
        let (status, answer) =
            patch(&a, code, None, json!({ "base_version": 1, "percent": 99 })).await;
        assert_eq!(status, expected, "{code}: {answer}");
        assert!(!answer.to_string().contains("\"current\""), "{answer}");
    }
    assert_eq!(
        count(&client, "SELECT count(*) FROM progress_conflict").await,
        0
    );
}

#[tokio::test]
async fn a_refusal_of_who_may_is_not_kept_with_the_key_so_a_later_try_is_judged_afresh() {
    let db = TestDb::with_demo(300, 21).await;
    let client = db.client().await;
    let a = engineer(&db, "ks.a").await;
    // An internal site outside Tân Biên: A may not update it, yet.
    let (code, version): (String, i32) = {
        let r = client
            .query_one(
                "UPDATE site SET classification = 'internal'
                  WHERE id = (SELECT s.id FROM site s JOIN admin_unit d ON d.id = s.district_id
                               WHERE d.abbr <> 'TBI' AND s.status = 'under_construction'
                                 AND s.progress_pct < 50 ORDER BY s.id LIMIT 1)
                 RETURNING code, version",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let body = json!({ "version": version, "note": "đã đến hiện trường" });
    let key = "later-key-0001";
    let (status, _) = patch(&a, &code, Some(key), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    client
        .execute(
            "INSERT INTO user_district (user_id, district_id)
             SELECT u.id, s.district_id FROM app_user u, site s WHERE u.username = 'ks.a' AND s.code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let (status, answer) = patch(&a, &code, Some(key), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}
