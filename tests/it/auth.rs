//! Signing in and out: cookies, CSRF, rotation, throttling, disabled accounts.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::common::{count, TestDb};
use kvpt::accounts::users::{self, NewUser};
use kvpt::domain::{Classification, UserRole};

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    cookies: &str,
    form: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    let body = match form {
        Some(f) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// `name=value` of each Set-Cookie, and the whole header of `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<(String, String)> {
    headers.get_all(header::SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().unwrap();
        let value = v
            .strip_prefix(&format!("{name}="))?
            .split(';')
            .next()?
            .to_string();
        Some((value, v.to_string()))
    })
}

async fn with_user(db: &TestDb) {
    let mut client = db.client().await;
    users::add(
        &mut client,
        &NewUser {
            username: "ks.tbi".into(),
            display_name: "Kỹ sư Tân Biên".into(),
            role: UserRole::Engineer,
            clearance: Classification::Confidential,
            unit: None,
            districts: vec!["TBI".into()],
        },
        "mật khẩu đủ dài",
        "test",
    )
    .await
    .unwrap();
}

/// Opens the login page; its CSRF cookie.
async fn login_csrf(app: &axum::Router) -> String {
    let (status, headers, body) = send(app, "GET", "/login?next=/map", "", None).await;
    assert_eq!(status, StatusCode::OK);
    let (csrf, _) = set_cookie(&headers, "kvpt_login_csrf").expect("a CSRF cookie");
    assert!(body.contains(&csrf) && body.contains("Đăng nhập"));
    csrf
}

async fn sign_in(app: &axum::Router, password: &str) -> (StatusCode, HeaderMap, String) {
    let csrf = login_csrf(app).await;
    let form = format!(
        "username=ks.tbi&password={}&csrf={csrf}&next=%2Fmap",
        password.replace(' ', "+")
    );
    send(
        app,
        "POST",
        "/login",
        &format!("kvpt_login_csrf={csrf}"),
        Some(&form),
    )
    .await
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_and_signing_out_ends_it() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let (status, headers, _) = sign_in(&app, "mật khẩu đủ dài").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/map");
    let (token, full) = set_cookie(&headers, "kvpt_session").unwrap();
    assert!(
        full.contains("HttpOnly") && full.contains("SameSite=Strict") && full.contains("Path=/"),
        "{full}"
    );
    assert_eq!(token.len(), 64);
    let session = format!("kvpt_session={token}");
    let (status, _, body) = send(&app, "GET", "/api/me", &session, None).await;
    assert_eq!(status, StatusCode::OK);
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["username"], "ks.tbi");
    assert_eq!(me["clearance"], "confidential");
    // Only the token's hash is stored.
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            &format!(
                "SELECT count(*) FROM user_session WHERE token_hash = sha256('{token}'::bytea)"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM user_session WHERE encode(token_hash, 'hex') = '{token}'"
        )
        .await,
        0
    );

    // Logout needs the session's CSRF token.
    let (status, _, _) = send(&app, "POST", "/logout", &session, Some("csrf=wrong")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let csrf = me["csrf_token"].as_str().unwrap();
    let (status, headers, _) = send(
        &app,
        "POST",
        "/logout",
        &session,
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&headers, "kvpt_session")
        .unwrap()
        .1
        .contains("Max-Age=0"));
    let (status, _, _) = send(&app, "GET", "/api/me", &session, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_new_login_rotates_the_session() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let (_, headers, _) = sign_in(&app, "mật khẩu đủ dài").await;
    let (first, _) = set_cookie(&headers, "kvpt_session").unwrap();
    let csrf = login_csrf(&app).await;
    let (_, headers, _) = send(
        &app,
        "POST",
        "/login",
        &format!("kvpt_login_csrf={csrf}; kvpt_session={first}"),
        Some(&format!("username=ks.tbi&password=m%E1%BA%ADt+kh%E1%BA%A9u+%C4%91%E1%BB%A7+d%C3%A0i&csrf={csrf}")),
    )
    .await;
    let (second, _) = set_cookie(&headers, "kvpt_session").expect("signed in again");
    assert_ne!(first, second);
    let (status, _, _) = send(
        &app,
        "GET",
        "/api/me",
        &format!("kvpt_session={first}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old session ended");
}

#[tokio::test]
async fn wrong_passwords_csrf_and_throttling() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    // No or wrong CSRF: 403, nothing recorded.
    let (status, _, body) = send(
        &app,
        "POST",
        "/login",
        "",
        Some("username=ks.tbi&password=x&csrf=abc"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("tải lại trang đăng nhập"), "{body}");
    let client = db.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM login_attempt").await,
        0
    );
    // Wrong password: 401 in Vietnamese, the form again, recorded.
    let (status, _, body) = sign_in(&app, "sai mật khẩu").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Sai tên đăng nhập hoặc mật khẩu"));
    for _ in 0..4 {
        sign_in(&app, "sai mật khẩu").await;
    }
    // Five failures: even the right password waits.
    let (status, headers, body) = sign_in(&app, "mật khẩu đủ dài").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(body.contains("quá nhiều lần"));
    assert!(set_cookie(&headers, "kvpt_session").is_none());
    // Once the window has passed, the right password works again.
    client
        .batch_execute("UPDATE login_attempt SET at = at - interval '1 hour'")
        .await
        .unwrap();
    let (status, _, _) = sign_in(&app, "mật khẩu đủ dài").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn disabled_users_and_expired_sessions_are_signed_out() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let (_, headers, _) = sign_in(&app, "mật khẩu đủ dài").await;
    let (token, _) = set_cookie(&headers, "kvpt_session").unwrap();
    let session = format!("kvpt_session={token}");
    let client = db.client().await;
    client
        .batch_execute("UPDATE user_session SET created_at = now() - interval '9 hours', expires_at = now() - interval '1 hour'")
        .await
        .unwrap();
    assert_eq!(
        send(&app, "GET", "/api/me", &session, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let mut client = db.client().await;
    users::disable(&mut client, "ks.tbi", "test").await.unwrap();
    let (status, _, _) = sign_in(&app, "mật khẩu đủ dài").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled account cannot sign in"
    );
    // An outside "next" never leaves the site.
    let csrf = login_csrf(&app).await;
    let (_, _, body) = send(&app, "GET", "/login?next=//evil.example/x", "", None).await;
    assert!(body.contains("name=\"next\" value=\"/\""), "{csrf}");
}

/// Signs `username` in with `password` from `peer` (the TCP peer's address), with
/// `forwarded` as X-Forwarded-For when given, and `next`; the status and Location.
async fn sign_in_from(
    app: &axum::Router,
    peer: &str,
    forwarded: Option<&str>,
    username: &str,
    password: &str,
    next: &str,
) -> (StatusCode, Option<String>) {
    let csrf = login_csrf(app).await;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
            ("next", next),
        ])
        .finish();
    let mut request = Request::post("/login")
        .header(header::COOKIE, format!("kvpt_login_csrf={csrf}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(f) = forwarded {
        request = request.header("x-forwarded-for", f);
    }
    let mut request = request.body(Body::from(form)).unwrap();
    let peer = std::net::SocketAddr::new(peer.parse().unwrap(), 40000);
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let response = app.clone().oneshot(request).await.unwrap();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (response.status(), location)
}

const RIGHT: &str = "mật khẩu đủ dài";

#[tokio::test]
async fn an_attacker_cannot_lock_a_user_out_from_another_address() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let attacker = "203.0.113.9";
    for _ in 0..5 {
        let (status, _) = sign_in_from(&app, attacker, None, "ks.tbi", "đoán bừa", "/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The attacker's address is held back for this name, even with the right password...
    let (status, _) = sign_in_from(&app, attacker, None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...and the user, from where they are, signs in.
    let (status, location) =
        sign_in_from(&app, "198.51.100.7", None, "ks.tbi", RIGHT, "/map").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/map"));
    // The lock-out is in the audit chain, once, with who was tried from where.
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT actor, entity_key, after->>'scope' FROM audit_log WHERE action = 'login.lockout'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), attacker);
    assert_eq!(rows[0].get::<_, String>(1), format!("ks.tbi@{attacker}"));
    assert_eq!(rows[0].get::<_, String>(2), "user_address");
    assert_eq!(
        count(&client, "SELECT count(*) FROM audit_log WHERE hash IS NULL").await,
        0,
        "chained"
    );
}

#[tokio::test]
async fn spraying_many_names_from_one_address_is_slowed() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let sprayer = "203.0.113.20";
    let max = kvpt::accounts::sessions::MAX_ADDRESS_FAILURES;
    for i in 0..max {
        let (status, _) = sign_in_from(
            &app,
            sprayer,
            None,
            &format!("ten.{i}"),
            "Mùa-xuân-2025",
            "/",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "try {i}");
    }
    // Every name from that address waits now, a fresh one and a real one alike.
    for name in ["ten.moi", "ks.tbi"] {
        let (status, _) = sign_in_from(&app, sprayer, None, name, RIGHT, "/").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{name}");
    }
    let (status, _) = sign_in_from(&app, "198.51.100.7", None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'login.lockout'
                  AND entity_key = '{sprayer}' AND after->>'scope' = 'address'"
            )
        )
        .await,
        1
    );
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let proxy = "10.0.0.1";
    // Without a trusted proxy the header is the client's to invent: ignored.
    let app = db.app();
    for i in 0..5 {
        let forged = format!("198.51.100.{i}");
        sign_in_from(&app, proxy, Some(&forged), "ks.tbi", "sai", "/").await;
    }
    let (status, _) = sign_in_from(&app, proxy, Some("192.0.2.77"), "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "counted by the peer");

    // Behind a trusted proxy, the address it names is the client's.
    let behind = kvpt::web::router(
        kvpt::web::AppState::new(db.pool()).trusted_proxies("10.0.0.0/8".parse().unwrap()),
    );
    let proxy = "10.0.0.2";
    for _ in 0..5 {
        sign_in_from(
            &behind,
            proxy,
            Some("6.6.6.6, 203.0.113.9"),
            "ks.tbi",
            "sai",
            "/",
        )
        .await;
    }
    let (status, _) = sign_in_from(&behind, proxy, Some("203.0.113.9"), "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) =
        sign_in_from(&behind, proxy, Some("198.51.100.7"), "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM login_attempt WHERE remote_addr = '203.0.113.9' AND NOT succeeded"
        )
        .await,
        5
    );
}

#[tokio::test]
async fn a_hostile_next_never_leaves_the_site_after_signing_in() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let long = format!("/{}", "a".repeat(10_000));
    let hostile = [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\n/evil.example/",
        "/\u{b}/x",
        "/\u{c}/x",
        "/\u{0}/x",
        "/\u{85}/evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\\\\evil.example",
        "//evil.example/",
        "///evil.example/",
        "/.//evil.example",
        "/%2e//evil.example",
        " /evil.example",
        "/ /evil.example",
        "javascript:alert(1)",
        "http://evil.example/",
        "https:evil.example",
        "evil.example",
        long.as_str(),
    ];
    for next in hostile {
        let (status, location) = sign_in_from(&app, "192.0.2.1", None, "ks.tbi", RIGHT, next).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location.as_deref(), Some("/"), "{next:?}");
        // The form keeps none of it either.
        let query: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let (status, _, body) = send(&app, "GET", &format!("/login?next={query}"), "", None).await;
        // A NUL is refused before any page (400); any other next gives the form with "/".
        if status != StatusCode::BAD_REQUEST || !next.contains('\0') {
            assert_eq!(status, StatusCode::OK, "{next:?}");
            assert!(body.contains("name=\"next\" value=\"/\""), "{next:?}");
        }
    }
    // Paths of the site come back as they were (letters beyond ASCII encoded).
    for (next, kept) in [
        (
            "/sites/CHOT-TBI-0012?lang=en",
            "/sites/CHOT-TBI-0012?lang=en",
        ),
        ("/map?q=Tân", "/map?q=T%C3%A2n"),
        ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
    ] {
        let (status, location) = sign_in_from(&app, "192.0.2.1", None, "ks.tbi", RIGHT, next).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location.as_deref(), Some(kept), "{next:?}");
    }
}

#[tokio::test]
async fn many_addresses_guessing_one_name_leave_the_addresses_it_uses_open() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    let home = "198.51.100.7";
    let (status, _) = sign_in_from(&app, home, None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let max = kvpt::accounts::sessions::MAX_NAME_FAILURES;
    for i in 0..max {
        let botnet = format!("203.0.{}.{}", i / 200, i % 200 + 1);
        let (status, _) = sign_in_from(&app, &botnet, None, "ks.tbi", "đoán", "/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{botnet}");
    }
    // A fresh address waits, even with the right password; the user's own does not.
    let (status, _) = sign_in_from(&app, "192.0.2.50", None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = sign_in_from(&app, home, None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM audit_log WHERE action = 'login.lockout' AND after->>'scope' = 'user'
               AND entity_key = 'ks.tbi'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_ipv6_subscriber_counts_as_its_64_and_odd_names_as_one_cut_short() {
    let db = TestDb::new().await;
    with_user(&db).await;
    let app = db.app();
    for i in 1..=5 {
        let addr = format!("2001:db8:1:2::{i:x}");
        sign_in_from(&app, &addr, None, "ks.tbi", "sai", "/").await;
    }
    let (status, _) = sign_in_from(&app, "2001:db8:1:2::99", None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the same /64");
    let (status, _) = sign_in_from(&app, "2001:db8:1:3::1", None, "ks.tbi", RIGHT, "/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "another /64");
    // A name no account could have is refused like a wrong password, recorded cut short.
    let long = "X".repeat(5000);
    let (status, _) = sign_in_from(&app, "192.0.2.9", None, &long, RIGHT, "/").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            "SELECT max(length(username))::int8 FROM login_attempt"
        )
        .await,
        64
    );
}
