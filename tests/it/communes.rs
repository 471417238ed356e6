//! Issue 24 §1: communes, and coverage where the directive counts it. The demo's simulated
//! commune boundaries partition each district exactly; works' communes are derived from
//! them; the dashboard counts communes and the unit areas in Cambodia, scoped and within
//! clearance; the map labels simulated communes as such.

use crate::common::{count, request, TestDb};
use axum::http::StatusCode;
use kvpt::db::dashboard::{self, Params, Scope};
use kvpt::domain::{Classification, UserRole};

#[tokio::test]
async fn simulated_communes_cover_each_district_exactly_and_works_get_theirs() {
    let db = TestDb::with_demo(400, 61).await;
    let client = db.client().await;
    // The mean width of a geometry's areas, in metres (0 for none).
    client
        .batch_execute(
            "CREATE FUNCTION pg_temp.sliver_width(g geometry) RETURNS float8 LANGUAGE sql AS $$
                 SELECT coalesce(2 * ST_Area(a::geography) / nullif(ST_Perimeter(a::geography), 0), 0)
                   FROM (SELECT ST_CollectionExtract(g, 3) AS a) x $$",
        )
        .await
        .unwrap();
    // Every commune of the list has a boundary, marked simulated.
    assert_eq!(
        count(&client, "SELECT count(*) FROM admin_unit WHERE level = 'commune' AND (geom IS NULL OR source NOT LIKE 'simulated%')").await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM admin_unit WHERE level = 'commune'"
        )
        .await,
        94
    );
    // No gap and no overlap: per district, the communes' areas add up to the district's and
    // to their union's; what the district has outside them, and what two of them share, are
    // floating point's slivers (on average under 10 cm wide: twice the area over the
    // perimeter); and 3 000 points scattered in the district each lie in exactly one of
    // its communes.
    let rows = client
        .query(
            "SELECT d.short_name,
                    abs(sum(ST_Area(c.geom::geography)) / ST_Area(d.geom::geography) - 1),
                    abs(ST_Area(ST_Union(c.geom)::geography) / ST_Area(d.geom::geography) - 1),
                    coalesce(pg_temp.sliver_width(ST_Difference(d.geom, ST_Union(c.geom))), 0),
                    (SELECT coalesce(max(pg_temp.sliver_width(ST_Intersection(a.geom, b.geom))), 0)
                       FROM admin_unit a JOIN admin_unit b ON a.parent_id = b.parent_id AND a.id < b.id
                      WHERE a.parent_id = d.id AND ST_Intersects(a.geom, b.geom)),
                    (SELECT count(*) FROM (SELECT (ST_Dump(ST_GeneratePoints(d.geom, 3000, 7))).geom AS p) x
                      WHERE (SELECT count(*) FROM admin_unit c2 WHERE c2.parent_id = d.id AND ST_Covers(c2.geom, x.p)) <> 1)
               FROM admin_unit d JOIN admin_unit c ON c.parent_id = d.id
              WHERE d.level = 'district'
              GROUP BY d.id, d.short_name, d.geom",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 9);
    for r in &rows {
        let (name, sum, union, gap, overlap, astray): (String, f64, f64, f64, f64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
        assert!(sum < 1e-6 && union < 1e-6, "{name}: {sum} {union}");
        assert!(gap < 0.1, "{name}: a gap {gap} m wide");
        assert!(overlap < 0.1, "{name}: an overlap {overlap} m wide");
        assert_eq!(astray, 0, "{name}: points in no commune or in two");
    }
    // Every work in the province has the commune it lies in (or, on the border line
    // itself, the nearest within 50 m), in its district.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s
              WHERE s.district_id IS NOT NULL AND (s.commune_id IS NULL OR NOT EXISTS (
                    SELECT 1 FROM admin_unit c WHERE c.id = s.commune_id AND c.parent_id = s.district_id
                       AND ST_DWithin(c.geom, ST_PointOnSurface(s.geom), 0.0005)))"
        )
        .await,
        0
    );
    assert!(count(&client, "SELECT count(DISTINCT commune_id) FROM site").await > 30);
}

/// The dashboard's communes and unit areas in Cambodia equal direct counts, at each
/// clearance and in a scope; the page shows them.
#[tokio::test]
async fn commune_and_cambodian_coverage_match_direct_counts_at_each_clearance() {
    let db = TestDb::with_demo(600, 62).await;
    let client = db.client().await;
    let pool = db.pool();
    for clearance in [
        Classification::Public,
        Classification::Internal,
        Classification::Secret,
    ] {
        let p = Params {
            clearance,
            as_of: None,
            ahead_threshold: 0.3,
            stale_days: 180,
            scope: Scope::default(),
            submitted: false,
        };
        let mut clients = vec![pool.get().await.unwrap(), pool.get().await.unwrap()];
        let d = dashboard::summary(&mut clients, &p).await.unwrap();
        let done = |group: &str| {
            format!(
                "SELECT count(DISTINCT {group}) FROM site s JOIN search_zone z ON z.site_id = s.id
                  WHERE z.map_drawn AND z.concluded_on <= current_date AND {group} IS NOT NULL
                    AND s.classification <= '{}'",
                clearance.code()
            )
        };
        assert_eq!(d.search.communes_total, 94);
        assert_eq!(
            d.search.communes_done,
            count(&client, &done("s.commune_id")).await,
            "{clearance:?}"
        );
        let areas = client
            .query(
                "SELECT a.code, z.unit_in_charge, count(*),
                        count(*) FILTER (WHERE z.map_drawn AND z.concluded_on <= current_date)
                   FROM site s JOIN search_zone z ON z.site_id = s.id
                   JOIN adjacent_area a ON a.id = s.foreign_area_id
                  WHERE s.classification <= $1::text::classification
                  GROUP BY 1, 2 ORDER BY 1, 2",
                &[&clearance.code()],
            )
            .await
            .unwrap();
        let expected: Vec<(String, String, i64, i64)> = areas
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let got: Vec<(String, String, i64, i64)> = d
            .search
            .abroad
            .iter()
            .map(|a| (a.code.clone(), a.unit.clone(), a.zones, a.concluded))
            .collect();
        assert_eq!(got, expected, "{clearance:?}");
        if clearance == Classification::Secret {
            assert!(!got.is_empty(), "the demo searches in Cambodia");
            assert!(
                d.search.communes_done > 0,
                "and concludes zones in communes"
            );
        }
    }
    // A district's scope counts its own communes only.
    let tbi: i64 = count(&client, "SELECT count(*) FROM admin_unit c JOIN admin_unit d ON d.id = c.parent_id WHERE d.code = '705'").await;
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let (status, _, body) = request(&app, "/dashboard.csv?table=search&district=705", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&format!("communes_total,{tbi}")), "{body}");
    let (status, _, page) = request(&app, "/dashboard", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"search-abroad\"") && page.contains("search-abroad-table"));
    // Anonymous visitors see public works only: no zone in Cambodia is public in the demo.
    let (_, _, body) = request(&db.app(), "/dashboard.csv?table=search", &[]).await;
    let public_abroad = count(
        &client,
        "SELECT count(*) FROM site WHERE foreign_area_id IS NOT NULL AND classification = 'public'",
    )
    .await;
    if public_abroad == 0 {
        assert!(body.contains("abroad_areas_total,0"), "{body}");
    }
}

/// The map draws the simulated communes and labels them "(mô phỏng)".
#[tokio::test]
async fn the_map_labels_simulated_communes() {
    let db = TestDb::with_demo(50, 63).await;
    let app = db.internal_app().await;
    let t = kvpt::spatial::tile::TileCoord::containing(106.1, 11.45, 11);
    for (layer, check) in [("communes", "simulated"), ("labels", "(mô phỏng)")] {
        let (status, _, body) = crate::common::call_bytes(
            &app,
            "GET",
            &format!("/tiles/{layer}/{}/{}/{}.mvt", t.z, t.x, t.y),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{layer}");
        let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
        let found = reader.get_features(0).unwrap().iter().any(|f| {
            f.properties.as_ref().is_some_and(|p| {
                p.iter().any(|(k, v)| match v {
                    mvt_reader::feature::Value::String(s) => s.ends_with(check),
                    mvt_reader::feature::Value::Bool(b) => k == check && *b,
                    _ => false,
                })
            })
        });
        assert!(found, "{layer}: {check}");
    }
    let (_, _, style) = request(&app, "/style.json", &[]).await;
    assert!(style.contains("communes-label"));
}

/// A GeoJSON file of `features` (name/code properties and a WGS 84 geometry in SQL) in
/// VN-2000 / TM-3 105°30′ (EPSG:9209), as a provincial office would send it.
async fn boundary_file(
    client: &tokio_postgres::Client,
    name: &str,
    rows_sql: &str,
) -> std::path::PathBuf {
    let text: String = client
        .query_one(
            &format!(
                "SELECT json_build_object(
                   'type', 'FeatureCollection',
                   'crs', json_build_object('type', 'name', 'properties',
                                            json_build_object('name', 'urn:ogc:def:crs:EPSG::9209')),
                   'features', json_agg(json_build_object(
                       'type', 'Feature', 'properties', r.props,
                       'geometry', ST_AsGeoJSON(ST_Transform(r.geom, 9209), 3)::json)))::text
                   FROM ({rows_sql}) r"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let dir = std::env::temp_dir().join(format!("kvpt-it-communes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Imports `path` as `name` (written when `write` and nothing is refused), signed "test".
async fn import_file(
    pool: &deadpool_postgres::Pool,
    path: &std::path::Path,
    name: &str,
    write: bool,
) -> kvpt::exchange::import::communes::CommuneReport {
    kvpt::exchange::import::communes::import(pool, path, name, None, write, "test")
        .await
        .unwrap()
}

/// "Real" boundaries: each Tân Biên commune gets the simulated cell of the next one, so the
/// works' communes must change.
const SHUFFLED: &str =
    "SELECT code, name, coalesce(lead(geom) OVER w, first_value(geom) OVER w) AS geom,
            row_number() OVER w AS k
       FROM (SELECT c.code, c.name, c.geom FROM admin_unit c
               JOIN admin_unit d ON d.id = c.parent_id WHERE d.code = '705') t
      WINDOW w AS (ORDER BY code)";

/// The shuffled boundaries as a provincial office's file names them: the first by code,
/// the others by names typed without diacritics or "Xã", with their district.
fn clean_rows() -> String {
    format!(
        "SELECT CASE WHEN k = 1 THEN json_build_object('MA_XA', code, 'TEN_XA', 'whatever')
                     ELSE json_build_object('TEN_XA', replace(replace(lower(unaccent(name)), 'xa ', ''), 'thi tran ', 'TT '),
                                            'TEN_HUYEN', CASE WHEN k % 2 = 0 THEN 'Huyện Tân Biên' ELSE 'Tan Bien' END) END AS props,
                geom FROM ({SHUFFLED}) s"
    )
}

/// Tân Biên's communes from a file in VN-2000: matched by code, or by names typed without
/// diacritics or "Xã" (with their district); an unknown name, a name two districts have
/// with no district given, and a commune given twice are refused, and nothing is written;
/// boundaries overlapping by more than a hectare are warned of; the same file as a
/// GeoPackage or a zipped Shapefile in WGS 84 matches alike; the clean file is written,
/// replacing the simulated boundaries, and every work's commune is derived again from the
/// new ones; the import is audited.
#[tokio::test]
async fn commune_boundaries_import_from_a_file_matched_by_code_or_name() {
    let db = TestDb::with_demo(300, 64).await;
    let client = db.client().await;
    let pool = db.pool();
    // "Real" boundaries: each Tân Biên commune gets the simulated cell of the next one, so
    // the works' communes must change.
    let (shuffled, clean) = (SHUFFLED, clean_rows());
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        .await
        .unwrap();
    let bad = boundary_file(
        &client,
        "bad.geojson",
        &format!(
            "{clean} UNION ALL SELECT json_build_object('TEN_XA', 'Xã Không Có'), geom FROM ({shuffled}) s WHERE k = 2
             UNION ALL SELECT json_build_object('MA_XA', code), geom FROM ({shuffled}) s WHERE k = 3
             UNION ALL SELECT json_build_object('TEN_XA', 'Tân Bình'), geom FROM ({shuffled}) s WHERE k = 4"
        ),
    )
    .await;
    let before = count(
        &client,
        "SELECT count(*) FROM admin_unit WHERE source LIKE 'simulated%'",
    )
    .await;
    let r = import_file(&pool, &bad, "ranh-gioi.geojson", true).await;
    assert!(r.file_error.is_none(), "{:?}", r.file_error);
    assert!(
        r.crs.as_deref().unwrap_or_default().contains("9209"),
        "{:?}",
        r.crs
    );
    assert_eq!(r.matched.len(), 10, "{:?}", r.refused);
    assert_eq!(r.matched.iter().filter(|m| m.by == "code").count(), 1);
    assert_eq!(r.refused.len(), 3, "{:?}", r.refused);
    assert!(
        r.refused
            .iter()
            .any(|x| x.problem.vi.contains("có ở 2 huyện")),
        "a name two districts have, with no district given"
    );
    assert!(r
        .refused
        .iter()
        .any(|x| x.problem.vi.contains("Không có xã “Xã Không Có”")));
    assert!(r
        .refused
        .iter()
        .any(|x| x.problem.vi.contains("đã có ở đối tượng")));
    assert_eq!(r.missing.len(), 84, "the other districts' communes");
    assert!(!r.written);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM admin_unit WHERE source LIKE 'simulated%'"
        )
        .await,
        before,
        "nothing written"
    );
    // Boundaries overlapping by more than a hectare are a warning (read, not refused); a
    // partition has none.
    let spilling = boundary_file(
        &client,
        "spilling.geojson",
        &format!(
            "SELECT props, CASE WHEN row_number() OVER () = 1 THEN ST_Buffer(geom, 0.005) ELSE geom END AS geom
               FROM ({clean}) c"
        ),
    )
    .await;
    let r = import_file(&pool, &spilling, "tran.geojson", false).await;
    assert!(r.refused.is_empty(), "{:?}", r.refused);
    assert!(
        !r.overlaps.is_empty(),
        "a commune spilling over its neighbours"
    );
    assert!(
        r.overlaps.iter().all(|o| o.hectares > 1.0),
        "{:?}",
        r.overlaps
    );
    // The clean file: written.
    let good = boundary_file(&client, "good.geojson", &clean).await;
    // The same boundaries as a GeoPackage and as a zipped Shapefile, both in WGS 84 (as
    // ogr2ogr writes them): read, reprojected and matched alike; checked, not written.
    for (name, driver) in [("good.gpkg", "GPKG"), ("good.shp", "ESRI Shapefile")] {
        let out = good.with_file_name(name);
        let _ = std::fs::remove_file(&out);
        let made = std::process::Command::new("ogr2ogr")
            .args([
                "-f",
                driver,
                "-t_srs",
                "EPSG:4326",
                "-lco",
                "ENCODING=UTF-8",
            ])
            .arg(&out)
            .arg(&good)
            .output()
            .expect("ogr2ogr (gdal-bin)");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let (file, file_name) = if driver == "GPKG" {
            (out, "ranh-gioi.gpkg")
        } else {
            let zipped = good.with_file_name("good.shp.zip");
            let mut zip = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
            for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
                let part = out.with_extension(ext);
                if part.exists() {
                    zip.start_file(
                        format!("ranh-gioi.{ext}"),
                        zip::write::SimpleFileOptions::default(),
                    )
                    .unwrap();
                    std::io::Write::write_all(&mut zip, &std::fs::read(&part).unwrap()).unwrap();
                }
            }
            zip.finish().unwrap();
            (zipped, "ranh-gioi.shp.zip")
        };
        let r = import_file(&pool, &file, file_name, false).await;
        assert!(r.file_error.is_none(), "{file_name}: {:?}", r.file_error);
        assert!(
            r.crs.as_deref().unwrap_or_default().contains("4326"),
            "{file_name}: {:?}",
            r.crs
        );
        assert_eq!(r.matched.len(), 10, "{file_name}: {:?}", r.refused);
        assert!(
            r.refused.is_empty() && !r.written,
            "{file_name}: {:?}",
            r.refused
        );
    }
    let r = import_file(&pool, &good, "ranh-gioi.geojson", true).await;
    assert!(r.written && r.refused.is_empty(), "{:?}", r.refused);
    assert!(r.overlaps.is_empty(), "{:?}", r.overlaps);
    assert!(r.works_moved > 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM admin_unit WHERE level = 'commune' AND source LIKE 'imported from ranh-gioi.geojson%'").await,
        10
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM admin_unit WHERE level = 'commune' AND geom IS NOT NULL"
        )
        .await,
        10,
        "simulated boundaries do not stay beside real ones"
    );
    // Each work's commune is the one its point lies in now (none outside Tân Biên).
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s LEFT JOIN admin_unit c ON c.id = s.commune_id
              WHERE s.commune_id IS DISTINCT FROM commune_of(ST_PointOnSurface(s.geom), s.district_id)
                 OR (s.commune_id IS NOT NULL AND c.parent_id <> (SELECT id FROM admin_unit WHERE code = '705'))"
        )
        .await,
        0
    );
    assert!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE commune_id IS NOT NULL"
        )
        .await
            > 0
    );
    // The shuffle moved them: commune k's works lie in what was commune k+1's cell.
    assert_eq!(
        count(&client, "SELECT count(*) FROM audit_log WHERE action = 'communes.import' AND entity_key = 'ranh-gioi.geojson'").await,
        1
    );
    // A file in no known coordinate system, or not a GIS file: said, nothing written.
    let junk = good.with_file_name("junk.geojson");
    std::fs::write(&junk, "not json").unwrap();
    let r = import_file(&pool, &junk, "junk.geojson", true).await;
    assert!(r.file_error.is_some() && !r.written);
}

/// The same import through `/admin/communes`: an administrator uploads the file and reads
/// the check (matched, refused, left out; nothing written), then writes it with the
/// button; only administrators reach the page, only the uploader writes the upload, and
/// a written upload cannot be written twice. Every refusal is said in Vietnamese.
#[tokio::test]
async fn an_administrator_checks_then_writes_commune_boundaries_through_the_page() {
    use crate::common::{call, csrf_of, multipart, with_cookie};
    let db = TestDb::with_demo(300, 65).await;
    let client = db.client().await;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        .await
        .unwrap();
    let clean = clean_rows();
    let bad = boundary_file(
        &client,
        "web-bad.geojson",
        &format!("{clean} UNION ALL SELECT json_build_object('TEN_XA', 'Xã Không Có'), geom FROM ({SHUFFLED}) s WHERE k = 2"),
    )
    .await;
    let good = boundary_file(&client, "web-good.geojson", &clean).await;
    let signed = |name: &'static str, role: UserRole| {
        let db = &db;
        async move {
            let cookie = db.sign_in(name, role, Classification::Secret, &[]).await;
            let app = with_cookie(db.app(), &cookie);
            let csrf = csrf_of(&app).await;
            (app, csrf)
        }
    };
    let (admin, csrf) = signed("qt.xa", UserRole::Admin).await;
    let (other, other_csrf) = signed("qt.khac", UserRole::Admin).await;
    let (engineer, _) = signed("ks.xa", UserRole::Engineer).await;
    let upload = |app: axum::Router,
                  csrf: String,
                  path: Option<std::path::PathBuf>,
                  srs: &'static str| async move {
        let bytes = path
            .as_ref()
            .map(|p| std::fs::read(p).unwrap())
            .unwrap_or_default();
        let files: Vec<(&str, &str, &[u8])> = match &path {
            Some(_) => vec![("file", "ranh-gioi-xa.geojson", bytes.as_slice())],
            None => vec![],
        };
        let (body, content_type) = multipart(&[("csrf", csrf.as_str()), ("srs", srs)], &files);
        call(
            &app,
            "POST",
            "/admin/communes?lang=vi",
            &[("content-type", content_type.as_str())],
            body,
        )
        .await
    };
    let simulated =
        "SELECT count(*) FROM admin_unit WHERE level = 'commune' AND source LIKE 'simulated%'";
    let before = count(&client, simulated).await;

    // Only administrators.
    for app in [&engineer, &db.app()] {
        let (status, _, _) = request(app, "/admin/communes?lang=vi", &[]).await;
        assert!(
            matches!(
                status,
                StatusCode::FORBIDDEN | StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED
            ),
            "{status}"
        );
    }
    let (status, _, page) = request(&admin, "/admin/communes?lang=vi", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Mô phỏng") && page.contains("commune-form"),
        "the simulated boundaries are said to be so"
    );

    // No file, an unknown coordinate system: said, in Vietnamese.
    let (status, _, page) = upload(admin.clone(), csrf.clone(), None, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Chưa chọn tệp nào"));
    let (status, _, page) = upload(
        admin.clone(),
        csrf.clone(),
        Some(good.clone()),
        "EPSG:99999",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("không hợp lệ"));

    // A feature refused: the report says which and why; no write button; nothing written.
    let (status, _, page) = upload(admin.clone(), csrf.clone(), Some(bad), "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("commune-refused") && page.contains("Không có xã “Xã Không Có”"),
        "{page}"
    );
    assert!(!page.contains("commune-write"));
    assert_eq!(count(&client, simulated).await, before);

    // The clean file: every feature matched, the rest of the list left out; written only
    // by its uploader's button.
    let (status, _, page) = upload(admin.clone(), csrf.clone(), Some(good), "").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("commune-matched")
            && page.contains("commune-missing")
            && page.contains("84 xã"),
        "{page}"
    );
    assert_eq!(
        count(&client, simulated).await,
        before,
        "a check writes nothing"
    );
    let action = page
        .split("action=\"")
        .find(|a| a.starts_with("/admin/communes/"))
        .and_then(|a| a.split('"').next())
        .expect("a write button")
        .replace("&amp;", "&");
    let form = |csrf: &str| format!("csrf={csrf}&srs=&name=ranh-gioi-xa.geojson");
    let form_type = [("content-type", "application/x-www-form-urlencoded")];
    let (status, _, _) = call(&other, "POST", &action, &form_type, form(&other_csrf)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another administrator's upload"
    );
    let (status, _, page) = call(&admin, "POST", &action, &form_type, form(&csrf)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("commune-written") && page.contains("Đã ghi ranh giới của 10 xã"),
        "{page}"
    );
    assert!(
        page.contains("ranh-gioi-xa.geojson"),
        "the new source is shown"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM admin_unit WHERE level = 'commune' AND geom IS NOT NULL AND source LIKE 'imported from ranh-gioi-xa.geojson%'").await,
        10
    );
    assert_eq!(count(&client, simulated).await, 0);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s
              WHERE s.geom IS NOT NULL
                AND s.commune_id IS DISTINCT FROM commune_of(ST_PointOnSurface(s.geom), s.district_id)"
        )
        .await,
        0,
        "every work's commune derived again"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM audit_log WHERE action = 'communes.import' AND actor = 'qt.xa'"
        )
        .await,
        1
    );
    // Written once: the upload is gone.
    let (status, _, page) = call(&admin, "POST", &action, &form_type, form(&csrf)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("Tệp tải lên không còn"), "{page}");
    // An upload of works to import is not a boundary file this page writes.
    let (body, content_type) = multipart(
        &[("csrf", csrf.as_str())],
        &[(
            "file",
            "cong-trinh.geojson",
            br#"{"type":"FeatureCollection","features":[]}"#,
        )],
    );
    let (status, headers, _) = call(
        &admin,
        "POST",
        "/imports?lang=vi",
        &[("content-type", content_type.as_str())],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let works_token = headers["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/imports/jobs/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (status, _, _) = call(
        &admin,
        "POST",
        &format!("/admin/communes/{works_token}/write?lang=vi"),
        &form_type,
        form(&csrf),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A form without its token is refused, in Vietnamese.
    let (status, _, _) = call(&admin, "POST", &action, &form_type, "srs=").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
