//! Who sees what: anonymous visitors see public works (or nothing, when the deployment
//! says so), signed-in users up to their clearance, in items, tiles and pages; sessions
//! ended elsewhere stop working at once.

use crate::common::{count, request, with_cookie, with_token, TestDb};
use axum::http::{header, StatusCode};
use kvpt::domain::{Classification, UserRole};

async fn matched(app: &axum::Router, uri: &str) -> i64 {
    let (status, _, body) = request(app, uri, &[]).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    page["numberMatched"].as_i64().unwrap()
}

#[tokio::test]
async fn each_caller_sees_up_to_their_clearance() {
    let db = TestDb::with_demo(300, 5).await;
    let client = db.client().await;
    let visible = |level: &'static str| {
        let client = &client;
        async move {
            count(
                client,
                &format!("SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= '{level}'"),
            )
            .await
        }
    };
    let uri = "/collections/sites/items?limit=1";
    assert_eq!(matched(&db.app(), uri).await, visible("public").await);
    for (clearance, level) in [
        (Classification::Internal, "internal"),
        (Classification::Confidential, "confidential"),
        (Classification::Secret, "secret"),
    ] {
        let app = db.app_as(UserRole::Viewer, clearance).await;
        assert_eq!(matched(&app, uri).await, visible(level).await, "{level}");
    }
    // A secret site: not found for an internal planner, there for a secret one.
    let code: String = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND classification = 'secret'
                AND kind IN (SELECT code FROM site_kind WHERE layer_group = 'defence_works')
              ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let item = format!("/collections/sites/items/{code}");
    let internal = db.internal_app().await;
    assert_eq!(
        request(&internal, &item, &[]).await.0,
        StatusCode::NOT_FOUND
    );
    let secret = db.app_as(UserRole::Viewer, Classification::Secret).await;
    assert_eq!(request(&secret, &item, &[]).await.0, StatusCode::OK);
    // Tiles: what each sees differs, and so do the tags (made from the bytes).
    let r = client
        .query_one(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM site WHERE geom IS NOT NULL AND code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let t = kvpt::spatial::tile::TileCoord::containing(r.get(0), r.get(1), 8);
    let tile = &format!("/tiles/defence_works/{}/{}/{}.mvt", t.z, t.x, t.y);
    let (_, a, _) = request(&db.app(), tile, &[]).await;
    let (_, b, _) = request(&secret, tile, &[]).await;
    assert_ne!(a.get(header::ETAG), b.get(header::ETAG));
}

/// `body` without its `"timeStamp":"…"` member.
fn without_stamp(body: &str) -> String {
    match body.find("\"timeStamp\":\"") {
        Some(at) => {
            let rest = &body[at + 13..];
            let end = rest.find('"').map_or(body.len(), |e| at + 13 + e + 1);
            format!("{}{}", &body[..at], &body[end..])
        }
        None => body.to_string(),
    }
}

/// A token reaches exactly what its user's session reaches, on every read path that
/// answers data (items, tiles, exports, dashboards, field lists), at every clearance and
/// for a user tied to one district.
#[tokio::test]
async fn a_token_reads_what_its_users_session_reads_on_every_path() {
    let db = TestDb::with_demo(300, 7).await;
    let client = db.client().await;
    let (code, x, y): (String, f64, f64) = {
        let r = client
            .query_one(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
                   FROM site WHERE geom IS NOT NULL AND classification = 'secret'
                    AND kind IN (SELECT code FROM site_kind WHERE layer_group = 'defence_works')
                  ORDER BY id LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    let t = kvpt::spatial::tile::TileCoord::containing(x, y, 8);
    let tile = format!("/tiles/defence_works/{}/{}/{}.mvt", t.z, t.x, t.y);
    let item = format!("/collections/sites/items/{code}");
    let page = format!("/sites/{code}");
    // (uri, whether the bodies must be equal byte for byte)
    let paths: Vec<(&str, bool)> = vec![
        ("/collections/sites/items?limit=1000", true),
        ("/collections/defence_works/items?limit=1000", true),
        ("/collections/search_zones/items?limit=1000", true),
        (&item, true),
        (&tile, true),
        ("/tiles/defence_works.json", true),
        ("/exports/count?profile=qk7", true),
        ("/dashboard.csv", true),
        ("/api/progress/template.csv", true),
        ("/api/search/template.csv", true),
        ("/api/conflicts", true),
        ("/api/me", false),
        ("/api/exports/log", false),
        (&page, false),
        ("/map", false),
    ];
    let users = [
        (
            "doc.noibo",
            UserRole::Viewer,
            Classification::Internal,
            vec![],
        ),
        (
            "doc.mat",
            UserRole::Viewer,
            Classification::Confidential,
            vec![],
        ),
        (
            "doc.tuyetmat",
            UserRole::Viewer,
            Classification::Secret,
            vec![],
        ),
        (
            "ks.tbi",
            UserRole::Engineer,
            Classification::Secret,
            vec!["TBI"],
        ),
        (
            "qt.mat",
            UserRole::Admin,
            Classification::Confidential,
            vec![],
        ),
    ];
    for (name, role, clearance, districts) in users {
        let cookie = db.sign_in(name, role, clearance, &districts).await;
        let session = with_cookie(db.app(), &cookie);
        let token = with_token(
            db.app(),
            &db.token(name, kvpt::accounts::tokens::Scope::Read).await,
        );
        for (uri, same_body) in &paths {
            let (a, ha, body_a) = request(&session, uri, &[]).await;
            let (b, hb, body_b) = request(&token, uri, &[]).await;
            assert_eq!(a, b, "{name} {uri}: {body_b}");
            assert!(!hb.contains_key(header::SET_COOKIE), "{name} {uri}");
            if *same_body {
                assert_eq!(ha.get(header::ETAG), hb.get(header::ETAG), "{name} {uri}");
                // Pages of items carry the time they were made, which may tick between.
                assert!(
                    without_stamp(&body_a) == without_stamp(&body_b),
                    "{name} {uri}: bodies differ"
                );
            }
        }
        // And not one line above clearance: the secret work is there only for the secret.
        let (status, _, _) = request(&token, &item, &[]).await;
        let expected = if clearance == Classification::Secret {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, expected, "{name} {item}");
    }
}

#[tokio::test]
async fn a_closed_deployment_shows_anonymous_visitors_nothing() {
    let db = TestDb::with_demo(50, 5).await;
    let app = kvpt::web::router(kvpt::web::AppState::new(db.pool()).anonymous(None));
    for uri in [
        "/collections/sites/items",
        "/collections/sites/items/ANY-1",
        "/collections",
        "/tiles/border_markers/8/203/121.mvt",
        "/tiles/border_markers.json",
    ] {
        let (status, _, body) = request(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
    }
    // People are sent to sign in and brought back.
    for (uri, next) in [("/map", "%2Fmap"), ("/?lang=en", "%2F%3Flang%3Den")] {
        let (status, headers, _) = request(&app, uri, &[("accept", "text/html")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
        let location = headers[header::LOCATION].to_str().unwrap();
        assert!(
            location.starts_with(&format!("/login?next={next}")),
            "{uri}: {location}"
        );
    }
    // Signed in, the same deployment answers.
    let cookie = db
        .sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let signed_in = with_cookie(
        kvpt::web::router(kvpt::web::AppState::new(db.pool()).anonymous(None)),
        &cookie,
    );
    assert_eq!(
        request(&signed_in, "/collections/sites/items", &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(request(&signed_in, "/map", &[]).await.0, StatusCode::OK);
    // The probes stay open, and so does the landing document: links and a title, no
    // data, so that a GIS client can find where to sign in.
    assert_eq!(request(&app, "/healthz", &[]).await.0, StatusCode::OK);
    let (status, _, landing) = request(&app, "/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!landing.contains("numberMatched") && !landing.contains("features"));
    assert_eq!(request(&app, "/login", &[]).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_ended_elsewhere_stop_at_once() {
    let db = TestDb::with_demo(20, 5).await;
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    let cookie = db
        .sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let app = with_cookie(kvpt::web::router(state), &cookie);
    // Wait for the listener, then let the session be cached.
    let mut signed_in = false;
    for _ in 0..100 {
        if request(&app, "/api/me", &[]).await.0 == StatusCode::OK {
            signed_in = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(signed_in);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(request(&app, "/api/me", &[]).await.0, StatusCode::OK);
    // Another process disables the account (as `kvpt user disable` does).
    let mut client = db.client().await;
    kvpt::accounts::users::disable(&mut client, "planner", "test")
        .await
        .unwrap();
    let mut refused = false;
    for _ in 0..40 {
        if request(&app, "/api/me", &[]).await.0 == StatusCode::UNAUTHORIZED {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(refused, "a disabled account still signed in after a second");
}

/// (method, uri, content type, body, the roles allowed, whether it is a page)
type Route = (
    &'static str,
    String,
    String,
    String,
    &'static [UserRole],
    bool,
);

/// Every mutating route, who may use it, and how a refusal looks.
#[tokio::test]
async fn role_by_route_matrix_for_every_mutating_route() {
    let db = TestDb::with_demo(200, 5).await;
    let client = db.client().await;
    let code: String = client
        .query_one(
            "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id AND s.geom IS NOT NULL
              WHERE d.abbr = 'TBI' AND s.status = 'under_construction' ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "UPDATE site SET classification = 'internal' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    let (form, form_type) = crate::common::multipart(&[("csrf", "CSRF")], &[]);
    let form = String::from_utf8(form).unwrap();
    // (method, uri, content type, body, the role allowed, whether it is a page)
    let routes: Vec<Route> = vec![
        ("POST", format!("/sites/{code}/progress"), form_type.clone(), form.clone(), &[UserRole::Engineer], true),
        ("PATCH", format!("/api/sites/{code}/progress"), "application/json".into(), "{\"version\": 1}".into(), &[UserRole::Engineer], false),
        ("POST", "/progress/bulk".into(), form_type.clone(), form.clone(), &[UserRole::Engineer], true),
        ("POST", "/api/progress/bulk".into(), "text/csv".into(), "code,status,percent,version\n".into(), &[UserRole::Engineer], false),
        ("POST", format!("/sites/{code}/budget"), "application/x-www-form-urlencoded".into(),
         "csrf=CSRF&version=0&year=2024&source=other&estimate=1&allocated=1&disbursed=0&settled=0".into(), &[UserRole::BudgetOfficer], true),
        ("PUT", format!("/api/sites/{code}/budget/2024/other"), "application/json".into(),
         "{\"estimate\":1,\"allocated\":1,\"disbursed\":0,\"settled\":0,\"version\":0}".into(), &[UserRole::BudgetOfficer], false),
        ("POST", "/admin/users".into(), "application/x-www-form-urlencoded".into(),
         "csrf=CSRF&username=new.user&display_name=Ng%C6%B0%E1%BB%9Di+m%E1%BB%9Bi&role=viewer&clearance=public&password=mat-khau-du-dai".into(),
         &[UserRole::Admin], true),
        ("POST", "/admin/users/mviewer".into(), "application/x-www-form-urlencoded".into(),
         "csrf=CSRF&action=save&role=viewer&clearance=secret&districts=TBI".into(), &[UserRole::Admin], true),
        ("POST", "/api/sync/progress".into(), "application/json".into(), "{\"updates\": []}".into(), &[UserRole::Engineer], false),
        ("PUT", format!("/api/sites/{code}/search"), "application/json".into(), "{\"version\": 1}".into(), &[UserRole::Engineer], false),
        ("POST", format!("/api/sites/{code}/photos"), form_type.clone(), form.clone(), &[UserRole::Engineer], false),
        ("POST", "/api/conflicts/999999".into(), "application/json".into(), "{\"picks\": {}}".into(), &[UserRole::Engineer, UserRole::Admin], false),
        ("POST", "/field/conflicts/999999".into(), "application/x-www-form-urlencoded".into(), "csrf=CSRF".into(), &[UserRole::Engineer, UserRole::Admin], true),
    ];
    let mut apps = Vec::new();
    let mut tokens = Vec::new();
    for role in UserRole::ALL {
        let name = format!("m{}", role.code().replace('_', ""));
        let cookie = db
            .sign_in(&name, *role, Classification::Secret, &["TBI"])
            .await;
        let app = with_cookie(db.app(), &cookie);
        let csrf = crate::common::csrf_of(&app).await;
        apps.push((*role, app, csrf));
        use kvpt::accounts::tokens::Scope;
        let write = with_token(db.app(), &db.token(&name, Scope::ReadWrite).await);
        let read = with_token(db.app(), &db.token(&name, Scope::Read).await);
        tokens.push((*role, write, read));
    }
    for (method, uri, content_type, body, allowed, page) in &routes {
        // Anonymous: sent to sign in (pages) or 401 (API).
        let (status, headers, _) = crate::common::call(
            &db.app(),
            method,
            uri,
            &[("content-type", content_type)],
            body.replace("CSRF", "x"),
        )
        .await;
        if *page {
            assert_eq!(status, StatusCode::SEE_OTHER, "anonymous {method} {uri}");
            assert!(headers[header::LOCATION]
                .to_str()
                .unwrap()
                .starts_with("/login"));
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous {method} {uri}");
        }
        for (role, app, csrf) in &apps {
            let (status, _, text) = crate::common::call(
                app,
                method,
                uri,
                &[("content-type", content_type), ("x-csrf-token", csrf)],
                body.replace("CSRF", csrf),
            )
            .await;
            if allowed.contains(role) {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role:?} {method} {uri}: {status} {text}"
                );
                // The right role with a wrong CSRF token: 403.
                let (status, _, _) = crate::common::call(
                    app,
                    method,
                    uri,
                    &[("content-type", content_type), ("x-csrf-token", "wrong")],
                    body.replace("CSRF", "wrong"),
                )
                .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {uri} with a wrong token"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {method} {uri}: {text}"
                );
            }
        }
        // The same with tokens: a read,write token needs no CSRF token and is held to its
        // user's role; a read token writes nothing, whoever holds it, and says why.
        for (role, write, read) in &tokens {
            let (status, _, text) = crate::common::call(
                write,
                method,
                uri,
                &[("content-type", content_type)],
                body.clone(),
            )
            .await;
            if allowed.contains(role) {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role:?} token {method} {uri}: {status} {text}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role:?} token {method} {uri}: {text}"
                );
            }
            let (status, _, text) = crate::common::call(
                read,
                method,
                uri,
                &[("content-type", content_type)],
                body.clone(),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{role:?} read token {method} {uri}"
            );
            if allowed.contains(role) {
                assert!(
                    text.contains("read,write"),
                    "{role:?} read token {method} {uri}: {text}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_changed_role_applies_to_a_live_session() {
    let db = TestDb::with_demo(20, 5).await;
    let cookie = db
        .sign_in(
            "ks.x",
            UserRole::Engineer,
            Classification::Internal,
            &["TBI"],
        )
        .await;
    let app = with_cookie(db.app(), &cookie);
    let (_, _, me) = request(&app, "/api/me", &[]).await;
    assert!(me.contains("\"engineer\""));
    let mut client = db.client().await;
    let change = kvpt::accounts::users::UserChange {
        role: Some(UserRole::Viewer),
        clearance: Some(Classification::Public),
        ..Default::default()
    };
    kvpt::accounts::users::set(&mut client, "ks.x", &change, "test")
        .await
        .unwrap();
    let (_, _, me) = request(&app, "/api/me", &[]).await;
    assert!(
        me.contains("\"viewer\"") && me.contains("\"public\""),
        "{me}"
    );
    assert_eq!(
        count(
            &db.client().await,
            "SELECT count(*) FROM audit_log WHERE action = 'user.set'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn administrators_manage_accounts_from_the_page() {
    let db = TestDb::with_demo(20, 5).await;
    let admin = db.app_as(UserRole::Admin, Classification::Secret).await;
    let csrf = crate::common::csrf_of(&admin).await;
    let post = |uri: &str, body: String| {
        let admin = admin.clone();
        let uri = uri.to_string();
        async move {
            crate::common::call(
                &admin,
                "POST",
                &uri,
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let (status, _, page) = post("/admin/users", format!(
        "csrf={csrf}&username=ks.tbi&display_name=K%E1%BB%B9+s%C6%B0&role=engineer&clearance=internal&districts=TBI&password=mat-khau-du-dai")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("ks.tbi") && page.contains("Kỹ sư"));
    // A taken name and a short password are said plainly, nothing written twice.
    let (status, _, page) = post("/admin/users", format!(
        "csrf={csrf}&username=ks.tbi&display_name=X&role=viewer&clearance=public&password=mat-khau-du-dai")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("đã có"), "{page}");
    let (status, _, _) = post(
        "/admin/users",
        format!(
        "csrf={csrf}&username=ks.two&display_name=X&role=viewer&clearance=public&password=short"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Change the engineer's clearance and districts, then disable the account.
    let (status, _, _) = post(
        "/admin/users/ks.tbi",
        format!("csrf={csrf}&action=save&role=engineer&clearance=confidential&districts=TBI,TCH"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let client = db.client().await;
    let listed = kvpt::accounts::users::list(&client).await.unwrap();
    let user = listed.iter().find(|u| u.username == "ks.tbi").unwrap();
    assert_eq!(user.clearance, "confidential");
    assert_eq!(user.districts, ["TBI", "TCH"]);
    let (status, _, _) = post("/admin/users/ks.tbi", format!("csrf={csrf}&action=disable")).await;
    assert_eq!(status, StatusCode::OK);
    let listed = kvpt::accounts::users::list(&client).await.unwrap();
    assert!(
        listed
            .iter()
            .find(|u| u.username == "ks.tbi")
            .unwrap()
            .disabled
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM audit_log WHERE entity = 'user' AND actor LIKE 'admin%'"
        )
        .await,
        3
    );
    let (status, _, _) = post("/admin/users/nobody", format!("csrf={csrf}&action=disable")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn clearing_a_unit_ends_its_write_access_and_a_disabled_account_can_be_enabled() {
    let db = TestDb::with_demo(40, 5).await;
    let client = db.client().await;
    // An engineer of the unit in charge of one internal site, with no districts.
    let (code, unit, version): (String, String, i32) = {
        let r = client
            .query_one(
                "SELECT code, responsible_unit, version FROM site
                  WHERE responsible_unit IS NOT NULL AND classification = 'internal'
                    AND status = 'under_construction' ORDER BY code LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    let mut c = db.client().await;
    kvpt::accounts::users::add(
        &mut c,
        &kvpt::accounts::users::NewUser {
            username: "ks.donvi".into(),
            display_name: "Kỹ sư đơn vị".into(),
            role: UserRole::Engineer,
            clearance: Classification::Internal,
            unit: Some(unit.clone()),
            districts: vec![],
        },
        crate::common::PASSWORD,
        "test",
    )
    .await
    .unwrap();
    let admin = db.app_as(UserRole::Admin, Classification::Secret).await;
    let csrf = crate::common::csrf_of(&admin).await;
    let post = |body: String| {
        let admin = admin.clone();
        async move {
            crate::common::call(
                &admin,
                "POST",
                "/admin/users/ks.donvi",
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let (dbr, code) = (&db, code.as_str());
    let update =
        |version: i32| async move {
            let engineer = with_cookie(dbr.app(), &dbr.session_of("ks.donvi").await);
            let csrf = crate::common::csrf_of(&engineer).await;
            crate::common::call(
            &engineer,
            "PATCH",
            &format!("/api/sites/{code}/progress"),
            &[("x-csrf-token", &csrf), ("content-type", "application/json")],
            serde_json::json!({"version": version, "percent": 99, "status": "under_construction",
                               "note": "kiểm tra quyền theo đơn vị"})
            .to_string(),
        )
        .await
        .0
        };
    // Saved with an empty unit: the unit is gone, and with it the right to update its sites.
    let (status, _, page) = post(format!(
        "csrf={csrf}&action=save&role=engineer&clearance=internal&unit=&districts="
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM app_user WHERE username = 'ks.donvi' AND unit IS NULL"
        )
        .await,
        1
    );
    assert_eq!(update(version).await, StatusCode::FORBIDDEN);
    // Given back its unit, the engineer may again.
    let (status, _, _) = post(format!(
        "csrf={csrf}&action=save&role=engineer&clearance=internal&unit={}&districts=",
        form_urlencoded::byte_serialize(unit.as_bytes()).collect::<String>()
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(update(version).await, StatusCode::OK);

    // Disabled, then enabled again from the page: the password works as before.
    let (status, _, _) = post(format!("csrf={csrf}&action=disable")).await;
    assert_eq!(status, StatusCode::OK);
    let mut c = db.client().await;
    assert_eq!(
        kvpt::accounts::sessions::login(&mut c, "ks.donvi", crate::common::PASSWORD, None, None)
            .await
            .unwrap(),
        kvpt::accounts::sessions::LoginOutcome::WrongCredentials
    );
    let (status, _, page) = post(format!("csrf={csrf}&action=enable")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("value=\"disable\""),
        "the line offers to disable again"
    );
    db.session_of("ks.donvi").await;
    let audited: Vec<(String, String)> = client
        .query(
            "SELECT action, after::text FROM audit_log WHERE entity = 'user' AND entity_key = 'ks.donvi'
              ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let actions: Vec<&str> = audited.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.add",
            "user.set",
            "user.set",
            "user.disable",
            "user.enable"
        ]
    );
    assert!(audited[1].1.contains("\"unit\": null"), "{:?}", audited[1]);
}
