//! Personal access tokens (issue 21 §1): QGIS, GDAL and scripts come with
//! `Authorization: Bearer` or HTTP Basic (user:token) and see exactly what their user sees;
//! a `read` token writes nothing; unknown, expired or revoked tokens are a 401 with
//! `WWW-Authenticate`, a password is never taken, failures are throttled like sign-ins; no
//! cookie is set; creation, a new address and revocation are audited.

use axum::http::StatusCode;
use kvpt::accounts::tokens::{self, Scope};
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

use crate::common::{call, count, with_cookie, TestDb, PASSWORD};

async fn token(db: &TestDb, user: &str, scope: Scope) -> String {
    db.token(user, scope).await
}

fn basic(user: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

async fn matched(db: &TestDb, authorization: &str) -> (StatusCode, Option<i64>, bool) {
    let (status, headers, body) = call(
        &db.app(),
        "GET",
        "/collections/sites/items?limit=1",
        &[("authorization", authorization)],
        "",
    )
    .await;
    let page: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    (
        status,
        page["numberMatched"].as_i64(),
        headers.contains_key("set-cookie"),
    )
}

#[tokio::test]
async fn a_token_sees_what_its_user_sees_by_bearer_or_basic_and_sets_no_cookie() {
    let db = TestDb::with_demo(300, 41).await;
    db.sign_in(
        "ks.a",
        UserRole::Engineer,
        Classification::Confidential,
        &["TBI"],
    )
    .await;
    db.sign_in("xem", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let client = db.client().await;
    let visible = |level: &str| {
        format!("SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= '{level}'")
    };
    let confidential = count(&client, &visible("confidential")).await;
    let internal = count(&client, &visible("internal")).await;
    assert!(confidential > internal);

    let a = token(&db, "ks.a", Scope::Read).await;
    assert!(a.starts_with("kvpt_"));
    let (status, n, cookie) = matched(&db, &format!("Bearer {a}")).await;
    assert_eq!(
        (status, n, cookie),
        (StatusCode::OK, Some(confidential), false)
    );
    let (status, n, _) = matched(&db, &basic("ks.a", &a)).await;
    assert_eq!(
        (status, n),
        (StatusCode::OK, Some(confidential)),
        "Basic, as QGIS and GDAL send"
    );
    let viewer = token(&db, "xem", Scope::Read).await;
    let (_, n, _) = matched(&db, &format!("Bearer {viewer}")).await;
    assert_eq!(n, Some(internal), "fewer at a lower clearance");
    // Tiles too.
    let (status, _, _) = call(
        &db.app(),
        "GET",
        "/tiles/search_zones/8/203/121.mvt",
        &[("authorization", &format!("Bearer {a}"))],
        "",
    )
    .await;
    assert!(status.is_success(), "{status}");

    // A password is never taken by Basic; a token under another user's name is refused.
    for authorization in [
        basic("ks.a", PASSWORD),
        basic("xem", &a),
        "Bearer kvpt_nothing".to_string(),
        "Digest whatever".to_string(),
    ] {
        let (status, headers, body) = call(
            &db.app(),
            "GET",
            "/collections/sites/items?limit=1",
            &[("authorization", &authorization)],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization}: {body}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("Basic"),
            "{authorization}"
        );
    }
}

#[tokio::test]
async fn a_read_token_writes_nothing_and_a_write_token_needs_no_csrf() {
    let db = TestDb::with_demo(300, 42).await;
    db.sign_in(
        "ks.a",
        UserRole::Engineer,
        Classification::Confidential,
        &["TBI"],
    )
    .await;
    let code = crate::progress::site_in_tan_bien(&db).await;
    let read = token(&db, "ks.a", Scope::Read).await;
    let write = token(&db, "ks.a", Scope::ReadWrite).await;
    let state = |secret: String| {
        let app = db.app();
        let code = code.clone();
        async move {
            let (_, _, body) = call(
                &app,
                "GET",
                &format!("/api/sites/{code}/progress"),
                &[("authorization", &format!("Bearer {secret}"))],
                "",
            )
            .await;
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    let now = state(read.clone()).await;
    let body =
        json!({ "version": now["version"], "percent": now["percent"].as_i64().unwrap() + 1 })
            .to_string();
    let patch = |secret: &str| {
        let (app, code, body, auth) = (
            db.app(),
            code.clone(),
            body.clone(),
            format!("Bearer {secret}"),
        );
        async move {
            call(
                &app,
                "PATCH",
                &format!("/api/sites/{code}/progress"),
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    let (status, _, text) = patch(&read).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("scope"), "names the scope: {text}");
    let (status, headers, text) = patch(&write).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(!headers.contains_key("set-cookie"));
    // The write's WAL position, for the token's next reads (`KVPT-Min-LSN`), in a header.
    assert!(headers.contains_key("kvpt-lsn"), "{headers:?}");
    let after = state(write.clone()).await;
    assert_eq!(after["percent"], now["percent"].as_i64().unwrap() + 1);
}

#[tokio::test]
async fn revoked_and_expired_tokens_open_nothing_and_each_step_is_audited() {
    let db = TestDb::with_demo(50, 43).await;
    db.sign_in(
        "ks.a",
        UserRole::Engineer,
        Classification::Internal,
        &["TBI"],
    )
    .await;
    let client = db.pool().get().await.unwrap();
    let made = tokens::create(&client, "ks.a", "admin", "GDAL", Scope::Read, 30)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", made.secret);
    for _ in 0..2 {
        assert_eq!(matched(&db, &bearer).await.0, StatusCode::OK);
    }
    let audits = |action: &str| {
        format!(
            "SELECT count(*) FROM audit_log WHERE action = '{action}' AND entity_key = '{}'",
            made.id
        )
    };
    let plain = db.client().await;
    assert_eq!(count(&plain, &audits("token.create")).await, 1);
    assert_eq!(
        count(&plain, &audits("token.new_address")).await,
        1,
        "the first use from an address, not every use"
    );
    let listed = tokens::list(&client, "ks.a").await.unwrap();
    assert!(listed[0].last_used_at.is_some());
    assert!(tokens::revoke(&client, "ks.a", made.id, "admin")
        .await
        .unwrap());
    assert!(!tokens::revoke(&client, "ks.a", made.id, "admin")
        .await
        .unwrap());
    assert_eq!(count(&plain, &audits("token.revoke")).await, 1);
    assert_eq!(matched(&db, &bearer).await.0, StatusCode::UNAUTHORIZED);

    let other = tokens::create(&client, "ks.a", "admin", "old", Scope::Read, 30)
        .await
        .unwrap();
    plain
        .execute(
            "UPDATE api_token SET created_at = now() - interval '40 days',
                                  expires_at = now() - interval '10 days' WHERE id = $1",
            &[&other.id],
        )
        .await
        .unwrap();
    assert_eq!(
        matched(&db, &format!("Bearer {}", other.secret)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // At most a year, and a name.
    assert!(
        tokens::create(&client, "ks.a", "admin", "x", Scope::Read, 400)
            .await
            .is_err()
    );
    assert!(
        tokens::create(&client, "ks.a", "admin", " ", Scope::Read, 30)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn failed_tokens_are_throttled_like_sign_ins() {
    let db = TestDb::with_demo(20, 44).await;
    let cookie = db
        .sign_in(
            "ks.a",
            UserRole::Engineer,
            Classification::Internal,
            &["TBI"],
        )
        .await;
    let good = token(&db, "ks.a", Scope::Read).await;
    for _ in 0..kvpt::accounts::sessions::MAX_ADDRESS_FAILURES {
        assert_eq!(
            matched(&db, "Bearer kvpt_guess").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        matched(&db, "Bearer kvpt_guess").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // From the same place, even a good token waits (as a good password does).
    assert_eq!(
        matched(&db, &format!("Bearer {good}")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A browser session already open is not a token: it is not held back by this (new
    // sign-ins from this address are, as tokens count as failed sign-ins).
    let (status, _, _) = call(
        &with_cookie(db.app(), &cookie),
        "GET",
        "/collections/sites/items?limit=1",
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn kvpt_token_adds_lists_and_revokes_from_the_command_line() {
    let db = TestDb::with_demo(10, 45).await;
    db.sign_in(
        "ks.a",
        UserRole::Engineer,
        Classification::Internal,
        &["TBI"],
    )
    .await;
    let kvpt = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = kvpt(&[
        "token",
        "add",
        "ks.a",
        "--name",
        "QGIS Biên phòng",
        "--scope",
        "read,write",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(secret.starts_with("kvpt_"), "{secret}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not shown again"));
    assert_eq!(
        matched(&db, &format!("Bearer {secret}")).await.0,
        StatusCode::OK
    );
    let out = kvpt(&["token", "list", "ks.a"]);
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        list.contains("QGIS Biên phòng") && list.contains("read,write") && !list.contains(&secret),
        "{list}"
    );
    let id = list.split('\t').next().unwrap().to_string();
    let out = kvpt(&["token", "revoke", "ks.a", &id]);
    assert!(out.status.success());
    assert_eq!(
        matched(&db, &format!("Bearer {secret}")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let out = kvpt(&["token", "add", "ks.a", "--name", "x", "--scope", "admin"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scope"));
}

#[tokio::test]
async fn the_account_page_makes_a_token_shown_once_and_revokes_it_and_a_token_cannot() {
    let db = TestDb::with_demo(10, 46).await;
    let cookie = db
        .sign_in(
            "ks.a",
            UserRole::Engineer,
            Classification::Internal,
            &["TBI"],
        )
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    let form = |body: String| {
        let app = app.clone();
        async move {
            call(
                &app,
                "POST",
                "/account/tokens?lang=vi",
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let (status, _, page) = form(format!("csrf={csrf}&name=QGIS&scope=read&days=30")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("sẽ không hiện lại"), "{page}");
    let secret = page
        .split("id=\"new-token\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the token shown")
        .to_string();
    assert_eq!(
        matched(&db, &format!("Bearer {secret}")).await.0,
        StatusCode::OK
    );
    // Shown once: the page later lists it by name only.
    let (_, _, later) = call(&app, "GET", "/account?lang=vi", &[], "").await;
    assert!(later.contains("QGIS") && !later.contains(&secret));
    // Bad input says what, in Vietnamese, and makes nothing.
    let (status, _, page) = form(format!("csrf={csrf}&name=x&scope=read&days=900")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("365 ngày"), "{page}");
    // A token may not make tokens.
    let (status, _, _) = call(
        &db.app(),
        "POST",
        "/account/tokens",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Bearer {secret}")),
        ],
        "name=more&scope=read,write&days=30".to_string(),
    )
    .await;
    assert!(status == StatusCode::FORBIDDEN, "{status}");
    let id = later
        .split("data-token=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let (status, _, _) = call(
        &app,
        "POST",
        &format!("/account/tokens/{id}/revoke?lang=vi"),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        matched(&db, &format!("Bearer {secret}")).await.0,
        StatusCode::UNAUTHORIZED
    );
}
