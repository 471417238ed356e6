//! OGC API – Tiles: the tiling scheme, each layer's tileset, and its tiles at
//! `{tileMatrix}/{tileRow}/{tileCol}`, which are the tiles of `/tiles/{layer}/{z}/{x}/{y}.mvt`
//! (same bytes, ETag and clearance), row before column.

use axum::body::Body;
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use kvpt::spatial::tile::TileCoord;
use serde_json::Value;

use crate::common::{call_bytes, request, with_cookie, TestDb};

async fn json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = request(app, uri, &[]).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn tile(app: &axum::Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let (status, headers, body) = call_bytes(app, "GET", uri, &[], Body::empty()).await;
    let etag = headers.get("etag").map(|v| v.to_str().unwrap().to_string());
    (status, etag, body)
}

#[tokio::test]
async fn an_ogc_tile_is_the_same_tile_row_before_column_at_every_clearance() {
    let db = TestDb::with_demo(400, 5).await;
    let anonymous = db.app();
    let internal = db.internal_app().await;
    let secret = with_cookie(
        db.app(),
        &db.sign_in("chihuy", UserRole::Viewer, Classification::Secret, &[])
            .await,
    );
    let mut differed = false;
    for (who, app) in [
        ("anonymous", &anonymous),
        ("internal", &internal),
        ("secret", &secret),
    ] {
        for (layer, z) in [
            ("defence_works", 10),
            ("border_militia", 9),
            ("districts", 8),
        ] {
            let t = TileCoord::containing(106.1, 11.3, z);
            assert_ne!(t.x, t.y, "a tile whose row and column differ");
            let xyz = tile(app, &format!("/tiles/{layer}/{z}/{}/{}.mvt", t.x, t.y)).await;
            let ogc = tile(
                app,
                &format!(
                    "/collections/{layer}/tiles/WebMercatorQuad/{z}/{}/{}",
                    t.y, t.x
                ),
            )
            .await;
            // Anonymous visitors see public works only: none of the demo's defence works.
            if who != "anonymous" || layer == "districts" {
                assert_eq!(xyz.0, StatusCode::OK, "{who} {layer}");
            }
            assert_eq!(ogc, xyz, "{who} {layer}: the same tile");
            let swapped = tile(
                app,
                &format!(
                    "/collections/{layer}/tiles/WebMercatorQuad/{z}/{}/{}",
                    t.x, t.y
                ),
            )
            .await;
            assert!(
                xyz.0 == StatusCode::NO_CONTENT || swapped != xyz,
                "{who} {layer}: column and row are not interchangeable"
            );
        }
        // What a clearance sees differs, and each lane agrees on it.
        let t = TileCoord::containing(106.1, 11.3, 10);
        let mine = tile(
            app,
            &format!(
                "/collections/defence_works/tiles/WebMercatorQuad/10/{}/{}",
                t.y, t.x
            ),
        )
        .await;
        let theirs = tile(
            &secret,
            &format!(
                "/collections/defence_works/tiles/WebMercatorQuad/10/{}/{}",
                t.y, t.x
            ),
        )
        .await;
        differed |= mine.1 != theirs.1;
    }
    assert!(differed, "clearances see different tiles");
    // Mistakes: an unknown scheme or collection, the sites collection, a bad address.
    for (uri, expected) in [
        (
            "/collections/defence_works/tiles/WorldCRS84Quad/8/0/0",
            StatusCode::NOT_FOUND,
        ),
        (
            "/collections/nowhere/tiles/WebMercatorQuad/8/0/0",
            StatusCode::NOT_FOUND,
        ),
        (
            "/collections/sites/tiles/WebMercatorQuad/8/0/0",
            StatusCode::NOT_FOUND,
        ),
        (
            "/collections/defence_works/tiles/WebMercatorQuad/8/0/999",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/collections/defence_works/tiles/WebMercatorQuad/x/0/0",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, _, _) = tile(&internal, uri).await;
        assert_eq!(status, expected, "{uri}");
    }
}

#[tokio::test]
async fn the_tiling_scheme_and_the_tilesets_describe_what_is_served() {
    let db = TestDb::with_demo(100, 5).await;
    let app = db.internal_app().await;
    let (status, list) = json(&app, "/tileMatrixSets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["tileMatrixSets"][0]["id"], "WebMercatorQuad");
    let (_, tms) = json(&app, "/tileMatrixSets/WebMercatorQuad").await;
    let matrices = tms["tileMatrices"].as_array().unwrap();
    assert_eq!(matrices.len(), 23, "zooms 0 to 22");
    assert_eq!(matrices[0]["matrixWidth"], 1);
    assert_eq!(matrices[12]["matrixHeight"], 4096);
    let cell = |z: usize| matrices[z]["cellSize"].as_f64().unwrap();
    assert!((cell(0) - 156_543.033_928_041).abs() < 1e-6);
    assert!((cell(0) / cell(10) - 1024.0).abs() < 1e-9);
    assert_eq!(tms["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let (status, _) = json(&app, "/tileMatrixSets/WorldCRS84Quad").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, sets) = json(&app, "/collections/border_militia/tiles").await;
    assert_eq!(status, StatusCode::OK);
    let set = &sets["tilesets"][0];
    assert_eq!(set["dataType"], "vector");
    let href = set["links"][0]["href"].as_str().unwrap();
    let path = href.split_once("://").unwrap().1;
    let path = &path[path.find('/').unwrap()..];
    let (status, tileset) = json(&app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    let template = tileset["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "item")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(template.ends_with(
        "/collections/border_militia/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    ));
    assert_eq!(tileset["layers"][0]["id"], "border_militia");
    let (status, _) = json(&app, "/collections/sites/tiles").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Declared, and linked from the landing page and each collection.
    let (_, conformance) = json(&app, "/conformance").await;
    let classes = conformance["conformsTo"].to_string();
    for class in [
        "ogcapi-tiles-1/1.0/conf/core",
        "ogcapi-tiles-1/1.0/conf/mvt",
        "ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    ] {
        assert!(classes.contains(class), "{class}");
    }
    let (_, landing) = json(&app, "/?f=json").await;
    assert!(landing["links"]
        .to_string()
        .contains("http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"));
    let (_, collection) = json(&app, "/collections/rivers").await;
    assert!(collection["links"]
        .to_string()
        .contains("/collections/rivers/tiles"));
    let (_, sites) = json(&app, "/collections/sites").await;
    assert!(!sites["links"].to_string().contains("/tiles"));
}
