//! CQL2 filters on the works (OGC API – Features Part 3): each expression of a table gives
//! the works the same condition, written by hand in SQL here, gives; never above the
//! caller's clearance; mistakes are a 400 saying where; injection attempts stay values.

use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use serde_json::Value;

use crate::common::{request, TestDb};

/// SQL written into CQL2 strings; each must stay a string compared.
const INJECTIONS: &[&str] = &[
    "' OR 1=1 --",
    "x'; DROP TABLE site; --",
    "x') OR true OR ('",
    "'; SELECT pg_sleep(3); --",
    "$1",
    "\\' OR '1'='1",
    "%' OR name LIKE '%",
    "x\u{0}y",
    "Đồn'||(SELECT password_hash FROM app_user LIMIT 1)||'",
];

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The codes the API returns for `query` (a `filter=…&…` string), sorted.
async fn codes(app: &axum::Router, query: &str) -> Vec<String> {
    let uri = format!("/collections/sites/items?limit=10000&{query}");
    let (status, _, body) = request(app, &uri, &[]).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let mut codes: Vec<String> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        page["numberMatched"].as_u64().unwrap() as usize,
        codes.len()
    );
    codes.sort();
    codes
}

async fn expected(client: &tokio_postgres::Client, condition: &str, ceiling: &str) -> Vec<String> {
    let sql = format!(
        "SELECT code FROM site s WHERE s.geom IS NOT NULL AND ({condition}) AND s.classification <= '{ceiling}' ORDER BY code COLLATE \"C\""
    );
    let rows = client
        .query(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut codes: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn each_filter_selects_what_the_same_condition_in_sql_selects() {
    let db = TestDb::with_demo(400, 21).await;
    let client = db.client().await;
    let district: String = client
        .query_one(
            "SELECT ST_AsText(ST_SimplifyPreserveTopology(geom, 0.01)) FROM admin_unit
              WHERE level = 'district' AND abbr = 'TBI'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let district_sql = format!("ST_GeomFromText('{district}', 4326)");
    let cases: Vec<(String, String)> = vec![
        ("name LIKE 'Kho%'".into(), "s.name LIKE 'Kho%'".into()),
        (
            "CASEI(name) LIKE casei('%CHỐT%')".into(),
            "lower(s.name) LIKE '%chốt%'".into(),
        ),
        (
            "ACCENTI(CASEI(name)) LIKE accenti(casei('%DIEM DAN CU%'))".into(),
            "s.name LIKE '%Điểm dân cư%'".into(),
        ),
        (
            "percent BETWEEN 20 AND 60 AND status <> 'completed'".into(),
            "s.progress_pct BETWEEN 20 AND 60 AND s.status <> 'completed'".into(),
        ),
        (
            "status IN ('completed', 'under_construction') OR phase IS NULL".into(),
            "s.status IN ('completed', 'under_construction') OR s.phase IS NULL".into(),
        ),
        (
            "NOT (kind = 'border_marker') AND country = 'KH'".into(),
            "s.kind <> 'border_marker' AND s.foreign_area_id IS NOT NULL".into(),
        ),
        (
            format!("S_INTERSECTS(geometry, {district}) AND name LIKE '%số 1%'"),
            format!("ST_Intersects(s.geom, {district_sql}) AND s.name LIKE '%số 1%'"),
        ),
        (
            "S_WITHIN(geometry, BBOX(106.0, 11.2, 106.4, 11.6))".into(),
            "ST_Within(s.geom, ST_MakeEnvelope(106.0, 11.2, 106.4, 11.6, 4326))".into(),
        ),
        (
            "S_DWITHIN(geometry, POINT(106.1 11.4), 15000)".into(),
            "ST_DWithin(s.geom::geography, ST_MakePoint(106.1, 11.4)::geography, 15000)".into(),
        ),
        (
            "T_AFTER(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))".into(),
            "s.updated_at > '2000-01-01T00:00:00Z'".into(),
        ),
        (
            "T_BEFORE(planned_finish, DATE('2023-06-01'))".into(),
            "s.planned_finish < '2023-06-01'".into(),
        ),
        (
            "T_DURING(planned_start, INTERVAL('2021-01-01', '2022-12-31'))".into(),
            "s.planned_start > '2021-01-01' AND s.planned_start < '2022-12-31'".into(),
        ),
        (
            "actual_finish > planned_finish".into(),
            "s.actual_finish > s.planned_finish".into(),
        ),
        (
            "district_code = '705' OR disbursed_vnd > 0".into(),
            "(SELECT code FROM admin_unit WHERE id = s.district_id) = '705'
              OR (SELECT sum(disbursed_vnd) FROM budget_line WHERE site_id = s.id) > 0"
                .into(),
        ),
    ];
    let secret = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let internal = db.internal_app().await;
    let mut non_empty = 0;
    for (cql, sql) in &cases {
        let want = expected(&client, sql, "secret").await;
        let got = codes(&secret, &format!("filter={}", encode(cql))).await;
        assert_eq!(got, want, "{cql}");
        non_empty += usize::from(!want.is_empty());
        // Never above clearance: the same filter for someone cleared for internal works.
        let got = codes(&internal, &format!("filter={}", encode(cql))).await;
        assert_eq!(
            got,
            expected(&client, sql, "internal").await,
            "internal: {cql}"
        );
    }
    assert!(non_empty >= cases.len() - 1, "the table tests something");
    // The same as CQL2 JSON, and geometries in another CRS.
    let json = r#"{"op":"and","args":[{"op":"like","args":[{"property":"name"},"Kho%"]},
        {"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[105,10,107,12]}]}]}"#;
    assert_eq!(
        codes(
            &secret,
            &format!("filter={}&filter-lang=cql2-json", encode(json))
        )
        .await,
        expected(&client, "s.name LIKE 'Kho%'", "secret").await
    );
    let mercator = "S_WITHIN(geometry, BBOX(11800000, 1230000, 11840000, 1290000))";
    assert_eq!(
        codes(
            &secret,
            &format!("filter={}&filter-crs={}", encode(mercator), encode("http://www.opengis.net/def/crs/EPSG/0/3857"))
        )
        .await,
        expected(
            &client,
            "ST_Within(ST_Transform(s.geom, 3857), ST_MakeEnvelope(11800000, 1230000, 11840000, 1290000, 3857))",
            "secret"
        )
        .await
    );
}

#[tokio::test]
async fn a_wrong_filter_is_a_400_saying_where_and_injections_stay_values() {
    let db = TestDb::with_demo(60, 22).await;
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    for (filter, extra, field, says) in [
        ("nam = 'x'", "", "filter", "no property 'nam'"),
        ("name = 'x' AND", "", "filter", "column 15"),
        (
            "percent > 'nhiều'",
            "",
            "filter",
            "compares an integer with text",
        ),
        (
            "S_INTERSECTS(geometry, POLYGON((1 1, 2 2, 1 1)))",
            "",
            "filter",
            "closed",
        ),
        (
            "name = 'x'",
            "&filter-lang=ecql",
            "filter-lang",
            "cql2-text or cql2-json",
        ),
        ("name = 'x'", "&filter-crs=EPSG:1", "filter-crs", ""),
    ] {
        let uri = format!("/collections/sites/items?filter={}{extra}", encode(filter));
        let (status, _, body) = request(&app, &uri, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["field"], field, "{filter}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{filter}: {body}"
        );
    }
    // A self-crossing ring is made valid, not an error halfway through the scan.
    let bowtie = "S_INTERSECTS(geometry, POLYGON((105 10, 107 12, 107 10, 105 12, 105 10)))";
    let (status, _, body) = request(
        &app,
        &format!("/collections/sites/items?filter={}", encode(bowtie)),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Injection attempts: each is a value compared, never SQL; the table is intact.
    let client = db.client().await;
    let before: i64 = client
        .query_one("SELECT count(*) FROM site WHERE geom IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    for attack in INJECTIONS {
        let quoted = attack.replace('\'', "''");
        for filter in [
            format!("name = '{quoted}'"),
            format!("CASEI(name) LIKE casei('%{quoted}%')"),
            format!("code IN ('{quoted}', 'x')"),
        ] {
            let uri = format!("/collections/sites/items?filter={}", encode(&filter));
            let (status, _, body) = request(&app, &uri, &[]).await;
            assert!(
                status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
                "{filter}: {status} {body}"
            );
            if status == StatusCode::OK {
                let page: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(page["numberMatched"], 0, "{filter}");
            }
        }
    }
    let after: i64 = client
        .query_one("SELECT count(*) FROM site WHERE geom IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);
}

#[tokio::test]
async fn queryables_and_conformance_declare_the_filters() {
    let db = TestDb::with_demo(20, 23).await;
    let app = db.app();
    let (status, headers, body) = request(
        &app,
        "/collections/sites/queryables",
        &[("accept", "application/schema+json")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/schema+json");
    // GDAL 3.6 asks for JSON, takes no other type, and reads the drafts' list.
    let (_, headers, gdal) = request(
        &app,
        "/collections/sites/queryables",
        &[("accept", "application/geo+json, application/json")],
    )
    .await;
    assert_eq!(headers["content-type"], "application/json");
    let gdal: Value = serde_json::from_str(&gdal).unwrap();
    assert!(gdal["queryables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["id"] == "name"));
    let schema: Value = serde_json::from_str(&body).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for q in kvpt::params::filter::SITE_QUERYABLES {
        assert!(properties.contains_key(q.name), "{}", q.name);
    }
    assert_eq!(properties["updated_at"]["format"], "date-time");
    assert!(properties["updated_at"]["description"]
        .as_str()
        .unwrap()
        .contains("datetime"));
    assert!(properties["kind"]["enum"].as_array().unwrap().len() > 10);
    let (status, _, _) = request(&app, "/collections/districts/queryables", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, body) = request(&app, "/collections/defence_works", &[]).await;
    assert!(body.contains("/collections/defence_works/queryables"));
    let (_, _, en) = request(&app, "/collections/defence_works?lang=en", &[]).await;
    let described: Value = serde_json::from_str(&en).unwrap();
    assert!(
        described["description"]
            .as_str()
            .unwrap()
            .contains("datetime parameter filters on updated_at"),
        "each collection says what datetime filters on: {described}"
    );
    let (_, _, body) = request(&app, "/conformance", &[]).await;
    for class in [
        "ogcapi-features-3/1.0/conf/filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/temporal-functions",
    ] {
        assert!(body.contains(class), "{class}");
    }
    // A context collection takes no filter.
    let (status, _, _) = request(&app, "/collections/districts/items?filter=id%3D1", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
