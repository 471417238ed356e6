//! The viewer in a real headless Chromium (Debian's), driven by Playwright from npm:
//! tiles render, a layer toggles off, filters apply, a click opens the details, search
//! flies to a site, the URL keeps the view, a phone layout, and no request leaves kvpt.
//! Screenshots land in target/browser/.

use crate::common::{serve, TestDb, PASSWORD};
use kvpt::domain::{Classification, UserRole};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_works_in_chromium() {
    let db = TestDb::with_demo(800, 11).await;
    // The planner signs in through the page; internal works become visible.
    db.sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let addr = serve(db.app()).await;
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/tests/browser/map.mjs");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists(),
        "playwright-core is missing: run `make test` (it runs npm ci in tests/browser)"
    );
    let shots = format!("{root}/target/browser");
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = format!("{shots}/map.png");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args([&script, &format!("http://{addr}"), &screenshot])
            .env("KVPT_USER", "planner")
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
    assert!(std::path::Path::new(&format!("{shots}/map.png")).exists());
    assert!(std::path::Path::new(&format!("{shots}/map-phone.png")).exists());
}
