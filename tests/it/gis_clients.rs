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
        "SELECT count(*) FROM site WHERE classification <= 'confidential'",
    )
    .await;
    let public = count(
        &client,
        "SELECT count(*) FROM site WHERE classification = 'public'",
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
        "SELECT count(*) FROM site WHERE classification <= 'confidential'
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
