//! Exports for partners: every format opens with GDAL and holds the same works, GeoJSON
//! is RFC 7946, no profile ever lets out a work or field it withholds, coarsened
//! positions are coarse, VN-2000 goes through the pinned transformation, and every export
//! is logged with its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use gdal::vector::LayerAccess;
use kvpt::domain::{Classification, SiteKind, UserRole};
use kvpt::exchange::fields::{Field, FieldType, FIELDS};
use kvpt::params::format::Format;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{call, call_bytes, request, TestDb};

/// One exported work read back: its fields as text (long names) and its bounding box.
#[derive(Debug, Clone)]
struct Read {
    fields: BTreeMap<String, String>,
    bbox: [f64; 4],
    points_only: Vec<(f64, f64)>,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-it-exports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn export(
    app: &axum::Router,
    format: Format,
    query: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    call_bytes(
        app,
        "GET",
        &format!("/exports/sites.{}?{query}", format.extension()),
        &[],
        axum::body::Body::empty(),
    )
    .await
}

/// GDAL's name for a file kvpt wrote.
fn gdal_path(path: &Path, format: Format) -> String {
    match format {
        Format::Shapefile => format!("/vsizip/{}", path.display()),
        _ => path.display().to_string(),
    }
}

/// `ogrinfo` opens it: the feature count over all its layers.
fn ogrinfo_count(path: &str) -> u64 {
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-al", path])
        .output()
        .expect("ogrinfo (gdal-bin) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ogrinfo {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("Feature Count: "))
        .map(|n| n.trim().parse::<u64>().unwrap())
        .sum()
}

fn date_text(text: String) -> String {
    // GDAL writes dates as 2024/05/01 in CSV and KML; compare them as 2024-05-01.
    let b = text.as_bytes();
    if b.len() >= 10 && b[4] == b'/' && b[7] == b'/' {
        text.replace('/', "-")
    } else {
        text
    }
}

/// Every feature of a GIS file, through the gdal crate.
fn read_gis(path: &str) -> Vec<Read> {
    let dataset = gdal::Dataset::open(path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
    let mut out = Vec::new();
    for mut layer in dataset.layers() {
        for feature in layer.features() {
            let mut fields = BTreeMap::new();
            for (name, value) in feature.fields() {
                let Some(value) = value else { continue };
                // KML's own placemark elements read back empty when kvpt set none.
                if matches!(&value, gdal::vector::FieldValue::StringValue(s) if s.is_empty()) {
                    continue;
                }
                use gdal::vector::FieldValue as V;
                let text = match value {
                    V::StringValue(s) => date_text(s),
                    V::IntegerValue(i) => i.to_string(),
                    V::Integer64Value(i) => i.to_string(),
                    V::RealValue(r) => format!("{r}"),
                    V::DateValue(d) => d.format("%Y-%m-%d").to_string(),
                    V::DateTimeValue(t) => t.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    other => format!("{other:?}"),
                };
                let field = Field::from_any_name(&name);
                // FlatGeobuf has no date type: GDAL stores dates as midnight date-times.
                let text = match field {
                    Some(f) if f.ty == FieldType::Date => text
                        .strip_suffix("T00:00:00Z")
                        .map(str::to_string)
                        .unwrap_or(text),
                    _ => text,
                };
                let key = field.map(|f| f.name.to_string()).unwrap_or(name);
                fields.insert(key, text);
            }
            let geometry = feature.geometry().expect("a geometry");
            let e = geometry.envelope();
            let points_only = if geometry.geometry_name() == "POINT" {
                vec![(e.MinX, e.MinY)]
            } else {
                vec![]
            };
            out.push(Read {
                fields,
                bbox: [e.MinX, e.MinY, e.MaxX, e.MaxY],
                points_only,
            });
        }
    }
    out
}

fn bbox_of(coords: &Value, b: &mut [f64; 4]) {
    match coords {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => {
            let (x, y) = (items[0].as_f64().unwrap(), items[1].as_f64().unwrap());
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
        Value::Array(items) => items.iter().for_each(|i| bbox_of(i, b)),
        _ => {}
    }
}

/// Every feature of a GeoJSON export, as [`read_gis`] gives them.
fn read_geojson(body: &[u8]) -> Vec<Read> {
    let doc: Value = serde_json::from_slice(body).expect("GeoJSON parses");
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut fields = BTreeMap::new();
            for (k, v) in f["properties"].as_object().unwrap() {
                let text = match v {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                fields.insert(k.clone(), text);
            }
            let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            bbox_of(&f["geometry"]["coordinates"], &mut bbox);
            let points_only = if f["geometry"]["type"] == "Point" {
                vec![(bbox[0], bbox[1])]
            } else {
                vec![]
            };
            Read {
                fields,
                bbox,
                points_only,
            }
        })
        .collect()
}

/// Writes `body` to a file and reads it back as features.
fn read_back(body: &[u8], format: Format, name: &str) -> Vec<Read> {
    if format == Format::GeoJson {
        return read_geojson(body);
    }
    let path = scratch(&format!("{name}.{}", format.extension()));
    std::fs::write(&path, body).unwrap();
    let gdal = gdal_path(&path, format);
    let features = read_gis(&gdal);
    assert_eq!(ogrinfo_count(&gdal), features.len() as u64, "{gdal}");
    features
}

async fn admin(db: &TestDb) -> axum::Router {
    db.app_as(UserRole::Admin, Classification::Secret).await
}

#[tokio::test]
async fn every_format_opens_and_holds_the_same_works_with_vietnamese_intact() {
    let db = TestDb::with_demo(240, 51).await;
    let app = admin(&db).await;
    let client = db.client().await;
    let total = crate::common::count(&client, "SELECT count(*) FROM site WHERE geom IS NOT NULL")
        .await as usize;
    let (status, _, reference) = export(&app, Format::GeoJson, "profile=qk7").await;
    assert_eq!(status, StatusCode::OK);
    let reference = read_geojson(&reference);
    assert_eq!(reference.len(), total);
    // Issue 24 §3: an export narrowed to one programme holds exactly its works.
    let old_scheme = crate::common::count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND programme = 'kvpt_2017_2020'",
    )
    .await as usize;
    assert!(old_scheme > 0 && old_scheme < total);
    let (status, _, body) = export(
        &app,
        Format::GeoJson,
        "profile=qk7&programme=kvpt_2017_2020",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_geojson(&body).len(), old_scheme);
    let by_code: BTreeMap<String, &Read> = reference
        .iter()
        .map(|r| (r.fields["code"].clone(), r))
        .collect();
    assert!(
        reference
            .iter()
            .any(|r| r.fields["name"].contains("Chốt") || r.fields["name"].contains("Đường")),
        "Vietnamese names in the reference"
    );
    for format in Format::ALL
        .iter()
        .copied()
        .filter(|f| *f != Format::GeoJson)
    {
        let (status, headers, body) = export(&app, format, "profile=qk7").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{format:?}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(headers["content-type"], format.media_type());
        assert_eq!(headers["x-kvpt-features"], total.to_string().as_str());
        let read = read_back(&body, format, &format!("all-{}", format.code()));
        assert_eq!(read.len(), total, "{format:?}");
        for r in &read {
            let code = &r.fields["code"];
            let want = by_code[code];
            for field in [
                "name",
                "kind",
                "status",
                "percent",
                "estimate_vnd",
                "district",
                "planned_finish",
            ] {
                assert_eq!(
                    r.fields.get(field),
                    want.fields.get(field),
                    "{format:?} {code} {field}"
                );
            }
            for i in 0..4 {
                assert!(
                    (r.bbox[i] - want.bbox[i]).abs() < 2e-7,
                    "{format:?} {code}: {:?} vs {:?}",
                    r.bbox,
                    want.bbox
                );
            }
        }
    }
}

#[tokio::test]
async fn geojson_exports_are_rfc_7946_and_logged_with_their_hash() {
    let db = TestDb::with_demo(200, 52).await;
    let app = admin(&db).await;
    let (status, headers, body) =
        export(&app, Format::GeoJson, "profile=qk7&layer=search_zones,land").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/geo+json");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("kvpt-qk7-"));
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["type"], "FeatureCollection");
    assert!(doc.get("crs").is_none(), "no crs member");
    let features = doc["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for f in features {
        assert!(f.get("crs").is_none());
        let kind = SiteKind::from_code(f["properties"]["kind"].as_str().unwrap()).unwrap();
        assert!(matches!(kind.layer_group().code(), "search_zones" | "land"));
        // Longitude first: Tây Ninh and its Cambodian neighbours lie near 106° E, 11° N.
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        bbox_of(&f["geometry"]["coordinates"], &mut b);
        assert!(
            (104.0..108.5).contains(&b[0]) && (10.0..13.5).contains(&b[1]),
            "{b:?}"
        );
        // Right-hand rule: exterior rings counter-clockwise, holes clockwise.
        let polygons: Vec<&Value> = match f["geometry"]["type"].as_str().unwrap() {
            "Polygon" => vec![&f["geometry"]["coordinates"]],
            "MultiPolygon" => f["geometry"]["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .collect(),
            _ => vec![],
        };
        for polygon in polygons {
            for (i, ring) in polygon.as_array().unwrap().iter().enumerate() {
                let pts: Vec<(f64, f64)> = ring
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                    .collect();
                let area: f64 = pts
                    .windows(2)
                    .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                    .sum();
                assert!(
                    if i == 0 { area > 0.0 } else { area < 0.0 },
                    "ring {i} orientation"
                );
            }
        }
    }
    // The log holds who, which profile, the filter, the count and the file's SHA-256.
    let id: i64 = headers["x-kvpt-export-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, _, log) = request(&app, "/api/exports/log", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let log: Value = serde_json::from_str(&log).unwrap();
    crate::api_document::assert_documented_answer(&app, "get", "/api/exports/log", &log).await;
    let row = log
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .expect("logged");
    assert_eq!(row["outcome"], "done");
    assert_eq!(row["profile"], "qk7");
    assert_eq!(row["format"], "geojson");
    assert_eq!(row["via"], "web");
    assert_eq!(row["filter"]["layer"], "search_zones,land");
    assert_eq!(row["features"], features.len());
    assert_eq!(row["bytes"], body.len());
    let sha: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(row["sha256"], sha);
    // Compressed on the way when asked (the body is polled past its end there).
    let (status, headers, gz) = call_bytes(
        &app,
        "GET",
        "/exports/sites.geojson?profile=qk7&layer=search_zones,land",
        &[("accept-encoding", "gzip")],
        axum::body::Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    assert_eq!(read_geojson(&plain).len(), features.len());
    // The page shows it too.
    let (status, _, page) = request(&app, "/admin/exports?lang=en", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&sha[..12]));
}

#[tokio::test]
async fn exports_refuse_what_they_cannot_do_with_the_reason() {
    let db = TestDb::with_demo(50, 53).await;
    let (status, _, _) = request(&db.app(), "/exports/sites.geojson?profile=qk7", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous");
    let app = db.internal_app().await;
    for (uri, status, field) in [
        ("/exports/sites.geojson", StatusCode::BAD_REQUEST, "profile"),
        (
            "/exports/sites.geojson?profile=nobody",
            StatusCode::BAD_REQUEST,
            "profile",
        ),
        (
            "/exports/sites.geojson?profile=qk7&crs=EPSG:9209",
            StatusCode::BAD_REQUEST,
            "crs",
        ),
        (
            "/exports/sites.kml?profile=qk7&crs=EPSG:3857",
            StatusCode::BAD_REQUEST,
            "crs",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&crs=EPSG:32648",
            StatusCode::BAD_REQUEST,
            "crs",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&kind=tank",
            StatusCode::BAD_REQUEST,
            "kind",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&layer=air",
            StatusCode::BAD_REQUEST,
            "layer",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&as_of=2099-01-01",
            StatusCode::BAD_REQUEST,
            "as_of",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&bbox=1,2,3",
            StatusCode::BAD_REQUEST,
            "bbox",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&limit=5",
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            "/exports/sites.gpkg?profile=qk7&format=kml",
            StatusCode::BAD_REQUEST,
            "format",
        ),
        ("/exports/sites.dxf?profile=qk7", StatusCode::NOT_FOUND, ""),
    ] {
        let (got, _, body) = request(&app, uri, &[]).await;
        assert_eq!(got, status, "{uri}: {body}");
        if !field.is_empty() {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["field"], field, "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn a_callers_clearance_caps_the_profiles() {
    let db = TestDb::with_demo(300, 54).await;
    let client = db.client().await;
    let internal = crate::common::count(
        &client,
        "SELECT count(*) FROM site WHERE geom IS NOT NULL AND classification <= 'internal'",
    )
    .await;
    let all =
        crate::common::count(&client, "SELECT count(*) FROM site WHERE geom IS NOT NULL").await;
    assert!(all > internal, "the demo has works above internal");
    let app = db.internal_app().await;
    let (status, _, body) = export(&app, Format::GeoJson, "profile=qk7").await;
    assert_eq!(status, StatusCode::OK);
    let read = read_geojson(&body);
    assert_eq!(read.len() as i64, internal);
    assert!(read
        .iter()
        .all(|r| matches!(r.fields["classification"].as_str(), "public" | "internal")));
    let (_, _, counted) = request(&app, "/exports/count?profile=qk7", &[]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&counted).unwrap()["features"],
        internal
    );
}

/// A random profile: some kinds, a ceiling, some fields, maybe a coarsening.
fn random_profile(
    rng: &mut impl Rng,
    n: usize,
) -> (String, Vec<SiteKind>, Classification, Vec<&'static Field>) {
    let kinds: Vec<SiteKind> = SiteKind::ALL
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.4))
        .collect();
    let kinds = if kinds.is_empty() {
        vec![SiteKind::BorderMarker]
    } else {
        kinds
    };
    let ceiling = Classification::ALL[rng.random_range(0..4)];
    let fields: Vec<&'static Field> = FIELDS.iter().filter(|_| rng.random_bool(0.35)).collect();
    let fields = if fields.is_empty() {
        vec![&FIELDS[1]]
    } else {
        fields
    };
    (format!("p{n}"), kinds, ceiling, fields)
}

#[tokio::test]
async fn no_profile_lets_out_a_work_or_field_it_withholds_in_any_format() {
    let db = TestDb::with_demo(260, 55).await;
    let client = db.client().await;
    let app = admin(&db).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(55);
    for n in 0..8 {
        let (name, kinds, ceiling, fields) = random_profile(&mut rng, n);
        let kind_codes: Vec<String> = kinds.iter().map(|k| k.code().to_string()).collect();
        let field_names: Vec<String> = fields.iter().map(|f| f.name.to_string()).collect();
        client
            .execute(
                "INSERT INTO export_profile (name, title, kinds, ceiling, fields)
                 VALUES ($1, 'thử', $2, $3::text::classification, $4)",
                &[&name, &kind_codes, &ceiling.code(), &field_names],
            )
            .await
            .unwrap();
        let expected: i64 = client
            .query_one(
                "SELECT count(*) FROM site WHERE geom IS NOT NULL AND kind = ANY($1) AND classification <= $2::text::classification",
                &[&kind_codes, &ceiling.code()],
            )
            .await
            .unwrap()
            .get(0);
        let allowed: BTreeSet<&str> = fields.iter().map(|f| f.name).collect();
        for format in Format::ALL.iter().copied() {
            let (status, _, body) = export(&app, format, &format!("profile={name}")).await;
            assert_eq!(status, StatusCode::OK, "{name} {format:?}");
            let read = read_back(&body, format, &format!("{name}-{}", format.code()));
            assert_eq!(
                read.len() as i64,
                expected,
                "{name} {format:?}: works let out"
            );
            // What a format adds of its own: CSV's X/Y and WKT, KML's placemark elements.
            let extra: BTreeSet<&str> = [
                "x",
                "y",
                "WKT",
                "Name",
                "description",
                "timestamp",
                "begin",
                "end",
                "altitudeMode",
                "tessellate",
                "extrude",
                "visibility",
                "drawOrder",
                "icon",
                "snippet",
            ]
            .into();
            for r in &read {
                for key in r.fields.keys() {
                    assert!(
                        allowed.contains(key.as_str())
                            || (extra.contains(key.as_str())
                                && !FIELDS.iter().any(|f| f.name == key)),
                        "{name} {format:?}: field {key} is not allowed ({allowed:?})"
                    );
                }
                if let Some(kind) = r.fields.get("kind") {
                    assert!(kind_codes.contains(kind), "{name} {format:?}: kind {kind}");
                }
                if let Some(level) = r.fields.get("classification") {
                    assert!(
                        Classification::from_code(level).unwrap() <= ceiling,
                        "{name} {format:?}: {level} above {ceiling:?}"
                    );
                }
            }
            // Nothing withheld leaves in the raw bytes either (GeoJSON: the metadata names
            // the profile, not the works).
            if format == Format::GeoJson {
                let text = String::from_utf8_lossy(&body);
                let text = &text[text.find("\"features\":[").unwrap()..];
                for f in FIELDS.iter().filter(|f| !allowed.contains(f.name)) {
                    assert!(
                        !text.contains(&format!("\"{}\":", f.name)),
                        "{name}: {} leaked",
                        f.name
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn coarsened_positions_are_really_coarse() {
    let db = TestDb::with_demo(300, 56).await;
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO export_profile (name, title, kinds, ceiling, fields, coarse_kinds, coarsening, grid_m)
             VALUES ('luoi', 'lưới', '{militia_post_combat_work,strongpoint_cluster,border_marker}', 'secret',
                     '{code,kind,district_code}', '{militia_post_combat_work,strongpoint_cluster}', 'grid', 2000),
                    ('huyen', 'huyện', '{militia_post_combat_work,strongpoint_cluster}', 'secret',
                     '{code,kind,district_code}', '{strongpoint_cluster}', 'district', NULL)",
        )
        .await
        .unwrap();
    let app = admin(&db).await;
    for format in [Format::GeoJson, Format::GeoPackage, Format::Csv] {
        let (_, _, body) = export(&app, format, "profile=luoi").await;
        let read = read_back(&body, format, &format!("luoi-{}", format.code()));
        let mut coarse = 0;
        for r in &read {
            let kind = r.fields["kind"].as_str();
            if kind == "border_marker" {
                continue;
            }
            coarse += 1;
            let [(x, y)] = r.points_only[..] else {
                panic!("{kind} left as a point: {r:?}")
            };
            let row = client
                .query_one(
                    "SELECT ST_X(p), ST_Y(p), (SELECT ST_Distance(ST_Transform(geom, 32648), p) FROM site WHERE geom IS NOT NULL AND code = $3)
                       FROM ST_Transform(ST_SetSRID(ST_MakePoint($1, $2), 4326), 32648) p",
                    &[&x, &y, &r.fields["code"]],
                )
                .await
                .unwrap();
            let (e, n, away): (f64, f64, f64) = (row.get(0), row.get(1), row.get(2));
            for v in [e, n] {
                let off = (v / 2000.0 - (v / 2000.0).round()).abs() * 2000.0;
                assert!(off < 0.05, "{format:?} {kind}: {v} is not on the 2 km grid");
            }
            assert!(
                away <= 2000.0 * std::f64::consts::SQRT_2 / 2.0 + 0.1,
                "within half a cell: {away}"
            );
        }
        assert!(coarse > 10, "{format:?}: coarse works exported");
    }
    let (_, _, body) = export(&app, Format::GeoJson, "profile=huyen").await;
    let centres: BTreeMap<String, (f64, f64)> = client
        .query(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM admin_unit WHERE level = 'district'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let mut checked = 0;
    for r in read_geojson(&body) {
        if r.fields["kind"] != "strongpoint_cluster" {
            assert!(r.points_only.is_empty() || r.fields["kind"] == "militia_post_combat_work");
            continue;
        }
        if let Some((cx, cy)) = r.fields.get("district_code").and_then(|c| centres.get(c)) {
            let [(x, y)] = r.points_only[..] else {
                panic!("a point")
            };
            assert!(
                (x - cx).abs() < 1e-6 && (y - cy).abs() < 1e-6,
                "district centre"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 3,
        "strongpoints placed at their district's centre: {checked}"
    );
}

/// Reference: the worked example of `geodata/VN2000.md` §3 (PROJ 9.1.1, EPSG dataset
/// v10.076: EPSG:9209 through EPSG:6960, whose parameters are those of Decision
/// 05/2007/QĐ-BTNMT): WGS 84 11.3100° N 106.1000° E is E 565 301.868 m, N 1 250 810.922 m
/// in VN-2000 / TM-3 105°30′.
#[tokio::test]
async fn vn2000_known_point_both_ways_and_in_exports() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT ST_X(p), ST_Y(p), ST_X(b), ST_Y(b)
               FROM to_vn2000_tm3(ST_SetSRID(ST_MakePoint(106.1, 11.31), 4326)) p,
                    from_vn2000_tm3(ST_SetSRID(ST_MakePoint(565301.868, 1250810.922), 9209)) b",
            &[],
        )
        .await
        .unwrap();
    let (e, n, lon, lat): (f64, f64, f64, f64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert!(
        (e - 565_301.868).abs() < 0.1 && (n - 1_250_810.922).abs() < 0.1,
        "{e} {n}"
    );
    // 0.1 m is about 1e-6 degrees here.
    assert!(
        (lon - 106.1).abs() < 1e-6 && (lat - 11.31).abs() < 1e-6,
        "{lon} {lat}"
    );
    // In the south of the province PROJ, left to choose, takes EPSG:5194 (Mekong delta
    // blocks) and lands 0.8 m off; the pinned function keeps EPSG:6960. Reference: `cs2cs`
    // (PROJ 9.1.1) with the explicit +towgs84 of Decision 05/2007: 10.98° N 106.18° E is
    // E 574 118.983 m, N 1 214 328.155 m (EPSG:5194 would give E 574 118.186).
    let row = client
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM to_vn2000_tm3(ST_SetSRID(ST_MakePoint(106.18, 10.98), 4326)) p",
            &[],
        )
        .await
        .unwrap();
    let (e, n): (f64, f64) = (row.get(0), row.get(1));
    assert!(
        (e - 574_118.983).abs() < 0.1 && (n - 1_214_328.155).abs() < 0.1,
        "{e} {n}"
    );
    // A work at that point leaves a GeoPackage in EPSG:9209 at those coordinates.
    client
        .batch_execute(
            "INSERT INTO site (code, name, kind, geom, programme, classification)
             VALUES ('MOC-TEST-0001', 'Mốc thử', 'border_marker',
                     ST_SetSRID(ST_MakePoint(106.1, 11.31), 4326), 'kvpt_2021_2025', 'public');
             INSERT INTO export_profile (name, title, kinds, ceiling, fields)
             VALUES ('moc', 'mốc', '{border_marker}', 'public', '{code}');",
        )
        .await
        .unwrap();
    let app = admin(&db).await;
    let (status, headers, body) =
        export(&app, Format::GeoPackage, "profile=moc&crs=EPSG:9209").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers["content-crs"],
        "<http://www.opengis.net/def/crs/EPSG/0/9209>"
    );
    let path = scratch("vn2000.gpkg");
    std::fs::write(&path, &body).unwrap();
    let read = read_gis(path.to_str().unwrap());
    let [(x, y)] = read[0].points_only[..] else {
        panic!("a point")
    };
    assert!(
        (x - 565_301.868).abs() < 0.1 && (y - 1_250_810.922).abs() < 0.1,
        "{x} {y}"
    );
    let dataset = gdal::Dataset::open(&path).unwrap();
    let srs = dataset.layer(0).unwrap().spatial_ref().expect("an SRS");
    assert_eq!(srs.auth_code().unwrap(), 9209);
    let info = std::process::Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(&path)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("EPSG:6960"),
        "the transformation is named in the metadata:\n{info}"
    );
}

#[tokio::test]
async fn administrators_define_profiles_and_others_cannot() {
    let db = TestDb::with_demo(20, 57).await;
    let viewer = db.internal_app().await;
    let (status, _, _) = request(&viewer, "/admin/profiles", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = admin(&db).await;
    let (status, _, page) = request(&admin, "/admin/profiles", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Bộ Chỉ huy Bộ đội Biên phòng tỉnh"),
        "demo profiles listed"
    );
    let csrf = crate::common::csrf_of(&admin).await;
    let post = |body: String| {
        let admin = admin.clone();
        async move {
            call(
                &admin,
                "POST",
                "/admin/profiles",
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let form = |version: i32, grid: &str| {
        format!(
            "csrf={csrf}&version={version}&name=so-xay-dung&title=S%E1%BB%9F+X%C3%A2y+d%E1%BB%B1ng&ceiling=public\
             &kinds=mobility_road&kinds=barracks&fields=code&fields=name&fields=percent\
             &coarsening=grid&grid_m={grid}&coarse_kinds=barracks"
        )
    };
    let (status, _, page) = post(form(0, "5")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("grid_m"), "the refused field is named");
    let (status, _, page) = post(form(0, "500")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Sở Xây dựng"));
    let (status, _, _) = post(form(0, "500")).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a second profile of the same name"
    );
    let (status, _, _) = post(form(1, "800")).await;
    assert_eq!(status, StatusCode::OK, "edit at the current version");
    let (status, _, _) = post(form(1, "900")).await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version");
    let (status, _, _) = post(form(2, "900").replace(&csrf, "forged")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "CSRF");
    let client = db.client().await;
    let audits = crate::common::count(
        &client,
        "SELECT count(*) FROM audit_log WHERE entity = 'export_profile' AND entity_key = 'so-xay-dung'",
    )
    .await;
    assert_eq!(audits, 2);
    let grid: i32 = client
        .query_one(
            "SELECT grid_m FROM export_profile WHERE name = 'so-xay-dung'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(grid, 800);
}

#[tokio::test]
async fn as_of_exports_rebuild_past_states() {
    let db = TestDb::with_demo(200, 58).await;
    let client = db.client().await;
    let app = admin(&db).await;
    // A work that stood then and was deleted since: in the past, not now.
    let gone: String = client
        .query_one(
            "UPDATE site SET deleted_at = '2024-06-01' WHERE id = (
                 SELECT min(id) FROM site WHERE geom IS NOT NULL AND created_at < '2023-12-01') RETURNING code",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let day = "2023-12-31";
    let (status, _, body) =
        export(&app, Format::GeoJson, &format!("profile=qk7&as_of={day}")).await;
    assert_eq!(status, StatusCode::OK);
    let read = read_geojson(&body);
    let cutoff = "TIMESTAMPTZ '2024-01-01 00:00+07'";
    let existing = crate::common::count(
        &client,
        &format!("SELECT count(*) FROM site_all WHERE geom IS NOT NULL AND created_at < {cutoff} AND (deleted_at IS NULL OR deleted_at >= {cutoff})"),
    )
    .await;
    assert_eq!(read.len() as i64, existing);
    let then: BTreeMap<String, (String, String)> = client
        .query(
            &format!(
                "SELECT s.code, coalesce(h.new_status::text, 'planned'), coalesce(h.new_pct, 0)::text
                   FROM site_all s LEFT JOIN LATERAL (
                        SELECT * FROM progress_history ph WHERE ph.site_id = s.id AND ph.recorded_at < {cutoff}
                         ORDER BY recorded_at DESC, id DESC LIMIT 1) h ON true
                  WHERE s.geom IS NOT NULL AND s.created_at < {cutoff} AND (s.deleted_at IS NULL OR s.deleted_at >= {cutoff})"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let mut differs = 0;
    let now = read_geojson(&export(&app, Format::GeoJson, "profile=qk7").await.2);
    let now: BTreeMap<&str, &Read> = now.iter().map(|r| (r.fields["code"].as_str(), r)).collect();
    assert!(
        read.iter().any(|r| r.fields["code"] == gone),
        "{gone} stood then"
    );
    assert!(!now.contains_key(gone.as_str()), "{gone} is deleted now");
    for r in read.iter().filter(|r| r.fields["code"] != gone) {
        let code = &r.fields["code"];
        assert_eq!(
            (&r.fields["status"], &r.fields["percent"]),
            (&then[code].0, &then[code].1),
            "{code}"
        );
        if now[code.as_str()].fields["percent"] != r.fields["percent"] {
            differs += 1;
        }
    }
    assert!(differs > 0, "the past differs from now for some works");
}

#[test]
fn the_command_line_exports_through_the_same_checks() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::with_demo(60, 59));
    let out_path = scratch("cli.gpkg");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&[
        "export",
        "--profile",
        "bien-phong",
        "-o",
        out_path.to_str().unwrap(),
        "--crs",
        "EPSG:9209",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("features") && stderr.contains("sha256"),
        "{stderr}"
    );
    let expected = runtime.block_on(async {
        crate::common::count(
            &db.client().await,
            "SELECT count(*) FROM site WHERE geom IS NOT NULL AND kind IN ('border_marker','militia_post_combat_work','militia_residential_point','border_guard_combat_work','mobility_road') AND classification <= 'confidential'",
        )
        .await
    });
    assert_eq!(ogrinfo_count(out_path.to_str().unwrap()) as i64, expected);
    let log = runtime.block_on(async {
        db.client()
            .await
            .query_one(
                "SELECT via, outcome, crs FROM export_log ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .unwrap()
    });
    assert_eq!(log.get::<_, &str>(0), "cli");
    assert_eq!(log.get::<_, &str>(1), "done");
    assert!(log.get::<_, &str>(2).ends_with("9209"));
    // Narrowed by programme as the web route is (issue 24 §3).
    let scheme_path = scratch("cli-2021-2025.geojson");
    let out = run(&[
        "export",
        "--profile",
        "bien-phong",
        "-o",
        scheme_path.to_str().unwrap(),
        "--programme",
        "kvpt_2021_2025",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = runtime.block_on(async {
        crate::common::count(
            &db.client().await,
            "SELECT count(*) FROM site WHERE geom IS NOT NULL AND kind IN ('border_marker','militia_post_combat_work','militia_residential_point','border_guard_combat_work','mobility_road') AND classification <= 'confidential' AND programme = 'kvpt_2021_2025'",
        )
        .await
    });
    assert!(
        expected > 0,
        "the demo has border works of the 2021–2025 scheme"
    );
    assert_eq!(
        ogrinfo_count(scheme_path.to_str().unwrap()) as i64,
        expected
    );
    let out = run(&[
        "export",
        "--profile",
        "bien-phong",
        "-o",
        "/tmp/never.geojson",
        "--programme",
        "kvpt_2030",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kvpt_2030"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["export", "--profile", "nobody", "-o", "/tmp/never.geojson"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no profile 'nobody'"));
    assert!(!Path::new("/tmp/never.geojson").exists());
}
