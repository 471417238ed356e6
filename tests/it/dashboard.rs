//! The dashboard, now and as of past dates, against a hand-built history of three works;
//! the map's status colours as of a date; the public budget page; CSV downloads.

use crate::common::{call, request, TestDb};
use axum::http::StatusCode;
use chrono::NaiveDate;
use kvpt::db::dashboard::{self, Params, Scope};
use kvpt::domain::Programme;
use kvpt::domain::{Classification, UserRole};

/// Three warehouses with a history written by hand:
/// - KHO-TBI-9001: created 2022-01-01 planned; 2023-03-01 under construction 40%;
///   2024-05-01 completed 100%. Budget 2023 central: estimate 100, allocated 80,
///   disbursed 20 (entered 2023-12-31), then disbursed 80 and settled 70 (2024-06-01).
/// - KHO-TBI-9002: created 2022-06-01 planned; 2023-11-15 design 10%; planned finish
///   2023-06-30, so late ever since.
/// - KHO-TCH-9003: created 2024-02-01, planned.
async fn hand_built() -> TestDb {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TEMP TABLE place AS
               SELECT abbr, ST_PointOnSurface(geom) AS p FROM admin_unit WHERE abbr IN ('TBI', 'TCH');
             INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, classification, created_at, version)
             SELECT 'KHO-TBI-9001', 'Kho A', 'warehouse', p, 'kvpt_2021_2025', 'completed', 100,
                    '2022-01-01', '2024-12-31', 'internal', '2022-01-01 10:00+07', 3 FROM place WHERE abbr = 'TBI';
             INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, classification, created_at, version)
             SELECT 'KHO-TBI-9002', 'Kho B', 'warehouse', ST_Translate(p, 0.001, 0), 'kvpt_2021_2025', 'design', 10,
                    '2022-06-01', '2023-06-30', 'internal', '2022-06-01 10:00+07', 2 FROM place WHERE abbr = 'TBI';
             INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, classification, created_at, version)
             SELECT 'KHO-TCH-9003', 'Kho C', 'warehouse', p, 'kvpt_2021_2025', 'planned', 0,
                    '2024-02-01', '2026-12-31', 'internal', '2024-02-01 10:00+07', 1 FROM place WHERE abbr = 'TCH';
             INSERT INTO progress_history (site_id, recorded_at, actor, old_status, new_status, old_pct, new_pct)
             SELECT s.id, h.at::timestamptz, 'hand', h.old::site_status, h.new::site_status, h.old_pct, h.new_pct
               FROM (VALUES ('KHO-TBI-9001', '2022-01-01 10:00+07', NULL, 'planned', NULL, 0),
                            ('KHO-TBI-9001', '2023-03-01 10:00+07', 'planned', 'under_construction', 0, 40),
                            ('KHO-TBI-9001', '2024-05-01 10:00+07', 'under_construction', 'completed', 40, 100),
                            ('KHO-TBI-9002', '2022-06-01 10:00+07', NULL, 'planned', NULL, 0),
                            ('KHO-TBI-9002', '2023-11-15 10:00+07', 'planned', 'design', 0, 10),
                            ('KHO-TCH-9003', '2024-02-01 10:00+07', NULL, 'planned', NULL, 0))
                    AS h(code, at, old, new, old_pct, new_pct)
               JOIN site s ON s.code = h.code;
             INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd, updated_at)
             SELECT id, 2023, 'central', 100, 80, 20, 0, '2023-12-31 12:00+07' FROM site WHERE code = 'KHO-TBI-9001';
             UPDATE budget_line SET disbursed_vnd = 80, settled_vnd = 70, updated_at = '2024-06-01 12:00+07', version = 2
              WHERE site_id = (SELECT id FROM site WHERE code = 'KHO-TBI-9001');",
        )
        .await
        .expect("the hand-built history");
    db
}

/// A CSV download as rows of fields.
async fn csv(app: &axum::Router, query: &str) -> Vec<Vec<String>> {
    let (status, _, body) = request(app, &format!("/dashboard.csv?{query}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn field<'a>(rows: &'a [Vec<String>], key: &str, column: usize) -> &'a str {
    &rows
        .iter()
        .find(|r| r[0] == key)
        .unwrap_or_else(|| panic!("{key} in {rows:?}"))[column]
}

#[tokio::test]
async fn figures_as_of_a_date_match_the_hand_built_history() {
    let db = hand_built().await;
    let app = db.internal_app().await;
    // by_kind columns: kind, name, total, planned, design, under_construction, completed,
    // handed_over, suspended, cancelled, mean_pct, weighted_pct, late
    let end_2023 = csv(&app, "table=by_kind&as_of=2023-12-31").await;
    assert_eq!(end_2023.len(), 1);
    let row = &end_2023[0];
    assert_eq!(row[0], "warehouse");
    assert_eq!(
        &row[2..10],
        ["2", "0", "1", "1", "0", "0", "0", "0"],
        "{row:?}"
    );
    assert_eq!(row[10], "25.0", "mean of 40% and 10%");
    assert_eq!(row[11], "40.0", "weighted by estimate: only A has one");
    assert_eq!(row[12], "1", "B is late");
    let plan = csv(&app, "table=plan&as_of=2023-12-31").await;
    assert_eq!(plan, [["2023", "central", "100", "80", "20", "0"]]);
    let flags = csv(&app, "table=flags&as_of=2023-12-31").await;
    assert_eq!(field(&flags, "stale", 1), "1", "A not updated since March");
    assert_eq!(field(&flags, "settled_not_done", 1), "0");
    let mid_2022 = csv(&app, "table=by_kind&as_of=30/06/2022").await;
    assert_eq!(
        &mid_2022[0][2..5],
        ["2", "2", "0"],
        "both planned, C not yet created"
    );
    assert_eq!(
        csv(&app, "table=plan&as_of=2022-06-30").await.len(),
        0,
        "no budget yet"
    );
    // Now: the site table itself.
    let now = csv(&app, "table=by_kind").await;
    assert_eq!(&now[0][2..7], ["3", "1", "1", "0", "1"], "{:?}", now[0]);
    assert_eq!(now[0][10], "36.7");
    assert_eq!(
        csv(&app, "table=plan").await,
        [["2023", "central", "100", "80", "80", "70"]]
    );
    let by_district = csv(&app, "table=by_district&as_of=2023-12-31").await;
    assert_eq!(
        by_district.len(),
        1,
        "Tân Châu had no work yet: {by_district:?}"
    );
    // The page says the date and the same totals.
    let (status, _, page) = request(&app, "/dashboard?as_of=2023-12-31", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let doc = scraper::Html::parse_document(&page);
    let text = |css: &str| {
        doc.select(&scraper::Selector::parse(css).unwrap())
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default()
    };
    assert_eq!(text("#as-of-date"), "31/12/2023");
    assert_eq!(text("#total"), "2");
    assert_eq!(text("#late"), "1");
    assert_eq!(text("#mean"), "25,0%");
    assert_eq!(text("#disbursement-rate"), "25,0%");
    // Flag pages list the works.
    let (status, _, page) = request(&app, "/dashboard/flags/stale?as_of=2023-12-31", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("KHO-TBI-9001") && !page.contains("KHO-TBI-9002"));
    // Drill-down: year × source → district → works.
    let (status, _, page) =
        request(&app, "/dashboard/plan?year=2023&source=central&in=705", &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("/sites/KHO-TBI-9001"));
}

#[tokio::test]
async fn bad_dashboard_parameters_are_400_and_clearance_applies() {
    let db = hand_built().await;
    let app = db.internal_app().await;
    for (query, field, vietnamese) in [
        ("as_of=2099-01-01", "as_of", "ở tương lai"),
        ("as_of=yesterday", "as_of", "không phải là ngày"),
        (
            "as_of=1999-12-31",
            "as_of",
            "trước khi chương trình bắt đầu",
        ),
        ("ahead=0", "ahead", "không phải số nguyên từ 1 đến 100"),
        ("stale=many", "stale", "không phải số nguyên từ 1 đến 3650"),
    ] {
        let (status, _, body) = request(&app, &format!("/dashboard.csv?{query}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.contains(field), "{query}: {body}");
        let (status, _, page) = request(&app, &format!("/dashboard?{query}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: the page too");
        assert!(page.contains("<html"), "{query}");
        assert!(
            page.contains(vietnamese),
            "{query}: the reason in Vietnamese: {page}"
        );
    }
    let (status, _, _) = request(&app, "/dashboard/flags/nonsense", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Anonymous visitors count public works only: none here.
    let rows = csv(&db.app(), "table=by_kind").await;
    assert!(rows.is_empty(), "{rows:?}");
    // The public disclosure has the amounts, no site.
    let (status, _, page) = request(&db.app(), "/public/budget", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Ngân sách trung ương") && page.contains(">100<"),
        "{page}"
    );
    assert!(!page.contains("KHO-"), "no site in the public page");
    let closed = kvpt::web::router(kvpt::web::AppState::new(db.pool()).anonymous(None));
    assert_eq!(
        request(&closed, "/public/budget", &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        request(&closed, "/dashboard", &[]).await.0,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn map_tiles_show_statuses_as_of_a_date() {
    let db = hand_built().await;
    let app = db.app_as(UserRole::Viewer, Classification::Internal).await;
    let client = db.client().await;
    let (z, x, y): (i32, i32, i32) = {
        let row = client
            .query_one(
                "SELECT 14, floor((ST_X(geom) + 180) / 360 * 16384)::int,
                        floor((1 - ln(tan(radians(ST_Y(geom))) + 1 / cos(radians(ST_Y(geom)))) / pi()) / 2 * 16384)::int
                   FROM site WHERE code = 'KHO-TBI-9001'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    let status_in = |body: Vec<u8>| {
        let reader = mvt_reader::Reader::new(body).unwrap();
        reader
            .get_features(0)
            .unwrap()
            .into_iter()
            .filter_map(|f| {
                let p = f.properties?;
                match (p.get("code")?, p.get("status")?) {
                    (
                        mvt_reader::feature::Value::String(c),
                        mvt_reader::feature::Value::String(s),
                    ) if c == "KHO-TBI-9001" => Some(s.clone()),
                    _ => None,
                }
            })
            .next()
    };
    let tile = |suffix: &str| format!("/tiles/logistics/{z}/{x}/{y}.mvt{suffix}");
    let get = |uri: String| {
        let app = app.clone();
        async move {
            let (status, headers, body) = call(&app, "GET", &uri, &[], "").await;
            (status, headers, body)
        }
    };
    let bytes = |uri: String| {
        let app = app.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let response = app
                .oneshot(
                    axum::http::Request::builder()
                        .uri(uri)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec()
        }
    };
    assert_eq!(
        status_in(bytes(tile("")).await).as_deref(),
        Some("completed")
    );
    assert_eq!(
        status_in(bytes(tile("?as_of=2023-12-31")).await).as_deref(),
        Some("under_construction")
    );
    assert_eq!(
        status_in(bytes(tile("?as_of=2022-06-30")).await).as_deref(),
        Some("planned")
    );
    let (_, now, _) = get(tile("")).await;
    let (_, then, _) = get(tile("?as_of=2023-12-31")).await;
    assert_ne!(now.get("etag"), then.get("etag"), "cached apart");
    let (status, _, _) = get(tile("?as_of=2099-01-01")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(tile("?colour=red")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // TileJSON hands out as-of tile addresses.
    let (_, _, tilejson) = get("/tiles/logistics.json?as_of=2023-12-31".into()).await;
    assert!(tilejson.contains(".mvt?as_of=2023-12-31"), "{tilejson}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_dashboards_follow_every_write() {
    let db = hand_built().await;
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    for _ in 0..100 {
        if state.tiles.version("budget").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cookie = db
        .sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let app = crate::common::with_cookie(kvpt::web::router(state), &cookie);
    let plan = || csv(&app, "table=plan");
    assert_eq!(plan().await, [["2023", "central", "100", "80", "80", "70"]]);
    assert_eq!(
        plan().await,
        [["2023", "central", "100", "80", "80", "70"]],
        "cached"
    );
    // Another process corrects the line: the next dashboards show it.
    db.client()
        .await
        .execute("UPDATE budget_line SET estimate_vnd = 150", &[])
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..40 {
        if plan().await == [["2023", "central", "150", "80", "80", "70"]] {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(seen, "the budget edit never reached the cached dashboard");
    // And a progress edit changes the figures by kind.
    let before = csv(&app, "table=by_kind").await;
    db.client()
        .await
        .execute(
            "UPDATE site SET status = 'completed', progress_pct = 100 WHERE code = 'KHO-TBI-9002'",
            &[],
        )
        .await
        .unwrap();
    let mut changed = false;
    for _ in 0..40 {
        if csv(&app, "table=by_kind").await != before {
            changed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        changed,
        "the progress edit never reached the cached dashboard"
    );
}

/// Works whose kept budget totals differ from the sum of their lines.
const TOTALS_ASTRAY: &str = "SELECT count(*) FROM (
      SELECT site_id, sum(estimate_vnd)::int8 AS e, sum(allocated_vnd)::int8 AS a,
             sum(disbursed_vnd)::int8 AS d, sum(settled_vnd)::int8 AS s
        FROM budget_line GROUP BY site_id) l
      FULL JOIN site_budget_total t USING (site_id)
     WHERE (coalesce(l.e, 0), coalesce(l.a, 0), coalesce(l.d, 0), coalesce(l.s, 0))
           IS DISTINCT FROM (coalesce(t.estimate_vnd, 0), coalesce(t.allocated_vnd, 0),
                             coalesce(t.disbursed_vnd, 0), coalesce(t.settled_vnd, 0))";

/// Classification × year × source keys whose kept plan totals differ from the lines of
/// the works now in that classification.
const PLAN_ASTRAY: &str = "SELECT count(*) FROM (
      SELECT s.classification, b.year, b.source, count(*) AS n, sum(b.estimate_vnd)::int8 AS e,
             sum(b.allocated_vnd)::int8 AS a, sum(b.disbursed_vnd)::int8 AS d,
             sum(b.settled_vnd)::int8 AS s
        FROM budget_line b JOIN site s ON s.id = b.site_id GROUP BY 1, 2, 3) l
      FULL JOIN budget_plan_total t USING (classification, year, source)
     WHERE (coalesce(l.n, 0), coalesce(l.e, 0), coalesce(l.a, 0), coalesce(l.d, 0), coalesce(l.s, 0))
           IS DISTINCT FROM (coalesce(t.lines, 0), coalesce(t.estimate_vnd, 0),
                             coalesce(t.allocated_vnd, 0), coalesce(t.disbursed_vnd, 0),
                             coalesce(t.settled_vnd, 0))";

/// Moments of works whose kept history of totals (migration 0020) differs from their
/// lines' history: at each moment a work's lines changed, per line its last row at or
/// before it, summed; and no kept moment without a change.
const HISTORY_ASTRAY: &str = "SELECT count(*) FROM (
      SELECT m.site_id, m.recorded_at, sum(l.estimate_vnd)::int8 AS e,
             sum(l.allocated_vnd)::int8 AS a, sum(l.disbursed_vnd)::int8 AS d,
             sum(l.settled_vnd)::int8 AS s
        FROM (SELECT DISTINCT site_id, recorded_at FROM budget_history) m
        JOIN budget_history l ON l.site_id = m.site_id AND l.recorded_at <= m.recorded_at
       WHERE NOT EXISTS (
             SELECT 1 FROM budget_history later
              WHERE later.site_id = l.site_id AND later.year = l.year AND later.source = l.source
                AND later.recorded_at <= m.recorded_at
                AND (later.recorded_at, later.id) > (l.recorded_at, l.id))
       GROUP BY 1, 2) w
      FULL JOIN site_budget_total_history t USING (site_id, recorded_at)
     WHERE (w.e, w.a, w.d, w.s)
           IS DISTINCT FROM (t.estimate_vnd, t.allocated_vnd, t.disbursed_vnd, t.settled_vnd)";

#[tokio::test]
async fn kept_budget_totals_follow_every_change_to_the_lines_and_works() {
    let db = TestDb::with_demo(80, 11).await;
    let client = db.client().await;
    // (works astray, plan keys astray)
    let astray = || async {
        let client = db.client().await;
        let works = client.query_one(TOTALS_ASTRAY, &[]).await.unwrap();
        let plan = client.query_one(PLAN_ASTRAY, &[]).await.unwrap();
        let history = client.query_one(HISTORY_ASTRAY, &[]).await.unwrap();
        (
            works.get::<_, i64>(0),
            plan.get::<_, i64>(0),
            history.get::<_, i64>(0),
        )
    };
    let lines: i64 = client
        .query_one("SELECT count(*) FROM budget_line", &[])
        .await
        .unwrap()
        .get(0);
    assert!(lines > 50, "the demo has budget lines ({lines})");
    assert_eq!(astray().await, (0, 0, 0), "after the demo load");
    for (what, sql) in [
        ("update", "UPDATE budget_line SET estimate_vnd = estimate_vnd + 7, disbursed_vnd = allocated_vnd WHERE year = 2023"),
        ("delete", "DELETE FROM budget_line WHERE year = 2024"),
        ("insert", "INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
                    SELECT id, 2030, 'other', 1000, 900, 800, 0 FROM site ORDER BY id LIMIT 5"),
        ("move of a line to another work", "UPDATE budget_line SET site_id = (SELECT max(id) FROM site)
                    WHERE year = 2030 AND site_id = (SELECT max(site_id) FROM budget_line WHERE year = 2030)"),
        ("update of nothing", "UPDATE budget_line SET settled_vnd = 1 WHERE false"),
        ("reclassification of works", "UPDATE site SET classification = CASE classification WHEN 'secret' THEN 'internal'::classification ELSE 'secret' END
                    WHERE id IN (SELECT site_id FROM budget_line WHERE year = 2023 ORDER BY site_id LIMIT 4)"),
        ("reclassification to the same", "UPDATE site SET classification = classification
                    WHERE id IN (SELECT site_id FROM budget_line ORDER BY site_id LIMIT 4)"),
        ("progress update", "UPDATE site SET progress_pct = progress_pct WHERE id IN (SELECT site_id FROM budget_line LIMIT 3)"),
        ("delete of a work with history", "DELETE FROM site WHERE id = (SELECT min(site_id) FROM budget_line WHERE year = 2030)"),
        ("a new work with lines", "WITH w AS (
                    INSERT INTO site (code, name, kind, geom, programme, classification)
                    SELECT 'TEST-NEW-1', name, kind, geom, programme, 'confidential' FROM site ORDER BY id LIMIT 1
                    RETURNING id)
                    INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd)
                    SELECT w.id, y, 'central', 500, 400 FROM w, generate_series(2022, 2023) y"),
        ("delete of a work with lines only", "DELETE FROM site WHERE code = 'TEST-NEW-1'"),
    ] {
        if let Err(err) = client.batch_execute(sql).await {
            // A work with progress or budget history cannot be deleted: then nothing
            // changed either.
            assert!(what.starts_with("delete of a work"), "{what}: {err:?}");
        }
        assert_eq!(astray().await, (0, 0, 0), "after the {what}");
    }
    // Concurrent edits of one work's lines (and of one line) add up, none lost, while
    // another transaction moves the work between classifications.
    let site: i64 = client
        .query_one(
            "SELECT site_id FROM budget_line WHERE year = 2030 ORDER BY site_id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let estimate = || async {
        let row = db
            .client()
            .await
            .query_one(
                "SELECT estimate_vnd FROM site_budget_total WHERE site_id = $1",
                &[&site],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let before = estimate().await;
    let mut tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = db.pool();
            tokio::spawn(async move {
                let mut client = pool.get().await.unwrap();
                for _ in 0..10 {
                    let tx = client.transaction().await.unwrap();
                    let year: i16 = if i % 2 == 0 { 2030 } else { 2031 };
                    tx.execute(
                        "INSERT INTO budget_line (site_id, year, source, estimate_vnd) VALUES ($1, $2, 'other', 1)
                         ON CONFLICT (site_id, year, source) DO UPDATE SET estimate_vnd = budget_line.estimate_vnd + 1",
                        &[&site, &year],
                    )
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    let pool = db.pool();
    tasks.push(tokio::spawn(async move {
        let client = pool.get().await.unwrap();
        for level in ["secret", "public", "confidential", "internal"].repeat(3) {
            client
                .execute(
                    "UPDATE site SET classification = $2::text::classification WHERE id = $1",
                    &[&site, &level],
                )
                .await
                .unwrap();
        }
    }));
    for task in tasks {
        task.await.unwrap();
    }
    let after = estimate().await;
    assert_eq!(after - before, 80, "8 writers × 10 additions of 1");
    assert_eq!(astray().await, (0, 0, 0), "after the concurrent edits");

    // Two lines of one work changed by transactions that commit in the other order than
    // they began: the later commit records the earlier moment. First without waiting
    // (the earlier transaction writes after the later one committed), then with the
    // earlier transaction's write waiting for the later one's lock.
    for wait in [false, true] {
        let sql = "UPDATE budget_line SET estimate_vnd = estimate_vnd + 3, updated_at = now()
                    WHERE site_id = $1 AND year = $2 AND source = 'other'";
        let early = db.pool().get().await.unwrap();
        let late = db.pool().get().await.unwrap();
        early.batch_execute("BEGIN").await.unwrap();
        early.query_one("SELECT now()", &[]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        late.batch_execute("BEGIN").await.unwrap();
        assert_eq!(late.execute(sql, &[&site, &2031i16]).await.unwrap(), 1);
        if wait {
            let blocked = tokio::spawn(async move {
                assert_eq!(early.execute(sql, &[&site, &2030i16]).await.unwrap(), 1);
                early.batch_execute("COMMIT").await.unwrap();
            });
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert!(
                !blocked.is_finished(),
                "the earlier transaction waits for the lock"
            );
            late.batch_execute("COMMIT").await.unwrap();
            blocked.await.unwrap();
        } else {
            late.batch_execute("COMMIT").await.unwrap();
            assert_eq!(early.execute(sql, &[&site, &2030i16]).await.unwrap(), 1);
            early.batch_execute("COMMIT").await.unwrap();
        }
        let order: bool = client
            .query_one(
                "SELECT (SELECT max(recorded_at) FROM budget_history WHERE site_id = $1 AND year = 2030)
                      < (SELECT max(recorded_at) FROM budget_history WHERE site_id = $1 AND year = 2031)",
                &[&site],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            order,
            "the line committed last has the earlier moment (wait: {wait})"
        );
        assert_eq!(
            astray().await,
            (0, 0, 0),
            "after commits out of order (wait: {wait})"
        );
    }
}

#[tokio::test]
async fn search_zone_areas_follow_their_geometry() {
    let db = TestDb::with_demo(120, 12).await;
    let client = db.client().await;
    let zone: i64 = client
        .query_one("SELECT min(site_id) FROM search_zone", &[])
        .await
        .unwrap()
        .get(0);
    let area = || async {
        let row = db
            .client()
            .await
            .query_one("SELECT zone_area_m2 FROM site WHERE id = $1", &[&zone])
            .await
            .unwrap();
        row.get::<_, f64>(0)
    };
    let before = area().await;
    client
        .execute(
            "UPDATE site SET geom = CASE WHEN GeometryType(geom) = 'MULTIPOLYGON'
                 THEN ST_Multi(ST_Buffer(geom, 0.002)) ELSE ST_Buffer(geom, 0.002) END
              WHERE id = $1",
            &[&zone],
        )
        .await
        .unwrap();
    assert!(area().await > before, "a larger zone has a larger area");
    let astray: i64 = client
        .query_one(
            "SELECT count(*) FROM site
              WHERE zone_area_m2 IS DISTINCT FROM
                    CASE WHEN kind = 'remains_search_zone' THEN ST_Area(geom::geography, false) END",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(astray, 0, "stored areas equal the measured ones");
}

/// What a planner at `clearance` asks for, now or as of a date.
fn params(clearance: Classification, as_of: Option<NaiveDate>) -> Params {
    Params {
        clearance,
        as_of,
        ahead_threshold: 0.3,
        stale_days: 180,
        scope: Scope::default(),
        submitted: false,
    }
}

/// The dashboard computed in `parts` parts, on as many connections.
async fn summary_in_parts(
    pool: &deadpool_postgres::Pool,
    parts: usize,
    p: &Params,
) -> dashboard::Dashboard {
    let mut clients = Vec::new();
    for _ in 0..parts {
        clients.push(pool.get().await.unwrap());
    }
    dashboard::summary(&mut clients, p).await.unwrap()
}

/// A dashboard computed in parts on several connections at once gives exactly the
/// figures of one computed whole, now and as of a date, at every clearance.
#[tokio::test]
async fn a_dashboard_in_parts_adds_up_to_the_whole() {
    let db = TestDb::with_demo(400, 11).await;
    let pool = db.pool();
    for clearance in [Classification::Public, Classification::Secret] {
        for as_of in [None, NaiveDate::from_ymd_opt(2023, 12, 31)] {
            let p = params(clearance, as_of);
            let mut whole = None;
            for parts in 1..=3 {
                let d = summary_in_parts(&pool, parts, &p).await;
                let d = serde_json::to_value(&d).unwrap();
                assert!(
                    d["totals"]["total"].as_i64().unwrap() > 0,
                    "{clearance:?} {as_of:?}"
                );
                match &whole {
                    None => whole = Some(d),
                    Some(w) => assert_eq!(&d, w, "{parts} parts, {clearance:?} as of {as_of:?}"),
                }
            }
        }
    }
}

/// The remains search figures summed in parts equal one direct count over the zones: a
/// district or commune with concluded, mapped zones in several parts counts once.
#[tokio::test]
async fn search_figures_in_parts_match_a_direct_count() {
    let db = TestDb::with_demo(400, 12).await;
    let pool = db.pool();
    // Concluded, mapped zones in seven communes, so communes are named by several zones and
    // parts.
    let client = pool.get().await.unwrap();
    client
        .batch_execute(
            "CREATE TEMP TABLE picked AS
                 SELECT site_id FROM search_zone z
                  WHERE NOT EXISTS (SELECT 1 FROM search_history h WHERE h.site_id = z.site_id
                                       AND h.recorded_at >= '2023-06-30' AND h.recorded_at < '2025-01-02')
                  ORDER BY site_id DESC LIMIT 40;
             UPDATE search_zone SET map_drawn = true, concluded_on = '2023-06-30',
                    area_concluded_ha = 12.35, remains_found = 2, version = version + 1
              WHERE site_id IN (SELECT site_id FROM picked);
             -- As a search team records it: a history row the day it was concluded.
             INSERT INTO search_history (site_id, recorded_at, actor, zone_version, remains_expected,
                    remains_found, area_concluded_ha, map_drawn, concluded_on, unit_in_charge)
             SELECT site_id, '2023-06-30 18:00+07', 'test', version, remains_expected, remains_found,
                    area_concluded_ha, map_drawn, concluded_on, unit_in_charge
               FROM search_zone WHERE site_id IN (SELECT site_id FROM picked);
             UPDATE site s
                SET commune_id = (SELECT id FROM admin_unit WHERE level = 'commune'
                                   ORDER BY id OFFSET s.id % 7 LIMIT 1)
              WHERE s.id IN (SELECT site_id FROM picked);",
        )
        .await
        .unwrap();
    let direct = "
        WITH zone AS (
            SELECT s.district_id, s.commune_id, s.zone_area_m2, z.*
              FROM search_zone z JOIN site s ON s.id = z.site_id
             WHERE s.classification <= $1::text::classification
               AND ($2::timestamptz IS NULL OR s.created_at < $2::timestamptz))
        SELECT (SELECT count(*) FROM admin_unit WHERE level = 'district'),
               count(DISTINCT z.district_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= $3::date),
               (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
               count(DISTINCT z.commune_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= $3::date),
               count(*), count(*) FILTER (WHERE z.concluded_on <= $3::date),
               round(coalesce(sum(z.zone_area_m2) / 10000, 0)::numeric, 1)::float8,
               round(coalesce(sum(z.area_concluded_ha)
                     FILTER (WHERE $2::timestamptz IS NULL OR z.concluded_on <= $3::date), 0), 1)::float8,
               coalesce(sum(z.remains_expected), 0)::int8,
               coalesce(sum(z.remains_found)
                        FILTER (WHERE $2::timestamptz IS NULL OR z.concluded_on <= $3::date), 0)::int8,
               count(*) FILTER (WHERE z.map_drawn AND z.concluded_on <= $3::date)
          FROM zone z";
    for clearance in [Classification::Public, Classification::Secret] {
        for as_of in [None, NaiveDate::from_ymd_opt(2024, 12, 31)] {
            let p = params(clearance, as_of);
            let row = client
                .query_one(direct, &[&clearance.code(), &p.cutoff(), &p.day()])
                .await
                .unwrap();
            let want = serde_json::json!({
                "districts_total": row.get::<_, i64>(0),
                "districts_done": row.get::<_, i64>(1),
                "communes_total": row.get::<_, i64>(2),
                "communes_done": row.get::<_, i64>(3),
                "zones": row.get::<_, i64>(4),
                "zones_concluded": row.get::<_, i64>(5),
                "zone_area_ha": row.get::<_, f64>(6),
                "concluded_area_ha": row.get::<_, f64>(7),
                "remains_expected": row.get::<_, i64>(8),
                "remains_found": row.get::<_, i64>(9),
            });
            let done_zones: i64 = row.get(10);
            if clearance == Classification::Secret {
                let communes = want["communes_done"].as_i64().unwrap();
                assert!(
                    communes > 0 && communes < done_zones,
                    "some commune must be named twice: {want} of {done_zones} zones"
                );
            }
            for parts in 1..=3 {
                let d = summary_in_parts(&pool, parts, &p).await;
                // The unit areas in Cambodia are checked in communes.rs.
                let mut got = serde_json::to_value(&d.search).unwrap();
                got.as_object_mut().unwrap().remove("abroad");
                assert_eq!(got, want, "{parts} parts, {clearance:?} as of {as_of:?}");
            }
        }
    }
}

/// Issue 24 §5: the two flags no test made fire. On top of the hand-built history:
/// Kho C (planned, 0 %) has half its estimate disbursed, and Kho D is completed with no
/// budget line at all.
#[tokio::test]
async fn the_ahead_and_done_nothing_disbursed_flags_fire_on_the_works_that_earn_them() {
    let db = hand_built().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd,
                                      disbursed_vnd, settled_vnd, updated_at)
             SELECT id, 2024, 'central', 100, 60, 50, 0, '2024-03-01 12:00+07'
               FROM site WHERE code = 'KHO-TCH-9003';
             INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, actual_finish, classification, created_at, version)
             SELECT 'KHO-TCH-9004', 'Kho D', 'warehouse', ST_Translate(ST_PointOnSurface(geom), 0.001, 0),
                    'kvpt_2021_2025', 'completed', 100, '2023-01-01', '2024-06-30', '2024-06-15',
                    'internal', '2023-01-01 10:00+07', 2
               FROM admin_unit WHERE abbr = 'TCH';
             INSERT INTO progress_history (site_id, recorded_at, actor, old_status, new_status, old_pct, new_pct)
             SELECT s.id, h.at::timestamptz, 'hand', h.old::site_status, h.new::site_status, h.old_pct, h.new_pct
               FROM (VALUES ('2023-01-01 10:00+07', NULL, 'planned', NULL, 0),
                            ('2024-06-15 10:00+07', 'planned', 'completed', 0, 100))
                    AS h(at, old, new, old_pct, new_pct)
               JOIN site s ON s.code = 'KHO-TCH-9004';",
        )
        .await
        .expect("the two works that earn the flags");
    let app = db.internal_app().await;
    // Default threshold: disbursed share of estimate ahead of progress by more than 20 points.
    let flags = csv(&app, "table=flags").await;
    assert_eq!(
        field(&flags, "ahead", 1),
        "1",
        "C: 50 % disbursed at 0 %: {flags:?}"
    );
    assert_eq!(
        field(&flags, "done_nothing_disbursed", 1),
        "1",
        "D: {flags:?}"
    );
    let (status, _, page) = request(&app, "/dashboard/flags/ahead", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("KHO-TCH-9003") && !page.contains("KHO-TBI-9001"));
    let (status, _, page) = request(&app, "/dashboard/flags/done_nothing_disbursed", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("KHO-TCH-9004") && !page.contains("KHO-TBI-9001"),
        "A had money"
    );
    // A planner's threshold above the gap: C no longer ahead.
    let flags = csv(&app, "table=flags&ahead=60").await;
    assert_eq!(field(&flags, "ahead", 1), "0");
    // As of before the money and the completion: neither fires.
    let flags = csv(&app, "table=flags&as_of=2024-01-31").await;
    assert_eq!(
        field(&flags, "ahead", 1),
        "0",
        "C had nothing disbursed yet"
    );
    assert_eq!(
        field(&flags, "done_nothing_disbursed", 1),
        "0",
        "D not completed yet"
    );
}

/// Per programme, the dashboards in parts add up to the whole province's: works, money,
/// flags, the plan by year × source, now and as of a date, at two clearances; a district's
/// and a kind's scope take exactly the works of that district and kind.
#[tokio::test]
async fn scoped_dashboards_add_up_to_the_whole_province() {
    let db = TestDb::with_demo(400, 13).await;
    let pool = db.pool();
    let client = db.client().await;
    for clearance in [Classification::Internal, Classification::Secret] {
        for as_of in [None, NaiveDate::from_ymd_opt(2024, 6, 30)] {
            let whole = summary_in_parts(&pool, 1, &params(clearance, as_of)).await;
            let (mut total, mut estimate, mut disbursed, mut stale) = (0, 0, 0, 0);
            let mut plan = std::collections::BTreeMap::<(i16, String), (i64, i64)>::new();
            for programme in Programme::ALL {
                let p = Params {
                    scope: Scope {
                        programme: Some(*programme),
                        ..Scope::default()
                    },
                    ..params(clearance, as_of)
                };
                let one = summary_in_parts(&pool, 1, &p).await;
                let three = summary_in_parts(&pool, 3, &p).await;
                assert_eq!(
                    serde_json::to_value(&one).unwrap(),
                    serde_json::to_value(&three).unwrap(),
                    "{programme:?} in parts"
                );
                let kept: i64 = client
                    .query_one(
                        "SELECT count(*) FROM site WHERE programme = $1::text::programme
                            AND classification <= $2::text::classification
                            AND ($3::date IS NULL OR created_at < ($3::date + 1)::timestamp AT TIME ZONE '+07')",
                        &[&programme.code(), &clearance.code(), &as_of],
                    )
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(
                    one.totals.total, kept,
                    "{programme:?} {clearance:?} {as_of:?}"
                );
                total += one.totals.total;
                estimate += one.totals.estimate.unwrap_or(0);
                disbursed += one.totals.disbursed.unwrap_or(0);
                stale += one.flags.stale;
                for r in &one.plan {
                    let e = plan.entry((r.year, r.source.clone())).or_default();
                    e.0 += r.estimate;
                    e.1 += r.disbursed;
                }
            }
            assert!(kept_some(&whole), "the demo has works");
            assert_eq!(total, whole.totals.total, "{clearance:?} {as_of:?}");
            assert_eq!(estimate, whole.totals.estimate.unwrap_or(0));
            assert_eq!(disbursed, whole.totals.disbursed.unwrap_or(0));
            assert_eq!(stale, whole.flags.stale);
            let whole_plan: std::collections::BTreeMap<_, _> = whole
                .plan
                .iter()
                .map(|r| ((r.year, r.source.clone()), (r.estimate, r.disbursed)))
                .collect();
            assert_eq!(plan, whole_plan, "{clearance:?} {as_of:?}");
        }
    }
    // One district, one kind: the whole's row for it, and nothing else.
    let p = params(Classification::Secret, None);
    let whole = summary_in_parts(&pool, 1, &p).await;
    let district = whole
        .by_district
        .iter()
        .find(|r| !r.key.is_empty() && r.key != "-")
        .unwrap();
    let scoped = summary_in_parts(
        &pool,
        2,
        &Params {
            scope: Scope {
                district: Some(district.key.clone()),
                ..Scope::default()
            },
            ..p.clone()
        },
    )
    .await;
    assert_eq!(scoped.by_district.len(), 1);
    assert_eq!(scoped.totals.total, district.total);
    assert_eq!(scoped.totals.late, district.late);
    assert_eq!(scoped.search.districts_total, 1);
    let kind = &whole.by_kind[0];
    let scoped = summary_in_parts(
        &pool,
        2,
        &Params {
            scope: Scope {
                kind: kvpt::domain::SiteKind::from_code(&kind.key),
                ..Scope::default()
            },
            ..p.clone()
        },
    )
    .await;
    assert_eq!(scoped.by_kind.len(), 1);
    assert_eq!(scoped.totals.total, kind.total);
}

fn kept_some(d: &dashboard::Dashboard) -> bool {
    d.totals.total > 0 && !d.plan.is_empty()
}

/// The hand-built works plus a late 2017–2020 work in Tân Châu with money, and a secret
/// one: the dashboard, its CSV, flags and the summary ("tổng kết") of the 2017–2020
/// scheme count exactly that work for a planner cleared for internal works, and the
/// secret one only for one cleared for it.
#[tokio::test]
async fn the_2017_2020_summary_counts_the_schemes_works_only() {
    let db = hand_built().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, classification, created_at)
             SELECT 'KHO-TCH-1701', 'Kho cũ', 'warehouse', ST_Translate(ST_PointOnSurface(geom), 0.002, 0),
                    'kvpt_2017_2020', 'under_construction', 60, '2018-01-01', '2020-12-31', 'internal',
                    '2018-01-01 10:00+07'
               FROM admin_unit WHERE abbr = 'TCH';
             INSERT INTO site (code, name, kind, geom, programme, status, progress_pct, planned_start,
                               planned_finish, classification, created_at)
             SELECT 'KHO-TCH-1702', 'Kho mật', 'warehouse', ST_Translate(ST_PointOnSurface(geom), 0.003, 0),
                    'kvpt_2017_2020', 'completed', 100, '2018-01-01', '2020-12-31', 'secret',
                    '2018-01-01 10:00+07'
               FROM admin_unit WHERE abbr = 'TCH';
             INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
             SELECT id, 2019, 'provincial', 5000000000, 4000000000, 3000000000, 1000000000
               FROM site WHERE code = 'KHO-TCH-1701';
             INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
             SELECT id, 2019, 'provincial', 7000000000, 7000000000, 7000000000, 7000000000
               FROM site WHERE code = 'KHO-TCH-1702';",
        )
        .await
        .unwrap();
    let app = db.internal_app().await;
    let scope = "programme=kvpt_2017_2020";
    let plan = csv(&app, &format!("table=plan&{scope}")).await;
    assert_eq!(
        plan,
        [[
            "2019",
            "provincial",
            "5000000000",
            "4000000000",
            "3000000000",
            "1000000000"
        ]]
    );
    let kinds = csv(&app, &format!("table=by_kind&{scope}")).await;
    assert_eq!(&kinds[0][2..4], ["1", "0"], "{kinds:?}");
    assert_eq!(kinds[0][12], "1", "late");
    // The 2021–2025 scheme: the three hand-built works, their money only.
    let plan = csv(&app, "table=plan&programme=kvpt_2021_2025").await;
    assert_eq!(plan, [["2023", "central", "100", "80", "80", "70"]]);
    // A district and a kind together; a district with nothing of the scheme.
    let rows = csv(
        &app,
        &format!("table=by_district&{scope}&district=706&kind=warehouse"),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        csv(&app, &format!("table=by_district&{scope}&district=705"))
            .await
            .is_empty()
    );
    // The summary page: planned against done, money, the late work.
    let (status, _, page) = request(&app, &format!("/dashboard/summary?{scope}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let doc = scraper::Html::parse_document(&page);
    let text = |css: &str| {
        doc.select(&scraper::Selector::parse(css).unwrap())
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default()
    };
    assert_eq!(text("#summary-title"), "Tổng kết Đề án KVPT 2017–2020");
    assert_eq!(text("#total"), "1");
    assert_eq!(text("#done"), "0");
    assert_eq!(text("#late"), "1");
    // Estimated, allocated, disbursed, settled: the internal work's money only.
    let cells: Vec<String> = doc
        .select(&scraper::Selector::parse("#summary-money-total td").unwrap())
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect();
    assert_eq!(
        cells,
        [
            "5.000.000.000",
            "4.000.000.000",
            "3.000.000.000",
            "1.000.000.000"
        ],
        "{}",
        text("#summary-money-total")
    );
    assert!(
        page.contains("Phân bổ/dự toán 80,0%")
            && page.contains("Giải ngân/phân bổ 75,0%")
            && page.contains("Quyết toán/giải ngân 33,3%"),
        "the ratios"
    );
    assert!(text("#summary-late").contains("KHO-TCH-1701"));
    assert!(!page.contains("KHO-TCH-1702") && !page.contains("7.000.000.000"));
    assert!(
        !page.contains("KHO-TBI-9002"),
        "late, but of the other scheme"
    );
    // The dashboard says its scope and links the summaries; the late list is scoped.
    let (_, _, page) = request(&app, &format!("/dashboard?{scope}"), &[]).await;
    assert!(
        page.contains("id=\"scope\"")
            && page.contains("/dashboard/summary?programme=kvpt_2017_2020")
    );
    let (status, _, page) = request(&app, &format!("/dashboard/flags/late?{scope}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("KHO-TCH-1701") && !page.contains("KHO-TBI-9002"));
    // Cleared for secret works: the secret one counts, done and its money too.
    let secret = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let kinds = csv(&secret, &format!("table=by_kind&{scope}")).await;
    assert_eq!(kinds[0][2], "2");
    let (_, _, page) = request(&secret, &format!("/dashboard/summary?{scope}"), &[]).await;
    assert!(page.contains("12.000.000.000"), "both works' estimates");
    // Anonymous visitors: public works only, none.
    assert!(csv(&db.app(), &format!("table=by_kind&{scope}"))
        .await
        .is_empty());
    // Bad scopes: 400 naming the parameter, in Vietnamese on the page.
    for (query, param, vietnamese) in [
        ("programme=kvpt_2030", "programme", "không có chương trình"),
        ("district=abc", "district", "không phải mã huyện"),
        ("kind=castle", "kind", "không có loại công trình"),
    ] {
        let (status, _, body) = request(&app, &format!("/dashboard.csv?{query}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.contains(param), "{query}: {body}");
        let (status, _, page) = request(&app, &format!("/dashboard/summary?{query}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(page.contains(vietnamese), "{query}: {page}");
    }
}

/// A budget officer's page form and its Vietnamese answer: (status, page).
async fn post_form(app: &axum::Router, uri: &str, form: &str) -> (StatusCode, String) {
    let (status, _, page) = crate::common::call(
        app,
        "POST",
        uri,
        &[("content-type", "application/x-www-form-urlencoded")],
        form.to_string(),
    )
    .await;
    (status, page)
}

/// Issue 24 §5: a medium-term ceiling entered beside a work's lines, with its decision;
/// the dashboard compares it with the allocations, flags the work allocated above it
/// (from the decision's date on), and follows the ceiling when it is amended.
#[tokio::test]
async fn allocations_above_the_medium_term_ceiling_are_flagged_from_the_decision_on() {
    let db = hand_built().await;
    let planner = db.internal_app().await;
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
    // Warm the cache: no ceiling yet.
    assert_eq!(
        field(&csv(&planner, "table=flags").await, "over_ceiling", 1),
        "0"
    );
    let uri = "/sites/KHO-TBI-9001/ceiling?lang=vi";
    let amend = |version: i32, ceiling: &str, number: &str, date: &str| {
        format!("csrf={csrf}&version={version}&year=2023&source=central&ceiling={ceiling}&decision_no={number}&decision_date={date}")
    };
    let form = |ceiling: &str, number: &str, date: &str| amend(0, ceiling, number, date);
    // Refused, each in Vietnamese, nothing written.
    for (bad, says) in [
        (form("-5", "15%2FQĐ-UBND", "2023-01-10"), "không được âm"),
        (form("70", "+", "2023-01-10"), "Cần số quyết định"),
        (form("70", "15%2FQĐ-UBND", "2099-01-01"), "ở tương lai"),
        (
            form("bảy mươi", "15%2FQĐ-UBND", "2023-01-10"),
            "không phải số tiền",
        ),
        (form("70", "15%2FQĐ-UBND", "mùng 10"), "không phải ngày"),
    ] {
        let (status, page) = post_form(&officer, uri, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(page.contains(says), "{bad}: {page}");
    }
    let written =
        crate::common::count(&db.client().await, "SELECT count(*) FROM budget_ceiling").await;
    assert_eq!(written, 0);
    // 70 approved on 10/01/2023; 80 allocated: over, and said so.
    let (status, page) =
        post_form(&officer, uri, &form("70", "15%2FQĐ-UBND", "10%2F01%2F2023")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("vượt kế hoạch trung hạn được giao"), "{page}");
    assert!(page.contains("15/QĐ-UBND") && page.contains("10/01/2023"));
    // The cached dashboard follows; the flag and the comparison by year × source.
    assert_eq!(
        field(&csv(&planner, "table=flags").await, "over_ceiling", 1),
        "1"
    );
    assert_eq!(
        csv(&planner, "table=ceilings").await,
        [["2023", "central", "70", "80", "true"]]
    );
    let (_, _, page) = request(&planner, "/dashboard/flags/over_ceiling", &[]).await;
    assert!(page.contains("KHO-TBI-9001") && !page.contains("KHO-TBI-9002"));
    let (_, _, page) = request(&planner, "/dashboard", &[]).await;
    assert!(page.contains("class=\"over\""), "the plan row is marked");
    // Before the decision there was no ceiling to compare with.
    assert_eq!(
        field(
            &csv(&planner, "table=flags&as_of=2022-12-31").await,
            "over_ceiling",
            1
        ),
        "0"
    );
    assert!(csv(&planner, "table=ceilings&as_of=2022-12-31")
        .await
        .is_empty());
    // Scoped to another programme: not counted.
    assert!(csv(&planner, "table=ceilings&programme=mr7_roadmap")
        .await
        .is_empty());
    // A second "new" ceiling for the same year and source is refused: amend it instead.
    let (status, page) = post_form(&officer, uri, &form("90", "41%2FQĐ-UBND", "2023-05-01")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("sửa tại dòng của nó"), "{page}");
    // An amendment cannot predate the decision it amends.
    let (status, page) = post_form(
        &officer,
        uri,
        &amend(1, "100", "41%2FQĐ-UBND", "2022-12-01"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("không thể trước quyết định 15/QĐ-UBND"),
        "{page}"
    );
    // Amended to 100 by a later decision: within it, the flag is gone; as of a day before
    // the amendment, the first decision still counts.
    let (status, _) = post_form(
        &officer,
        uri,
        &amend(1, "100", "42%2FQĐ-UBND", "2024-02-01"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        field(&csv(&planner, "table=flags").await, "over_ceiling", 1),
        "0"
    );
    assert_eq!(
        field(
            &csv(&planner, "table=flags&as_of=2024-01-15").await,
            "over_ceiling",
            1
        ),
        "1"
    );
    assert_eq!(
        csv(&planner, "table=ceilings&as_of=2024-01-15").await,
        [["2023", "central", "70", "80", "true"]]
    );
    assert_eq!(
        csv(&planner, "table=ceilings").await,
        [["2023", "central", "100", "80", "false"]]
    );
    let audited = crate::common::count(
        &db.client().await,
        "SELECT count(*) FROM audit_log WHERE entity = 'budget_ceiling'",
    )
    .await;
    assert_eq!(audited, 2, "each decision audited");
    // A line allocated above it is saved with a warning.
    let (status, _, body) = crate::common::call(
        &officer,
        "PUT",
        "/api/sites/KHO-TBI-9001/budget/2023/central",
        &[("x-csrf-token", &csrf)],
        serde_json::json!({ "estimate": 120, "allocated": 110, "disbursed": 80, "settled": 70, "version": 2 })
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("allocated_over_ceiling"), "{body}");
    // Only budget officers write ceilings; nobody above their clearance.
    let viewer = db.internal_app().await;
    let (status, _) = post_form(&viewer, uri, &form("1", "1", "2023-01-01")).await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::SEE_OTHER),
        "{status}"
    );
    db.client()
        .await
        .execute(
            "UPDATE site SET classification = 'secret' WHERE code = 'KHO-TBI-9002'",
            &[],
        )
        .await
        .unwrap();
    let (status, _) = post_form(
        &officer,
        "/sites/KHO-TBI-9002/ceiling?lang=vi",
        &form("1", "1", "2023-01-01").replace("year=2023", "year=2024"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The secret work's ceiling (written directly) never counts for an internal planner.
    db.client()
        .await
        .execute(
            "INSERT INTO budget_ceiling (site_id, year, source, ceiling_vnd, decision_no, decision_date)
             SELECT id, 2024, 'central', 1, '9/QĐ', '2024-01-01' FROM site WHERE code = 'KHO-TBI-9002'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(csv(&planner, "table=ceilings").await.len(), 1);
    let secret = db.app_as(UserRole::Viewer, Classification::Secret).await;
    assert_eq!(csv(&secret, "table=ceilings").await.len(), 2);
}
