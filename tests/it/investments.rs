//! Issue 24 §4: investments without a place on the map (command automation, procurement)
//! are items of the plan: the demo has them; budget officers add and correct them (rules,
//! versions, roles, clearance, audit); engineers update their progress and officers their
//! budget as for works; the dashboard, its plan, flags, the public disclosure and reports
//! count them; no map layer, feature collection or GIS file holds them; and no reader sees
//! one, or the command post it equips, above their clearance.

use crate::common::{call, count, request, with_cookie, TestDb};
use axum::http::StatusCode;
use kvpt::db::dashboard::{self, Params, Scope};
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// A form value, percent-encoded.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn params(clearance: Classification) -> Params {
    Params {
        clearance,
        as_of: None,
        ahead_threshold: 0.3,
        stale_days: 180,
        scope: Scope::default(),
        submitted: false,
    }
}

#[tokio::test]
async fn the_demos_investments_are_counted_wherever_the_plan_is_and_drawn_nowhere() {
    let db = TestDb::with_demo(1_200, 241).await;
    let client = db.client().await;
    let items = count(&client, "SELECT count(*) FROM site WHERE geom IS NULL").await;
    assert!(items >= 2, "the demo has investments: {items}");
    assert_eq!(
        count(&client, "SELECT count(*) FROM investment i JOIN site s ON s.id = i.site_id WHERE s.geom IS NULL").await,
        items
    );
    // Command automation equips a command post and lies in its district.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM investment i JOIN site s ON s.id = i.site_id
               JOIN site p ON p.id = i.command_post_id
              WHERE s.district_id IS DISTINCT FROM p.district_id
                 OR p.kind NOT IN ('district_command_post', 'provincial_command_post')"
        )
        .await,
        0
    );
    // One late investment, to be flagged.
    let late: String = client
        .query_one(
            "UPDATE site_all SET planned_finish = date '2024-01-01', status = 'under_construction',
                    progress_pct = 40, classification = 'internal'
              WHERE id = (SELECT min(id) FROM site_all WHERE kind = 'procurement') RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // And one completed with nothing disbursed (its lines' disbursement cleared).
    let undisbursed: String = client
        .query_one(
            "WITH it AS (UPDATE site_all SET status = 'completed', progress_pct = 100, classification = 'internal'
                          WHERE id = (SELECT max(id) FROM site_all WHERE kind = 'command_automation')
                          RETURNING id, code),
                  lines AS (UPDATE budget_line SET disbursed_vnd = 0, settled_vnd = 0
                             WHERE site_id = (SELECT id FROM it) RETURNING 1)
             SELECT code FROM it",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let pool = db.pool();
    for clearance in [Classification::Internal, Classification::Secret] {
        let p = params(clearance);
        let mut clients = vec![pool.get().await.unwrap(), pool.get().await.unwrap()];
        let d = dashboard::summary(&mut clients, &p).await.unwrap();
        for kind in ["command_automation", "procurement"] {
            let want = count(
                &client,
                &format!(
                    "SELECT count(*) FROM site WHERE kind = '{kind}' AND classification <= '{}'",
                    clearance.code()
                ),
            )
            .await;
            let got = d
                .by_kind
                .iter()
                .find(|r| r.key == kind)
                .map_or(0, |r| r.total);
            assert_eq!(got, want, "{kind} at {clearance:?}");
        }
        // Those without a district are a row of their own, not "abroad".
        let province_wide = count(
            &client,
            &format!(
                "SELECT count(*) FROM site WHERE geom IS NULL AND district_id IS NULL AND classification <= '{}'",
                clearance.code()
            ),
        )
        .await;
        assert!(province_wide > 0);
        assert_eq!(
            d.by_district
                .iter()
                .find(|r| r.key == "-")
                .map_or(0, |r| r.total),
            province_wide
        );
        let abroad = count(
            &client,
            &format!(
                "SELECT count(*) FROM site WHERE geom IS NOT NULL AND district_id IS NULL AND classification <= '{}'",
                clearance.code()
            ),
        )
        .await;
        assert_eq!(
            d.by_district
                .iter()
                .find(|r| r.key.is_empty())
                .map_or(0, |r| r.total),
            abroad
        );
        // Their money is in the plan by year × source (the plan equals every visible line).
        let want: i64 = client
            .query_one(
                "SELECT coalesce(sum(b.estimate_vnd), 0)::int8 FROM budget_line b JOIN site s ON s.id = b.site_id
                  WHERE s.classification <= $1::text::classification",
                &[&clearance.code()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(d.plan.iter().map(|r| r.estimate).sum::<i64>(), want);
        let flagged = dashboard::flagged(&clients[0], &p, "late", 10_000)
            .await
            .unwrap();
        assert!(flagged.iter().any(|r| r.code == late), "{late} is late");
        let flagged = dashboard::flagged(&clients[0], &p, "done_nothing_disbursed", 10_000)
            .await
            .unwrap();
        assert!(
            flagged.iter().any(|r| r.code == undisbursed),
            "{undisbursed} is done with nothing disbursed"
        );
        assert!(d.flags.done_nothing_disbursed >= 1);
        // The plan's drill-down into the province-wide row lists only investments.
        let year_source = client
            .query_one(
                "SELECT b.year, b.source::text FROM budget_line b JOIN site s ON s.id = b.site_id
                  WHERE s.geom IS NULL AND s.district_id IS NULL AND s.classification <= $1::text::classification
                  ORDER BY b.year, b.source LIMIT 1",
                &[&clearance.code()],
            )
            .await
            .unwrap();
        let rows =
            dashboard::plan_sites(&clients[0], &p, year_source.get(0), year_source.get(1), "-")
                .await
                .unwrap();
        assert!(!rows.is_empty());
        assert!(rows
            .iter()
            .all(|r| r.kind == "procurement" || r.kind == "command_automation"));
    }
    // The dashboard page names the province-wide row.
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let (status, _, page) = request(&app, "/dashboard?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Cấp tỉnh (không gắn địa bàn)") && page.contains("Mua sắm trang thiết bị")
    );
    // The public disclosure shows their part of the whole, to anyone, in the cells that sum
    // enough items to tell no single one's money: five secret purchases of 2023 make one.
    client
        .batch_execute(
            "WITH s AS (
                 INSERT INTO site_all (code, name, kind, programme, responsible_unit, classification)
                 SELECT 'MS-TNH-' || (8000 + n), 'Xuồng ' || n, 'procurement', 'kvpt_2021_2025',
                        'Phòng Hậu cần', 'secret' FROM generate_series(1, 5) n RETURNING id),
             i AS (INSERT INTO investment (site_id, category) SELECT id, 'boats' FROM s)
             INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd)
             SELECT id, 2023, 'other', 1000000000, 0 FROM s",
        )
        .await
        .unwrap();
    let (status, _, page) = request(&db.app(), "/public/budget?lang=en", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let table = page
        .split("id=\"public-budget-investments\"")
        .nth(1)
        .expect("the investments' part")
        .split("</table>")
        .next()
        .unwrap()
        .to_string();
    let cells = client
        .query(
            "SELECT b.year, b.source::text, sum(b.estimate_vnd)::int8, count(DISTINCT b.site_id)
               FROM budget_line b JOIN site_all s ON s.id = b.site_id WHERE s.geom IS NULL
              GROUP BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut shown = 0;
    for c in &cells {
        let (year, source, total, items): (i16, String, i64, i64) =
            (c.get(0), c.get(1), c.get(2), c.get(3));
        let label = kvpt::domain::FundingSource::from_code(&source)
            .unwrap()
            .label(kvpt::i18n::Lang::En);
        let row = table
            .split("<tr>")
            .find(|r| r.contains(&format!(">{year}<")) && r.contains(label));
        assert_eq!(row.is_some(), items >= 5, "{year} {source}: {items} items");
        if let Some(row) = row {
            shown += 1;
            assert!(
                row.contains(&kvpt::i18n::format_int(total, kvpt::i18n::Lang::En)),
                "{row}"
            );
        }
    }
    assert!(shown >= 1);
    // No map, feature collection or GIS file holds them.
    let (status, _, body) = request(&app, "/exports/sites.geojson?profile=qk7", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    let features = json["features"].as_array().unwrap();
    assert!(!features.is_empty());
    assert!(
        features.iter().all(|f| f["geometry"].is_object()),
        "every exported feature has a place"
    );
    let (status, _, body) = request(&app, "/collections/sites/items?limit=10000&f=json", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["numberMatched"].as_i64().unwrap(),
        count(&client, "SELECT count(*) FROM site WHERE geom IS NOT NULL").await
    );
    let (status, _, body) = request(&app, "/collections/sites/items?kind=procurement", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The report lists them, as the secret reader sees them.
    let (status, _, docx) = crate::reports::fetch(&app, "lang=vi", "docx").await;
    assert_eq!(status, StatusCode::OK);
    let doc = crate::reports::read_docx(&docx, "bao-cao-dau-tu.docx").await;
    let paragraphs: Vec<String> = doc["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert!(
        paragraphs
            .iter()
            .any(|p| p == "VIII. ĐẦU TƯ KHÔNG GẮN VỊ TRÍ"),
        "{paragraphs:?}"
    );
    let listed: Vec<String> = doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t[0][0] == "Mã" && t[0][2] == "Danh mục")
        .flat_map(|t| {
            t.as_array()
                .unwrap()
                .iter()
                .skip(1)
                .map(|r| r[0].as_str().unwrap().to_string())
        })
        .collect();
    let want: Vec<String> = client
        .query(
            "SELECT code FROM site WHERE geom IS NULL ORDER BY code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(listed, want);
}

/// A budget officer adds and corrects investments within the rules; engineers and officers
/// then update their progress and budget as for works; roles and clearance hold everywhere.
#[tokio::test]
async fn budget_officers_add_and_correct_investments_and_nobody_sees_above_clearance() {
    let db = TestDb::with_demo(300, 242).await;
    let client = db.client().await;
    // The demo's investments set aside (deleted works keep their codes).
    client
        .batch_execute("UPDATE site_all SET deleted_at = now() WHERE geom IS NULL")
        .await
        .unwrap();
    let next = |prefix: &'static str| {
        let client = &client;
        async move {
            let n: i64 = client
                .query_one(
                    "SELECT coalesce(max(split_part(code, '-', 3)::int8), 0) + 1 FROM site_all
                      WHERE code LIKE $1 || '-TNH-%'",
                    &[&prefix],
                )
                .await
                .unwrap()
                .get(0);
            format!("{prefix}-TNH-{n:04}")
        }
    };
    let (code, boats) = (next("TDH").await, next("MS").await);
    let code = code.as_str();
    // A district command post the officer sees, and a secret one they do not.
    let post: (String, String) = {
        let r = client
            .query_one(
                "UPDATE site_all SET classification = 'internal'
                  WHERE id = (SELECT min(id) FROM site WHERE kind = 'district_command_post')
                 RETURNING code, (SELECT code FROM admin_unit WHERE id = district_id)",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let secret_post: String = client
        .query_one(
            "UPDATE site_all SET classification = 'secret'
              WHERE id = (SELECT max(id) FROM site WHERE kind = 'district_command_post') RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let cookie = db
        .sign_in(
            "ngansach",
            UserRole::BudgetOfficer,
            Classification::Confidential,
            &[],
        )
        .await;
    let officer = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&officer).await;
    let form = |fields: &[(&str, &str)]| {
        let mut all: Vec<(String, String)> = [
            ("csrf", csrf.as_str()),
            ("version", "0"),
            ("code", ""),
            ("name", "Trang bị tự động hóa chỉ huy"),
            ("category", "automation_equipment"),
            ("programme", "kvpt_2021_2025"),
            ("responsible_unit", "Ban CHQS huyện"),
            ("command_post", post.0.as_str()),
            ("classification", "confidential"),
            ("planned_start", "2021-03-01"),
            ("planned_finish", "01/06/2023"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in fields {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.to_string()));
        }
        all.iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let post_form = |uri: String, body: String| {
        let officer = officer.clone();
        async move { call(&officer, "POST", &uri, &[FORM], body).await }
    };
    let (status, _, page) = request(&officer, "/investments/new?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("name=\"category\"")
            && page.contains(&post.0)
            && !page.contains(&secret_post)
    );
    // Refused, in Vietnamese, nothing written.
    for (fields, says) in [
        (vec![("name", " ")], "Tên từ 1 đến 300"),
        (vec![("category", "castle")], "không có danh mục"),
        (vec![("planned_finish", "2020-01-01")], "trước ngày bắt đầu"),
        (vec![("planned_start", "hôm qua")], "không phải ngày"),
        (vec![("classification", "secret")], "cao hơn độ mật"),
        (vec![("category", "boats")], "Chỉ khoản tự động hóa chỉ huy"),
        (
            vec![("command_post", secret_post.as_str())],
            "Không có sở chỉ huy",
        ),
        (vec![("code", "MS-TNH-9999")], "không hợp lệ"),
        (
            vec![(
                "code",
                "TDH-TNH-99999999999999999999999999999999999999999999999999999",
            )],
            "tối đa 40 ký tự",
        ),
        // A post classified above the item would tell its district.
        (
            vec![("classification", "public")],
            "có độ mật cao hơn khoản đầu tư",
        ),
    ] {
        let (status, _, page) = post_form("/investments?lang=vi".into(), form(&fields)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.contains(says), "{says}: {page}");
    }
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM investment i JOIN site s ON s.id = i.site_id"
        )
        .await,
        0
    );
    // Added: the next code of its kind, in the post's district, planned, audited.
    let (status, headers, _) = post_form("/investments?lang=vi".into(), form(&[])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get("location").unwrap().to_str().unwrap(),
        format!("/sites/{code}?lang=vi")
    );
    let row = client
        .query_one(
            "SELECT s.geom IS NULL, (SELECT code FROM admin_unit WHERE id = s.district_id), s.status::text,
                    (SELECT count(*) FROM progress_history h WHERE h.site_id = s.id),
                    (SELECT count(*) FROM audit_log a WHERE a.entity = 'investment' AND a.entity_key = s.code)
               FROM site s WHERE s.code = $1",
            &[&code],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some(post.1.as_str())
    );
    assert_eq!(row.get::<_, String>(2), "planned");
    assert_eq!((row.get::<_, i64>(3), row.get::<_, i64>(4)), (1, 1));
    let (status, _, page) = post_form(
        "/investments?lang=vi".into(),
        form(&[("code", code), ("command_post", "")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("đã có"), "{page}");
    // A province-wide purchase gets the next code of its own kind.
    let (status, headers, _) = post_form(
        "/investments?lang=vi".into(),
        form(&[
            ("category", "boats"),
            ("command_post", ""),
            ("name", "Xuồng cứu hộ"),
            ("classification", "internal"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get("location").unwrap().to_str().unwrap(),
        format!("/sites/{boats}?lang=vi")
    );
    // Its page: the facts of an investment where a work's map would be.
    let (status, _, page) = request(&officer, &format!("/sites/{code}?lang=vi"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"investment\"") && page.contains("Trang thiết bị tự động hóa chỉ huy")
    );
    assert!(page.contains(&format!("/sites/{}", post.0)) && !page.contains("class=\"minimap\""));
    // Corrected over its version; a stale version is a conflict; its kind stays.
    let edit = format!("/investments/{code}/edit?lang=vi");
    let (status, _, page) = request(&officer, &edit, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("value=\"Trang bị tự động hóa chỉ huy\""));
    let (status, _, _) = post_form(
        edit.clone(),
        form(&[("version", "1"), ("category", "lan"), ("name", "Mạng LAN")]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, page) =
        post_form(edit.clone(), form(&[("version", "1"), ("name", "Cũ")])).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("Mạng LAN"), "the newest values");
    let (status, _, page) = post_form(
        edit.clone(),
        form(&[
            ("version", "2"),
            ("category", "vehicles"),
            ("command_post", ""),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Không đổi được loại"), "{page}");
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM audit_log WHERE entity = 'investment' AND entity_key = '{code}'")).await,
        2
    );
    // An engineer of the post's district updates its progress; an officer its budget.
    let cookie = db
        .sign_in(
            "kysu",
            UserRole::Engineer,
            Classification::Confidential,
            &[],
        )
        .await;
    client
        .execute(
            "INSERT INTO user_district (user_id, district_id)
             SELECT u.id, d.id FROM app_user u, admin_unit d WHERE u.username = 'kysu' AND d.code = $1",
            &[&post.1],
        )
        .await
        .unwrap();
    let engineer = with_cookie(db.app(), &cookie);
    let engineer_csrf = crate::common::csrf_of(&engineer).await;
    let (status, _, body) = call(
        &engineer,
        "GET",
        &format!("/api/sites/{code}/progress"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = serde_json::from_str::<Value>(&body).unwrap()["version"].clone();
    let (status, _, body) = call(
        &engineer,
        "PATCH",
        &format!("/api/sites/{code}/progress"),
        &[("x-csrf-token", &engineer_csrf), ("content-type", "application/json")],
        json!({ "version": version, "status": "under_construction", "percent": 30, "note": "Lắp đặt thiết bị" }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = call(
        &officer,
        "PUT",
        &format!("/api/sites/{code}/budget/2023/provincial"),
        &[("x-csrf-token", &csrf)],
        json!({ "estimate": 5_000_000_000i64, "allocated": 3_000_000_000i64, "disbursed": 1_000_000_000i64, "settled": 0, "version": 0 }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let p = params(Classification::Confidential);
    let mut clients = vec![db.pool().get().await.unwrap()];
    let d = dashboard::summary(&mut clients, &p).await.unwrap();
    let automation = d
        .by_kind
        .iter()
        .find(|r| r.key == "command_automation")
        .unwrap();
    assert_eq!((automation.total, automation.under_construction), (1, 1));
    let listed = dashboard::plan_sites(&clients[0], &p, 2023, "provincial", &post.1)
        .await
        .unwrap();
    let line = listed
        .iter()
        .find(|r| r.code == code)
        .expect("in its district's plan");
    assert_eq!((line.estimate, line.pct), (5_000_000_000, 30));
    // Viewers and engineers may not add or correct.
    for (role, app) in [
        (UserRole::Engineer, engineer.clone()),
        (
            UserRole::Viewer,
            db.app_as(UserRole::Viewer, Classification::Secret).await,
        ),
    ] {
        assert_eq!(
            request(&app, "/investments/new", &[]).await.0,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
        let their_csrf = crate::common::csrf_of(&app).await;
        let body = form(&[]).replace(&format!("csrf={csrf}"), &format!("csrf={their_csrf}"));
        assert_eq!(
            call(&app, "POST", "/investments", &[FORM], body).await.0,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }
    // Each reader sees the items at or below their clearance, and a command post only if
    // cleared for it (the item's post classified secret after it was linked).
    client
        .execute(
            "UPDATE site_all SET classification = 'secret' WHERE code = $1",
            &[&post.0],
        )
        .await
        .unwrap();
    let secret_post = post.0.clone();
    for clearance in Classification::ALL {
        let app = db.app_as(UserRole::Viewer, *clearance).await;
        let (status, _, page) = request(&app, "/investments?lang=vi", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let sees_item = *clearance >= Classification::Confidential;
        assert_eq!(page.contains(code), sees_item, "{clearance:?}");
        assert_eq!(
            page.contains(&boats),
            *clearance >= Classification::Internal,
            "{clearance:?}"
        );
        assert_eq!(
            page.contains(&secret_post),
            *clearance == Classification::Secret,
            "{clearance:?}"
        );
        let (status, _, page) = request(&app, &format!("/sites/{code}"), &[]).await;
        assert_eq!(
            status,
            if sees_item {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            },
            "{clearance:?}"
        );
        assert_eq!(
            page.contains(&secret_post),
            *clearance == Classification::Secret,
            "{clearance:?}"
        );
    }
    // An officer who cannot see the post keeps it when correcting the rest, and may not
    // lower the item's classification (administrators may).
    let (status, _, _) = post_form(
        edit.clone(),
        form(&[
            ("version", "2"),
            ("category", "lan"),
            ("command_post", ""),
            ("name", "Mạng LAN (bổ sung)"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM investment WHERE command_post_id = (SELECT id FROM site WHERE code = '{secret_post}')")).await,
        1
    );
    let (status, _, page) = post_form(
        edit.clone(),
        form(&[
            ("version", "3"),
            ("category", "lan"),
            ("command_post", ""),
            ("classification", "internal"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Chỉ quản trị viên được hạ độ mật"), "{page}");
    // A refused form keeps the version it was sent over: a change made meanwhile is still a
    // conflict when it is sent again.
    assert!(page.contains("name=\"version\" value=\"3\""), "{page}");
}
