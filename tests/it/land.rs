//! Issue 24 §2: the defence land-use plan 2021–2030. Parcels' areas are measured in
//! EPSG:9209, never typed; the dashboard's land figures equal a direct count at each
//! clearance and in parts; administrators and budget officers keep the plan through its
//! page (versions, rules, roles, clearance); exports carry the fields.

use crate::common::{call, count, request, TestDb};
use axum::http::StatusCode;
use kvpt::db::dashboard::{self, Params, Scope};
use kvpt::domain::{Classification, UserRole};

#[tokio::test]
async fn land_figures_are_measured_in_vn2000_and_match_a_direct_count() {
    let db = TestDb::with_demo(400, 81).await;
    let client = db.client().await;
    let parcels = count(
        &client,
        "SELECT count(*) FROM site WHERE kind = 'defence_land'",
    )
    .await;
    assert!(parcels > 5);
    assert_eq!(
        count(&client, "SELECT count(*) FROM land_parcel").await,
        parcels,
        "the demo plans every parcel"
    );
    // The area is the geometry's in EPSG:9209 (not the sphere's, not typed), to within a part
    // per million (the datum shift is the one pinned for VN-2000, not PROJ's choice).
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE kind = 'defence_land'
                AND abs(land_area_m2 - ST_Area(ST_Transform(geom, 9209)))
                    > greatest(0.01, 1e-6 * land_area_m2)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE kind <> 'defence_land' AND land_area_m2 IS NOT NULL"
        )
        .await,
        0
    );
    let pool = db.pool();
    for clearance in [Classification::Internal, Classification::Secret] {
        let p = Params {
            clearance,
            as_of: None,
            ahead_threshold: 0.3,
            stale_days: 180,
            scope: Scope::default(),
            submitted: false,
        };
        let rows = client
            .query(
                "SELECT l.planned_use::text, coalesce(d.code, ''), l.legal_status::text, l.five_year,
                        count(*), sum(round(s.land_area_m2))::int8,
                        count(*) FILTER (WHERE s.status IN ('completed', 'handed_over')),
                        coalesce(sum(round(s.land_area_m2))
                                 FILTER (WHERE s.status IN ('completed', 'handed_over')), 0)::int8,
                        coalesce(sum(round(s.land_area_m2))
                                 FILTER (WHERE l.current_use = l.planned_use), 0)::int8
                   FROM land_parcel l JOIN site s ON s.id = l.site_id
                   LEFT JOIN admin_unit d ON d.id = s.district_id
                  WHERE s.classification <= $1::text::classification
                  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                &[&clearance.code()],
            )
            .await
            .unwrap();
        // (planned use, district, legal status, 5-year period, parcels, m², and of them
        // done: parcels and m², and m² already in their planned use.)
        type Row = (String, String, String, String, i64, i64, [i64; 3]);
        let want: Vec<Row> = rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    [r.get(6), r.get(7), r.get(8)],
                )
            })
            .collect();
        if clearance == Classification::Secret {
            for (i, what) in ["parcels done", "m² done", "m² in planned use"]
                .iter()
                .enumerate()
            {
                assert!(
                    want.iter().map(|r| r.6[i]).sum::<i64>() > 0,
                    "the demo has {what}"
                );
            }
        }
        let mut whole = None;
        for parts in 1..=3 {
            let mut clients = Vec::new();
            for _ in 0..parts {
                clients.push(pool.get().await.unwrap());
            }
            let d = dashboard::summary(&mut clients, &p).await.unwrap();
            let got: Vec<_> = d
                .land
                .iter()
                .map(|l| {
                    (
                        l.planned_use.clone(),
                        l.district.clone(),
                        l.legal_status.clone(),
                        l.five_year.clone(),
                        l.parcels,
                        l.area_m2,
                        [l.done, l.done_m2, l.in_use_m2],
                    )
                })
                .collect();
            assert_eq!(got, want, "{clearance:?}, {parts} parts");
            let d = serde_json::to_value(&d.land).unwrap();
            match &whole {
                None => whole = Some(d),
                Some(w) => assert_eq!(&d, w),
            }
        }
    }
    // The page shows the first 5-year period's figures.
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let (status, _, page) = request(&app, "/dashboard", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("land-table") && page.contains("land-first-period"));
    let (status, _, csv) = request(&app, "/dashboard.csv?table=land", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("planned_use,district_code"));
    // Exports to the environment department carry the plan.
    let (status, _, body) = request(
        &app,
        "/exports/sites.geojson?profile=tn-mt&kind=defence_land",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let features = json["features"].as_array().unwrap();
    assert!(!features.is_empty());
    let plans: std::collections::HashMap<String, serde_json::Value> = client
        .query(
            "SELECT s.code, json_build_object(
                        'land_five_year', l.five_year, 'land_current_use', l.current_use,
                        'land_planned_use', l.planned_use, 'land_legal_status', l.legal_status,
                        'land_decision_no', l.decision_no, 'land_decision_date', l.decision_date,
                        'land_area_m2', s.land_area_m2)
               FROM land_parcel l JOIN site s ON s.id = l.site_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut decided = 0;
    for f in features {
        let p = &f["properties"];
        let want = &plans[p["code"].as_str().unwrap()];
        for field in [
            "land_five_year",
            "land_current_use",
            "land_planned_use",
            "land_legal_status",
            "land_decision_no",
            "land_decision_date",
        ] {
            assert_eq!(p[field], want[field], "{field}: {p}");
        }
        let area = p["land_area_m2"].as_f64().unwrap();
        assert!(
            area > 0.0 && (area - want["land_area_m2"].as_f64().unwrap()).abs() < 0.01,
            "{p}"
        );
        decided += usize::from(!p["land_decision_no"].is_null());
    }
    assert!(
        decided > 0,
        "some exported parcels have an approval decision"
    );
}

/// A budget officer enters and corrects a parcel's plan; the rules, versions, roles and
/// clearance hold, and every change is audited.
#[tokio::test]
async fn budget_officers_keep_the_land_plan_within_the_rules() {
    let db = TestDb::with_demo(300, 82).await;
    let client = db.client().await;
    let code: String = client
        .query_one(
            "SELECT code FROM site WHERE kind = 'defence_land' ORDER BY code LIMIT 1",
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
    let version: i32 = client
        .query_one(
            "SELECT l.version FROM land_parcel l JOIN site s ON s.id = l.site_id WHERE s.code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    let cookie = db
        .sign_in(
            "ngansach",
            UserRole::BudgetOfficer,
            Classification::Internal,
            &[],
        )
        .await;
    let officer = crate::common::with_cookie(db.app(), &cookie);
    let csrf = crate::common::csrf_of(&officer).await;
    let uri = format!("/sites/{code}/land?lang=vi");
    let form = |v: i32, decision_no: &str, date: &str| {
        format!("csrf={csrf}&version={v}&five_year=2021-2025&current_use=agriculture&planned_use=training&legal_status=in_progress&decision_no={decision_no}&decision_date={date}")
    };
    let post = |body: String| {
        let officer = officer.clone();
        let uri = uri.clone();
        async move {
            call(
                &officer,
                "POST",
                &uri,
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    // The page: the area, measured; the form.
    let (status, _, page) = request(&officer, &uri, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"land-area\"") && page.contains("name=\"five_year\""));
    assert!(!page.contains("name=\"area"), "the area is never typed");
    // Refused, in Vietnamese, nothing written.
    for (body, says) in [
        (form(version, "12%2FQĐ-UBND", ""), "cần cả số và ngày"),
        (form(version, "12%2FQĐ-UBND", "2099-01-01"), "ở tương lai"),
        (
            form(version, "", "").replace("2021-2025", "2031-2035"),
            "không hợp lệ",
        ),
        (
            form(version, "", "").replace("training", "castle"),
            "không có mục đích",
        ),
    ] {
        let (status, _, page) = post(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(page.contains(says), "{says}: {page}");
    }
    // Saved, then a stale version is a conflict.
    let (status, _, page) = post(form(version, "12%2FQĐ-UBND", "15%2F03%2F2022")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Thao trường, trường bắn")
            && page.contains("12/QĐ-UBND")
            && page.contains("15/03/2022")
    );
    let (status, _, _) = post(form(version, "13%2FQĐ-UBND", "2022-03-16")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        count(&client, &format!("SELECT count(*) FROM audit_log WHERE entity = 'land_parcel' AND entity_key = '{code}'")).await,
        1
    );
    // A viewer sees the plan, no form, and may not post; an engineer neither.
    for role in [UserRole::Viewer, UserRole::Engineer] {
        let cookie = db
            .sign_in(
                &format!("u{}", role.code().replace('_', "")),
                role,
                Classification::Secret,
                &["TBI"],
            )
            .await;
        let app = crate::common::with_cookie(db.app(), &cookie);
        let (status, _, page) = request(&app, &uri, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("name=\"five_year\""), "{role:?}");
        let csrf = crate::common::csrf_of(&app).await;
        let body = form(version + 1, "", "").replace(
            &format!("csrf={}", crate::common::csrf_of(&officer).await),
            &format!("csrf={csrf}"),
        );
        let (status, _, _) = call(
            &app,
            "POST",
            &uri,
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // Above the officer's clearance the parcel does not exist; a work that is not land has
    // no plan.
    client
        .execute(
            "UPDATE site SET classification = 'secret' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    assert_eq!(request(&officer, &uri, &[]).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = post(form(version + 1, "", "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other: String = client
        .query_one(
            "UPDATE site SET classification = 'internal'
              WHERE code = (SELECT code FROM site WHERE kind = 'warehouse' ORDER BY code LIMIT 1)
             RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        request(&officer, &format!("/sites/{other}/land"), &[])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}
