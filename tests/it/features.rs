//! OGC API – Features: conformance, paging, filters checked against PostGIS,
//! CRS by reference, RFC 7946 output, clear 400s, and GDAL's OAPIF driver reading it.

use std::collections::BTreeSet;

use crate::common::{count, request, serve, with_cookie, TestDb};
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::Value;

async fn json(app: &axum::Router, uri: &str) -> Value {
    let (status, _, body) = request(app, uri, &[]).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}"))
}

fn codes(page: &Value) -> Vec<String> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// The path and query of an absolute link, to replay it in-process.
fn local(href: &str) -> String {
    let rest = href.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_string()
}

/// Codes of the visible (public/internal) sites matching `condition`, by SQL.
async fn expected(db: &TestDb, condition: &str) -> BTreeSet<String> {
    let client = db.client().await;
    client
        .query(
            &format!(
                "SELECT s.code FROM site s JOIN site_kind k ON k.code = s.kind AND s.geom IS NOT NULL
                  WHERE s.classification <= 'internal' AND {condition}"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Every feature of `uri`, following `next` links.
async fn all_pages(app: &axum::Router, uri: &str) -> (i64, Vec<String>, usize) {
    let mut page = json(app, uri).await;
    let matched = page["numberMatched"].as_i64().unwrap();
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let returned = codes(&page);
        assert_eq!(
            page["numberReturned"].as_u64().unwrap() as usize,
            returned.len()
        );
        all.extend(returned);
        let next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| local(l["href"].as_str().unwrap()));
        match next {
            Some(next) => page = json(app, &next).await,
            None => break,
        }
    }
    (matched, all, pages)
}

/// OWSLib, the OGC test suite and Python `requests` send `*/*` or no `Accept`: they get the
/// landing document, not the home page; a browser names `text/html` and gets the page.
#[tokio::test]
async fn the_landing_is_json_unless_html_is_asked_for() {
    let db = TestDb::with_demo(20, 2).await;
    let app = db.app();
    for accept in [None, Some("*/*"), Some("application/json")] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let (status, got, body) = request(&app, "/", &headers).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            got["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{accept:?}"
        );
        let landing: Value = serde_json::from_str(&body).expect("JSON");
        assert!(landing["links"].is_array(), "{accept:?}");
    }
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (_, got, body) = request(&app, "/", &[("accept", browser)]).await;
    assert!(got["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body.contains("<html"));
    let (_, got, _) = request(&app, "/?f=html", &[]).await;
    assert!(got["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

#[tokio::test]
async fn landing_conformance_and_api_describe_what_is_served() {
    let db = TestDb::with_demo(50, 1).await;
    let app = db.internal_app().await;
    let (status, headers, body) = request(&app, "/", &[("accept", "application/json")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let landing: Value = serde_json::from_str(&body).unwrap();
    let rels: BTreeSet<&str> = landing["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    for rel in [
        "self",
        "alternate",
        "service-desc",
        "service-doc",
        "conformance",
        "data",
    ] {
        assert!(rels.contains(rel), "landing lacks {rel}");
    }
    // A browser still gets the overview page.
    let (_, headers, body) = request(&app, "/", &[("accept", "text/html,*/*;q=0.8")]).await;
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body.contains("<html"));

    let conformance = json(&app, "/conformance").await;
    let classes: Vec<&str> = conformance["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for class in ["core", "oas30", "html", "geojson"] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{class}");
        assert!(classes.contains(&uri.as_str()), "missing {class}");
    }
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"));

    let (status, headers, body) = request(&app, "/api", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/vnd.oai.openapi+json"));
    let api: Value = serde_json::from_str(&body).unwrap();
    assert!(api["openapi"].as_str().unwrap().starts_with("3.0"));
    // Every documented path is served: fill each template with a valid value.
    let paths = api["paths"].as_object().unwrap();
    for required in [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
    ] {
        assert!(paths.contains_key(required), "/api lacks {required}");
    }
    let code: String = db
        .client()
        .await
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND classification <= 'internal' ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for path in paths.keys() {
        // The OGC operations; kvpt's own (progress, exports, …) need a work, a user and a
        // body each, and tests/it/api_document.rs and schemathesis cover them.
        let ogc = ["/", "/conformance", "/api", "/healthz", "/readyz"].contains(&path.as_str())
            || ["/collections", "/tiles", "/tileMatrixSets"]
                .iter()
                .any(|p| path.starts_with(p));
        if !ogc {
            continue;
        }
        // The sites collection has no tileset: tiles are cut per layer.
        let collection = if path.contains("/tiles") {
            "districts"
        } else {
            "sites"
        };
        let uri = path
            .replace("{collectionId}", collection)
            .replace("{tileMatrixSetId}", "WebMercatorQuad")
            .replace("{tileMatrix}", "8")
            .replace("{tileRow}", "119")
            .replace("{tileCol}", "203")
            .replace("{featureId}", &code)
            .replace("{tileset}", "districts.json")
            .replace("{layer}", "districts")
            .replace("{z}", "8")
            .replace("{x}", "203")
            .replace("{y}", "119.mvt");
        let (status, _, body) = request(&app, &uri, &[]).await;
        assert!(
            status.is_success(),
            "{path} documented but {uri} gives {status}: {body}"
        );
    }
    // Collection ids in the document are the ones served.
    let ids: Vec<String> = json(&app, "/collections").await["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let documented: Vec<String> = api["paths"]["/collections/{collectionId}"]["get"]["parameters"]
        [0]["schema"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, documented);
    assert!(ids.contains(&"sites".to_string()) && ids.contains(&"districts".to_string()));
}

#[tokio::test]
async fn paging_through_every_item_gives_number_matched_once_each() {
    let db = TestDb::with_demo(300, 2).await;
    let app = db.internal_app().await;
    let (matched, all, pages) = all_pages(&app, "/collections/sites/items?limit=37").await;
    let want = expected(&db, "true").await;
    assert_eq!(matched as usize, want.len());
    assert_eq!(all.len(), want.len(), "every page together");
    assert_eq!(
        all.iter().cloned().collect::<BTreeSet<_>>(),
        want,
        "no repeats, nothing hidden shown"
    );
    assert_eq!(pages, want.len().div_ceil(37));
    // Confidential works exist in the demo and never appear.
    let hidden = count(
        &db.client().await,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification > 'internal'",
    )
    .await;
    assert!(hidden > 0);

    // A layer-group collection holds exactly its group.
    let (_, zones, _) = all_pages(&app, "/collections/search_zones/items?limit=10000").await;
    assert_eq!(
        zones.into_iter().collect::<BTreeSet<_>>(),
        expected(&db, "k.layer_group = 'search_zones'").await
    );
    // Offset past the end: an empty page, no next link.
    let page = json(&app, "/collections/sites/items?offset=100000").await;
    assert_eq!(page["numberReturned"], 0);
    assert!(!page["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "next"));
}

#[tokio::test]
async fn bbox_and_filters_return_exactly_the_right_features() {
    let db = TestDb::with_demo(400, 3).await;
    let app = db.internal_app().await;
    let cases = [
        (
            "bbox=106.0,11.2,106.3,11.5",
            "ST_Intersects(s.geom, ST_MakeEnvelope(106.0, 11.2, 106.3, 11.5, 4326))",
        ),
        ("kind=militia_residential_point,workshop", "s.kind IN ('militia_residential_point', 'workshop')"),
        ("status=completed,handed_over", "s.status IN ('completed', 'handed_over')"),
        ("district=TBI", "s.district_id = (SELECT id FROM admin_unit WHERE abbr = 'TBI')"),
        ("district=705,DMC", "s.district_id IN (SELECT id FROM admin_unit WHERE abbr IN ('TBI', 'DMC'))"),
        ("phase=1,3", "s.phase IN (1, 3)"),
        ("programme=kvpt_2017_2020", "s.programme = 'kvpt_2017_2020'"),
        (
            "programme=kvpt_2021_2025,mr7_roadmap&phase=1",
            "s.programme IN ('kvpt_2021_2025', 'mr7_roadmap') AND s.phase = 1",
        ),
        ("datetime=2024-01-01/..", "s.updated_at >= '2024-01-01T00:00:00Z'"),
        ("datetime=../2023-06-30", "s.updated_at < '2023-07-01T00:00:00Z'"),
        (
            "bbox=11.2,106.0,11.5,106.3&bbox-crs=EPSG:4326&status=under_construction",
            "ST_Intersects(s.geom, ST_MakeEnvelope(106.0, 11.2, 106.3, 11.5, 4326)) AND s.status = 'under_construction'",
        ),
        // Diacritics and case ignored: "liền kề chốt" is in every residential point's name.
        ("q=LIEN%20ke%20chot", "s.kind = 'militia_residential_point'"),
        ("q=ddc-", "s.kind = 'militia_residential_point'"),
    ];
    for (query, condition) in cases {
        let (matched, got, _) = all_pages(
            &app,
            &format!("/collections/sites/items?limit=10000&{query}"),
        )
        .await;
        let want = expected(&db, condition).await;
        assert!(!want.is_empty(), "{query}: the demo should have some");
        assert_eq!(matched as usize, want.len(), "{query}");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "{query}");
    }
    // A bbox in VN-2000 / TM-3: the same box, transformed by PostGIS through the pinned
    // EPSG:6960 functions, selects the same sites.
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM
               (SELECT to_vn2000_tm3(ST_MakeEnvelope(106.0, 11.2, 106.3, 11.5, 4326)) AS b) x",
            &[],
        )
        .await
        .unwrap();
    let (x1, y1, x2, y2): (f64, f64, f64, f64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let (_, got, _) = all_pages(
        &app,
        &format!("/collections/sites/items?limit=10000&bbox={x1},{y1},{x2},{y2}&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/9209"),
    )
    .await;
    let want = expected(
        &db,
        &format!("ST_Intersects(s.geom, from_vn2000_tm3(ST_Segmentize(ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, 9209), ({x2} - {x1}) / 16)))"),
    )
    .await;
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let db = TestDb::with_demo(20, 4).await;
    let app = db.internal_app().await;
    for (uri, field) in [
        ("/collections/sites/items?limit=0", "limit"),
        ("/collections/sites/items?limit=abc", "limit"),
        ("/collections/sites/items?offset=-3", "offset"),
        ("/collections/sites/items?bbox=1,2,3", "bbox"),
        ("/collections/sites/items?bbox=106,11,NaN,12", "bbox"),
        ("/collections/sites/items?crs=EPSG:32648", "crs"),
        ("/collections/sites/items?bbox-crs=EPSG:3857", "bbox-crs"),
        ("/collections/sites/items?datetime=last-week", "datetime"),
        ("/collections/sites/items?kind=castle", "kind"),
        ("/collections/border_markers/items?kind=warehouse", "kind"),
        ("/collections/sites/items?status=finished", "status"),
        ("/collections/sites/items?district=Hanoi", "district"),
        ("/collections/sites/items?phase=12", "phase"),
        ("/collections/sites/items?programme=kvpt_2030", "programme"),
        ("/collections/sites/items?colour=red", "colour"),
        ("/collections/districts/items?status=planned", "status"),
        ("/collections/sites/items?f=xml", "f"),
        ("/collections/sites/items/ABC?crs=nope", "crs"),
        ("/collections?bogus=1", "bogus"),
    ] {
        let (status, _, body) = request(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["field"], field, "{uri}: {body}");
        assert!(!error["error"].as_str().unwrap().is_empty());
    }
    for uri in [
        "/collections/castles",
        "/collections/castles/items",
        "/collections/sites/items/NO-SUCH-0001",
        "/collections/districts/items/abc",
        "/collections/districts/items/999999",
    ] {
        let (status, _, body) = request(&app, uri, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
    }
    // Browsers get the error as a page in their language.
    let (status, headers, body) =
        request(&app, "/collections/sites/items?limit=0&f=html", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body.contains("limit"));
}

/// Twice the signed area of a ring: positive when counter-clockwise.
fn signed_area(ring: &[Value]) -> f64 {
    ring.windows(2)
        .map(|w| {
            let (a, b) = (w[0].as_array().unwrap(), w[1].as_array().unwrap());
            a[0].as_f64().unwrap() * b[1].as_f64().unwrap()
                - b[0].as_f64().unwrap() * a[1].as_f64().unwrap()
        })
        .sum()
}

#[tokio::test]
async fn output_is_rfc_7946_and_other_crs_are_named_in_content_crs() {
    let db = TestDb::with_demo(200, 5).await;
    let app = db.internal_app().await;
    let client = db.client().await;
    // Store one zone clockwise: the API must still answer counter-clockwise.
    client
        .batch_execute(
            "UPDATE site SET geom = ST_ForcePolygonCW(geom)
              WHERE id = (SELECT min(id) FROM site WHERE geom IS NOT NULL AND kind = 'remains_search_zone' AND classification <= 'internal')",
        )
        .await
        .unwrap();
    let (status, headers, body) =
        request(&app, "/collections/search_zones/items?limit=10000", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/geo+json");
    assert_eq!(
        headers["content-crs"],
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let page: Value = serde_json::from_str(&body).unwrap();
    assert!(page.get("crs").is_none());
    let mut polygons = 0;
    for feature in page["features"].as_array().unwrap() {
        assert!(feature.get("crs").is_none() && feature["geometry"].get("crs").is_none());
        if feature["geometry"]["type"] == "Polygon" {
            let rings = feature["geometry"]["coordinates"].as_array().unwrap();
            assert!(
                signed_area(rings[0].as_array().unwrap()) > 0.0,
                "exterior ring counter-clockwise"
            );
            let first = &rings[0][0];
            let (lon, lat) = (first[0].as_f64().unwrap(), first[1].as_f64().unwrap());
            assert!(
                (102.0..110.0).contains(&lon) && (8.0..24.0).contains(&lat),
                "lon/lat order"
            );
            polygons += 1;
        }
    }
    assert!(polygons > 0);

    // One point site, in each CRS, against PostGIS's own transformation; VN-2000 against
    // the pinned EPSG:6960 one (PROJ left to choose takes EPSG:5194 in the province's
    // south, 0.8 m away).
    let row = client
        .query_one(
            "SELECT code, ST_X(geom), ST_Y(geom), ST_X(to_vn2000_tm3(geom)), ST_Y(to_vn2000_tm3(geom)),
                    ST_X(ST_Transform(geom, 3857)), ST_Y(ST_Transform(geom, 3857))
               FROM site WHERE geom IS NOT NULL AND kind = 'border_marker' AND classification <= 'internal' ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let code: String = row.get(0);
    let at = |crs: &str| format!("/collections/border_markers/items/{code}?crs={crs}");
    let cases = [
        (
            "CRS84",
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            row.get::<_, f64>(1),
            row.get::<_, f64>(2),
            1e-6,
        ),
        (
            "EPSG:4326",
            "http://www.opengis.net/def/crs/EPSG/0/4326",
            row.get(2),
            row.get(1),
            1e-6,
        ),
        (
            "EPSG:3857",
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            row.get(5),
            row.get(6),
            0.01,
        ),
        (
            "http://www.opengis.net/def/crs/EPSG/0/9209",
            "http://www.opengis.net/def/crs/EPSG/0/9209",
            row.get(3),
            row.get(4),
            0.01,
        ),
    ];
    for (param, uri, a, b, tolerance) in cases {
        let (status, headers, body) = request(&app, &at(param), &[]).await;
        assert_eq!(status, StatusCode::OK, "{param}: {body}");
        assert_eq!(headers["content-crs"], format!("<{uri}>").as_str());
        let feature: Value = serde_json::from_str(&body).unwrap();
        assert!(feature["geometry"].get("crs").is_none(), "{param}: {body}");
        let c = &feature["geometry"]["coordinates"];
        assert!(
            (c[0].as_f64().unwrap() - a).abs() < tolerance,
            "{param}: {c}"
        );
        assert!(
            (c[1].as_f64().unwrap() - b).abs() < tolerance,
            "{param}: {c}"
        );
    }
    // VN-2000 differs from WGS 84 by about 200 m here: the transformation really ran.
    let plain_tm3 = client
        .query_one(
            "SELECT ST_X(ST_Transform(geom, '+proj=tmerc +lon_0=105.5 +k=0.9999 +x_0=500000 +ellps=WGS84 +units=m'))
               FROM site WHERE geom IS NOT NULL AND code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get::<_, f64>(0);
    let tm3: f64 = row.get(3);
    assert!(
        (plain_tm3 - tm3).abs() > 100.0,
        "datum shift applied ({plain_tm3} vs {tm3})"
    );
}

#[tokio::test]
async fn one_feature_respects_its_collection_and_the_clearance() {
    let db = TestDb::with_demo(300, 6).await;
    let app = db.internal_app().await;
    let client = db.client().await;
    let visible: String = client
        .query_one("SELECT code FROM site WHERE geom IS NOT NULL AND kind = 'workshop' AND classification <= 'internal' LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    let hidden: String = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND classification > 'internal' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let feature = json(&app, &format!("/collections/sites/items/{visible}")).await;
    assert_eq!(feature["id"], visible.as_str());
    assert_eq!(feature["properties"]["kind"], "workshop");
    assert!(feature["properties"]["allocated_vnd"].is_number());
    assert!(feature["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "self"));
    json(&app, &format!("/collections/logistics/items/{visible}")).await;
    let (status, _, _) = request(
        &app,
        &format!("/collections/border_markers/items/{visible}"),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not in that group");
    let (status, _, _) = request(&app, &format!("/collections/sites/items/{hidden}"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "above the clearance");
    // Context features by number.
    let districts = json(&app, "/collections/districts/items").await;
    assert_eq!(districts["numberMatched"], 9);
    let id = districts["features"][0]["id"].as_i64().unwrap();
    let one = json(&app, &format!("/collections/districts/items/{id}")).await;
    assert_eq!(one["geometry"]["type"], "MultiPolygon");
}

#[tokio::test]
async fn html_pages_list_collections_and_items_escaped() {
    let db = TestDb::with_demo(60, 7).await;
    let app = db.internal_app().await;
    let client = db.client().await;
    let code: String = client
        .query_one(
            "UPDATE site SET name = '<script>alert(1)</script> Kho' WHERE id =
               (SELECT min(id) FROM site WHERE geom IS NOT NULL AND classification <= 'internal') RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (status, headers, body) = request(&app, "/collections", &[("accept", "text/html")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body.contains("search_zones") && body.contains("Tìm kiếm, quy tập"));
    let (_, _, body) = request(&app, "/collections/sites/items?f=html&limit=500", &[]).await;
    assert!(body.contains(&code));
    assert!(!body.contains("<script>alert(1)"), "names are escaped");
    assert!(body.contains("&lt;script&gt;"));
    let (_, _, body) = request(
        &app,
        &format!("/collections/sites/items/{code}?f=html&lang=en"),
        &[],
    )
    .await;
    assert!(body.contains("Geometry") && body.contains(&code));
    let (_, _, body) = request(&app, "/conformance?f=html", &[]).await;
    assert!(body.contains("conf/core"));
    let (_, _, body) = request(&app, "/api?f=html", &[]).await;
    assert!(body.contains("/collections/{collectionId}/items"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdal_reads_a_collection_through_oapif() {
    let db = TestDb::with_demo(250, 8).await;
    let addr = serve(db.internal_app().await).await;
    let want = expected(&db, "k.layer_group = 'border_militia'")
        .await
        .len();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ogrinfo")
            .args([
                "-ro",
                "-so",
                "-al",
                &format!("OAPIF:http://{addr}/"),
                "border_militia",
            ])
            .output()
            .expect("ogrinfo runs (gdal-bin is installed by make deps)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("Feature Count: {want}")),
        "expected {want} features:\n{stdout}"
    );
    assert!(stdout.contains("code: String"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_matches_follow_edits() {
    let db = TestDb::with_demo(300, 9).await;
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    for _ in 0..100 {
        if state.tiles.version("land").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let cookie = db
        .sign_in("planner", UserRole::Viewer, Classification::Internal, &[])
        .await;
    let app = with_cookie(kvpt::web::router(state), &cookie);
    let uri = "/collections/sites/items?status=planned&limit=5";
    let before = json(&app, uri).await["numberMatched"].as_i64().unwrap();
    assert_eq!(
        json(&app, uri).await["numberMatched"].as_i64().unwrap(),
        before,
        "same answer twice"
    );
    // Paging from the cache gives the same features as without it.
    let (matched, all, _) = all_pages(&app, uri).await;
    assert_eq!(matched, before);
    assert_eq!(
        all.into_iter().collect::<BTreeSet<_>>(),
        expected(&db, "s.status = 'planned'").await
    );
    // Another process plans one more work: the next answers count it.
    db.client()
        .await
        .batch_execute(
            "UPDATE site SET status = 'planned', progress_pct = 0, actual_start = NULL, actual_finish = NULL
              WHERE id = (SELECT min(id) FROM site WHERE geom IS NOT NULL AND status = 'design' AND classification <= 'internal')",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        let now = json(&app, uri).await["numberMatched"].as_i64().unwrap();
        if now == before + 1 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 2,
            "the edit never reached the cached matches ({now})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
