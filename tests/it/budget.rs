//! Budget lines: only budget officers write them, the rules hold (errors and warnings),
//! every change is audited with its previous values and kept for "as of" figures.

use crate::common::{call, count, with_cookie, TestDb};
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::{json, Value};

struct Officer {
    app: axum::Router,
    csrf: String,
}

async fn officer(db: &TestDb, role: UserRole) -> Officer {
    let name = format!("u{}", role.code().replace('_', ""));
    let cookie = db
        .sign_in(&name, role, Classification::Confidential, &["TBI"])
        .await;
    let app = with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&app).await;
    Officer { app, csrf }
}

async fn put(o: &Officer, code: &str, year: i32, source: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, text) = call(
        &o.app,
        "PUT",
        &format!("/api/sites/{code}/budget/{year}/{source}"),
        &[("x-csrf-token", &o.csrf)],
        body.to_string(),
    )
    .await;
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text })),
    )
}

/// A site under construction, and one completed, both internal.
async fn sites(db: &TestDb) -> (String, String) {
    let client = db.client().await;
    let pick = |status: &'static str| {
        let client = &client;
        async move {
            let code: String = client
                .query_one(
                    &format!(
                        "SELECT code FROM site WHERE status = '{status}' ORDER BY code LIMIT 1"
                    ),
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
            code
        }
    };
    (pick("under_construction").await, pick("completed").await)
}

#[tokio::test]
async fn budget_officers_enter_and_correct_lines_within_the_rules() {
    let db = TestDb::with_demo(200, 4).await;
    let (building, done) = sites(&db).await;
    let o = officer(&db, UserRole::BudgetOfficer).await;
    db.client()
        .await
        .execute(
            "DELETE FROM budget_line WHERE site_id = (SELECT id FROM site WHERE code = $1) AND year = 2025 AND source = 'other'",
            &[&building],
        )
        .await
        .unwrap();
    let line = json!({ "estimate": 1_000_000_000i64, "allocated": 800_000_000i64, "disbursed": 500_000_000i64, "settled": 0, "version": 0 });
    let (status, answer) = put(&o, &building, 2025, "other", line.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["version"], 1);
    assert!(answer["warnings"].as_array().unwrap().is_empty());
    // The same "new line" again is stale.
    let (status, answer) = put(&o, &building, 2025, "other", line).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["current"]["version"], 1);
    // Rules: disbursed within allocated; settled only once the work is complete.
    let (status, answer) = put(&o, &building, 2025, "other",
        json!({ "estimate": 1_000, "allocated": 800, "disbursed": 900, "settled": 0, "version": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["violations"][0]["rule"],
        "disbursed_within_allocated"
    );
    let (status, answer) = put(&o, &building, 2025, "other",
        json!({ "estimate": 1_000, "allocated": 800, "disbursed": 800, "settled": 700, "version": 1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["violations"][0]["rule"], "settled_after_completion");
    let (status, _) = put(&o, &done, 2025, "other",
        json!({ "estimate": 1_000, "allocated": 800, "disbursed": 800, "settled": 700, "version": 0 })).await;
    assert_eq!(status, StatusCode::OK, "settled on a completed work");
    // Over the estimate: saved, with a warning.
    let (status, answer) = put(&o, &building, 2025, "other",
        json!({ "estimate": 1_000, "allocated": 1_200, "disbursed": 900, "settled": 0, "version": 1 })).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["warnings"][0]["rule"], "estimate_exceeded");
    // Audited with the previous values; every state kept for "as of" figures.
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT before->>'allocated', after->>'allocated' FROM audit_log
              WHERE entity = 'budget_line' AND entity_key = $1 ORDER BY id DESC LIMIT 1",
            &[&format!("{building}/2025/other")],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "800000000");
    assert_eq!(row.get::<_, String>(1), "1200");
    assert_eq!(
        count(
            &client,
            &format!(
                "SELECT count(*) FROM budget_history h JOIN site s ON s.id = h.site_id
              WHERE s.code = '{building}' AND h.year = 2025 AND h.source = 'other'"
            )
        )
        .await,
        2
    );
    // The page form says the same, in Vietnamese, amounts typed with separators.
    let form = format!(
        "csrf={}&version=2&year=2025&source=other&estimate=1.000&allocated=1.000&disbursed=1.100&settled=0",
        o.csrf
    );
    let (status, _, page) = call(
        &o.app,
        "POST",
        &format!("/sites/{building}/budget"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("vượt số đã phân bổ"), "{page}");
}

#[tokio::test]
async fn only_budget_officers_may_write_budget_lines() {
    let db = TestDb::with_demo(100, 4).await;
    let (building, _) = sites(&db).await;
    let body =
        json!({ "estimate": 10, "allocated": 5, "disbursed": 0, "settled": 0, "version": 0 });
    let uri = format!("/api/sites/{building}/budget/2024/provincial");
    let (status, _, _) = call(&db.app(), "PUT", &uri, &[], body.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for role in [UserRole::Viewer, UserRole::Engineer, UserRole::Admin] {
        let o = officer(&db, role).await;
        let (status, _) = put(&o, &building, 2024, "provincial", body.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        let (status, _, _) =
            call(&o.app, "GET", &format!("/sites/{building}/budget"), &[], "").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let o = officer(&db, UserRole::BudgetOfficer).await;
    let (status, _, _) = call(
        &o.app,
        "PUT",
        &uri,
        &[("x-csrf-token", "nope")],
        body.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong CSRF token");
    let form =
        "csrf=&version=0&year=2024&source=provincial&estimate=1&allocated=1&disbursed=0&settled=0";
    let (status, _, _) = call(
        &o.app,
        "POST",
        &format!("/sites/{building}/budget"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "form without CSRF token");
    assert_eq!(
        count(
            &db.client().await,
            "SELECT count(*) FROM audit_log WHERE entity = 'budget_line'"
        )
        .await,
        0
    );
}
