//! The viewer and the upload page in a real headless Chromium (Debian's), driven by
//! Playwright from npm. Screenshots land in target/browser/.

use crate::common::{serve, TestDb, PASSWORD};
use kvpt::domain::{Classification, UserRole};

/// Runs `tests/browser/{script}` with `args` as `user`; its JSON report, or a failure
/// with what it printed.
async fn run_script(script: &str, args: Vec<String>, user: &str) -> serde_json::Value {
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
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(&script)
            .args(&args)
            .env("KVPT_USER", user)
            .env("KVPT_PASSWORD", PASSWORD)
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
