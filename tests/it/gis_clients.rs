//! GIS clients as partners run them (issue 21): GDAL's OGC API – Features driver (Debian
//! 12's GDAL 3.6) signs in with a personal access token over HTTP Basic, reads what its
//! user is cleared for, and sends `-where` to kvpt as a CQL2 filter.

use std::process::Command;

use kvpt::accounts::tokens::Scope;
use kvpt::domain::{Classification, UserRole};

use crate::common::{count, serve, TestDb};

/// `ogrinfo`'s feature count of the `sites` collection at `addr`, signed in as
/// `user:token` when given, filtered by `where_`.
fn ogr_count(addr: std::net::SocketAddr, credentials: Option<&str>, where_: Option<&str>) -> i64 {
    let mut cmd = Command::new("ogrinfo");
    cmd.args(["-ro", "-so", "-oo", "PAGE_SIZE=1000"])
        .arg(format!("OAPIF:http://{addr}/collections/sites"))
        .arg("sites")
        .env("GDAL_HTTP_TIMEOUT", "60")
        .env("CPL_DEBUG", "ON");
    if let Some(c) = credentials {
        cmd.env("GDAL_HTTP_AUTH", "BASIC")
            .env("GDAL_HTTP_USERPWD", c);
    }
    if let Some(w) = where_ {
        cmd.args(["-where", w]);
    }
    let out = cmd.output().expect("ogrinfo (gdal-bin) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ogrinfo: {stdout}\n{stderr}");
    if where_.is_some() {
        // The whole condition went to kvpt: GDAL says so when it must finish it itself.
        assert!(
            !stderr.contains("Only part of the filter"),
            "GDAL filtered on its side: {stderr}"
        );
        assert!(
            stderr.contains("filter-lang=cql-text"),
            "no filter sent: {stderr}"
        );
    }
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .unwrap_or_else(|| panic!("no count in {stdout}"))
        .trim()
        .parse()
        .unwrap()
}

/// Runs `python SCRIPT ARGS…` (a script of tests/python) with `env`, off the async
/// runtime: its standard output, standard error, and whether it succeeded.
async fn run_python(
    python: String,
    script: &str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
) -> (String, String, bool) {
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    tokio::task::spawn_blocking(move || {
        let run = Command::new(&python)
            .arg(script)
            .args(args)
            .envs(env)
            .output()
            .unwrap_or_else(|e| panic!("{python} runs: {e}"));
        (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            String::from_utf8_lossy(&run.stderr).into_owned(),
            run.status.success(),
        )
    })
    .await
    .unwrap()
}

/// The test tools' virtualenv with OWSLib, requests and pyogrio (`make test-tools`).
fn gis_python() -> String {
    let python = format!(
        "{}/target/test-tools/gis/bin/python",
        env!("CARGO_MANIFEST_DIR")
    );
    assert!(
        std::path::Path::new(&python).exists(),
        "the GIS clients' virtualenv is missing: run `make test` (it installs OWSLib there)"
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_with_a_token_up_to_its_users_clearance_and_pushes_where_down() {
    let db = TestDb::with_demo(200, 31).await;
    db.sign_in(
        "gis.bdbp",
        UserRole::Viewer,
        Classification::Confidential,
        &[],
    )
    .await;
    let token = db.token("gis.bdbp", Scope::Read).await;
    let client = db.client().await;
    let confidential = count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= 'confidential'",
    )
    .await;
    let public = count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification = 'public'",
    )
    .await;
    assert!(public < confidential);
    let addr = serve(db.app()).await;
    let credentials = format!("gis.bdbp:{token}");
    let (with, without) = tokio::task::spawn_blocking(move || {
        (
            ogr_count(addr, Some(&credentials), None),
            ogr_count(addr, None, None),
        )
    })
    .await
    .unwrap();
    assert_eq!(with, confidential);
    assert_eq!(without, public);
    // -where goes to kvpt as CQL2 (GDAL's cql-text), and the count is the SQL's.
    let expected = count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= 'confidential'
            AND name LIKE 'Kho%' AND progress_pct >= 20",
    )
    .await;
    assert!(expected > 0);
    let credentials = format!("gis.bdbp:{token}");
    let filtered = tokio::task::spawn_blocking(move || {
        ogr_count(
            addr,
            Some(&credentials),
            Some("name LIKE 'Kho%' AND percent >= 20"),
        )
    })
    .await
    .unwrap();
    assert_eq!(filtered, expected);
}

/// `ogr2ogr -where` into a GeoPackage: the file holds what the same condition selects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ogr2ogr_copies_what_a_cql2_where_selects() {
    let db = TestDb::with_demo(200, 32).await;
    db.sign_in("gis.cand", UserRole::Viewer, Classification::Secret, &[])
        .await;
    let token = db.token("gis.cand", Scope::Read).await;
    let client = db.client().await;
    let expected = count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND status IN ('completed', 'handed_over') AND phase = 1",
    )
    .await;
    assert!(expected > 0);
    let addr = serve(db.app()).await;
    let dir = kvpt::exchange::export::TempDir::new().unwrap();
    let out = dir.path.join("works.gpkg");
    let copied = {
        let out = out.clone();
        tokio::task::spawn_blocking(move || {
            let run = Command::new("ogr2ogr")
                .args(["-f", "GPKG"])
                .arg(&out)
                .arg(format!("OAPIF:http://{addr}/collections/sites"))
                .arg("sites")
                .args(["-oo", "PAGE_SIZE=1000", "-where"])
                .arg("(status = 'completed' OR status = 'handed_over') AND phase = 1")
                .env("GDAL_HTTP_AUTH", "BASIC")
                .env("GDAL_HTTP_USERPWD", format!("gis.cand:{token}"))
                .env("CPL_DEBUG", "ON")
                .output()
                .expect("ogr2ogr runs");
            let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
            assert!(run.status.success(), "ogr2ogr: {stderr}");
            assert!(
                stderr.contains("filter="),
                "the condition went to kvpt: {stderr}"
            );
            let info = Command::new("ogrinfo")
                .args(["-ro", "-so"])
                .arg(&out)
                .arg("sites")
                .output()
                .expect("ogrinfo runs");
            String::from_utf8_lossy(&info.stdout).into_owned()
        })
        .await
        .unwrap()
    };
    let n: i64 = copied
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .unwrap_or_else(|| panic!("no count in {copied}"))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(n, expected);
}

/// OWSLib reads, and Python `requests` writes through Part 4 with If-Match, each with the
/// user's token over HTTP Basic (tests/python/gis_clients.py, in the test tools' virtualenv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owslib_reads_and_a_python_script_writes_with_if_match() {
    let python = gis_python();
    let db = TestDb::with_demo(150, 33).await;
    db.sign_in(
        "ksu.tbi",
        UserRole::Engineer,
        Classification::Internal,
        &["TBI"],
    )
    .await;
    let token = db.token("ksu.tbi", Scope::ReadWrite).await;
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT s.code, k.layer_group FROM site s JOIN site_kind k ON k.code = s.kind AND s.geom IS NOT NULL
               JOIN admin_unit d ON d.id = s.district_id
              WHERE d.abbr = 'TBI' AND s.classification <= 'internal' ORDER BY s.id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (code, collection): (String, String) = (row.get(0), row.get(1));
    let visible = count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= 'internal'",
    )
    .await;
    let addr = serve(db.app()).await;
    let (out, err, ok) = run_python(
        python,
        "gis_clients.py",
        vec![
            format!("http://{addr}"),
            "ksu.tbi".into(),
            token,
            collection,
            code.clone(),
        ],
        vec![],
    )
    .await;
    assert!(ok, "the script failed:\n{out}\n{err}");
    let seen: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(seen["landing_links"].to_string().contains("conformance"));
    assert!(seen["conforms"]
        .to_string()
        .contains("ogcapi-features-1/1.0/conf/core"));
    assert!(seen["collections"].to_string().contains("\"sites\""));
    assert_eq!(seen["items_matched"], visible, "{seen}");
    assert!(seen["queryables"].to_string().contains("percent"));
    assert_eq!(seen["patch_status"], 200, "{seen}");
    assert_eq!(seen["patched_name"], "Tên đổi bởi script");
    assert_ne!(seen["etag_before"], seen["etag_after"]);
    assert_eq!(seen["stale_status"], 412, "{seen}");
    let name: String = client
        .query_one(
            "SELECT name FROM site WHERE geom IS NOT NULL AND code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        name, "Tên đổi bởi script",
        "the stale write changed nothing"
    );
}

/// QGIS 3.22 (Debian 12's PyQGIS, headless) with a Basic authentication configuration
/// holding the user and a token, as README's "GIS clients" tells: its OGC API – Features
/// layer reads what the user is cleared for, and its vector tiles layer on the OGC API
/// Tiles template draws the works the user may see (tests/python/qgis_client.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qgis_reads_features_and_draws_tiles_with_a_token() {
    let db = TestDb::with_demo(200, 34).await;
    db.sign_in(
        "gis.bdbp",
        UserRole::Viewer,
        Classification::Confidential,
        &[],
    )
    .await;
    let token = db.token("gis.bdbp", Scope::Read).await;
    let client = db.client().await;
    let of_layer = "FROM site s JOIN site_kind k ON k.code = s.kind AND s.geom IS NOT NULL
        WHERE k.layer_group = 'defence_works' AND s.classification";
    let cleared = count(
        &client,
        &format!("SELECT count(*) {of_layer} <= 'confidential'"),
    )
    .await;
    let public = count(&client, &format!("SELECT count(*) {of_layer} = 'public'")).await;
    assert!(
        public < cleared,
        "the demo has works above public: {public} < {cleared}"
    );
    let addr = serve(db.app()).await;
    let home = kvpt::exchange::export::TempDir::new().unwrap();
    let home_dir = home.path.to_string_lossy().into_owned();
    let (out, err, ok) = run_python(
        "/usr/bin/python3".into(),
        "qgis_client.py",
        vec![
            format!("http://{addr}"),
            "gis.bdbp".into(),
            token,
            "defence_works".into(),
            "defence_works".into(),
        ],
        vec![
            ("HOME", home_dir.clone()),
            ("XDG_RUNTIME_DIR", home_dir),
            ("QT_QPA_PLATFORM", "offscreen".into()),
        ],
    )
    .await;
    assert!(
        ok,
        "QGIS's script failed (python3-qgis comes with `make test-tools`):\n{out}\n{err}"
    );
    let line = out.lines().last().unwrap_or_default();
    let seen: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(seen["features_valid"], true, "{seen}");
    assert_eq!(seen["features_with_token"], cleared, "{seen}");
    assert_eq!(seen["features_anonymous"], public, "{seen}");
    assert_eq!(seen["tiles_valid"], true, "{seen}");
    let with_token = seen["painted_with_token"].as_i64().unwrap();
    let anonymous = seen["painted_anonymous"].as_i64().unwrap();
    assert!(with_token > 0, "QGIS drew nothing from the tiles: {seen}");
    if public == 0 {
        assert_eq!(anonymous, 0, "{seen}");
    } else {
        assert!(anonymous < with_token, "{seen}");
    }
}

/// GDAL's OGC API – Tiles reader (GDAL 3.12 from pyogrio's wheel: Debian's 3.6.2 has it
/// compiled out) follows the collection to its tileset and reads every tile of a zoom
/// level over the province, with a token: the works of the layer the user is cleared for,
/// and only the public ones without it (tests/python/gdal_tiles.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_ogc_api_tiles_up_to_its_users_clearance() {
    let python = gis_python();
    let db = TestDb::with_demo(200, 35).await;
    db.sign_in("gis.ca", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let token = db.token("gis.ca", Scope::Read).await;
    let client = db.client().await;
    let of_layer = "FROM site s JOIN site_kind k ON k.code = s.kind AND s.geom IS NOT NULL
        WHERE k.layer_group = 'logistics' AND s.classification";
    let codes =
        |rows: Vec<tokio_postgres::Row>| -> Vec<String> { rows.iter().map(|r| r.get(0)).collect() };
    let cleared = codes(
        client
            .query(
                &format!("SELECT s.code {of_layer} <= 'internal' ORDER BY 1"),
                &[],
            )
            .await
            .unwrap(),
    );
    let public = codes(
        client
            .query(
                &format!("SELECT s.code {of_layer} = 'public' ORDER BY 1"),
                &[],
            )
            .await
            .unwrap(),
    );
    assert!(
        public.len() < cleared.len(),
        "the demo has works above public"
    );
    let addr = serve(db.app()).await;
    let read = |token: String| {
        let python = python.clone();
        async move {
            let (out, err, ok) = run_python(
                python,
                "gdal_tiles.py",
                vec![
                    format!("http://{addr}"),
                    "logistics".into(),
                    "12".into(),
                    "gis.ca".into(),
                    token,
                ],
                vec![],
            )
            .await;
            assert!(ok, "GDAL's script failed:\n{out}\n{err}");
            serde_json::from_str::<serde_json::Value>(out.lines().last().unwrap_or_default())
                .unwrap()
        }
    };
    let seen = read(token).await;
    assert!(
        seen["layers"].to_string().contains("Zoom level 12"),
        "{seen}"
    );
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(strings(&seen["codes"]), cleared, "{seen}");
    let anonymous = read("-".into()).await;
    assert_eq!(strings(&anonymous["codes"]), public, "{anonymous}");
}
