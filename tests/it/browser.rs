//! The viewer and the upload page in a real headless Chromium (Debian's), driven by
//! Playwright from npm. Screenshots land in target/browser/.

use crate::common::{serve, TestDb, PASSWORD};
use kvpt::domain::{Classification, UserRole};

/// Runs `tests/browser/{script}` with `args` as `user`; its JSON report, or a failure
/// with what it printed.
async fn run_script(script: &str, args: Vec<String>, user: &str) -> serde_json::Value {
    run_script_with(script, args, user, &[]).await
}

/// `run_script` with more environment (a second user, say).
async fn run_script_with(
    script: &str,
    args: Vec<String>,
    user: &str,
    env: &[(&str, &str)],
) -> serde_json::Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/tests/browser/{script}");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists(),
        "playwright-core is missing: run `make test` (it runs npm ci in tests/browser)"
    );
    let user = user.to_string();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .args(&args)
            .env("KVPT_USER", user)
            .env("KVPT_PASSWORD", PASSWORD)
            .envs(env)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON report");
    assert_eq!(report["ok"], true);
    report
}

fn shots() -> String {
    let shots = format!("{}/target/browser", env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// Tiles render, a layer toggles off, filters apply, a click opens the details, search
/// flies to a site, the URL keeps the view, a phone layout, and no request leaves kvpt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_works_in_chromium() {
    let db = TestDb::with_demo(800, 11).await;
    // The planner signs in through the page; internal works become visible.
    db.sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let addr = serve(db.served()).await;
    let shots = shots();
    run_script(
        "map.mjs",
        vec![format!("http://{addr}"), format!("{shots}/map.png")],
        "planner",
    )
    .await;
    assert!(std::path::Path::new(&format!("{shots}/map.png")).exists());
    assert!(std::path::Path::new(&format!("{shots}/map-phone.png")).exists());
}

/// The upload page: the bar follows the bytes sent, the progress page polls until the
/// report opens, and "write" puts the works in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_uploaded_checked_and_written_in_chromium() {
    let db = TestDb::with_demo(50, 12).await;
    db.sign_in("importer", UserRole::Admin, Classification::Secret, &[])
        .await;
    let addr = serve(db.served()).await;
    // Enough new warehouses in Tân Biên that the check takes a visible while.
    const NEW: usize = 5000;
    let features: Vec<serde_json::Value> = (0..NEW)
        .map(|i| {
            serde_json::json!({"type": "Feature",
                "properties": {"code": format!("KHO-TBI-{:05}", 50000 + i), "name": format!("Kho thử nghiệm số {i}")},
                "geometry": {"type": "Point", "coordinates": [106.0 + (i % 100) as f64 * 0.001, 11.40 + (i / 100) as f64 * 0.001]}})
        })
        .collect();
    let shots = shots();
    let file = format!("{shots}/kho-moi.geojson");
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features}))
            .unwrap(),
    )
    .unwrap();
    let report = run_script(
        "imports.mjs",
        vec![
            format!("http://{addr}"),
            file,
            NEW.to_string(),
            format!("{shots}/import.png"),
        ],
        "importer",
    )
    .await;
    assert!(report["steps"].as_array().unwrap().len() >= 4, "{report}");
    let client = db.client().await;
    let written: i64 = client
        .query_one(
            "SELECT count(*) FROM site WHERE code LIKE 'KHO-TBI-5____' AND kind = 'warehouse'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(written, NEW as i64);
    let logged: i64 = client
        .query_one(
            "SELECT count(*) FROM import_log WHERE outcome = 'committed' AND inserted = $1",
            &[&(NEW as i32)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 1);
}

/// A photo as a phone takes it at (`lon`, `lat`): larger than the queue keeps (resized to
/// 1600 px there), with its EXIF position and time, held sideways.
fn phone_photo(path: &str, lon: f64, lat: f64) {
    let now = (chrono::Utc::now() + chrono::Duration::hours(7)).format("%Y:%m:%d %H:%M:%S");
    let segment = crate::common::exif_segment(lon, lat, &now.to_string(), 6);
    std::fs::write(path, crate::common::jpeg_with(2400, 1800, &segment)).unwrap();
}

/// Two sites of Tân Biên under construction, with no finish date, that engineers cleared
/// for confidential may update.
async fn two_sites(db: &TestDb) -> (String, String) {
    let rows = db
        .client()
        .await
        .query(
            "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id
              WHERE d.abbr = 'TBI' AND s.status = 'under_construction' AND s.progress_pct <= 60
                AND s.actual_finish IS NULL AND s.classification <= 'confidential'
                AND NOT EXISTS (SELECT 1 FROM site_photo p WHERE p.site_id = s.id)
              ORDER BY s.code LIMIT 2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the demo has two such sites");
    (rows[0].get(0), rows[1].get(0))
}

async fn rows_of(db: &TestDb, table: &str, code: &str) -> i64 {
    let sql = match table {
        "history" => "SELECT count(*) FROM progress_history h JOIN site s ON s.id = h.site_id WHERE s.code = $1",
        "audit" => "SELECT count(*) FROM audit_log WHERE entity = 'site' AND entity_key = $1",
        _ => "SELECT count(*) FROM site_photo p JOIN site s ON s.id = p.site_id WHERE s.code = $1",
    };
    db.client()
        .await
        .query_one(sql, &[&code])
        .await
        .unwrap()
        .get(0)
}

/// The field app offline at a phone's size (issue 20): queued updates and a photo applied
/// exactly once after the network returns (one answer lost on the way), a refusal on its
/// item, a merge and a conflict resolved, and sign-out wiping the device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_field_app_queues_offline_and_syncs_once_in_chromium() {
    let db = TestDb::with_demo(400, 13).await;
    for name in ["ks.a", "ks.b"] {
        db.sign_in(
            name,
            UserRole::Engineer,
            Classification::Confidential,
            &["TBI"],
        )
        .await;
    }
    let (site1, site2) = two_sites(&db).await;
    let before: Vec<i64> = futures_util::future::join_all(
        [
            ("history", &site1),
            ("history", &site2),
            ("audit", &site1),
            ("audit", &site2),
        ]
        .map(|(t, c)| rows_of(&db, t, c)),
    )
    .await;
    let addr = serve(db.served()).await;
    let shots = shots();
    let photo = format!("{shots}/field-photo.jpg");
    let at = db
        .client()
        .await
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM site WHERE code = $1) x",
            &[&site1],
        )
        .await
        .unwrap();
    phone_photo(&photo, at.get(0), at.get(1));
    let site1_at = format!("{},{}", at.get::<_, f64>(0), at.get::<_, f64>(1));
    let zone: String = db
        .client()
        .await
        .query_one(
            "SELECT s.code FROM site s JOIN admin_unit d ON d.id = s.district_id
               JOIN search_zone z ON z.site_id = s.id
              WHERE d.abbr = 'TBI' AND s.classification <= 'confidential'
              ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .expect("a search zone in Tân Biên")
        .get(0);
    let report = run_script_with(
        "field.mjs",
        vec![
            format!("http://{addr}"),
            shots.clone(),
            site1.clone(),
            site2.clone(),
            photo,
            zone.clone(),
        ],
        "ks.a",
        &[("KVPT_USER_B", "ks.b"), ("KVPT_SITE1_AT", &site1_at)],
    )
    .await;
    assert!(report["steps"].as_array().unwrap().len() >= 9, "{report}");
    // Site 1: the two queued updates, once each (the lost answer did not make a third); the
    // refused one and the one dropped at sign-out never written.
    assert_eq!(rows_of(&db, "history", &site1).await, before[0] + 2);
    assert_eq!(
        rows_of(&db, "audit", &site1).await,
        before[2] + 2 + 1,
        "two updates and a photo"
    );
    // Site 2: A's queued update, B's, A's merged start date, and the resolution.
    assert_eq!(rows_of(&db, "history", &site2).await, before[1] + 4);
    assert_eq!(rows_of(&db, "audit", &site2).await, before[3] + 4);
    let client = db.client().await;
    let photo = client
        .query_one(
            "SELECT p.width, p.height, p.history_id = (SELECT min(h.id) FROM progress_history h
                                                        WHERE h.site_id = s.id AND h.recorded_by = u.id),
                    p.distance_m
               FROM site_photo p JOIN site s ON s.id = p.site_id JOIN app_user u ON u.id = p.uploaded_by
              WHERE s.code = $1",
            &[&site1],
        )
        .await
        .unwrap();
    let (w, h, documents): (i32, i32, bool) = (photo.get(0), photo.get(1), photo.get(2));
    assert!(
        w.max(h) <= 1600 && w.max(h) >= 1200,
        "resized on the phone: {w}×{h}"
    );
    assert!(
        documents,
        "the photo documents the update it was queued with"
    );
    let distance: Option<f64> = photo.get(3);
    assert!(
        distance.is_some_and(|d| d < 50.0),
        "the EXIF position survived the phone's resizing: {distance:?}"
    );
    // Held sideways: the phone drew it upright (1200 wide, 1600 high).
    assert_eq!((w, h), (1200, 1600));
    let site = client
        .query_one(
            "SELECT actual_start::text, (SELECT count(*) FROM progress_conflict c
                                          WHERE c.site_id = s.id AND c.resolved_at IS NOT NULL)
               FROM site s WHERE code = $1",
            &[&site2],
        )
        .await
        .unwrap();
    assert_eq!(
        site.get::<_, String>(0),
        "2024-03-15",
        "A's start date merged"
    );
    assert_eq!(site.get::<_, i64>(1), 1, "one conflict, resolved");
    let searched: i64 = client
        .query_one(
            "SELECT count(*) FROM search_history h JOIN site s ON s.id = h.site_id
               JOIN app_user u ON u.id = h.recorded_by
              WHERE s.code = $1 AND u.username = 'ks.a' AND h.concluded_on = '2025-03-01'",
            &[&zone],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(searched, 1, "the offline search update applied once");
}
