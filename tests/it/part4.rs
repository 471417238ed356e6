//! OGC API – Features Part 4 on the site collections: POST, PUT, PATCH (JSON Merge Patch)
//! and DELETE of a work, through the import's rules, history and audit; a strong ETag from
//! the row version on every item; If-Match required (428), a stale one refused (412); a
//! work with budget lines never deleted; nobody writes above their clearance or outside
//! their districts.

use axum::http::StatusCode;
use kvpt::accounts::tokens::Scope;
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

use crate::common::{call, count, request, with_token, TestDb};

const ITEMS: &str = "/collections/logistics/items";

/// A point inside district `abbr`, as GeoJSON.
async fn point_in(db: &TestDb, abbr: &str) -> Value {
    let text: String = db
        .client()
        .await
        .query_one(
            "SELECT ST_AsGeoJSON(ST_PointOnSurface(geom), 6) FROM admin_unit
              WHERE level = 'district' AND abbr = $1",
            &[&abbr],
        )
        .await
        .unwrap()
        .get(0);
    serde_json::from_str(&text).unwrap()
}

fn warehouse(code: &str, geometry: &Value, extra: Value) -> String {
    let mut properties =
        json!({"code": code, "kind": "warehouse", "name": format!("Kho thử {code}")});
    for (k, v) in extra.as_object().unwrap() {
        properties[k] = v.clone();
    }
    json!({"type": "Feature", "geometry": geometry, "properties": properties}).to_string()
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    if_match: Option<&str>,
    body: String,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut headers = vec![("content-type", "application/geo+json")];
    if let Some(tag) = if_match {
        headers.push(("if-match", tag));
    }
    let (status, headers, text) = call(app, method, uri, &headers, body).await;
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, headers, value)
}

fn etag(headers: &axum::http::HeaderMap) -> String {
    headers["etag"].to_str().unwrap().to_string()
}

/// An administrator cleared for secret works, through a read,write token.
async fn admin(db: &TestDb) -> axum::Router {
    db.sign_in("quantri", UserRole::Admin, Classification::Secret, &[])
        .await;
    with_token(db.app(), &db.token("quantri", Scope::ReadWrite).await)
}

#[tokio::test]
async fn a_work_is_created_patched_replaced_and_deleted_with_its_history_and_audit() {
    let db = TestDb::with_demo(50, 4).await;
    let app = admin(&db).await;
    let client = db.client().await;
    let here = point_in(&db, "TBI").await;
    let versions_before = count(
        &client,
        "SELECT sum(version)::int8 FROM layer_version WHERE layer LIKE 'logistics%'",
    )
    .await;

    let body = warehouse(
        "KHO-TBI-9001",
        &here,
        json!({"name_en": "test depot", "phase": 1}),
    );
    let (status, headers, created) = send(&app, "POST", ITEMS, None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(etag(&headers), "\"v1\"");
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .ends_with("/collections/logistics/items/KHO-TBI-9001"));
    assert_eq!(
        created["properties"]["district_code"], "705",
        "district derived: {created}"
    );
    assert_eq!(created["properties"]["classification"], "internal");
    // The item's GET carries the same ETag; another CRS is another representation.
    let uri = format!("{ITEMS}/KHO-TBI-9001");
    let (_, headers, _) = request(&app, &uri, &[]).await;
    assert_eq!(etag(&headers), "\"v1\"");
    let (_, headers, _) = request(
        &app,
        &format!("{uri}?crs=http://www.opengis.net/def/crs/EPSG/0/3857"),
        &[],
    )
    .await;
    assert_eq!(etag(&headers), "\"v1-3857\"");
    assert!(
        count(
            &client,
            "SELECT sum(version)::int8 FROM layer_version WHERE layer LIKE 'logistics%'"
        )
        .await
            > versions_before
    );

    // PATCH: the given properties; null empties an optional one; progress through the rules.
    let patch = json!({"properties": {"name_en": null, "status": "under_construction", "percent": 20,
                                      "actual_start": "2026-01-05", "note": "khởi công"}});
    let (status, headers, patched) =
        send(&app, "PATCH", &uri, Some("\"v1\""), patch.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(etag(&headers), "\"v2\"");
    assert_eq!(patched["properties"]["name_en"], Value::Null);
    assert_eq!(patched["properties"]["phase"], 1, "kept");
    assert_eq!(patched["properties"]["percent"], 20);
    let history = count(&client, "SELECT count(*) FROM progress_history h JOIN site s ON s.id = h.site_id WHERE s.code = 'KHO-TBI-9001'").await;
    assert_eq!(history, 2, "created, then the progress PATCH");
    let noted = count(
        &client,
        "SELECT count(*) FROM progress_history WHERE note = 'khởi công' AND new_pct = 20",
    )
    .await;
    assert_eq!(noted, 1);
    // Progress rules hold: percent cannot go backwards without a reason.
    let back = json!({"properties": {"percent": 5}});
    let (status, _, refused) = send(&app, "PATCH", &uri, Some("\"v2\""), back.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["field"] == "correction_reason"),
        "{refused}"
    );

    // PUT replaces: optional properties left out are emptied; a new geometry moves it.
    let moved = point_in(&db, "TCH").await;
    let put = warehouse(
        "KHO-TBI-9001",
        &moved,
        json!({"status": "under_construction", "percent": 30}),
    );
    let (status, headers, replaced) = send(&app, "PUT", &uri, Some("\"v2\""), put).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(etag(&headers), "\"v3\"");
    assert_eq!(
        replaced["properties"]["phase"],
        Value::Null,
        "emptied by PUT"
    );
    assert_eq!(
        replaced["properties"]["district_code"], "706",
        "moved: {replaced}"
    );

    // DELETE: gone from every current view, its history kept, audited, its code kept.
    let (status, _, _) = send(&app, "DELETE", &uri, Some("\"v3\""), String::new()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = request(&app, &uri, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, list) = request(
        &app,
        "/collections/sites/items?filter=code%3D%27KHO-TBI-9001%27",
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap()["numberMatched"],
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site_all WHERE code = 'KHO-TBI-9001' AND deleted_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(count(&client, "SELECT count(*) FROM progress_history h JOIN site_all s ON s.id = h.site_id WHERE s.code = 'KHO-TBI-9001'").await, 3);
    let audited: Vec<String> = client
        .query(
            "SELECT action FROM audit_log WHERE entity_key = 'KHO-TBI-9001' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        audited,
        ["site.import", "site.import", "site.import", "site.delete"]
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM import_log WHERE via = 'api' AND outcome = 'committed'"
        )
        .await,
        3
    );
    let again = warehouse("KHO-TBI-9001", &here, json!({}));
    let (status, _, body) = send(&app, "POST", ITEMS, None, again).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a deleted work's code stays taken: {body}"
    );
    // The audit chain still verifies.
    assert!(kvpt::ops::audit::verify(&client).await.unwrap().intact());
}

#[tokio::test]
async fn if_match_is_required_and_a_stale_one_is_refused() {
    let db = TestDb::with_demo(50, 4).await;
    let app = admin(&db).await;
    let here = point_in(&db, "TBI").await;
    let (status, _, _) = send(
        &app,
        "POST",
        ITEMS,
        None,
        warehouse("KHO-TBI-9002", &here, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = format!("{ITEMS}/KHO-TBI-9002");
    let patch = json!({"properties": {"name": "Kho đổi tên"}}).to_string();
    let put = warehouse("KHO-TBI-9002", &here, json!({}));
    for (method, sent) in [("PATCH", &patch), ("PUT", &put), ("DELETE", &String::new())] {
        let (status, _, body) = send(&app, method, &uri, None, sent.clone()).await;
        assert_eq!(
            status,
            StatusCode::PRECONDITION_REQUIRED,
            "{method}: {body}"
        );
    }
    for stale in ["\"v7\"", "W/\"v1\"", "\"abc\""] {
        let (status, _, body) = send(&app, "PATCH", &uri, Some(stale), patch.clone()).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}: {body}");
    }
    // Two writers from the same version: the second is refused, nothing overwritten.
    let (status, _, _) = send(&app, "PATCH", &uri, Some("\"v1\""), patch.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let other = json!({"properties": {"name": "Kho của người thứ hai"}}).to_string();
    let (status, _, _) = send(&app, "PATCH", &uri, Some("\"v1\""), other).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, _, now) = request(&app, &uri, &[]).await;
    assert!(now.contains("Kho đổi tên"));
    // A list of tags matches any; `*` matches the work as it is.
    let (status, _, _) = send(&app, "PATCH", &uri, Some("\"v1\", \"v2\""), patch.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&app, "DELETE", &uri, Some("*"), String::new()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A POST never updates: an existing code is a conflict.
    let (code, _): (String, i32) = {
        let row = db
            .client()
            .await
            .query_one(
                "SELECT code, version FROM site WHERE kind = 'warehouse' LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let (status, _, body) = send(
        &app,
        "POST",
        ITEMS,
        None,
        warehouse(&code, &here, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn bad_bodies_and_broken_rules_say_what_and_where() {
    let db = TestDb::with_demo(50, 4).await;
    let app = admin(&db).await;
    let here = point_in(&db, "TBI").await;
    let line = json!({"type": "LineString", "coordinates": [[106.1, 11.3], [106.2, 11.31]]});
    let far = json!({"type": "Point", "coordinates": [100.0, 11.3]});
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("not JSON", "{".into(), StatusCode::BAD_REQUEST, "body"),
        ("not a feature", json!({"type": "Point"}).to_string(), StatusCode::BAD_REQUEST, "type"),
        ("unknown property", warehouse("KHO-TBI-9003", &here, json!({"colour": "red"})), StatusCode::BAD_REQUEST, "colour"),
        ("kind of another collection", warehouse("KHO-TBI-9003", &here, json!({"kind": "border_marker"})), StatusCode::BAD_REQUEST, "kind"),
        ("name emptied", warehouse("KHO-TBI-9003", &here, json!({"name": null})), StatusCode::BAD_REQUEST, "name"),
        ("no geometry", json!({"type": "Feature", "geometry": null, "properties": {"code": "KHO-TBI-9003", "kind": "warehouse", "name": "x"}}).to_string(), StatusCode::BAD_REQUEST, "geometry"),
        ("a line for a warehouse", warehouse("KHO-TBI-9003", &line, json!({})), StatusCode::UNPROCESSABLE_ENTITY, "geometry"),
        ("outside the province", warehouse("KHO-TBI-9003", &far, json!({})), StatusCode::UNPROCESSABLE_ENTITY, "geometry"),
        (
            "latitude first",
            warehouse("KHO-TBI-9003", &json!({"type": "Point", "coordinates": [11.3, 106.1]}), json!({})),
            StatusCode::BAD_REQUEST,
            "geometry",
        ),
        (
            "a kind by its label",
            warehouse("KHO-TBI-9003", &here, json!({"kind": "Kho tàng"})),
            StatusCode::BAD_REQUEST,
            "kind",
        ),
        ("percent out of range", warehouse("KHO-TBI-9003", &here, json!({"percent": 150})), StatusCode::UNPROCESSABLE_ENTITY, "percent"),
        ("unknown status", warehouse("KHO-TBI-9003", &here, json!({"status": "in_progress"})), StatusCode::UNPROCESSABLE_ENTITY, "status"),
    ];
    for (what, body, expected, field) in cases {
        let (status, _, answer) = send(&app, "POST", ITEMS, None, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        let named = answer["field"] == field
            || answer["problems"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|p| p["field"] == field && p["message_vi"].is_string())
            });
        assert!(named, "{what}: {answer}");
        assert!(
            !answer.to_string().contains("srs"),
            "{what}: no file hint: {answer}"
        );
    }
    let client = db.client().await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site_all WHERE code = 'KHO-TBI-9003'"
        )
        .await,
        0
    );
    // Context layers are read-only.
    let (status, _, _) = send(&app, "POST", "/collections/rivers/items", None, "{}".into()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A work with budget lines is not deleted: the reason is said.
    let row = client
        .query_one("SELECT s.code, s.version FROM site s JOIN site_kind k ON k.code = s.kind
                     WHERE k.layer_group = 'logistics' AND EXISTS (SELECT 1 FROM budget_line b WHERE b.site_id = s.id)
                     LIMIT 1", &[])
        .await
        .unwrap();
    let (code, version): (String, i32) = (row.get(0), row.get(1));
    let (status, _, body) = send(
        &app,
        "DELETE",
        &format!("{ITEMS}/{code}"),
        Some(&format!("\"v{version}\"")),
        String::new(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("budget line"),
        "{body}"
    );
    assert_eq!(
        count(
            &client,
            &format!("SELECT count(*) FROM site WHERE code = '{code}'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn nobody_writes_above_their_level_or_outside_their_districts() {
    let db = TestDb::with_demo(200, 5).await;
    let client = db.client().await;
    let tbi = point_in(&db, "TBI").await;
    let tch = point_in(&db, "TCH").await;
    db.sign_in(
        "ksu_tbi",
        UserRole::Engineer,
        Classification::Internal,
        &["TBI"],
    )
    .await;
    let engineer = with_token(db.app(), &db.token("ksu_tbi", Scope::ReadWrite).await);
    let read_only = with_token(db.app(), &db.token("ksu_tbi", Scope::Read).await);
    db.sign_in("xem", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let viewer = with_token(db.app(), &db.token("xem", Scope::ReadWrite).await);

    // In their district, at their level: written.
    let (status, _, body) = send(
        &engineer,
        "POST",
        ITEMS,
        None,
        warehouse("KHO-TBI-9101", &tbi, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Above their clearance, or outside their districts: refused, naming why.
    let (status, _, body) = send(
        &engineer,
        "POST",
        ITEMS,
        None,
        warehouse("KHO-TBI-9102", &tbi, json!({"classification": "secret"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["problems"][0]["field"] == "classification", "{body}");
    let (status, _, body) = send(
        &engineer,
        "POST",
        ITEMS,
        None,
        warehouse("KHO-TCH-9103", &tch, json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["problems"][0]["field"] == "district", "{body}");
    // Moving their work out of their districts is refused too.
    let uri = format!("{ITEMS}/KHO-TBI-9101");
    let (status, _, _) = send(
        &engineer,
        "PATCH",
        &uri,
        Some("\"v1\""),
        json!({"geometry": tch}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A secret work is not there for them, whatever they write; its code says nothing.
    let secret: String = client
        .query_one(
            "SELECT s.code FROM site s JOIN site_kind k ON k.code = s.kind
                     WHERE k.layer_group = 'logistics' AND s.classification = 'secret' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for method in ["PATCH", "PUT", "DELETE"] {
        let (status, _, body) = send(
            &engineer,
            method,
            &format!("{ITEMS}/{secret}"),
            Some("*"),
            warehouse(&secret, &tbi, json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {body}");
        assert!(!body.to_string().contains("secret"), "{body}");
    }
    // Roles and scopes: a viewer, a read token, nobody.
    let post = warehouse("KHO-TBI-9104", &tbi, json!({}));
    let (status, _, _) = send(&viewer, "POST", ITEMS, None, post.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(&read_only, "POST", ITEMS, None, post.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.to_string().contains("read"), "{body}");
    let (status, _, _) = send(&db.app(), "POST", ITEMS, None, post).await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site_all WHERE code LIKE 'KHO-%-91%'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_patch_moves_a_work_by_its_coordinates_and_a_secret_edit_moves_no_lower_cache() {
    let db = TestDb::with_demo(50, 4).await;
    let app = admin(&db).await;
    let client = db.client().await;
    let here = point_in(&db, "TBI").await;
    let body = warehouse("KHO-TBI-9201", &here, json!({"classification": "secret"}));
    let (status, _, _) = send(&app, "POST", ITEMS, None, body).await;
    assert_eq!(status, StatusCode::CREATED);
    let before = versions(&client).await;
    // JSON Merge Patch of the coordinates alone: the type is the work's.
    let there = point_in(&db, "TCH").await;
    let patch = json!({"geometry": {"coordinates": there["coordinates"]}});
    let (status, _, moved) = send(
        &app,
        "PATCH",
        &format!("{ITEMS}/KHO-TBI-9201"),
        Some("\"v1\""),
        patch.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["properties"]["district_code"], "706");
    let after = versions(&client).await;
    for ((layer, old), (_, new)) in before.iter().zip(&after) {
        if layer == "logistics@secret" {
            assert!(new > old, "{layer} moves");
        } else {
            assert_eq!(new, old, "{layer} does not move for a secret work");
        }
    }
}

/// Each classification's version of the logistics layer.
async fn versions(client: &tokio_postgres::Client) -> Vec<(String, i64)> {
    client
        .query(
            "SELECT layer, version FROM layer_version WHERE layer LIKE 'logistics@%' ORDER BY layer",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}
