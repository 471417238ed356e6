//! Vector tiles: decoded and checked against PostGIS, cached by data version,
//! and refused clearly when the address is wrong.

use crate::common::{count, with_cookie, TestDb};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use kvpt::domain::{Classification, UserRole};
use kvpt::spatial::tile::TileCoord;
use mvt_reader::feature::Value;
use tower::ServiceExt;

struct TileResponse {
    status: StatusCode,
    etag: Option<String>,
    body: Vec<u8>,
}

async fn fetch(app: &axum::Router, uri: &str, if_none_match: Option<&str>) -> TileResponse {
    let mut request = Request::builder().uri(uri);
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let etag = response
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().unwrap().to_string());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    TileResponse { status, etag, body }
}

/// The z11 tile over Tây Ninh city, where most of the demo lies: the first zoom drawing
/// works (below it, clusters: tests/it/tile_clusters.rs). Tiles carry a 64-pixel buffer,
/// so features just outside the tile count too.
fn home_tile() -> TileCoord {
    TileCoord::containing(106.1, 11.3, 11)
}

#[tokio::test]
async fn a_tile_holds_exactly_the_visible_sites_of_its_layer() {
    let db = TestDb::with_demo(400, 5).await;
    let client = db.client().await;
    let t = home_tile();
    let response = fetch(
        &db.internal_app().await,
        &format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y),
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::OK);
    let reader = mvt_reader::Reader::new(response.body).expect("a valid vector tile");
    assert_eq!(
        reader.get_layer_names().unwrap(),
        vec!["search_zones".to_string()]
    );
    let features = reader.get_features(0).unwrap();
    let expected = count(
        &client,
        &format!(
            "SELECT count(*) FROM site s JOIN site_kind k ON k.code = s.kind
              WHERE k.layer_group = 'search_zones' AND s.classification <= 'internal'
                AND ST_Intersects(ST_Transform(s.geom, 3857),
                                  ST_TileEnvelope({}, {}, {}, margin => 64.0 / 4096))",
            t.z, t.x, t.y
        ),
    )
    .await;
    assert!(expected > 0, "the demo has search zones in this tile");
    assert_eq!(features.len() as i64, expected);
    for feature in &features {
        let props = feature.properties.as_ref().expect("properties");
        for key in ["code", "name", "kind", "status", "percent", "district"] {
            assert!(props.contains_key(key), "missing {key}: {props:?}");
        }
        assert!(feature.id.is_some(), "features carry the site id");
        match &props["kind"] {
            Value::String(kind) => assert!(
                kind == "remains_search_zone" || kind == "gratitude_house",
                "{kind}"
            ),
            other => panic!("kind is {other:?}"),
        }
    }
}

#[tokio::test]
async fn nothing_above_the_clearance_reaches_a_tile() {
    let db = TestDb::with_demo(400, 5).await;
    let client = db.client().await;
    client
        .execute(
            "UPDATE site SET classification = 'secret' WHERE kind = 'border_marker'",
            &[],
        )
        .await
        .unwrap();
    let t = TileCoord::containing(106.0, 11.5, 6);
    let response = fetch(
        &db.internal_app().await,
        &format!("/tiles/border_markers/{}/{}/{}.mvt", t.z, t.x, t.y),
        None,
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "secret markers are not shown to anyone yet"
    );
}

#[tokio::test]
async fn an_empty_tile_is_204() {
    let db = TestDb::with_demo(100, 5).await;
    let response = fetch(&db.internal_app().await, "/tiles/logistics/8/0/0.mvt", None).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
}

#[tokio::test]
async fn etag_changes_after_an_edit_to_its_layer_and_not_before() {
    let db = TestDb::with_demo(200, 5).await;
    let client = db.client().await;
    let app = db.internal_app().await;
    // The tile a search zone lies in.
    let zone = client
        .query_one(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM site
              WHERE kind = 'remains_search_zone' AND classification <= 'internal' ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let zone_id: i64 = zone.get(0);
    let t = TileCoord::containing(zone.get(1), zone.get(2), 11);
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    let first = fetch(&app, &uri, None).await;
    let tag = first.etag.clone().expect("an ETag");
    assert_eq!(
        fetch(&app, &uri, None).await.etag.as_deref(),
        Some(tag.as_str()),
        "stable without edits"
    );
    let cached = fetch(&app, &uri, Some(&tag)).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());

    // An edit to another layer leaves this one's tag alone.
    client
        .execute(
            "UPDATE site SET progress_pct = progress_pct WHERE kind = 'warehouse'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        fetch(&app, &uri, Some(&tag)).await.status,
        StatusCode::NOT_MODIFIED
    );

    // An edit to this layer shows on the very next request.
    client
        .execute(
            "UPDATE site SET name = 'Khu vực đã đổi tên' WHERE id = $1",
            &[&zone_id],
        )
        .await
        .unwrap();
    let after = fetch(&app, &uri, Some(&tag)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.etag.as_deref(), Some(tag.as_str()));
}

#[tokio::test]
async fn bad_tile_addresses_are_400_and_unknown_layers_404() {
    let db = TestDb::new().await;
    let app = db.internal_app().await;
    for uri in [
        "/tiles/logistics/23/0/0.mvt",
        "/tiles/logistics/-1/0/0.mvt",
        "/tiles/logistics/3/8/0.mvt",
        "/tiles/logistics/3/0/8.mvt",
        "/tiles/logistics/a/0/0.mvt",
        "/tiles/logistics/3/0/0.png",
        "/tiles/logistics/3/0/99999999999999999999.mvt",
    ] {
        let response = fetch(&app, uri, None).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{uri}");
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(json["field"], "tile", "{uri}");
        assert!(!json["error"].as_str().unwrap().is_empty());
    }
    let response = fetch(&app, "/tiles/nuclear_silos/3/0/0.mvt", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert!(
        json["error"].as_str().unwrap().contains("defence_works"),
        "{json}"
    );
}

#[tokio::test]
async fn context_layers_are_served_whole_at_low_zoom() {
    let db = TestDb::new().await;
    let app = db.internal_app().await;
    // z4 12/7 spans 90–112.5° E, 0–22° N: the whole province and its neighbours.
    for (layer, expected) in [
        ("province", 1),
        ("districts", 9),
        ("border", 2),
        ("adjacent_provinces", 7),
        ("rivers", 2),
    ] {
        let response = fetch(&app, &format!("/tiles/{layer}/4/12/7.mvt"), None).await;
        assert_eq!(response.status, StatusCode::OK, "{layer}");
        assert!(response.etag.is_some(), "{layer}");
        let reader = mvt_reader::Reader::new(response.body).unwrap();
        assert_eq!(reader.get_layer_names().unwrap(), vec![layer.to_string()]);
        assert_eq!(reader.get_features(0).unwrap().len(), expected, "{layer}");
    }
    let districts = fetch(&app, "/tiles/districts/4/12/7.mvt", None).await;
    let reader = mvt_reader::Reader::new(districts.body).unwrap();
    let names: Vec<String> = reader
        .get_features(0)
        .unwrap()
        .iter()
        .filter_map(|f| match f.properties.as_ref()?.get("short_name")? {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert!(names.contains(&"Tân Biên".to_string()), "{names:?}");
    assert_eq!(
        fetch(&app, "/tiles/districts/4/0/0.mvt", None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn tilejson_describes_each_layer() {
    let db = TestDb::with_demo(100, 5).await;
    let app = db.internal_app().await;
    for layer in ["logistics", "districts", "border"] {
        let response = fetch(&app, &format!("/tiles/{layer}.json"), None).await;
        assert_eq!(response.status, StatusCode::OK, "{layer}");
        let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(json["tilejson"], "3.0.0");
        assert!(json["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with(&format!("/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")));
        assert_eq!(json["vector_layers"][0]["id"], layer);
        let bounds: Vec<f64> = json["bounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            bounds[0] > 105.0 && bounds[2] < 107.5 && bounds[1] > 10.0 && bounds[3] < 12.5,
            "{layer}: {bounds:?}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&fetch(&app, "/tiles/logistics.json", None).await.body).unwrap();
    assert!(json["vector_layers"][0]["fields"]["status"].is_string());
    assert_eq!(
        fetch(&app, "/tiles/nothing.json", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fetch(&app, "/tiles/logistics.xml", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tiles_are_gzipped_when_asked() {
    let db = TestDb::new().await;
    let response = db
        .internal_app()
        .await
        .oneshot(
            Request::builder()
                .uri("/tiles/districts/4/12/7.mvt")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_ENCODING).unwrap(),
        "gzip"
    );
}

#[tokio::test]
async fn below_a_layers_minimum_zoom_tiles_are_empty() {
    let db = TestDb::with_demo(300, 5).await;
    let app = db.internal_app().await;
    let client = db.client().await;
    for (layer, min_zoom) in [
        ("border_markers", 8u8),
        ("border_militia", 7),
        ("search_zones", 6),
    ] {
        let json: serde_json::Value = serde_json::from_slice(
            &fetch(&app, &format!("/tiles/{layer}.json"), None)
                .await
                .body,
        )
        .unwrap();
        assert_eq!(json["minzoom"], min_zoom, "{layer}");
        let below = TileCoord::containing(106.1, 11.3, min_zoom - 1);
        let at = TileCoord::containing(106.1, 11.3, min_zoom);
        let visible = count(
            &client,
            &format!(
                "SELECT count(*) FROM site s JOIN site_kind k ON k.code = s.kind
                  WHERE k.layer_group = '{layer}' AND s.classification <= 'internal'
                    AND ST_Intersects(ST_Transform(s.geom, 3857), ST_TileEnvelope({}, {}, {}))",
                below.z, below.x, below.y
            ),
        )
        .await;
        assert!(visible > 0, "{layer} has works under the tile");
        let response = fetch(
            &app,
            &format!("/tiles/{layer}/{}/{}/{}.mvt", below.z, below.x, below.y),
            None,
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::NO_CONTENT,
            "{layer} below its minimum zoom"
        );
        assert!(response.etag.is_some());
        let response = fetch(
            &app,
            &format!("/tiles/{layer}/{}/{}/{}.mvt", at.z, at.x, at.y),
            None,
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{layer} at its minimum zoom"
        );
    }
}

#[tokio::test]
async fn small_polygons_become_points_when_zoomed_out() {
    let db = TestDb::with_demo(400, 5).await;
    let app = db.internal_app().await;
    // Residential points are a few hundred metres across: points at z7, polygons at z14.
    let geometry_types = |body: Vec<u8>| {
        let reader = mvt_reader::Reader::new(body).unwrap();
        reader
            .get_features(0)
            .unwrap()
            .into_iter()
            .map(|f| match f.geometry {
                geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_) => "point",
                geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_) => "polygon",
                _ => "other",
            })
            .collect::<Vec<_>>()
    };
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) AS c FROM site
              WHERE kind = 'militia_residential_point' AND classification <= 'internal' LIMIT 1) x",
            &[],
        )
        .await
        .unwrap();
    let (lon, lat): (f64, f64) = (row.get(0), row.get(1));
    let far = TileCoord::containing(lon, lat, 7);
    let near = TileCoord::containing(lon, lat, 14);
    let far = fetch(
        &app,
        &format!("/tiles/border_militia/{}/{}/{}.mvt", far.z, far.x, far.y),
        None,
    )
    .await;
    let types = geometry_types(far.body);
    assert!(
        !types.is_empty() && !types.contains(&"polygon"),
        "z7: {types:?}"
    );
    let near = fetch(
        &app,
        &format!("/tiles/border_militia/{}/{}/{}.mvt", near.z, near.x, near.y),
        None,
    )
    .await;
    assert!(
        geometry_types(near.body).contains(&"polygon"),
        "z14 keeps the shape"
    );
}

/// An app whose tile versions come from NOTIFY, ready once its listener has connected.
async fn listening_app(db: &TestDb) -> (axum::Router, kvpt::web::AppState) {
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    let cookie = db
        // Secret: only a caller who sees every work is told hits and misses.
        .sign_in("planner", UserRole::Viewer, Classification::Secret, &[])
        .await;
    for _ in 0..100 {
        if state.tiles.version("land").is_some() {
            return (
                with_cookie(kvpt::web::router(state.clone()), &cookie),
                state,
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the version listener did not connect");
}

fn cache_of(response: &axum::response::Response) -> String {
    response.headers()["x-cache"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_tiles_are_served_from_memory_without_the_database() {
    let db = TestDb::with_demo(300, 5).await;
    let (app, state) = listening_app(&db).await;
    let t = home_tile();
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    let get = |uri: String, tag: Option<String>| {
        let app = app.clone();
        async move {
            let mut request = Request::builder().uri(uri);
            if let Some(tag) = tag {
                request = request.header(header::IF_NONE_MATCH, tag);
            }
            app.oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap()
        }
    };
    let first = get(uri.clone(), None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(cache_of(&first), "miss");
    let tag = first.headers()[header::ETAG].to_str().unwrap().to_string();
    let first_body = first.into_body().collect().await.unwrap().to_bytes();
    // No database from here on: the pool is closed.
    state.pool.close();
    let again = get(uri.clone(), None).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(cache_of(&again), "hit");
    assert_eq!(
        again.into_body().collect().await.unwrap().to_bytes(),
        first_body
    );
    let unchanged = get(uri.clone(), Some(tag)).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    // A tile never asked before needs the database, which is now out of reach.
    let other = get(
        format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x + 1, t.y),
        None,
    )
    .await;
    assert_eq!(other.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_reaches_the_cache_through_notify() {
    let db = TestDb::with_demo(300, 5).await;
    let (app, _state) = listening_app(&db).await;
    let client = db.client().await;
    let t = home_tile();
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    let first = fetch(&app, &uri, None).await;
    let warm = fetch(&app, &uri, None).await;
    assert_eq!(warm.etag, first.etag, "nothing changed, same version");
    // Rename a zone in the tile, outside kvpt (another process).
    let code: String = client
        .query_one(
            &format!(
                "UPDATE site SET name = 'Khu vực đổi tên' WHERE id = (
                   SELECT s.id FROM site s WHERE s.kind = 'remains_search_zone' AND s.classification <= 'internal'
                      AND ST_Intersects(ST_Transform(s.geom, 3857), ST_TileEnvelope({}, {}, {})) LIMIT 1)
                 RETURNING code",
                t.z, t.x, t.y
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let started = std::time::Instant::now();
    let fresh = loop {
        let response = fetch(&app, &uri, None).await;
        if response.etag != first.etag {
            break response;
        }
        assert!(
            started.elapsed().as_secs() < 2,
            "the edit never reached the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let reader = mvt_reader::Reader::new(fresh.body).unwrap();
    let renamed = reader.get_features(0).unwrap().into_iter().any(|f| {
        let p = f.properties.unwrap_or_default();
        p.get("code") == Some(&Value::String(code.clone()))
            && p.get("name") == Some(&Value::String("Khu vực đổi tên".into()))
    });
    assert!(renamed, "the new tile carries the edit");
    println!("edit visible after {:?}", started.elapsed());
}

#[tokio::test]
async fn gzipped_tiles_decompress_to_the_same_tile() {
    use std::io::Read;
    let db = TestDb::with_demo(200, 5).await;
    let app = db.internal_app().await;
    let t = home_tile();
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    let plain = fetch(&app, &uri, None).await;
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(&uri)
                .header(header::ACCEPT_ENCODING, "br;q=1, gzip;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(response.headers()[header::VARY], "accept-encoding");
    assert_eq!(
        response.headers()[header::ETAG].to_str().unwrap(),
        plain.etag.as_deref().unwrap(),
        "one weak tag for both encodings"
    );
    let gz = response.into_body().collect().await.unwrap().to_bytes();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(raw, plain.body);
    // gzip refused with q=0: the plain tile.
    let response = app
        .oneshot(
            Request::builder()
                .uri(&uri)
                .header(header::ACCEPT_ENCODING, "gzip;q=0, identity")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
}

/// A request to compare: path, method, headers.
type Ask<'a> = (String, &'a str, Vec<(&'a str, &'a str)>);

/// Over TCP, `kvpt serve` answers tile requests through a lane past the router: every
/// answer (status, headers but the date, body) is the router's own, for tiles, empty
/// tiles, 304s, gzip, bad addresses, unknown layers and paths the lane must leave alone.
#[tokio::test]
async fn the_tile_lane_answers_exactly_as_the_router() {
    let db = TestDb::with_demo(300, 21).await;
    let lane = crate::common::serve(db.served()).await;
    let router = crate::common::serve(db.app()).await;
    let t = home_tile();
    let districts = format!("/tiles/districts/{}/{}/{}.mvt", t.z, t.x, t.y);
    let first = crate::common::http(lane, "GET", &districts, &[], b"")
        .await
        .unwrap()
        .expect("an answer");
    assert_eq!(first.status, 200, "{}", first.text());
    let etag = first.header("etag").expect("an ETag").to_string();
    let asks: Vec<Ask> = vec![
        (districts.clone(), "GET", vec![]),
        (
            districts.clone(),
            "GET",
            vec![("if-none-match", etag.as_str())],
        ),
        (districts.clone(), "GET", vec![("accept-encoding", "gzip")]),
        (districts.clone(), "HEAD", vec![]),
        (
            format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y),
            "GET",
            vec![],
        ),
        ("/tiles/logistics/2/1/1.mvt".into(), "GET", vec![]),
        ("/tiles/districts/9/408/242".into(), "GET", vec![]),
        ("/tiles/districts/99/0/0.mvt".into(), "GET", vec![]),
        ("/tiles/districts/-1/0/0.mvt".into(), "GET", vec![]),
        ("/tiles/nowhere/8/0/0.mvt".into(), "GET", vec![]),
        ("/tiles/districts/8/0/0/0.mvt".into(), "GET", vec![]),
        ("/tiles/districts//0/0.mvt".into(), "GET", vec![]),
        (format!("{districts}?as_of=2023-12-31"), "GET", vec![]),
        (format!("{districts}?zoom=3"), "GET", vec![]),
    ];
    // Each server has its own tile cache: ask everything once first, so both answer
    // from memory (`X-Cache: hit`) when compared.
    for (path, method, headers) in &asks {
        for addr in [lane, router] {
            crate::common::http(addr, method, path, headers, b"")
                .await
                .unwrap();
        }
    }
    for (path, method, headers) in &asks {
        let mut answers = Vec::new();
        for addr in [lane, router] {
            let mut wire = crate::common::http(addr, method, path, headers, b"")
                .await
                .unwrap()
                .expect("an answer");
            wire.headers.retain(|(name, _)| name != "date");
            wire.headers.sort();
            answers.push(wire);
        }
        let (lane, router) = (&answers[0], &answers[1]);
        assert_eq!(
            lane.status,
            router.status,
            "{method} {path}: {}",
            lane.text()
        );
        assert_eq!(lane.headers, router.headers, "{method} {path}");
        assert_eq!(lane.body, router.body, "{method} {path}");
    }
}

#[tokio::test]
async fn a_tiles_etag_moves_only_with_what_its_caller_sees() {
    let db = TestDb::with_demo(300, 5).await;
    let client = db.client().await;
    // An internal search zone: anonymous visitors see the public ones only.
    let row = client
        .query_one(
            "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM site
              WHERE kind = 'remains_search_zone' AND classification = 'internal' ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (id, lon, lat): (i64, f64, f64) = (row.get(0), row.get(1), row.get(2));
    let t = TileCoord::containing(lon, lat, 11);
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    let anonymous = db.app();
    let internal = db.internal_app().await;
    let public_tag = fetch(&anonymous, &uri, None).await.etag.expect("a tag");
    let internal_tag = fetch(&internal, &uri, None).await.etag.expect("a tag");
    assert_ne!(
        public_tag, internal_tag,
        "the internal zone is in one tile only"
    );
    // The tag says nothing of the layer's counter.
    let version: i64 = client
        .query_one(
            "SELECT version FROM layer_version WHERE layer = 'search_zones'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!public_tag.contains(&format!("-{version}")), "{public_tag}");
    // The internal zone moves: the layer's version moves with it...
    client
        .execute(
            "UPDATE site SET geom = ST_Translate(geom, 0.003, 0) WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    // ...but anonymous visitors see the same tile: same tag, 304.
    let again = fetch(&anonymous, &uri, Some(&public_tag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.etag.as_deref(), Some(public_tag.as_str()));
    // The internal planner sees the change.
    let moved = fetch(&internal, &uri, Some(&internal_tag)).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_ne!(moved.etag.as_deref(), Some(internal_tag.as_str()));
}

#[tokio::test]
async fn only_a_caller_who_sees_every_work_is_told_cache_hits() {
    let db = TestDb::with_demo(100, 5).await;
    let t = home_tile();
    let uri = format!("/tiles/search_zones/{}/{}/{}.mvt", t.z, t.x, t.y);
    for (app, told) in [
        (db.app(), false),
        (db.internal_app().await, false),
        (
            db.app_as(UserRole::Viewer, Classification::Confidential)
                .await,
            false,
        ),
        (
            db.app_as(UserRole::Viewer, Classification::Secret).await,
            true,
        ),
    ] {
        for _ in 0..2 {
            let response = app
                .clone()
                .oneshot(Request::builder().uri(&uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.headers().contains_key("x-cache"), told);
        }
    }
}

#[tokio::test]
async fn a_change_above_a_callers_clearance_moves_no_version_their_caches_are_keyed_by() {
    use kvpt::domain::LayerGroup;
    use kvpt::web::tile_cache::seen_versions;
    let db = TestDb::with_demo(200, 5).await;
    let client = db.client().await;
    let pool = db.pool();
    let sums = || async {
        let client = pool.get().await.unwrap();
        let mut out = Vec::new();
        for layer in [Some(LayerGroup::SearchZones), None] {
            for c in Classification::ALL {
                let seen = seen_versions(layer, *c);
                out.push(kvpt::db::tiles::version_sum(&client, seen).await.unwrap());
            }
        }
        out
    };
    let before = sums().await;
    // An internal search zone moves, and a budget line of a secret work changes.
    client
        .batch_execute(
            "UPDATE site SET geom = ST_Translate(geom, 0.001, 0)
              WHERE id = (SELECT min(id) FROM site WHERE kind = 'remains_search_zone' AND classification = 'internal');
             UPDATE budget_line SET estimate_vnd = estimate_vnd + 1
              WHERE site_id = (SELECT min(b.site_id) FROM budget_line b JOIN site s ON s.id = b.site_id
                                WHERE s.classification = 'secret')",
        )
        .await
        .unwrap();
    let after = sums().await;
    // Search zones: public unchanged; internal and above moved.
    assert_eq!(after[0], before[0], "public sees no internal zone");
    assert!(after[1..4].iter().zip(&before[1..4]).all(|(a, b)| a > b));
    // The budget: only the secret sum moved.
    assert_eq!(after[4..7], before[4..7]);
    assert!(after[7] > before[7]);
    // And the listener's view agrees: an anonymous tile's key stays, a secret one's moves.
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    for _ in 0..100 {
        if state.tiles.version("search_zones@public").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let key = |c: Classification| {
        state
            .tiles
            .version_sum(seen_versions(Some(LayerGroup::SearchZones), c))
    };
    let (public, secret) = (key(Classification::Public), key(Classification::Secret));
    client
        .execute(
            "UPDATE site SET name = name || ' (đổi)'
              WHERE id = (SELECT min(id) FROM site WHERE kind = 'remains_search_zone' AND classification = 'internal')",
            &[],
        )
        .await
        .unwrap();
    for _ in 0..100 {
        if key(Classification::Secret) != secret {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_ne!(key(Classification::Secret), secret);
    assert_eq!(key(Classification::Public), public);
}
