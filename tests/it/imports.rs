//! Imports: every export format comes back as the same works (into an empty database and
//! as "unchanged" into its own), legacy DBF encodings are detected, VN-2000 .prj variants
//! and DXF drawings are read, every rule refuses its row with a reason, bad files are
//! reported and write nothing, and the CLI and the upload page run the same importer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;
use gdal::vector::LayerAccess;
use kvpt::domain::{Classification, UserRole};
use kvpt::exchange::import::{self, encoding::TextEncoding, Importer, Options, Progress, Report};
use kvpt::params::format::Format;

use crate::common::{call, call_bytes, csrf_of, multipart, request, with_cookie, TestDb};

pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-it-imports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn operator() -> Importer {
    Importer {
        user_id: None,
        name: "test".into(),
        via: "cli",
        clearance: Classification::Secret,
        declassify: true,
        districts: None,
    }
}

async fn run(db: &TestDb, path: &Path, options: Options) -> Report {
    import::run(
        &db.pool(),
        path,
        &path.file_name().unwrap().to_string_lossy(),
        &options,
        &operator(),
        Arc::new(Progress::default()),
        None,
    )
    .await
    .expect("import runs")
}

pub(crate) fn dry() -> Options {
    Options {
        dry_run: true,
        ..Options::default()
    }
}

/// Every work's attributes as text and its geometry as WKT rounded to ~1 cm, by code.
async fn works(db: &TestDb) -> BTreeMap<String, (String, String)> {
    db.client()
        .await
        .query(
            "SELECT s.code, concat_ws('|', s.name, s.name_en, s.kind, s.status, s.progress_pct, s.phase,
                    s.programme, s.responsible_unit, s.classification, s.planned_start, s.planned_finish,
                    s.actual_start, s.actual_finish, s.district_id, z.remains_expected, z.remains_found,
                    z.area_concluded_ha, z.map_drawn, z.map_drawn_on, z.concluded_on, z.unit_in_charge),
                    ST_AsText(ST_Normalize(ST_SnapToGrid(s.geom, 1e-7)))
               FROM site s LEFT JOIN search_zone z ON z.site_id = s.id WHERE s.geom IS NOT NULL ORDER BY s.code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    crate::common::count(&db.client().await, sql).await
}

/// A demo database with a profile that lets every work and field out.
async fn source_db() -> TestDb {
    let db = TestDb::with_demo(80, 17).await;
    let fields: Vec<&str> = kvpt::exchange::fields::FIELDS
        .iter()
        .map(|f| f.name)
        .collect();
    let kinds: Vec<&str> = kvpt::domain::SiteKind::ALL
        .iter()
        .map(|k| k.code())
        .collect();
    db.client()
        .await
        .execute(
            "INSERT INTO export_profile (name, title, kinds, ceiling, fields)
             VALUES ('all', 'Everything', $1, 'secret', $2)",
            &[&kinds, &fields],
        )
        .await
        .unwrap();
    db
}

async fn export_to(db: &TestDb, format: Format, crs: &str, name: &str) -> PathBuf {
    let app = db.app_as(UserRole::Admin, Classification::Secret).await;
    let (status, _, body) = call_bytes(
        &app,
        "GET",
        &format!("/exports/sites.{}?profile=all{crs}", format.extension()),
        &[],
        axum::body::Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let path = scratch(name);
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test]
async fn every_export_format_comes_back_as_the_same_works() {
    let source = source_db().await;
    let expected = works(&source).await;
    assert_eq!(
        expected.len(),
        78,
        "80 items, two of them investments without a place"
    );
    let cases: &[(Format, &str, Option<&str>)] = &[
        (Format::GeoJson, "", None),
        (Format::GeoPackage, "", None),
        (Format::GeoPackage, "&crs=EPSG:9209", None),
        (Format::Shapefile, "", None),
        (Format::Shapefile, "&crs=EPSG:9209", None),
        (Format::Kml, "", None),
        // CSV carries no coordinate system: it is chosen.
        (Format::Csv, "", Some("EPSG:4326")),
        (Format::Csv, "&crs=EPSG:9209", Some("EPSG:9209")),
        (Format::FlatGeobuf, "", None),
        (Format::FlatGeobuf, "&crs=EPSG:9209", None),
    ];
    for (i, (format, crs, srs)) in cases.iter().enumerate() {
        let name = format!("round-{i}.{}", format.extension());
        let path = export_to(&source, *format, crs, &name).await;
        let srs = srs.map(|s| import::srs::from_option(s).unwrap());
        // Into its own database: every work is there already, unchanged.
        let again = run(
            &source,
            &path,
            Options {
                srs: srs.clone(),
                ..dry()
            },
        )
        .await;
        assert_eq!(
            again.outcome,
            "checked",
            "{name}: {:#?}",
            again.rows.first()
        );
        assert_eq!(
            again.counts.unchanged,
            78,
            "{name}: {:?}",
            again.rows.first()
        );
        // Into an empty one: the same works, attributes and geometry.
        let empty = TestDb::new().await;
        let report = run(
            &empty,
            &path,
            Options {
                srs,
                ..Options::default()
            },
        )
        .await;
        assert_eq!(
            report.outcome,
            "committed",
            "{name}: {:#?} {:#?}",
            report.file_errors,
            report.rows.first()
        );
        assert_eq!(report.counts.insert, 78, "{name}");
        let got = works(&empty).await;
        assert_eq!(got.len(), expected.len(), "{name}");
        for (code, (attrs, wkt)) in &expected {
            let (got_attrs, got_wkt) = &got[code];
            assert_eq!(got_attrs, attrs, "{name} {code}");
            if wkt != got_wkt {
                // Within the format's precision: a centimetre.
                let d: f64 = empty
                    .client()
                    .await
                    .query_one(
                        "SELECT ST_HausdorffDistance(ST_GeomFromText($1), ST_GeomFromText($2))",
                        &[wkt, got_wkt],
                    )
                    .await
                    .unwrap()
                    .get(0);
                assert!(d < 2e-7, "{name} {code}: {d}");
            }
        }
        assert_eq!(
            count(&empty, "SELECT count(*) FROM progress_history").await,
            78,
            "{name}"
        );
        assert_eq!(
            count(
                &empty,
                "SELECT count(*) FROM audit_log WHERE action = 'site.import'"
            )
            .await,
            78,
            "{name}"
        );
    }
}

/// A Shapefile whose DBF text is in `bytes_of(name)`, without a .cpg.
fn legacy_shapefile(dir: &Path, names: &[&str], bytes_of: impl Fn(&str) -> Vec<u8>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("works.shp");
    let driver = gdal::DriverManager::get_driver_by_name("ESRI Shapefile").unwrap();
    let mut ds = driver.create_vector_only(&path).unwrap();
    let srs = gdal::spatial_ref::SpatialRef::from_epsg(4326).unwrap();
    let layer = ds
        .create_layer(gdal::vector::LayerOptions {
            name: "works",
            srs: Some(&srs),
            ty: gdal_sys::OGRwkbGeometryType::wkbPoint,
            options: Some(&["ENCODING=ISO-8859-1"]),
        })
        .unwrap();
    for (field, ty) in [
        ("code", gdal_sys::OGRFieldType::OFTString),
        ("name", gdal_sys::OGRFieldType::OFTString),
        ("kind", gdal_sys::OGRFieldType::OFTString),
    ] {
        let defn = gdal::vector::FieldDefn::new(field, ty).unwrap();
        defn.set_width(120);
        defn.add_to_layer(&layer).unwrap();
    }
    for (i, name) in names.iter().enumerate() {
        let mut feature = gdal::vector::Feature::new(layer.defn()).unwrap();
        feature
            .set_field_string(0, &format!("KHO-TBI-{:04}", 8000 + i))
            .unwrap();
        // Written as Latin-1, each character one byte: the legacy bytes land as they are.
        let latin1: String = bytes_of(name).iter().map(|&b| b as char).collect();
        feature.set_field_string(1, &latin1).unwrap();
        feature.set_field_string(2, "warehouse").unwrap();
        let mut point =
            gdal::vector::Geometry::empty(gdal_sys::OGRwkbGeometryType::wkbPoint).unwrap();
        point.add_point_2d((106.05 + i as f64 * 0.01, 11.40));
        feature.set_geometry(point).unwrap();
        feature.create(&layer).unwrap();
    }
    drop(ds);
    let _ = std::fs::remove_file(dir.join("works.cpg"));
    path
}

#[tokio::test]
async fn legacy_dbf_encodings_are_detected_with_a_preview_and_can_be_chosen() {
    let names = [
        "Kho vũ khí đạn dược Tân Biên",
        "Kho hậu cần xã Hòa Hiệp",
        "Kho xăng dầu Phước Vinh",
    ];
    let tcvn3 = |text: &str| -> Vec<u8> {
        // Reversed from the decoder: every byte's decoding is known.
        text.chars()
            .map(|c| {
                if c.is_ascii() {
                    c as u8
                } else {
                    (0x80u8..=0xFF)
                        .find(|&b| TextEncoding::Tcvn3.decode(&[b]) == c.to_string())
                        .expect("in TCVN3")
                }
            })
            .collect()
    };
    let cp1258 = |text: &str| kvpt::exchange::import::encoding::encode_cp1258(text);
    let vni = |text: &str| -> Vec<u8> {
        // VNI spelt by hand for these names.
        let spelt = match text {
            "Kho vũ khí đạn dược Tân Biên" => "Kho vuõ khí ñaïn döôïc Taân Bieân",
            "Kho hậu cần xã Hòa Hiệp" => "Kho haäu caàn xaõ Hoøa Hieäp",
            _ => "Kho xaêng daàu Phöôùc Vinh",
        };
        spelt.chars().map(|c| c as u32 as u8).collect()
    };
    type Encoder<'a> = &'a dyn Fn(&str) -> Vec<u8>;
    let encoders: [(&str, TextEncoding, Encoder); 3] = [
        ("tcvn3", TextEncoding::Tcvn3, &tcvn3),
        ("cp1258", TextEncoding::Cp1258, &cp1258),
        ("vni", TextEncoding::Vni, &vni),
    ];
    for (label, encoding, encode) in encoders {
        let dir = scratch(&format!("legacy-{label}"));
        let path = legacy_shapefile(&dir, &names, encode);
        let db = TestDb::new().await;
        let report = run(&db, &path, dry()).await;
        let detected = report.encoding.as_ref().expect("an encoding report");
        assert_eq!(detected.chosen, encoding.code(), "{label}: {detected:#?}");
        assert_eq!(detected.how, "detected");
        let chosen = detected
            .candidates
            .iter()
            .find(|c| c.encoding == encoding.code())
            .unwrap();
        assert!(
            chosen.preview.iter().any(|p| p == names[0]),
            "{label}: {chosen:?}"
        );
        // Written, the names are Vietnamese again.
        let written = run(&db, &dir, Options::default()).await;
        assert_eq!(
            written.outcome,
            "committed",
            "{label}: {:#?}",
            written.rows.first()
        );
        let stored: Vec<String> = db
            .client()
            .await
            .query(
                "SELECT name FROM site WHERE geom IS NOT NULL ORDER BY code",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(stored, names, "{label}");
    }
    // Chosen over detection: the wrong choice shows in the preview and breaks the rows.
    let dir = scratch("legacy-choice");
    let path = legacy_shapefile(&dir, &names, tcvn3);
    let db = TestDb::new().await;
    let report = run(
        &db,
        &path,
        Options {
            encoding: Some(TextEncoding::Utf8),
            ..dry()
        },
    )
    .await;
    let enc = report.encoding.unwrap();
    assert_eq!((enc.chosen.as_str(), enc.how.as_str()), ("utf-8", "chosen"));
    assert_eq!(report.outcome, "refused");
    assert!(report.rows[0]
        .errors
        .iter()
        .any(|e| e.en.contains("do not decode as UTF-8")));
}

pub(crate) fn geojson(features: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"type": "FeatureCollection", "features": features}))
        .unwrap()
}

pub(crate) fn feature(props: serde_json::Value, geometry: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"type": "Feature", "properties": props, "geometry": geometry})
}

pub(crate) fn point(lon: f64, lat: f64) -> serde_json::Value {
    serde_json::json!({"type": "Point", "coordinates": [lon, lat]})
}

/// The errors of row `n` as "field: message".
fn errors_of(report: &Report, n: usize) -> Vec<String> {
    report
        .rows
        .iter()
        .find(|r| r.row == n)
        .map(|r| {
            r.errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.en))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn each_rule_refuses_its_row_and_a_clean_file_is_written_with_history() {
    let db = TestDb::with_demo(40, 3).await;
    let client = db.client().await;
    let existing = client
        .query_one(
            "SELECT code, version, progress_pct FROM site WHERE geom IS NOT NULL AND kind = 'warehouse' AND progress_pct BETWEEN 10 AND 90
              ORDER BY code LIMIT 1",
            &[],
        )
        .await
        .expect("a warehouse under way");
    let (code, version, pct): (String, i32, i16) =
        (existing.get(0), existing.get(1), existing.get(2));
    let road = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND kind = 'mobility_road' LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    let bowtie = serde_json::json!({"type": "Polygon", "coordinates": [[[106.0, 11.4], [106.01, 11.41], [106.01, 11.4], [106.0, 11.41], [106.0, 11.4]]]});
    let square = |lon: f64, lat: f64| serde_json::json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.004, lat], [lon + 0.004, lat + 0.004], [lon, lat + 0.004], [lon, lat]]]});
    let rows = vec![
        /* 1 */
        feature(
            serde_json::json!({"code": "DQP-TBI-9001", "name": "Đất", "kind": "defence_land"}),
            bowtie,
        ),
        /* 2 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9002", "name": "Kho xa", "kind": "warehouse"}),
            point(107.6, 11.4),
        ),
        /* 3 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9003", "name": "Kho", "kind": "warehouse"}),
            serde_json::json!({"type": "LineString", "coordinates": [[106.05, 11.4], [106.06, 11.41]]}),
        ),
        /* 4 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9004", "name": "Kho", "kind": "bunker"}),
            point(106.05, 11.4),
        ),
        /* 5 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9005", "name": "Kho", "kind": "warehouse", "status": "finished"}),
            point(106.05, 11.4),
        ),
        /* 6 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9006", "name": "Kho", "kind": "warehouse"}),
            point(106.05, 11.4),
        ),
        /* 7 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9006", "name": "Kho 2", "kind": "warehouse"}),
            point(106.06, 11.4),
        ),
        /* 8 */
        feature(
            serde_json::json!({"code": road, "kind": "warehouse"}),
            serde_json::Value::Null,
        ),
        /* 9 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9009", "name": "Kho", "kind": "warehouse", "percent": 140, "phase": 12}),
            point(106.05, 11.4),
        ),
        /* 10 */
        feature(
            serde_json::json!({"code": code, "percent": pct - 5, "version": version}),
            serde_json::Value::Null,
        ),
        /* 11 */
        feature(
            serde_json::json!({"code": code.clone(), "percent": pct + 5, "version": version - 1}),
            serde_json::Value::Null,
        ),
        /* 12 */
        feature(
            serde_json::json!({"code": "CHOT-TBI-9012", "name": "Kho", "kind": "warehouse"}),
            point(106.05, 11.4),
        ),
        /* 13 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9013", "name": "Kho", "kind": "warehouse", "remains_found": 3}),
            point(106.05, 11.4),
        ),
        /* 14 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9014", "kind": "warehouse"}),
            point(106.05, 11.4),
        ),
        /* 15 */
        feature(
            serde_json::json!({"code": "KHO-TBI-9015", "name": "Kho", "kind": "warehouse", "actual_start": "2099-01-01", "status": "under_construction", "percent": 5}),
            point(106.05, 11.4),
        ),
    ];
    let path = scratch("rules.geojson");
    std::fs::write(&path, geojson(&rows)).unwrap();
    let sites_before = count(&db, "SELECT count(*) FROM site WHERE geom IS NOT NULL").await;
    let history_before = count(&db, "SELECT count(*) FROM progress_history").await;
    let report = run(&db, &path, Options::default()).await;
    assert_eq!(report.outcome, "refused");
    assert_eq!(report.counts.refused, 15, "{:#?}", report.rows);
    let has = |n: usize, needle: &str| {
        let e = errors_of(&report, n);
        assert!(
            e.iter().any(|m| m.contains(needle)),
            "row {n}: wanted '{needle}' in {e:?}"
        );
    };
    has(1, "invalid geometry: Self-intersection");
    has(1, "≈ 11.405000°N 106.005000°E");
    has(2, "outside Tây Ninh province");
    has(3, "needs a point or polygon geometry, the file has line");
    has(
        4,
        "kind: column 'kind': 'bunker' is not a kvpt kind of work",
    );
    has(5, "status: column 'status': 'finished' is not a status");
    has(6, "appears again in rows 7");
    has(7, "appears again in rows 6");
    has(8, "an import does not change a work's kind");
    has(9, "percent must be between 0 and 100");
    has(9, "phase must be 1–9");
    has(10, "correction_reason");
    has(11, "the work changed after this file was made");
    has(12, "starting 'KHO-'");
    has(13, "belong to search zones only");
    has(14, "a new work needs a name");
    has(15, "actual_start");
    assert_eq!(
        count(&db, "SELECT count(*) FROM site WHERE geom IS NOT NULL").await,
        sites_before
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM progress_history").await,
        history_before
    );
    // A search zone may lie in Cambodia; a clean file is written in one go.
    let inside_cambodia = client
        .query_one(
            "SELECT ST_X(p), ST_Y(p) FROM (
                 SELECT ST_PointOnSurface(ST_Difference(k.geom,
                            ST_Buffer((SELECT ST_Union(geom) FROM admin_unit WHERE level = 'province')::geography, 8000)::geometry)) AS p
                   FROM adjacent_area k WHERE country = 'KH' ORDER BY id LIMIT 1) x",
            &[],
        )
        .await
        .unwrap();
    let (zone_lon, zone_lat): (f64, f64) = (inside_cambodia.get(0), inside_cambodia.get(1));
    let clean = vec![
        feature(
            serde_json::json!({"code": "TKQT-TBI-9101", "name": "Khu tìm kiếm bên kia biên giới", "kind": "remains_search_zone",
                                   "remains_expected": 12, "remains_found": 2, "area_concluded_ha": 4.5}),
            square(zone_lon - 0.002, zone_lat - 0.002),
        ),
        feature(
            serde_json::json!({"code": "KHO-TBI-9102", "name": "Kho mới", "kind": "warehouse", "status": "design", "percent": 10}),
            point(106.05, 11.4),
        ),
        feature(
            serde_json::json!({"code": code.clone(), "percent": pct + 5, "version": version, "note": "Theo biên bản nghiệm thu"}),
            serde_json::Value::Null,
        ),
    ];
    std::fs::write(&path, geojson(&clean)).unwrap();
    let checked = run(&db, &path, dry()).await;
    assert_eq!(checked.outcome, "checked", "{:#?}", checked.rows);
    assert_eq!(
        count(&db, "SELECT count(*) FROM site WHERE geom IS NOT NULL").await,
        sites_before,
        "a dry run writes nothing"
    );
    let written = run(&db, &path, Options::default()).await;
    assert_eq!(written.outcome, "committed", "{:#?}", written.rows);
    assert_eq!((written.counts.insert, written.counts.update), (2, 1));
    let abroad: Option<i32> = client
        .query_one(
            "SELECT foreign_area_id FROM site WHERE geom IS NOT NULL AND code = 'TKQT-TBI-9101'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(abroad.is_some(), "the zone lies in Cambodia");
    let updated = client
        .query_one(
            "SELECT s.progress_pct, s.version, h.old_pct, h.new_pct, h.note, h.site_version
               FROM site s JOIN progress_history h ON h.site_id = s.id
              WHERE s.code = $1 ORDER BY h.id DESC LIMIT 1",
            &[&code],
        )
        .await
        .unwrap();
    assert_eq!(updated.get::<_, i16>(0), pct + 5);
    assert_eq!(updated.get::<_, i32>(1), version + 1);
    assert_eq!(updated.get::<_, Option<i16>>(2), Some(pct));
    assert_eq!(
        updated.get::<_, Option<String>>(4).as_deref(),
        Some("Theo biên bản nghiệm thu")
    );
    assert_eq!(updated.get::<_, Option<i32>>(5), Some(version + 1));
    let audit = count(
        &db,
        "SELECT count(*) FROM audit_log WHERE action = 'site.import'",
    )
    .await;
    assert_eq!(audit, 3);
    let before: serde_json::Value = client
        .query_one(
            "SELECT before FROM audit_log WHERE action = 'site.import' AND entity_key = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(before["progress_pct"], serde_json::json!(pct));
    let zone: (i32, i32) = {
        let r = client
            .query_one(
                "SELECT remains_expected, remains_found FROM search_zone z JOIN site s ON s.id = z.site_id
                  WHERE s.code = 'TKQT-TBI-9101'",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(zone, (12, 2));
    let log = client
        .query_one(
            "SELECT outcome, inserted, updated FROM import_log ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            log.get::<_, String>(0),
            log.get::<_, Option<i32>>(1),
            log.get::<_, Option<i32>>(2)
        ),
        ("committed".to_string(), Some(2), Some(1))
    );
}

/// One VN-2000 TM-3 point of the province, as (x, y).
const TM3: (f64, f64) = (565301.868, 1250810.922);

#[tokio::test]
async fn bad_files_get_a_clear_report_and_write_nothing() {
    let db = TestDb::with_demo(20, 5).await;
    let before = works(&db).await;
    let history = count(&db, "SELECT count(*) FROM progress_history").await;
    let expect_refused = |report: &Report, needle: &str| {
        assert_eq!(report.outcome, "refused", "{needle}");
        let all: Vec<String> = report
            .file_errors
            .iter()
            .map(|e| e.en.clone())
            .chain(
                report
                    .rows
                    .iter()
                    .flat_map(|r| r.errors.iter().map(|e| e.en.clone())),
            )
            .collect();
        assert!(
            all.iter().any(|m| m.contains(needle)),
            "wanted '{needle}' in {all:?}"
        );
    };
    // Two X columns (GDAL would fail badly; found by fuzzing).
    let twice = scratch("twice.csv");
    std::fs::write(&twice, "code,x,lon,y\nKHO-TBI-0001,106.05,106.06,11.4\n").unwrap();
    expect_refused(
        &run(&db, &twice, Options::default()).await,
        "more than one X coordinate column (x, lon)",
    );
    // 0 bytes.
    let empty = scratch("empty.geojson");
    std::fs::write(&empty, b"").unwrap();
    expect_refused(
        &run(&db, &empty, Options::default()).await,
        "the file is empty",
    );
    // A truncated zip.
    let good = export_zip(&db).await;
    let bytes = std::fs::read(&good).unwrap();
    let truncated = scratch("truncated.zip");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect_refused(
        &run(&db, &truncated, Options::default()).await,
        "damaged or incomplete",
    );
    // A zip with a path that climbs out.
    let evil = scratch("evil.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&evil).unwrap());
        zip.start_file(
            "../../escaped.geojson",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut zip, &geojson(&[])).unwrap();
        zip.finish().unwrap();
    }
    expect_refused(
        &run(&db, &evil, Options::default()).await,
        "unsafe path '../../escaped.geojson'",
    );
    assert!(!scratch("../../escaped.geojson").exists());
    // A .prj that says degrees for coordinates in metres.
    let wrong_prj = scratch("wrong-prj");
    write_shapefile(&wrong_prj, 4326, &[(TM3.0, TM3.1)]);
    expect_refused(
        &run(&db, &wrong_prj, Options::default()).await,
        "are not degrees",
    );
    // ... and one that names the wrong projection: nothing lands in the province.
    let wrong_zone = scratch("wrong-zone");
    write_shapefile(&wrong_zone, 3405, &[(TM3.0 - 150_000.0, TM3.1)]);
    expect_refused(
        &run(&db, &wrong_zone, Options::default()).await,
        "coordinate system is probably wrong",
    );
    // Mixed geometry types for one kind.
    let mixed = scratch("mixed.geojson");
    std::fs::write(
        &mixed,
        geojson(&[
            feature(serde_json::json!({"code": "KHO-TBI-7001", "name": "a", "kind": "warehouse"}), point(106.05, 11.4)),
            feature(
                serde_json::json!({"code": "KHO-TBI-7002", "name": "b", "kind": "warehouse"}),
                serde_json::json!({"type": "LineString", "coordinates": [[106.05, 11.4], [106.06, 11.41]]}),
            ),
            feature(
                serde_json::json!({"code": "KHO-TBI-7003", "name": "c", "kind": "warehouse"}),
                serde_json::json!({"type": "GeometryCollection", "geometries": [point(106.05, 11.4)]}),
            ),
        ]),
    )
    .unwrap();
    let report = run(&db, &mixed, Options::default()).await;
    expect_refused(&report, "the file has line");
    expect_refused(&report, "the file has geometrycollection");
    // Text that is not UTF-8 where UTF-8 is the rule.
    let broken = scratch("broken.csv");
    let mut csv =
        b"code,name,kind,x,y\nKHO-TBI-7004,Kho \xff\xfe h\xe1ng,warehouse,106.05,11.4\n".to_vec();
    csv.extend_from_slice(b"KHO-TBI-7005,Kho,warehouse,106.06,11.4\n");
    std::fs::write(&broken, csv).unwrap();
    expect_refused(
        &run(
            &db,
            &broken,
            Options {
                srs: Some(import::srs::SourceCrs::wgs84()),
                ..Options::default()
            },
        )
        .await,
        "do not decode as UTF-8",
    );
    // A CSV without a coordinate system.
    let no_crs = scratch("no-crs.csv");
    std::fs::write(
        &no_crs,
        "code,name,kind,x,y\nKHO-TBI-7006,Kho,warehouse,106.05,11.4\n",
    )
    .unwrap();
    expect_refused(
        &run(&db, &no_crs, Options::default()).await,
        "does not say its coordinate system",
    );
    // Not GIS data at all.
    let junk = scratch("junk.gpkg");
    std::fs::write(&junk, b"this is not a geopackage").unwrap();
    expect_refused(
        &run(&db, &junk, Options::default()).await,
        "cannot read 'junk.gpkg' as GIS data",
    );
    // A huge file: more features than allowed.
    let many: Vec<serde_json::Value> = (0..50)
        .map(|i| feature(serde_json::json!({"code": format!("KHO-TBI-{:04}", 6000 + i), "name": "k", "kind": "warehouse"}), point(106.05, 11.4)))
        .collect();
    let huge = scratch("huge.geojson");
    std::fs::write(&huge, geojson(&many)).unwrap();
    expect_refused(
        &run(
            &db,
            &huge,
            Options {
                max_features: 10,
                ..Options::default()
            },
        )
        .await,
        "more than 10 features",
    );
    assert_eq!(works(&db).await, before, "nothing written");
    assert_eq!(
        count(&db, "SELECT count(*) FROM progress_history").await,
        history
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM import_log WHERE outcome = 'refused'"
        )
        .await,
        11
    );
}

async fn export_zip(db: &TestDb) -> PathBuf {
    let fields: Vec<&str> = vec!["code", "name", "kind"];
    let kinds: Vec<&str> = kvpt::domain::SiteKind::ALL
        .iter()
        .map(|k| k.code())
        .collect();
    db.client()
        .await
        .execute(
            "INSERT INTO export_profile (name, title, kinds, ceiling, fields) VALUES ('all', 'All', $1, 'secret', $2)
             ON CONFLICT DO NOTHING",
            &[&kinds, &fields],
        )
        .await
        .unwrap();
    export_to(db, Format::Shapefile, "", "good.shp.zip").await
}

/// A point Shapefile (kind warehouse) in EPSG `epsg` with a .prj saying so.
fn write_shapefile(dir: &Path, epsg: u32, points: &[(f64, f64)]) {
    std::fs::create_dir_all(dir).unwrap();
    let driver = gdal::DriverManager::get_driver_by_name("ESRI Shapefile").unwrap();
    let mut ds = driver.create_vector_only(dir.join("works.shp")).unwrap();
    let srs = gdal::spatial_ref::SpatialRef::from_epsg(epsg).unwrap();
    let layer = ds
        .create_layer(gdal::vector::LayerOptions {
            name: "works",
            srs: Some(&srs),
            ty: gdal_sys::OGRwkbGeometryType::wkbPoint,
            options: None,
        })
        .unwrap();
    for field in ["code", "name", "kind"] {
        gdal::vector::FieldDefn::new(field, gdal_sys::OGRFieldType::OFTString)
            .unwrap()
            .add_to_layer(&layer)
            .unwrap();
    }
    for (i, (x, y)) in points.iter().enumerate() {
        let mut f = gdal::vector::Feature::new(layer.defn()).unwrap();
        f.set_field_string(0, &format!("KHO-TBI-{:04}", 5000 + i))
            .unwrap();
        f.set_field_string(1, "Kho").unwrap();
        f.set_field_string(2, "warehouse").unwrap();
        let mut p = gdal::vector::Geometry::empty(gdal_sys::OGRwkbGeometryType::wkbPoint).unwrap();
        p.add_point_2d((*x, *y));
        f.set_geometry(p).unwrap();
        f.create(&layer).unwrap();
    }
}

#[tokio::test]
async fn vn2000_prj_variants_and_cad_drawings_land_where_they_should() {
    let db = TestDb::new().await;
    // A .prj as Vietnamese software writes it: ESRI style, datum named, no TOWGS84.
    let dir = scratch("vn2000-esri");
    write_shapefile(&dir, 9209, &[TM3]);
    std::fs::write(
        dir.join("works.prj"),
        r#"PROJCS["VN_2000_TM3_105_30",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.5],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#,
    )
    .unwrap();
    let report = run(&db, &dir, Options::default()).await;
    assert_eq!(report.outcome, "committed", "{report:#?}");
    assert_eq!(
        report.layers[0].crs.as_deref(),
        Some("VN-2000 / TM-3 105°30′ (EPSG:9209)")
    );
    // geodata/VN2000.md: 565301.868 / 1250810.922 in EPSG:9209 is 11.31 N 106.10 E.
    let (lon, lat): (f64, f64) = {
        let r = db
            .client()
            .await
            .query_one(
                "SELECT ST_X(geom), ST_Y(geom) FROM site WHERE geom IS NOT NULL AND code = 'KHO-TBI-5000'",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!(
        (lon - 106.10).abs() < 1e-6 && (lat - 11.31).abs() < 1e-6,
        "{lon} {lat}"
    );
    // A CAD drawing in TM-3: the work on a layer named by its code (a closed polyline),
    // a frame on layer 0 and a text label, both left out.
    let dxf = scratch("drawing.dxf");
    {
        let driver = gdal::DriverManager::get_driver_by_name("DXF").unwrap();
        let mut ds = driver.create_vector_only(&dxf).unwrap();
        let layer = ds
            .create_layer(gdal::vector::LayerOptions {
                name: "entities",
                srs: None,
                ty: gdal_sys::OGRwkbGeometryType::wkbUnknown,
                options: None,
            })
            .unwrap();
        let (x, y) = TM3;
        let write = |cad_layer: &str, wkt: &str| {
            let mut f = gdal::vector::Feature::new(layer.defn()).unwrap();
            let idx = f.field_index("Layer").unwrap();
            f.set_field_string(idx, cad_layer).unwrap();
            f.set_geometry(gdal::vector::Geometry::from_wkt(wkt).unwrap())
                .unwrap();
            f.create(&layer).unwrap();
        };
        write(
            "DQP-TBI-4001",
            &format!(
                "LINESTRING ({x} {y}, {} {y}, {} {}, {x} {}, {x} {y})",
                x + 200.0,
                x + 200.0,
                y + 150.0,
                y + 150.0
            ),
        );
        write(
            "0",
            &format!(
                "LINESTRING ({} {}, {} {})",
                x - 1000.0,
                y - 1000.0,
                x + 1000.0,
                y - 1000.0
            ),
        );
    }
    // DXF carries neither names nor kinds: new works need both, so it updates a work
    // already known. First create it from a table.
    let csv = scratch("land.csv");
    let (x, y) = TM3;
    std::fs::write(
        &csv,
        format!(
            "code,name,kind,WKT\nDQP-TBI-4001,Đất quốc phòng thử,defence_land,\"POLYGON (({x} {y}, {} {y}, {} {}, {x} {y}))\"\n",
            x + 100.0,
            x + 100.0,
            y + 100.0
        ),
    )
    .unwrap();
    let srs = import::srs::from_option("EPSG:9209").unwrap();
    let created = run(
        &db,
        &csv,
        Options {
            srs: Some(srs.clone()),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(created.outcome, "committed", "{created:#?}");
    let drawn = run(
        &db,
        &dxf,
        Options {
            srs: Some(srs),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(drawn.outcome, "committed", "{drawn:#?}");
    assert_eq!(drawn.counts.update, 1);
    assert!(
        drawn
            .warnings
            .iter()
            .any(|w| w.en.contains("were left out: 0 (1)")),
        "{:?}",
        drawn.warnings
    );
    assert!(drawn.rows[0]
        .warnings
        .iter()
        .any(|w| w.en.contains("closed line was read as a polygon")));
    let area: f64 = db
        .client()
        .await
        .query_one(
            "SELECT ST_Area(to_vn2000_tm3(geom)) FROM site WHERE geom IS NOT NULL AND code = 'DQP-TBI-4001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!((area - 30_000.0).abs() < 1.0, "{area}");
}

#[test]
fn the_command_line_reports_and_exits_non_zero_when_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let db = runtime.block_on(TestDb::with_demo(10, 2));
    let path = scratch("cli.geojson");
    std::fs::write(
        &path,
        geojson(&[
            feature(serde_json::json!({"code": "KHO-TBI-3001", "name": "Kho dòng lệnh", "kind": "warehouse"}), point(106.05, 11.4)),
            feature(serde_json::json!({"code": "KHO-TBI-3002", "name": "Kho xa", "kind": "warehouse"}), point(108.0, 11.4)),
        ]),
    )
    .unwrap();
    let kvpt = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = kvpt(&["import", path.to_str().unwrap(), "--lang", "en"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("row 2") && stdout.contains("outside Tây Ninh"),
        "{stdout}"
    );
    assert!(stdout.contains("NOTHING WRITTEN"), "{stdout}");
    std::fs::write(
        &path,
        geojson(&[feature(
            serde_json::json!({"code": "KHO-TBI-3001", "name": "Kho dòng lệnh", "kind": "warehouse"}),
            point(106.05, 11.4),
        )]),
    )
    .unwrap();
    let out = kvpt(&["import", path.to_str().unwrap(), "--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("hợp lệ, chưa ghi"),
        "{stdout}"
    );
    let out = kvpt(&["import", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("ĐÃ GHI"),
        "{stdout}"
    );
    let n = runtime.block_on(async {
        count(
            &db,
            "SELECT count(*) FROM site WHERE geom IS NOT NULL AND code = 'KHO-TBI-3001'",
        )
        .await
    });
    assert_eq!(n, 1);
}

/// Posts `bytes` as file `name` to the upload page.
pub(crate) async fn upload(
    app: &axum::Router,
    csrf: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (body, content_type) = multipart(&[("csrf", csrf)], &[("file", name, bytes)]);
    call(
        app,
        "POST",
        "/imports",
        &[("content-type", &content_type)],
        body,
    )
    .await
}

/// Follows an import job until its report: the report's id.
pub(crate) async fn follow(app: &axum::Router, location: &str) -> i64 {
    let token = location
        .trim_start_matches("/imports/jobs/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    for _ in 0..600 {
        let (status, _, body) = request(app, &format!("/api/imports/jobs/{token}"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let s: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(report) = s["report"].as_str() {
            return report.trim_start_matches("/imports/").parse().unwrap();
        }
        assert!(s["error"].is_null(), "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the import never finished");
}

#[tokio::test]
async fn the_upload_page_checks_then_writes_for_who_may() {
    let db = TestDb::with_demo(20, 8).await;
    let file = geojson(&[feature(
        serde_json::json!({"code": "KHO-TBI-2001", "name": "Kho tải lên", "kind": "warehouse"}),
        point(106.05, 11.4),
    )]);
    // Viewers may not import.
    let viewer = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let csrf = csrf_of(&viewer).await;
    let (status, _, page) = upload(&viewer, &csrf, "a.geojson", &file).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    // An administrator: upload, the check runs, the report shows, then write.
    let admin = db.app_as(UserRole::Admin, Classification::Secret).await;
    let (status, _, page) = request(&admin, "/imports", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nhập dữ liệu từ tệp") && page.contains("/static/imports.js"));
    let csrf = csrf_of(&admin).await;
    let (status, _, _) = upload(&admin, "wrong", "a.geojson", &file).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "CSRF checked");
    let (status, headers, _) = upload(&admin, &csrf, "../../a.geojson", &file).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_string();
    let id = follow(&admin, &location).await;
    let (status, _, page) = request(&admin, &format!("/imports/{id}?lang=en"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Valid, not written") && page.contains("import-write"),
        "{page}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM site WHERE geom IS NOT NULL AND code = 'KHO-TBI-2001'"
        )
        .await,
        0
    );
    let form = format!("csrf={csrf}&write=1");
    let (status, headers, _) = call(
        &admin,
        "POST",
        &format!("/imports/{id}/again"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let written = follow(&admin, headers["location"].to_str().unwrap()).await;
    let (_, _, json) = request(&admin, &format!("/api/imports/{written}"), &[]).await;
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["outcome"], "committed", "{json}");
    crate::api_document::assert_documented_answer(&admin, "get", "/api/imports/{id}", &report)
        .await;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM site WHERE geom IS NOT NULL AND code = 'KHO-TBI-2001'"
        )
        .await,
        1
    );
    // The upload is gone once written: writing again is refused plainly.
    let (status, _, _) = call(
        &admin,
        "POST",
        &format!("/imports/{id}/again"),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("csrf={csrf}&write=1"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // An engineer outside the work's district is refused row by row.
    let cookie = db
        .sign_in(
            "ks.ngoai",
            UserRole::Engineer,
            Classification::Secret,
            &["BCA"],
        )
        .await;
    let engineer = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&engineer).await;
    let other = geojson(&[feature(
        serde_json::json!({"code": "KHO-TBI-2002", "name": "Kho Tân Biên", "kind": "warehouse"}),
        point(106.05, 11.4),
    )]);
    let (status, headers, _) = upload(&engineer, &csrf, "b.geojson", &other).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = follow(&engineer, headers["location"].to_str().unwrap()).await;
    let (_, _, json) = request(&engineer, &format!("/api/imports/{id}"), &[]).await;
    assert!(json.contains("outside your districts"), "{json}");
    // Uploads over the limit: 413 with a message, nothing kept.
    let small = kvpt::web::router(kvpt::web::AppState::new(db.pool()).import_limit(64 * 1024));
    let small = with_cookie(small, &cookie);
    let big = vec![b' '; 200 * 1024];
    let (status, _, page) = upload(&small, &csrf, "big.geojson", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("Tệp quá lớn"), "{page}");
}

#[tokio::test]
async fn a_search_zone_s_figures_are_imported_by_the_search_rules_each_change_in_its_history() {
    let db = TestDb::with_demo(300, 5).await;
    let client = db.client().await;
    let zone = client
        .query_one(
            "SELECT s.code, s.version, z.remains_found FROM site s JOIN search_zone z ON z.site_id = s.id
              WHERE z.remains_found > 0 AND NOT z.map_drawn ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .expect("a search zone with remains found");
    let (code, version, found): (String, i32, i32) = (zone.get(0), zone.get(1), zone.get(2));
    let warehouse: String = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND kind = 'warehouse' ORDER BY code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let history_sql = format!(
        "SELECT count(*) FROM search_history h JOIN site s ON s.id = h.site_id WHERE s.code = '{code}'"
    );
    let history0 = count(&db, &history_sql).await;
    let path = scratch("zones.geojson");
    let null = serde_json::Value::Null;
    // The search rules hold: a map date needs a drawn map, remains found never go down
    // without a reason, no date in the future; a warehouse has no unit in charge of a search.
    let bad = vec![
        feature(
            serde_json::json!({"code": code, "version": version, "map_drawn": "không", "map_drawn_on": "01/02/2025"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": code, "version": version, "remains_found": found - 1, "concluded_on": "2099-01-01"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": warehouse, "unit_in_charge": "Đội K70"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": code, "version": version, "map_drawn": "maybe"}),
            null.clone(),
        ),
    ];
    std::fs::write(&path, geojson(&bad)).unwrap();
    let report = run(&db, &path, Options::default()).await;
    assert_eq!(report.outcome, "refused");
    let has = |n: usize, needle: &str| {
        let e = errors_of(&report, n);
        assert!(
            e.iter().any(|m| m.contains(needle)),
            "row {n}: wanted '{needle}' in {e:?}"
        );
    };
    has(1, "map_drawn_on: a map date needs map_drawn");
    has(2, "correction_reason: remains found may not go down");
    has(2, "concluded_on: 2099-01-01 is in the future");
    has(3, "belong to search zones only");
    has(4, "map_drawn: column 'map_drawn': 'maybe' is not yes or no");
    assert_eq!(count(&db, &history_sql).await, history0, "nothing written");
    // A clean row: each figure written, one history row, the changes named.
    let clean = vec![feature(
        serde_json::json!({"code": code, "version": version, "map_drawn": "có", "map_drawn_on": "01/02/2025",
                           "concluded_on": "2025-02-03", "unit_in_charge": "Đội K72", "remains_found": found + 1}),
        null,
    )];
    std::fs::write(&path, geojson(&clean)).unwrap();
    let report = run(&db, &path, Options::default()).await;
    assert_eq!(report.outcome, "committed", "{:#?}", report.rows);
    let mut changes = report.rows[0].changes.clone();
    changes.sort();
    assert_eq!(
        changes,
        [
            "concluded_on",
            "map_drawn",
            "map_drawn_on",
            "remains_found",
            "unit_in_charge"
        ]
    );
    assert_eq!(count(&db, &history_sql).await, history0 + 1);
    let now = client
        .query_one(
            "SELECT z.map_drawn, z.map_drawn_on, z.concluded_on, z.unit_in_charge, z.remains_found
               FROM search_zone z JOIN site s ON s.id = z.site_id WHERE s.code = $1",
            &[&code],
        )
        .await
        .unwrap();
    assert!(now.get::<_, bool>(0));
    assert_eq!(
        now.get::<_, Option<chrono::NaiveDate>>(1),
        chrono::NaiveDate::from_ymd_opt(2025, 2, 1)
    );
    assert_eq!(
        now.get::<_, Option<chrono::NaiveDate>>(2),
        chrono::NaiveDate::from_ymd_opt(2025, 2, 3)
    );
    assert_eq!(now.get::<_, Option<String>>(3).as_deref(), Some("Đội K72"));
    assert_eq!(now.get::<_, i32>(4), found + 1);
}

/// Issue 24 §2: a defence land parcel's land-use plan comes in through the import, by the
/// plan's rules (known period, uses and status; a decision with both number and date, not in
/// the future; only on defence land; a new plan needs its period and both uses); each change
/// named, the plan's version moved, audited.
#[tokio::test]
async fn a_land_parcels_plan_is_imported_by_the_plans_rules() {
    let db = TestDb::with_demo(300, 6).await;
    let client = db.client().await;
    let parcel = client
        .query_one(
            "SELECT s.code, s.version, l.planned_use::text, l.version, ST_AsGeoJSON(s.geom)
               FROM site s JOIN land_parcel l ON l.site_id = s.id
              WHERE l.decision_no IS NOT NULL ORDER BY s.code LIMIT 1",
            &[],
        )
        .await
        .expect("a planned parcel with a decision");
    let (code, version, planned, plan_version): (String, i32, String, i32) =
        (parcel.get(0), parcel.get(1), parcel.get(2), parcel.get(3));
    let shape: serde_json::Value = serde_json::from_str(parcel.get::<_, &str>(4)).unwrap();
    let warehouse: String = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND kind = 'warehouse' ORDER BY code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let plan_version_sql =
        format!("SELECT l.version::int8 FROM land_parcel l JOIN site s ON s.id = l.site_id WHERE s.code = '{code}'");
    let path = scratch("land.geojson");
    let null = serde_json::Value::Null;
    let bad = vec![
        feature(
            serde_json::json!({"code": code, "version": version, "land_planned_use": "castle"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": code, "version": version, "land_decision_no": "12/QĐ-UBND", "land_decision_date": "2099-01-01"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": warehouse, "land_planned_use": "training"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": code, "version": version, "land_five_year": "2031-2035"}),
            null.clone(),
        ),
        feature(
            serde_json::json!({"code": "DQP-TBI-9001", "kind": "defence_land", "name": "Khu đất mới",
                               "land_planned_use": "training"}),
            shape.clone(),
        ),
    ];
    std::fs::write(&path, geojson(&bad)).unwrap();
    let report = run(&db, &path, Options::default()).await;
    assert_eq!(report.outcome, "refused");
    let has = |n: usize, needle: &str| {
        let e = errors_of(&report, n);
        assert!(
            e.iter().any(|m| m.contains(needle)),
            "row {n}: wanted '{needle}' in {e:?}"
        );
    };
    has(
        1,
        "land_planned_use: column 'land_planned_use': 'castle' is not a land use",
    );
    has(
        2,
        "land_decision_date: the decision's date is in the future",
    );
    has(
        3,
        "land_planned_use: only defence land parcels carry a land-use plan",
    );
    has(
        4,
        "land_five_year: the 5-year period '2031-2035' is not 2021-2025 or 2026-2030",
    );
    has(5, "land_five_year: a land-use plan needs its 5-year period");
    assert_eq!(
        count(&db, &plan_version_sql).await,
        i64::from(plan_version),
        "nothing written"
    );
    // Clean rows: the parcel's plan corrected (labels read as codes), a new parcel planned.
    let new_use = if planned == "training" {
        "warehouse"
    } else {
        "training"
    };
    let label = kvpt::domain::LandUse::from_code(new_use)
        .unwrap()
        .label(kvpt::i18n::Lang::Vi);
    let clean = vec![
        feature(
            serde_json::json!({"code": code, "version": version, "land_planned_use": label,
                               "land_legal_status": "Đã cấp giấy chứng nhận"}),
            null,
        ),
        feature(
            serde_json::json!({"code": "DQP-TBI-9001", "kind": "defence_land", "name": "Khu đất mới",
                               "land_five_year": "2026-2030", "land_current_use": "forest",
                               "land_planned_use": "training", "land_decision_no": "7/QĐ-UBND",
                               "land_decision_date": "15/03/2024"}),
            shape,
        ),
    ];
    std::fs::write(&path, geojson(&clean)).unwrap();
    let report = run(&db, &path, Options::default()).await;
    assert_eq!(report.outcome, "committed", "{:#?}", report.rows);
    assert!(
        report.rows[0]
            .changes
            .iter()
            .any(|c| c == "land_planned_use"),
        "{:?}",
        report.rows[0].changes
    );
    assert_eq!(
        count(&db, &plan_version_sql).await,
        i64::from(plan_version) + 1
    );
    let now = client
        .query_one(
            "SELECT l.planned_use::text, l.legal_status::text FROM land_parcel l JOIN site s ON s.id = l.site_id
              WHERE s.code = $1",
            &[&code],
        )
        .await
        .unwrap();
    assert_eq!(
        (now.get::<_, String>(0), now.get::<_, String>(1)),
        (new_use.to_string(), "certified".to_string())
    );
    let new = client
        .query_one(
            "SELECT l.five_year, l.current_use::text, l.legal_status::text, l.decision_no, l.decision_date
               FROM land_parcel l JOIN site s ON s.id = l.site_id WHERE s.code = 'DQP-TBI-9001'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(new.get::<_, String>(0), "2026-2030");
    assert_eq!(new.get::<_, String>(2), "none", "no status given: none");
    assert_eq!(
        new.get::<_, Option<chrono::NaiveDate>>(4),
        chrono::NaiveDate::from_ymd_opt(2024, 3, 15)
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM audit_log WHERE action = 'site.import' AND entity_key = '{code}'
                        AND after->>'land_planned_use' = '{new_use}'")
        )
        .await,
        1
    );
    // The same plan again changes nothing.
    let again = vec![feature(
        serde_json::json!({"code": code, "land_planned_use": new_use, "land_legal_status": "certified"}),
        serde_json::Value::Null,
    )];
    std::fs::write(&path, geojson(&again)).unwrap();
    let report = run(&db, &path, dry()).await;
    assert_eq!(
        (report.counts.unchanged, report.counts.update),
        (1, 0),
        "{:?}",
        report.rows
    );
    // An engineer's file may not set the plan (administrators and budget officers keep it).
    let engineer = Importer {
        user_id: None,
        name: "ks".into(),
        via: "web",
        clearance: Classification::Secret,
        declassify: false,
        districts: None,
    };
    let report = import::run(
        &db.pool(),
        &path,
        "land.geojson",
        &dry(),
        &engineer,
        Arc::new(Progress::default()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, "refused");
    assert!(errors_of(&report, 1)
        .iter()
        .any(|e| e.contains("administrators and budget officers keep the land-use plan")));
}
