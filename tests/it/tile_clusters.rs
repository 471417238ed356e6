//! Low zooms show every work and weigh little (issue 22 §2): at zoom 10 and below a site
//! tile carries clusters (a count per cell, and per status) instead of works. Over the
//! tiles of a zoom every work the caller may see is counted exactly once, nothing above
//! their clearance is counted, and the map's filters apply to the counts.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kvpt::domain::{Classification, LayerGroup, UserRole};
use kvpt::spatial::tile::TileCoord;
use mvt_reader::feature::Value;
use tower::ServiceExt;

use crate::common::{with_cookie, TestDb};

fn number(v: &Value) -> i64 {
    match v {
        Value::Int(n) | Value::SInt(n) => *n,
        Value::UInt(n) => *n as i64,
        other => panic!("not a count: {other:?}"),
    }
}

/// Each cluster of a tile: its count and its counts by status.
async fn clusters(app: &axum::Router, uri: &str) -> Vec<(i64, BTreeMap<String, i64>)> {
    let response = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    if status == StatusCode::NO_CONTENT {
        return Vec::new();
    }
    assert_eq!(status, StatusCode::OK, "{uri}");
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    reader
        .get_features(0)
        .unwrap()
        .into_iter()
        .map(|f| {
            let p = f.properties.unwrap_or_default();
            assert!(
                !p.contains_key("code") && !p.contains_key("name"),
                "a cluster names no work: {p:?}"
            );
            let count = number(p.get("count").expect("a count"));
            let by_status = p
                .iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("n_")?.to_string(), number(v))))
                .collect();
            (count, by_status)
        })
        .collect()
}

/// The tiles of zoom `z` over every work of the demo (some lie in Cambodia).
async fn tiles_over_the_works(client: &tokio_postgres::Client, z: u8) -> Vec<TileCoord> {
    let row = client
        .query_one(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
               FROM (SELECT ST_Extent(geom)::geometry AS e FROM site_all) x",
            &[],
        )
        .await
        .unwrap();
    let (w, s, e, n): (f64, f64, f64, f64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let (a, b) = (
        TileCoord::containing(w, n, z),
        TileCoord::containing(e, s, z),
    );
    let mut tiles = Vec::new();
    for x in a.x..=b.x {
        for y in a.y..=b.y {
            tiles.push(TileCoord { z, x, y });
        }
    }
    tiles
}

async fn apps(db: &TestDb) -> Vec<(Classification, axum::Router)> {
    let mut apps = vec![(Classification::Public, db.app())];
    for (name, clearance) in [
        ("cum.noibo", Classification::Internal),
        ("cum.mat", Classification::Confidential),
        ("cum.toimat", Classification::Secret),
    ] {
        let cookie = db.sign_in(name, UserRole::Viewer, clearance, &[]).await;
        apps.push((clearance, with_cookie(db.app(), &cookie)));
    }
    apps
}

/// Works of `layer` visible at `clearance` (that pass `condition`), by status.
async fn visible(
    client: &tokio_postgres::Client,
    layer: LayerGroup,
    clearance: Classification,
    condition: &str,
) -> BTreeMap<String, i64> {
    client
        .query(
            &format!(
                "SELECT s.status::text, count(*) FROM site s JOIN site_kind k ON k.code = s.kind AND s.geom IS NOT NULL
                  WHERE k.layer_group = $1 AND s.classification <= $2::text::classification
                    AND {condition}
                  GROUP BY 1"
            ),
            &[&layer.code(), &clearance.code()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_work_is_in_exactly_one_cluster_at_each_low_zoom_and_clearance() {
    let db = TestDb::with_demo(300, 51).await;
    let client = db.client().await;
    let apps = apps(&db).await;
    for z in [6u8, 8, 10] {
        let tiles = tiles_over_the_works(&client, z).await;
        for layer in LayerGroup::ALL.iter().filter(|g| g.min_zoom() <= z) {
            for (clearance, app) in &apps {
                let mut counted = 0;
                let mut by_status: BTreeMap<String, i64> = BTreeMap::new();
                for t in &tiles {
                    let uri = format!("/tiles/{}/{z}/{}/{}.mvt", layer.code(), t.x, t.y);
                    for (count, statuses) in clusters(app, &uri).await {
                        assert_eq!(count, statuses.values().sum::<i64>(), "{uri}");
                        counted += count;
                        for (s, n) in statuses {
                            *by_status.entry(s).or_default() += n;
                        }
                    }
                }
                let expected = visible(&client, *layer, *clearance, "true").await;
                assert_eq!(
                    by_status, expected,
                    "{layer:?} at z{z} for {clearance:?}: each work once, by status"
                );
                assert_eq!(counted, expected.values().sum::<i64>());
            }
        }
    }
}

#[tokio::test]
async fn the_maps_filters_apply_to_the_clusters() {
    let db = TestDb::with_demo(300, 52).await;
    let client = db.client().await;
    let apps = apps(&db).await;
    let (clearance, app) = &apps[3];
    let layer = LayerGroup::DefenceWorks;
    let tiles = tiles_over_the_works(&client, 8).await;
    let district: String = client
        .query_one(
            "SELECT d.code FROM site s JOIN admin_unit d ON d.id = s.district_id AND s.geom IS NOT NULL
              GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for (query, condition) in [
        ("status=handed_over".to_string(), "s.status = 'handed_over'".to_string()),
        ("phase=2".to_string(), "s.phase = 2".to_string()),
        (
            "programme=kvpt_2017_2020".to_string(),
            "s.programme = 'kvpt_2017_2020'".to_string(),
        ),
        (
            "programme=kvpt_2021_2025&status=handed_over".to_string(),
            "s.programme = 'kvpt_2021_2025' AND s.status = 'handed_over'".to_string(),
        ),
        (
            format!("district={district}&status=under_construction"),
            format!(
                "s.status = 'under_construction' AND s.district_id = (SELECT id FROM admin_unit WHERE code = '{district}')"
            ),
        ),
    ] {
        let mut counted = 0;
        for t in &tiles {
            let uri = format!("/tiles/{}/8/{}/{}.mvt?{query}", layer.code(), t.x, t.y);
            counted += clusters(app, &uri).await.iter().map(|c| c.0).sum::<i64>();
        }
        let expected: i64 = visible(&client, layer, *clearance, &condition)
            .await
            .values()
            .sum();
        assert!(expected > 0, "{query}: the demo has such works");
        assert_eq!(counted, expected, "{query}");
    }
    // A filter kvpt does not know is refused, naming it.
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/tiles/defence_works/8/203/119.mvt?status=done")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("status"));
}

#[tokio::test]
async fn works_come_back_above_zoom_10() {
    let db = TestDb::with_demo(200, 53).await;
    let apps = apps(&db).await;
    let t = TileCoord::containing(106.1, 11.3, 11);
    let response = apps[3]
        .1
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/tiles/defence_works/11/{}/{}.mvt", t.x, t.y))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    let features = reader.get_features(0).unwrap();
    assert!(!features.is_empty());
    assert!(features.iter().all(|f| {
        let p = f.properties.clone().unwrap_or_default();
        p.contains_key("code") && p.contains_key("programme") && !p.contains_key("count")
    }));
}
