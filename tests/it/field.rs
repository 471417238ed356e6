//! Updates from the field's queue (issue 20): a repeated Idempotency-Key writes once and
//! answers the same; an update made from an older version is merged field by field with
//! what changed since, and one that crossed another is kept as a conflict until its author
//! picks, with one history row and one audit row naming both authors.

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

use crate::common::{call, count, with_cookie, TestDb};
use crate::progress::{history_rows as history, site_in_tan_bien as site};

/// A signed-in user's app and CSRF token (an engineer here; other roles in `review`).
pub(crate) struct Engineer {
    pub(crate) app: axum::Router,
    pub(crate) csrf: String,
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

pub(crate) async fn state(e: &Engineer, code: &str) -> Value {
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

pub(crate) async fn patch(
    e: &Engineer,
    code: &str,
    key: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
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
    assert_eq!(answer["code"], "idempotency_key_reused", "{answer}");
    assert!(answer["message_vi"].as_str().is_some(), "{answer}");
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
async fn a_key_still_being_written_is_answered_with_its_own_code_and_keys_are_capped_per_user() {
    let db = TestDb::with_demo(300, 22).await;
    let code = site(&db).await;
    let a = engineer(&db, "ks.a").await;
    let start = state(&a, &code).await;
    let history0 = history(&db, &code).await;
    let user: i32 = db
        .client()
        .await
        .query_one("SELECT id FROM app_user WHERE username = 'ks.a'", &[])
        .await
        .unwrap()
        .get(0);
    // A first use of the key, not committed yet (another request of the phone's, still
    // writing): the repeat waits a little, then is told to come back, by its code.
    let key = "in-flight-key-0001";
    let mut holder = db.client().await;
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "INSERT INTO idempotent_write (user_id, key, request_sha256, status, answer)
         VALUES ($1, $2, '\\x00', 0, 'null')",
        &[&user, &key],
    )
    .await
    .unwrap();
    let body =
        json!({ "version": start["version"], "percent": start["percent"].as_i64().unwrap() + 1 });
    let (status, answer) = patch(&a, &code, Some(key), body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["code"], "idempotency_key_in_flight", "{answer}");
    assert!(
        answer.get("conflict").is_none(),
        "not a conflict of fields: {answer}"
    );
    tx.rollback().await.unwrap();
    // The first use gave up: the key is free, and the repeat writes once.
    let (status, answer) = patch(&a, &code, Some(key), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(history(&db, &code).await, history0 + 1);

    // A user keeps the newest KEEP_PER_USER keys: the oldest go, the newest stay.
    let cap = kvpt::db::idempotency::KEEP_PER_USER;
    db.client()
        .await
        .execute(
            "INSERT INTO idempotent_write (user_id, key, request_sha256, status, answer, created_at)
             SELECT $1, 'bulk-key-' || lpad(n::text, 6, '0'), '\\x00', 200, '{}',
                    now() - make_interval(secs => $2::int - n)
               FROM generate_series(1, $2::int) AS n",
            &[&user, &(i32::try_from(cap).unwrap() + 50)],
        )
        .await
        .unwrap();
    let now = state(&a, &code).await;
    let (status, answer) = patch(
        &a,
        &code,
        Some("after-the-bulk-0001"),
        json!({ "version": now["version"], "percent": now["percent"].as_i64().unwrap() + 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let client = db.client().await;
    let kept = count(
        &client,
        &format!("SELECT count(*) FROM idempotent_write WHERE user_id = {user}"),
    )
    .await;
    assert!(kept <= cap + 1, "{kept} keys kept");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM idempotent_write WHERE key = 'bulk-key-000001'"
        )
        .await,
        0,
        "the oldest key is gone"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM idempotent_write WHERE key = 'after-the-bulk-0001'"
        )
        .await,
        1,
        "the newest is kept"
    );
}

#[tokio::test]
async fn keys_older_than_45_days_and_expired_sessions_are_purged_for_every_user() {
    let db = TestDb::with_demo(50, 23).await;
    let _ = engineer(&db, "ks.idle").await;
    let client = db.client().await;
    let user: i32 = client
        .query_one("SELECT id FROM app_user WHERE username = 'ks.idle'", &[])
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO idempotent_write (user_id, key, request_sha256, status, answer, created_at)
             VALUES ($1, 'old-key-00001', '\\x00', 200, '{}', now() - interval '46 days'),
                    ($1, 'new-key-00001', '\\x00', 200, '{}', now() - interval '29 days')",
            &[&user],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE user_session SET created_at = now() - interval '2 days', expires_at = now() - interval '1 minute' WHERE user_id = $1",
            &[&user],
        )
        .await
        .unwrap();
    let pooled = db.pool().get().await.unwrap();
    assert!(kvpt::db::idempotency::purge_expired(&pooled).await.unwrap() >= 1);
    assert!(
        kvpt::accounts::sessions::purge_expired(&pooled)
            .await
            .unwrap()
            >= 1
    );
    let keys: Vec<String> = client
        .query(
            "SELECT key FROM idempotent_write WHERE user_id = $1",
            &[&user],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        keys,
        ["new-key-00001"],
        "a phone away for 30 days is still covered"
    );
    let sessions = count(
        &client,
        &format!("SELECT count(*) FROM user_session WHERE user_id = {user}"),
    )
    .await;
    assert_eq!(sessions, 0);
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
            let answer = serde_json::from_str::<Value>(&body).unwrap();
            crate::api_document::assert_documented_answer(&app, "get", "/api/conflicts", &answer)
                .await;
            answer["conflicts"].as_array().unwrap().len()
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

async fn batch(e: &Engineer, updates: Value) -> (StatusCode, Value) {
    let (status, _, text) = call(
        &e.app,
        "POST",
        "/api/sync/progress",
        &[
            ("x-csrf-token", e.csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "updates": updates }).to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

/// A phone's queue in one request: each update answered in order (a refusal does not stop
/// the rest), the whole batch sent again writes nothing more, and a key sent in a batch
/// answers the same when sent alone. Two updates of the phone from the same base do not
/// conflict with each other (the second is the engineer's own later word).
#[tokio::test]
async fn a_batch_of_queued_updates_is_applied_in_order_and_once() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    let a = engineer(&db, "ks.a").await;
    let start = state(&a, &code).await;
    let (v, pct) = (start["version"].clone(), start["percent"].as_i64().unwrap());
    let history0 = history(&db, &code).await;
    let item =
        |key: &str, body: Value| json!({ "code": code, "key": key, "body": body.to_string() });
    let updates = json!([
        item(
            "batch-key-0001",
            json!({ "base_version": v, "percent": pct + 3, "note": "một" })
        ),
        item("batch-key-0002", json!({ "base_version": v, "percent": 0 })),
        item(
            "batch-key-0003",
            json!({ "base_version": v, "percent": pct + 6, "note": "ba" })
        ),
        item(
            "batch-key-0004",
            json!({ "base_version": v, "status": "unheard-of" })
        ),
    ]);
    let (status, first) = batch(&a, updates.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let statuses: Vec<i64> = first["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 422, 200, 400], "{first}");
    assert_eq!(first["stopped"], Value::Null);
    assert!(
        first["answers"][1]["body"]["violations"][0]["message_vi"]
            .as_str()
            .unwrap()
            .contains("không được giảm"),
        "{first}"
    );
    assert_eq!(first["answers"][2]["body"]["site"]["percent"], pct + 6);
    assert_eq!(history(&db, &code).await, history0 + 2);
    // The answer was lost: the same batch again answers the same, and writes nothing.
    let (_, again) = batch(&a, updates).await;
    assert_eq!(again["answers"][0], first["answers"][0]);
    assert_eq!(again["answers"][2], first["answers"][2]);
    assert_eq!(history(&db, &code).await, history0 + 2);
    // The first key sent alone, byte for byte the same update: the same answer.
    let body = json!({ "base_version": v, "percent": pct + 3, "note": "một" }).to_string();
    let (status, _, alone) = call(
        &a.app,
        "PATCH",
        &format!("/api/sites/{code}/progress"),
        &[
            ("x-csrf-token", a.csrf.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", "batch-key-0001"),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&alone).unwrap(),
        first["answers"][0]["body"]
    );
    assert_eq!(history(&db, &code).await, history0 + 2);
    // Too many at once, no token, or not an engineer: refused whole.
    let many: Vec<Value> = (0..101)
        .map(|i| item(&format!("many-key-{i:04}"), json!({ "base_version": v })))
        .collect();
    assert_eq!(batch(&a, json!(many)).await.0, StatusCode::BAD_REQUEST);
    let no_token = call(
        &a.app,
        "POST",
        "/api/sync/progress",
        &[("content-type", "application/json")],
        json!({ "updates": [] }).to_string(),
    )
    .await;
    assert_eq!(no_token.0, StatusCode::FORBIDDEN);
    let viewer = db
        .sign_in("xem", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let viewer = with_cookie(db.app(), &viewer);
    let csrf = crate::common::csrf_of(&viewer).await;
    let (status, _, _) = call(
        &viewer,
        "POST",
        "/api/sync/progress",
        &[
            ("x-csrf-token", csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "updates": [] }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn photos_of(db: &TestDb, code: &str) -> i64 {
    count(
        &db.client().await,
        &format!(
            "SELECT count(*) FROM site_photo p JOIN site s ON s.id = p.site_id WHERE s.code = '{code}'"
        ),
    )
    .await
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn send_photo(
    e: &Engineer,
    code: &str,
    key: &str,
    history_id: Option<i64>,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let h = history_id.map(|h| h.to_string()).unwrap_or_default();
    let fields: Vec<(&str, &str)> = if h.is_empty() {
        vec![]
    } else {
        vec![("history_id", h.as_str())]
    };
    let (body, content_type) = crate::common::multipart(&fields, &[("photo", "anh.jpg", bytes)]);
    let (status, _, text) = call(
        &e.app,
        "POST",
        &format!("/api/sites/{code}/photos"),
        &[
            ("x-csrf-token", e.csrf.as_str()),
            ("content-type", content_type.as_str()),
            ("idempotency-key", key),
        ],
        body,
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

/// A photo sent from the queue documents its own update, is stored once however often it
/// is sent, is refused when it names someone else's update or is not a picture, and
/// nobody outside the site's districts (403) or clearance (404) can add one.
#[tokio::test]
async fn a_queued_photo_is_stored_once_with_its_update() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    let (a, b) = (engineer(&db, "ks.a").await, engineer(&db, "ks.b").await);
    let start = state(&a, &code).await;
    let (_, applied) = patch(
        &a,
        &code,
        Some("photo-upd-0001"),
        json!({ "version": start["version"], "percent": start["percent"].as_i64().unwrap() + 1 }),
    )
    .await;
    let history_id = applied["history_id"].as_i64().unwrap();
    let photos0 = photos_of(&db, &code).await;
    let picture = jpeg(640, 480);
    let (status, first) = send_photo(&a, &code, "photo-key-0001", Some(history_id), &picture).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["history_id"], history_id);
    let (status, again) = send_photo(&a, &code, "photo-key-0001", Some(history_id), &picture).await;
    assert_eq!(
        (status, &again),
        (StatusCode::CREATED, &first),
        "the same answer"
    );
    assert_eq!(photos_of(&db, &code).await, photos0 + 1, "stored once");
    let audited = count(
        &db.client().await,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'site.photo' AND entity_key = '{code}'"
        ),
    )
    .await;
    assert_eq!(audited, 1);
    // B may not attach a photo to A's update; a file that is not a picture is refused.
    let (status, answer) =
        send_photo(&b, &code, "photo-key-0002", Some(history_id), &picture).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, answer) = send_photo(&b, &code, "photo-key-0003", None, b"not a picture").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message_vi"]
            .as_str()
            .unwrap()
            .contains("không phải ảnh"),
        "{answer}"
    );
    // Outside the engineer's districts: 403; above their clearance: 404, with nothing of it.
    let far = db
        .sign_in(
            "ks.xa",
            UserRole::Engineer,
            Classification::Confidential,
            &["TCH"],
        )
        .await;
    let far = Engineer {
        csrf: crate::common::csrf_of(&with_cookie(db.app(), &far)).await,
        app: with_cookie(db.app(), &far),
    };
    assert_eq!(
        send_photo(&far, &code, "photo-key-0004", None, &picture)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let low = db
        .sign_in(
            "ks.thap",
            UserRole::Engineer,
            Classification::Public,
            &["TBI"],
        )
        .await;
    let low = Engineer {
        csrf: crate::common::csrf_of(&with_cookie(db.app(), &low)).await,
        app: with_cookie(db.app(), &low),
    };
    let (status, answer) = send_photo(&low, &code, "photo-key-0005", None, &picture).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!answer.to_string().contains("history"), "{answer}");
    assert_eq!(photos_of(&db, &code).await, photos0 + 1);
}

/// `/field` lists the sites an engineer may update, and no site above their clearance,
/// for each level; other roles are refused; the page names the offline pieces.
#[tokio::test]
async fn the_field_page_lists_only_what_each_clearance_may_update() {
    let db = TestDb::with_demo(400, 22).await;
    let client = db.client().await;
    for clearance in Classification::ALL {
        let name = format!("ks.{}", clearance.code());
        let cookie = db
            .sign_in(&name, UserRole::Engineer, *clearance, &["TBI"])
            .await;
        let app = with_cookie(db.app(), &cookie);
        let (status, page) = crate::common::get(&app, "/field").await;
        assert_eq!(status, StatusCode::OK);
        let listed = page.matches("<li data-code=").count() as i64;
        let expected = count(
            &client,
            &format!(
                "SELECT count(*) FROM site s JOIN admin_unit d ON d.id = s.district_id
              WHERE d.abbr = 'TBI' AND s.classification <= '{}'",
                clearance.code()
            ),
        )
        .await;
        assert_eq!(listed, expected, "{clearance:?}");
        let above = client
            .query(
                "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id
                  WHERE d.abbr = 'TBI' AND s.classification > $1::text::classification",
                &[&clearance.code()],
            )
            .await
            .unwrap();
        for row in above {
            let code: String = row.get(0);
            assert!(
                !page.contains(&format!("data-code=\"{code}\"")),
                "{code} shown to {clearance:?}"
            );
        }
        assert!(page.contains("id=\"map-download\"") && page.contains("data-extent="));
    }
    let viewer = db
        .sign_in("xem", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let (status, _) = crate::common::get(&with_cookie(db.app(), &viewer), "/field").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = crate::common::get(&db.app(), "/field").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "anonymous: sent to sign in");
}

/// Engineer A's update crossing B's on `code`: the conflict's id and the percent before.
async fn crossed(a: &Engineer, b: &Engineer, code: &str) -> (i64, i64) {
    let base = state(a, code).await;
    let pct = base["percent"].as_i64().unwrap();
    let (status, _) = patch(
        b,
        code,
        None,
        json!({ "version": base["version"], "percent": pct + 2 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = patch(
        a,
        code,
        None,
        json!({ "base_version": base["version"], "percent": pct + 6, "note": "đo lại" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    (answer["conflict"]["id"].as_i64().unwrap(), pct)
}

#[tokio::test]
async fn a_supervisor_resolves_an_engineers_conflict_and_the_site_page_shows_it_to_who_may() {
    let db = TestDb::with_demo(300, 21).await;
    let code = site(&db).await;
    db.client()
        .await
        .execute(
            "UPDATE site SET classification = 'confidential' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let (a, b) = (engineer(&db, "ks.a").await, engineer(&db, "ks.b").await);
    let (id, pct) = crossed(&a, &b, &code).await;
    let signed_in = |name: &'static str, role, clearance| {
        let db = &db;
        async move {
            let cookie = db.sign_in(name, role, clearance, &[]).await;
            let app = with_cookie(db.app(), &cookie);
            let csrf = crate::common::csrf_of(&app).await;
            Engineer { app, csrf }
        }
    };
    let chief = signed_in("chi.huy", UserRole::Admin, Classification::Confidential).await;
    let low = signed_in("qt.thap", UserRole::Admin, Classification::Internal).await;
    let viewer = signed_in("xem", UserRole::Viewer, Classification::Secret).await;
    // The site page says a conflict waits to whoever may resolve it, and to no one else.
    let warned = |e: &Engineer| {
        let (app, code) = (e.app.clone(), code.clone());
        async move {
            let (status, _, body) = call(&app, "GET", &format!("/sites/{code}"), &[], "").await;
            (
                status,
                body.contains("Cập nhật xung đột chờ giải quyết")
                    && body.contains(&format!("/field/conflicts?lang=vi#c{id}")),
            )
        }
    };
    assert_eq!(warned(&a).await, (StatusCode::OK, true), "its author");
    assert_eq!(
        warned(&chief).await,
        (StatusCode::OK, true),
        "a cleared admin"
    );
    assert_eq!(
        warned(&b).await,
        (StatusCode::OK, false),
        "another engineer"
    );
    assert_eq!(warned(&viewer).await, (StatusCode::OK, false), "a viewer");
    assert_eq!(
        warned(&low).await.0,
        StatusCode::NOT_FOUND,
        "above clearance"
    );
    let (status, _, page) = call(&chief.app, "GET", "/field/conflicts", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("id=\"c{id}\"")) && page.contains("ks.a"));
    let (status, _, page) = call(&low.app, "GET", "/field/conflicts", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&code), "above clearance: not listed");
    // The admin under the site's clearance may not resolve it; a viewer may not at all.
    let resolve = |e: &Engineer| {
        let (app, csrf) = (e.app.clone(), e.csrf.clone());
        async move {
            call(
                &app,
                "POST",
                &format!("/field/conflicts/{id}"),
                &[("content-type", "application/x-www-form-urlencoded")],
                format!("csrf={csrf}&percent=theirs"),
            )
            .await
        }
    };
    assert_eq!(resolve(&low).await.0, StatusCode::NOT_FOUND);
    assert_eq!(resolve(&viewer).await.0, StatusCode::FORBIDDEN);
    let history0 = history(&db, &code).await;
    // The cleared admin, with no district of their own, keeps B's percent and A's note.
    let (status, _, body) = resolve(&chief).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(history(&db, &code).await, history0 + 1, "one history row");
    let now = state(&a, &code).await;
    assert_eq!(now["percent"], pct + 2);
    let client = db.client().await;
    let named = count(
        &client,
        &format!(
            "SELECT count(*) FROM audit_log WHERE entity_key = '{code}' AND actor = 'chi.huy'
               AND after->'conflict'->>'mine_by' = 'ks.a'
               AND after->'conflict'->'theirs_by' ? 'ks.b'
               AND after->'conflict'->>'resolved_by' = 'chi.huy'
               AND after->>'note' = 'đo lại'"
        ),
    )
    .await;
    assert_eq!(
        named, 1,
        "one audit row naming both authors and the resolver"
    );
    assert_eq!(warned(&a).await, (StatusCode::OK, false), "resolved");
    assert_eq!(resolve(&a).await.0, StatusCode::NOT_FOUND, "resolved once");
}
