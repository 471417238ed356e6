//! Search teams record what the directive's §7 counts (issue 20 §5): a zone's figures
//! written through the form or the API (once per Idempotency-Key, merged when made
//! offline), each change an append-only history row and an audit row, the rules and who
//! may (the zone's engineers and the unit in charge), and the dashboard "as of a date"
//! taken from that history.

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

use crate::common::{call, count, csrf_of, get, with_cookie, TestDb};

struct User {
    app: axum::Router,
    csrf: String,
}

async fn user(
    db: &TestDb,
    name: &str,
    clearance: Classification,
    districts: &[&str],
    unit: Option<&str>,
) -> User {
    let cookie = db
        .sign_in(name, UserRole::Engineer, clearance, districts)
        .await;
    if let Some(unit) = unit {
        db.client()
            .await
            .execute(
                "UPDATE app_user SET unit = $2 WHERE username = $1",
                &[&name, &unit],
            )
            .await
            .unwrap();
    }
    let cookie = if unit.is_some() {
        db.session_of(name).await
    } else {
        cookie
    };
    let app = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&app).await;
    User { app, csrf }
}

/// A search zone of Tân Biên, internal, not concluded, with a unit in charge.
async fn zone(db: &TestDb) -> String {
    let client = db.client().await;
    let code: String = client
        .query_one(
            "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id
               JOIN search_zone z ON z.site_id = s.id
              WHERE d.abbr = 'TBI' AND z.concluded_on IS NULL ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .expect("a search zone in Tân Biên")
        .get(0);
    client
        .execute(
            "UPDATE site SET classification = 'internal' WHERE code = $1;",
            &[&code],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE search_zone SET unit_in_charge = 'Đội K71' FROM site s WHERE s.id = site_id AND s.code = $1",
            &[&code],
        )
        .await
        .unwrap();
    code
}

async fn put(u: &User, code: &str, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut headers = vec![
        ("x-csrf-token", u.csrf.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let (status, _, text) = call(
        &u.app,
        "PUT",
        &format!("/api/sites/{code}/search"),
        &headers,
        body.to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

async fn state(u: &User, code: &str) -> Value {
    let (status, _, text) =
        call(&u.app, "GET", &format!("/api/sites/{code}/search"), &[], "").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let zone = serde_json::from_str(&text).unwrap();
    crate::api_document::assert_documented_answer(&u.app, "get", "/api/sites/{code}/search", &zone)
        .await;
    zone
}

async fn rows(db: &TestDb, code: &str) -> (i64, i64) {
    let client = db.client().await;
    let history = count(&client, &format!(
        "SELECT count(*) FROM search_history h JOIN site s ON s.id = h.site_id WHERE s.code = '{code}'")).await;
    let audit = count(
        &client,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'site.search' AND entity_key = '{code}'"
        ),
    )
    .await;
    (history, audit)
}

#[tokio::test]
async fn a_search_update_is_kept_in_history_once_and_keeps_the_rules() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let start = state(&a, &code).await;
    let (h0, a0) = rows(&db, &code).await;
    let found = start["remains_found"].as_i64().unwrap();
    let body = json!({ "version": start["version"], "remains_found": found + 2, "area_concluded_ha": 1.25,
                       "map_drawn": true, "map_drawn_on": "2025-06-01", "concluded_on": "2025-06-30",
                       "note": "kết luận địa bàn" });
    let (status, first) = put(&a, &code, Some("search-key-0001"), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["zone"]["remains_found"], found + 2);
    assert_eq!(first["zone"]["concluded_on"], "2025-06-30");
    // Sent again (the answer lost): the same answer, nothing more written.
    let (_, again) = put(&a, &code, Some("search-key-0001"), body).await;
    assert_eq!(again, first);
    assert_eq!(rows(&db, &code).await, (h0 + 1, a0 + 1));
    // The rules, each named, in Vietnamese too.
    let v = first["zone"]["version"].clone();
    for (body, rule) in [
        (
            json!({ "version": v, "remains_found": 0 }),
            "found_never_down",
        ),
        (
            json!({ "version": v, "concluded_on": "2999-01-01" }),
            "date_not_in_future",
        ),
        (
            json!({ "version": v, "area_concluded_ha": 1.0e7 }),
            "area_within_zone",
        ),
        (
            json!({ "version": v, "map_drawn": false }),
            "map_date_needs_map",
        ),
    ] {
        let (status, answer) = put(&a, &code, None, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["violations"][0]["rule"], rule, "{answer}");
        assert!(answer["violations"][0]["message_vi"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    // Lower with a reason is a correction; a stale version is a 409 with where it stands.
    let (status, _) = put(
        &a,
        &code,
        None,
        json!({ "version": v, "remains_found": found, "correction_reason": "đếm trùng" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = put(
        &a,
        &code,
        None,
        json!({ "version": v, "remains_expected": 99 }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    // Bad input: a 400 naming the field.
    for (body, field) in [
        (json!({ "version": v, "remains_found": "nhiều" }), "body"),
        (json!({ "remains_found": 1 }), "version"),
        (json!({ "version": v, "found": 1 }), "body"),
    ] {
        let (status, answer) = put(&a, &code, None, body).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{answer}"
        );
    }
    // History is evidence.
    let err = db
        .client()
        .await
        .execute("DELETE FROM search_history", &[])
        .await
        .unwrap_err();
    let message = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(message.contains("append-only"), "{err:?}");
    // The site page shows the figures and their history.
    let (_, page) = get(&a.app, &format!("/sites/{code}")).await;
    assert!(
        page.contains("id=\"search\"")
            && page.contains("kết luận địa bàn")
            && page.contains("1,25")
    );
}

#[tokio::test]
async fn an_offline_search_update_merges_and_a_crossing_one_is_kept_as_a_conflict_resolved_once() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let b = user(&db, "ks.b", Classification::Confidential, &["TBI"], None).await;
    let base = state(&a, &code).await;
    let found = base["remains_found"].as_i64().unwrap();
    let (status, _) = put(
        &b,
        &code,
        None,
        json!({ "version": base["version"], "remains_found": found + 3 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A, offline from the base, sent the whole form back with a new area: merged.
    let mine = json!({ "base_version": base["version"], "remains_found": found, "area_concluded_ha": 2.5,
                       "remains_expected": base["remains_expected"] });
    let (status, answer) = put(&a, &code, Some("offline-search-01"), mine).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["zone"]["remains_found"],
        found + 3,
        "B's count stays"
    );
    assert_eq!(answer["zone"]["area_concluded_ha"], 2.5);
    // A, from the same base, counted differently from B (and lower: with a reason): kept
    // as a conflict with both sides, nothing of it applied.
    let before = rows(&db, &code).await.0;
    let (status, crossed) = put(
        &a,
        &code,
        Some("offline-search-02"),
        json!({ "base_version": base["version"], "remains_found": found + 1,
                "correction_reason": "đếm lại tại hiện trường" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{crossed}");
    assert_eq!(crossed["fields"], json!(["remains_found"]));
    assert_eq!(crossed["current"]["remains_found"], found + 3);
    assert!(crossed["message_vi"]
        .as_str()
        .unwrap()
        .contains("người khác"));
    let id = crossed["conflict"]["id"].as_i64().expect("a conflict kept");
    assert_eq!(crossed["conflict"]["theirs"]["remains_found"], found + 3);
    assert_eq!(crossed["conflict"]["mine"]["remains_found"], found + 1);
    assert_eq!(rows(&db, &code).await.0, before, "nothing applied yet");
    // Listed for A on /field/conflicts with the search figures' own names; not for B.
    let (_, page) = get(&a.app, "/field/conflicts?lang=vi").await;
    assert!(
        page.contains(&format!("id=\"c{id}\"")) && page.contains("Hài cốt đã quy tập"),
        "{page}"
    );
    let (_, page) = get(&b.app, "/field/conflicts?lang=vi").await;
    assert!(!page.contains(&format!("id=\"c{id}\"")));
    // A picks their own count: one history row, one audit row naming both authors.
    let (status, _, text) = call(
        &a.app,
        "POST",
        &format!("/api/conflicts/{id}"),
        &[
            ("x-csrf-token", a.csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "picks": { "remains_found": "mine" } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let resolved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resolved["zone"]["remains_found"], found + 1);
    assert_eq!(
        resolved["zone"]["area_concluded_ha"], 2.5,
        "the merged area stays"
    );
    assert_eq!(rows(&db, &code).await.0, before + 1);
    let audit: Value = db
        .client()
        .await
        .query_one(
            "SELECT after FROM audit_log WHERE entity_key = $1 AND action = 'site.search'
              ORDER BY id DESC LIMIT 1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit["conflict"]["mine_by"], "ks.a", "{audit}");
    assert_eq!(audit["conflict"]["theirs_by"], json!(["ks.b"]), "{audit}");
    // Resolved once: a second try finds no open conflict.
    let (status, _, _) = call(
        &a.app,
        "POST",
        &format!("/api/conflicts/{id}"),
        &[
            ("x-csrf-token", a.csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "picks": { "remains_found": "mine" } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(rows(&db, &code).await.0, before + 1);
    // Another crossing of A's, resolved by an administrator (their supervisor, with no
    // district of their own): B's value kept, the audit row names the resolver.
    let (status, crossed) = put(
        &a,
        &code,
        Some("offline-search-03"),
        json!({ "base_version": base["version"], "remains_found": found + 7 }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{crossed}");
    let id = crossed["conflict"]["id"].as_i64().unwrap();
    let chief = db
        .sign_in("chi.huy", UserRole::Admin, Classification::Secret, &[])
        .await;
    let chief = with_cookie(db.app(), &chief);
    let chief_csrf = csrf_of(&chief).await;
    let (status, _, text) = call(
        &chief,
        "POST",
        &format!("/api/conflicts/{id}"),
        &[
            ("x-csrf-token", chief_csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "picks": { "remains_found": "theirs" } }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let resolved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(resolved["zone"]["remains_found"], found + 1, "theirs kept");
    let audit: Value = db
        .client()
        .await
        .query_one(
            "SELECT after FROM audit_log WHERE entity_key = $1 AND action = 'site.search'
              ORDER BY id DESC LIMIT 1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit["conflict"]["resolved_by"], "chi.huy", "{audit}");
    assert_eq!(audit["conflict"]["mine_by"], "ks.a", "{audit}");
}

#[tokio::test]
async fn the_zone_s_engineers_and_the_unit_in_charge_may_update_it_and_nobody_else() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let team = user(
        &db,
        "doi.k71",
        Classification::Internal,
        &[],
        Some("Đội K71"),
    )
    .await;
    let v = state(&team, &code).await["version"].clone();
    let (status, answer) = put(
        &team,
        &code,
        None,
        json!({ "version": v, "map_drawn": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the unit in charge: {answer}");
    // The team's field list has the zone, to keep its search form (not the progress form,
    // which is not theirs), and a map to download around it.
    let (status, page) = get(&team.app, "/field?lang=vi").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!(r#"data-code="{code}""#)),
        "the zone is listed"
    );
    assert!(page.contains(r#"data-progress="false""#), "search only");
    assert!(page.contains("data-extent=\""), "a map to download");
    let elsewhere = user(
        &db,
        "ks.tch",
        Classification::Secret,
        &["TCH"],
        Some("Đội K72"),
    )
    .await;
    let (status, answer) = put(
        &elsewhere,
        &code,
        None,
        json!({ "version": 1, "map_drawn": true }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let low = user(&db, "ks.low", Classification::Public, &["TBI"], None).await;
    let (status, answer) = put(
        &low,
        &code,
        None,
        json!({ "version": 1, "map_drawn": true }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "above their clearance: {answer}"
    );
    assert!(!answer.to_string().contains("K71"), "{answer}");
    let (status, _) = get(&low.app, &format!("/sites/{code}/search")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let viewer = db
        .sign_in("xem", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let viewer = with_cookie(db.app(), &viewer);
    let csrf = csrf_of(&viewer).await;
    let (status, _, _) = call(
        &viewer,
        "PUT",
        &format!("/api/sites/{code}/search"),
        &[
            ("x-csrf-token", csrf.as_str()),
            ("content-type", "application/json"),
        ],
        json!({ "version": 1, "map_drawn": true }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Not a search zone: 404.
    let other: String = db.client().await
        .query_one("SELECT code FROM site WHERE kind <> 'remains_search_zone' AND classification = 'public' LIMIT 1", &[])
        .await.unwrap().get(0);
    assert_eq!(
        put(
            &team,
            &other,
            None,
            json!({ "version": 1, "map_drawn": true })
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_search_form_takes_dates_as_typed_and_says_what_is_wrong() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let (status, page) = get(&a.app, &format!("/sites/{code}/search")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("placeholder=\"dd/mm/yyyy\""));
    let v = state(&a, &code).await;
    let form = |concluded: &str, area: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &a.csrf)
            .append_pair("version", &v["version"].to_string())
            .append_pair("remains_expected", &v["remains_expected"].to_string())
            .append_pair("remains_found", &v["remains_found"].to_string())
            .append_pair("area_concluded_ha", area)
            .append_pair("map_drawn", "on")
            .append_pair("map_drawn_on", "")
            .append_pair("concluded_on", concluded)
            .append_pair("unit_in_charge", "Đội K71")
            .append_pair("note", "")
            .append_pair("correction_reason", "")
            .finish()
    };
    let post = |body: String| {
        let app = a.app.clone();
        let code = code.clone();
        async move {
            call(
                &app,
                "POST",
                &format!("/sites/{code}/search"),
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let (status, _, page) = post(form("31/02/2025", "abc")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("dd/mm/yyyy") && page.contains("Diện tích kết luận là số"),
        "{page}"
    );
    let (status, headers, _) = post(form("15/03/2025", "3,5")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("#search"));
    let after = state(&a, &code).await;
    assert_eq!(
        (
            after["concluded_on"].as_str(),
            after["area_concluded_ha"].as_f64()
        ),
        (Some("2025-03-15"), Some(3.5))
    );
}

/// The dashboard as of a date reads the search figures from the history: a zone concluded
/// and mapped today counts now, and not as of yesterday; concluded in the past, counts
/// from that day on.
#[tokio::test]
async fn the_dashboard_as_of_a_date_takes_search_figures_from_the_history() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let planner = db
        .sign_in("kh", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let planner = with_cookie(db.app(), &planner);
    let found = |csv: &str| -> i64 {
        csv.lines()
            .find(|l| l.starts_with("remains_found,"))
            .and_then(|l| l.split(',').nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no remains_found in {csv}"))
    };
    let yesterday = (kvpt::i18n::today_in_vietnam() - chrono::Duration::days(1)).to_string();
    let search = |as_of: Option<String>| {
        let planner = planner.clone();
        async move {
            let uri = match as_of {
                Some(d) => format!("/dashboard.csv?table=search&as_of={d}"),
                None => "/dashboard.csv?table=search".to_string(),
            };
            let (status, body) = get(&planner, &uri).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let (now0, past0) = (
        found(&search(None).await),
        found(&search(Some(yesterday.clone())).await),
    );
    let v = state(&a, &code).await;
    let (status, answer) = put(
        &a,
        &code,
        None,
        json!({ "version": v["version"],
        "remains_found": v["remains_found"].as_i64().unwrap() + 5 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(found(&search(None).await), now0 + 5, "now");
    assert_eq!(
        found(&search(Some(yesterday)).await),
        past0,
        "as of yesterday: as it stood then"
    );
}

#[tokio::test]
async fn the_search_template_comes_back_as_a_bulk_update_written_whole_or_not_at_all() {
    let db = TestDb::with_demo(400, 31).await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let team = user(
        &db,
        "doi.k71",
        Classification::Internal,
        &[],
        Some("Đội K71"),
    )
    .await;
    let other = user(&db, "ks.c", Classification::Secret, &["TCH"], None).await;
    // The template: the zones each may update, with their figures, below their clearance.
    let template = |u: &User| {
        let app = u.app.clone();
        async move {
            let (status, _, text) = call(&app, "GET", "/api/search/template.csv", &[], "").await;
            assert_eq!(status, StatusCode::OK, "{text}");
            text.trim_start_matches('\u{feff}').to_string()
        }
    };
    let mine = template(&a).await;
    assert!(mine
        .starts_with("code,version,remains_expected,remains_found,area_concluded_ha,map_drawn,"));
    let line = mine
        .lines()
        .find(|l| l.starts_with(&format!("{code},")))
        .expect("the zone in its engineer's template")
        .to_string();
    assert!(
        template(&team).await.contains(&format!("{code},")),
        "its unit in charge"
    );
    assert!(
        !template(&other).await.contains(&format!("{code},")),
        "another district"
    );
    let secret = db
        .client()
        .await
        .query_one(
            "SELECT s.code FROM site s JOIN search_zone z ON z.site_id = s.id
               JOIN admin_unit d ON d.id = s.district_id
              WHERE d.abbr = 'TBI' AND s.classification = 'secret' LIMIT 1",
            &[],
        )
        .await
        .map(|r| r.get::<_, String>(0));
    if let Ok(secret) = secret {
        assert!(!mine.contains(&format!("{secret},")), "above clearance");
    }
    // The team edits its zone's row: one more found, map drawn, concluded.
    let cells: Vec<&str> = line.split(',').collect();
    let (version, found) = (cells[1], cells[3].parse::<i64>().unwrap() + 1);
    let (header, _) = mine.split_once('\n').unwrap();
    let edited = format!(
        "{header}\n{code},{version},{},{found},\"1,5\",có,02/01/2025,03/01/2025,Đội K71,kết luận,\n",
        cells[2]
    );
    let send = |u: &User, body: String| {
        let (app, csrf) = (u.app.clone(), u.csrf.clone());
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
    // With a bad row beside it, nothing is written and the bad row is named.
    let (history0, audit0) = rows(&db, &code).await;
    let bad = format!("{edited}NO-SUCH-ZONE,1,0,0,0,không,,,,,\n{code}-x,x,0,0,0,maybe,,,,,\n");
    let (status, report) = send(&team, bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert_eq!(report["committed"], false);
    let rows_said = report["rows"].as_array().unwrap();
    assert_eq!(rows_said[0]["ok"], true);
    assert_eq!(rows_said[1]["errors"][0]["field"], "code");
    let fields: Vec<&str> = rows_said[2]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["version", "map_drawn"]);
    assert_eq!(
        rows(&db, &code).await,
        (history0, audit0),
        "nothing written"
    );
    // Someone outside its districts and unit may not.
    let (status, report) = send(&other, edited.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rows"][0]["errors"][0]["field"], "code");
    // Alone, it is written: one history row, one audit row.
    let (status, report) = send(&team, edited.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(rows(&db, &code).await, (history0 + 1, audit0 + 1));
    let now = state(&a, &code).await;
    assert_eq!(now["remains_found"], found);
    assert_eq!(now["area_concluded_ha"], 1.5);
    assert_eq!(now["map_drawn"], true);
    assert_eq!(now["map_drawn_on"], "2025-01-02");
    assert_eq!(now["concluded_on"], "2025-01-03");
    // The same file again: its version is old now.
    let (status, report) = send(&team, edited).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report["rows"][0]["errors"][0]["field"], "version");
    assert_eq!(rows(&db, &code).await, (history0 + 1, audit0 + 1));
}

/// A signed-in user of `role` at `clearance`, with no districts.
async fn other_role(db: &TestDb, name: &str, role: UserRole, clearance: Classification) -> User {
    let cookie = db.sign_in(name, role, clearance, &[]).await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&app).await;
    User { app, csrf }
}

/// The submission a bulk file's first row waits as.
fn report_submission(report: &Value) -> i64 {
    report["rows"][0]["submitted"]
        .as_i64()
        .expect("kept for review")
}

/// Approves or returns zone submission `id` through the review page's forms.
async fn decide(u: &User, id: i64, what: &str, reason: &str) -> (StatusCode, String) {
    let body = format!("csrf={}&reason={}", u.csrf, reason.replace(' ', "+"));
    let (status, _, page) = call(
        &u.app,
        "POST",
        &format!("/review/search/{id}/{what}?lang=vi"),
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
    .await;
    (status, page)
}

/// The remains found in Tân Biên's zones, with the waiting updates counted or not.
async fn found_in_tan_bien(db: &TestDb, submitted: bool) -> i64 {
    let p = kvpt::db::dashboard::Params {
        clearance: Classification::Secret,
        as_of: None,
        ahead_threshold: 0.3,
        stale_days: 180,
        scope: kvpt::db::dashboard::Scope {
            district: Some("705".into()),
            ..Default::default()
        },
        submitted,
    };
    let mut clients = vec![db.pool().get().await.unwrap()];
    kvpt::db::dashboard::summary(&mut clients, &p)
        .await
        .unwrap()
        .search
        .remains_found
}

/// Issue 24 §6 for search zones: with review on, a search team's update of a zone's figures
/// (API, form, bulk CSV) waits as submitted — the zone stands as it was, the dashboards
/// count it only when asked for submitted figures — until a reviewer approves it (applied,
/// its history row the team's) or returns it with a reason the team sees. An engineer's
/// import may not change the figures meanwhile; each role may do only its part.
#[tokio::test]
async fn with_review_on_a_zone_update_waits_until_approved_and_comes_back_when_returned() {
    let db = TestDb::with_demo(400, 31).await;
    let client = db.client().await;
    let code = zone(&db).await;
    let a = user(&db, "ks.a", Classification::Confidential, &["TBI"], None).await;
    let team = user(
        &db,
        "doi.k71",
        Classification::Internal,
        &[],
        Some("Đội K71"),
    )
    .await;
    let reviewer = other_role(
        &db,
        "duyet",
        UserRole::Reviewer,
        Classification::Confidential,
    )
    .await;
    let low = other_role(
        &db,
        "duyet.thap",
        UserRole::Reviewer,
        Classification::Public,
    )
    .await;
    let viewer = other_role(&db, "xem", UserRole::Viewer, Classification::Secret).await;
    kvpt::progress::review::set(&db.pool().get().await.unwrap(), true)
        .await
        .unwrap();
    let before = state(&a, &code).await;
    let (history0, audit0) = rows(&db, &code).await;
    let found0 = before["remains_found"].as_i64().unwrap();
    let dashboard0 = found_in_tan_bien(&db, false).await;

    // The team's update waits; the zone stands as it was; a repeat of its key writes nothing.
    let body = json!({ "version": before["version"], "remains_found": found0 + 2, "note": "Quy tập 2 hài cốt" });
    let (status, answer) = put(&team, &code, Some("zone-review-1"), body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let waiting = answer["submitted"].as_i64().expect("kept for review");
    assert_eq!(answer["zone"]["remains_found"], found0, "{answer}");
    assert_eq!(
        put(&team, &code, Some("zone-review-1"), body).await.1,
        answer
    );
    assert_eq!(
        rows(&db, &code).await,
        (history0, audit0),
        "nothing applied"
    );
    assert_eq!(state(&a, &code).await["remains_found"], found0);
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM search_submission p JOIN site s ON s.id = p.site_id WHERE s.code = '{code}'")).await,
        1
    );
    // The rules still answer at once.
    let (status, _) = put(
        &team,
        &code,
        None,
        json!({ "version": before["version"], "remains_found": -1 }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Counted only when the submitted figures are asked for.
    assert_eq!(found_in_tan_bien(&db, false).await, dashboard0);
    assert_eq!(found_in_tan_bien(&db, true).await, dashboard0 + 2);

    // Notices: the team on /field, the zone's engineer on its page; a viewer sees none.
    let (_, page) = get(&team.app, "/field?lang=vi").await;
    assert!(
        page.contains("Chờ duyệt") && page.contains("tìm kiếm:"),
        "{page}"
    );
    let site_page = format!("/sites/{code}?lang=vi");
    assert!(get(&a.app, &site_page).await.1.contains("review-waiting"));
    assert!(!get(&viewer.app, &site_page)
        .await
        .1
        .contains("review-notices"));

    // The review list: the reviewer sees old → new; one cleared below the zone sees nothing.
    let (status, page) = get(&reviewer.app, "/review?lang=vi").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(&format!("id=\"z{waiting}\""))
            && page.contains("Tìm kiếm, quy tập hài cốt")
            && page.contains("Quy tập 2 hài cốt"),
        "{page}"
    );
    let (_, page) = get(&low.app, "/review?lang=vi").await;
    assert!(!page.contains(&code) && page.contains("review-empty"));
    assert_eq!(
        decide(&low, waiting, "approve", "").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        decide(&a, waiting, "approve", "").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&viewer, waiting, "return", "x").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decide(&reviewer, 0, "approve", "").await.0,
        StatusCode::NOT_FOUND
    );

    // Approved: applied, its history row the team's, the audit naming the reviewer.
    assert_eq!(
        decide(&reviewer, waiting, "approve", "").await.0,
        StatusCode::SEE_OTHER
    );
    let now = state(&a, &code).await;
    assert_eq!(now["remains_found"], found0 + 2);
    assert_eq!(now["version"], before["version"].as_i64().unwrap() + 1);
    assert_eq!(rows(&db, &code).await, (history0 + 1, audit0 + 1));
    let row = client
        .query_one(
            "SELECT h.actor, h.note, p.state::text FROM search_submission p
               JOIN search_history h ON h.id = p.history_id WHERE p.id = $1",
            &[&waiting],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, Option<String>>(1),
            row.get::<_, String>(2)
        ),
        (
            "doi.k71".into(),
            Some("Quy tập 2 hài cốt".into()),
            "approved".into()
        )
    );
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM audit_log WHERE action = 'site.search' AND entity_key = '{code}' AND after->>'approved_by' = 'duyet' AND after->>'submitted_by' = 'doi.k71'")).await,
        1
    );
    assert_eq!(found_in_tan_bien(&db, false).await, dashboard0 + 2);
    assert_eq!(
        decide(&reviewer, waiting, "approve", "").await.0,
        StatusCode::NOT_FOUND,
        "decided once"
    );

    // Two from the same figures: the first approved, the second can only be returned.
    let version = now["version"].clone();
    let (_, first) = put(
        &a,
        &code,
        None,
        json!({ "version": version, "remains_expected": 9 }),
    )
    .await;
    let (_, second) = put(
        &team,
        &code,
        None,
        json!({ "version": version, "area_concluded_ha": 0.5 }),
    )
    .await;
    let (first, second) = (
        first["submitted"].as_i64().unwrap(),
        second["submitted"].as_i64().unwrap(),
    );
    assert_eq!(
        decide(&reviewer, first, "approve", "").await.0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = get(&reviewer.app, "/review?lang=vi").await;
    assert!(page.contains("chỉ có thể trả lại"), "the stale one says so");
    let (status, page) = decide(&reviewer, second, "approve", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("Khu vực đã thay đổi"), "{page}");
    assert_eq!(
        state(&a, &code).await["remains_expected"],
        9,
        "nothing overwritten"
    );
    let (status, page) = decide(&reviewer, second, "return", " ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Cần lý do trả lại"));
    assert_eq!(
        decide(&reviewer, second, "return", "Diện tích chưa đo lại")
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = get(&team.app, "/field?lang=vi").await;
    assert!(
        page.contains("Bị trả lại") && page.contains("Diện tích chưa đo lại"),
        "{page}"
    );
    assert!(!get(&viewer.app, &site_page)
        .await
        .1
        .contains("Diện tích chưa đo lại"));

    // The form's update waits too, and the bulk CSV says each row was sent for review.
    let now = state(&a, &code).await;
    let version = now["version"].as_i64().unwrap();
    let mut form = format!(
        "csrf={}&version={version}&remains_expected=9&remains_found={}&area_concluded_ha={}&unit_in_charge=%C4%90%E1%BB%99i+K71&note=form",
        team.csrf,
        found0 + 3,
        now["area_concluded_ha"]
    );
    if now["map_drawn"] == true {
        form.push_str(&format!(
            "&map_drawn=on&map_drawn_on={}",
            now["map_drawn_on"].as_str().unwrap_or("")
        ));
    }
    if let Some(day) = now["concluded_on"].as_str() {
        form.push_str(&format!("&concluded_on={day}"));
    }
    let (status, _, _) = call(
        &team.app,
        "POST",
        &format!("/sites/{code}/search?lang=vi"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(state(&a, &code).await["remains_found"], found0 + 2);
    let (_, template) = get(&team.app, "/api/search/template.csv").await;
    let template = template.trim_start_matches('\u{feff}');
    let line = template
        .lines()
        .find(|l| l.starts_with(&format!("{code},")))
        .unwrap();
    let cells: Vec<&str> = line.splitn(5, ',').collect();
    let csv = format!(
        "{}\n{code},{version},{},{},{}\n",
        template.lines().next().unwrap(),
        cells[2],
        found0 + 4,
        cells[4]
    );
    let (status, _, text) = call(
        &team.app,
        "POST",
        "/api/progress/bulk",
        &[
            ("x-csrf-token", team.csrf.as_str()),
            ("content-type", "text/csv"),
        ],
        csv,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let report_csv: Value = serde_json::from_str(&text).unwrap();
    assert!(report_csv["rows"][0]["submitted"].is_i64(), "{report_csv}");
    assert_eq!(state(&a, &code).await["remains_found"], found0 + 2);
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM search_submission p JOIN site s ON s.id = p.site_id WHERE s.code = '{code}' AND p.state = 'submitted'")).await,
        1,
        "the team's newest replaces its waiting one"
    );

    // An engineer's import may not change the figures; the same figures pass.
    let path =
        std::env::temp_dir().join(format!("kvpt-zone-review-{}.geojson", std::process::id()));
    let import = |props: Value, write: bool| {
        std::fs::write(
            &path,
            crate::imports::geojson(&[crate::imports::feature(props, Value::Null)]),
        )
        .unwrap();
        let path = path.clone();
        let pool = db.pool();
        async move {
            kvpt::exchange::import::run(
                &pool,
                &path,
                "tim-kiem.geojson",
                &kvpt::exchange::import::Options {
                    dry_run: !write,
                    ..Default::default()
                },
                &kvpt::exchange::import::Importer {
                    user_id: None,
                    name: if write { "qt" } else { "ks.a" }.into(),
                    via: "web",
                    clearance: Classification::Confidential,
                    declassify: write,
                    districts: None,
                },
                std::sync::Arc::new(kvpt::exchange::import::Progress::default()),
                None,
            )
            .await
            .unwrap()
        }
    };
    let report = import(json!({ "code": code, "remains_found": found0 + 5 }), false).await;
    assert_eq!(report.outcome, "refused");
    assert!(
        report.rows[0]
            .errors
            .iter()
            .any(|e| e.en.contains("search teams' figures wait for review")),
        "{:?}",
        report.rows
    );
    let report = import(json!({ "code": code, "remains_found": found0 + 2 }), false).await;
    assert_ne!(report.outcome, "refused", "{:?}", report.rows);
    assert!(
        report.rows.iter().all(|r| r.errors.is_empty()),
        "{:?}",
        report.rows
    );
    // An administrator's import renaming the zone leaves its figures, and the waiting
    // update stays good: listed as approvable, counted, and approved onto the zone.
    let report = import(
        json!({ "code": code, "name": "Khu vực tìm kiếm đổi tên" }),
        true,
    )
    .await;
    assert_eq!(report.outcome, "committed", "{:?}", report.rows);
    let (_, page) = get(&reviewer.app, "/review?lang=vi").await;
    assert!(!page.contains("chỉ có thể trả lại"), "{page}");
    assert_eq!(found_in_tan_bien(&db, true).await, dashboard0 + 4);
    let bulk = report_submission(&report_csv);
    assert_eq!(
        decide(&reviewer, bulk, "approve", "").await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(state(&a, &code).await["remains_found"], found0 + 4);

    // Review off: an update applies at once.
    kvpt::progress::review::set(&db.pool().get().await.unwrap(), false)
        .await
        .unwrap();
    let (status, answer) = put(
        &team,
        &code,
        None,
        json!({ "version": state(&a, &code).await["version"], "remains_found": found0 + 6 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(
        answer["submitted"].is_null() && answer["history_id"].is_i64(),
        "{answer}"
    );
    assert_eq!(state(&a, &code).await["remains_found"], found0 + 6);
}
