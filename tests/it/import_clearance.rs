//! Imports and clearance: a row naming a work above the importer's clearance reads exactly
//! like a row naming a code no work has (a property over random users and rows), reports
//! are read only by users cleared as high as their importer, and only administrators
//! lower a work's classification.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::NaiveDate;
use kvpt::domain::{Classification, SiteKind, SiteStatus, UserRole};
use kvpt::exchange::import::{self, Importer, Options, Progress, Report};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::common::{count, csrf_of, request, with_cookie, TestDb};
use crate::imports::{dry, feature, follow, geojson, point, scratch, upload};

/// A work as the database holds it, with everything a report could give away.
#[derive(Debug, Clone)]
struct Work {
    code: String,
    kind: String,
    classification: Classification,
    district: Option<i32>,
    name: String,
    name_en: Option<String>,
    dates: Vec<NaiveDate>,
    lon: f64,
    lat: f64,
}

async fn works(db: &TestDb) -> Vec<Work> {
    db.client()
        .await
        .query(
            "SELECT code, kind, classification::text, district_id, name, name_en,
                    array_remove(ARRAY[planned_start, planned_finish, actual_start, actual_finish], NULL),
                    ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
               FROM site WHERE geom IS NOT NULL ORDER BY code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Work {
            code: r.get(0),
            kind: r.get(1),
            classification: Classification::from_code(r.get(2)).unwrap(),
            district: r.get(3),
            name: r.get(4),
            name_en: r.get(5),
            dates: r.get(6),
            lon: r.get(7),
            lat: r.get(8),
        })
        .collect()
}

async fn run_as(db: &TestDb, who: &Importer, name: &str, file: &[u8]) -> Report {
    run_with(db, who, name, file, &dry()).await
}

async fn run_with(
    db: &TestDb,
    who: &Importer,
    name: &str,
    file: &[u8],
    options: &Options,
) -> Report {
    let path = scratch(name);
    std::fs::write(&path, file).unwrap();
    import::run(
        &db.pool(),
        &path,
        name,
        options,
        who,
        Arc::new(Progress::default()),
        None,
    )
    .await
    .expect("import runs")
}

fn random_date(rng: &mut ChaCha8Rng) -> String {
    let day = NaiveDate::from_ymd_opt(2017, 1, 1).unwrap()
        + chrono::Duration::days(rng.random_range(0..365 * 11));
    day.format("%Y-%m-%d").to_string()
}

/// A row naming `code` (of `work`), with a random choice of fields, as an engineer's file
/// might carry them: progress, dates, kind, classification, version, sometimes a geometry
/// (where the work lies, or somewhere else).
fn random_row(rng: &mut ChaCha8Rng, work: &Work, code: &str) -> Value {
    if rng.random_bool(0.15) {
        return new_work_row(work, code);
    }
    let mut props = serde_json::Map::new();
    props.insert("code".into(), json!(code));
    let mut maybe = |rng: &mut ChaCha8Rng, key: &str, value: Value| {
        if rng.random_bool(0.4) {
            props.insert(key.into(), value);
        }
    };
    let status = SiteStatus::ALL[rng.random_range(0..SiteStatus::ALL.len())].code();
    maybe(rng, "status", json!(status));
    let percent = rng.random_range(0..=100);
    maybe(rng, "percent", json!(percent));
    for field in [
        "planned_start",
        "planned_finish",
        "actual_start",
        "actual_finish",
    ] {
        let date = random_date(rng);
        maybe(rng, field, json!(date));
    }
    let kind = if rng.random_bool(0.5) {
        work.kind.clone()
    } else {
        SiteKind::ALL[rng.random_range(0..SiteKind::ALL.len())]
            .code()
            .to_string()
    };
    maybe(rng, "kind", json!(kind));
    let classification = Classification::ALL[rng.random_range(0..Classification::ALL.len())].code();
    maybe(rng, "classification", json!(classification));
    let version = rng.random_range(1..5);
    maybe(rng, "version", json!(version));
    maybe(rng, "name", json!("Công trình nhập thử"));
    maybe(rng, "correction_reason", json!("Sửa số liệu nhập nhầm"));
    let found = rng.random_range(0..5);
    maybe(rng, "remains_found", json!(found));
    let geometry = match rng.random_range(0..10) {
        0..=2 => point(work.lon, work.lat),
        3 => point(
            work.lon + rng.random_range(-0.2..0.2),
            work.lat + rng.random_range(-0.2..0.2),
        ),
        4 => point(104.0, 9.0),
        _ => Value::Null,
    };
    feature(Value::Object(props), geometry)
}

/// A whole new work of `work`'s kind where it lies, named `code`.
fn new_work_row(work: &Work, code: &str) -> Value {
    let kind = SiteKind::from_code(&work.kind).unwrap();
    let (x, y) = (work.lon, work.lat);
    let geometry = match kind.families()[0].code() {
        "point" => point(x, y),
        "line" => json!({"type": "LineString", "coordinates": [[x, y], [x + 0.002, y + 0.001]]}),
        _ => {
            json!({"type": "Polygon", "coordinates": [[[x, y], [x + 0.002, y], [x + 0.002, y + 0.002], [x, y + 0.002], [x, y]]]})
        }
    };
    feature(
        json!({"code": code, "kind": kind.code(), "name": "Công trình mới nhập thử"}),
        geometry,
    )
}

/// The report as JSON with `from` codes written as `to`, rows by number.
fn rows_by_number(report: &Report, rename: &[(String, String)]) -> BTreeMap<usize, Value> {
    report
        .rows
        .iter()
        .map(|r| {
            let mut text = serde_json::to_string(r).unwrap();
            for (from, to) in rename {
                text = text.replace(from.as_str(), to);
            }
            let mut row: Value = serde_json::from_str(&text).unwrap();
            // The layer is named for the file.
            row.as_object_mut().unwrap().remove("layer");
            (r.row, row)
        })
        .collect()
}

fn is_code_taken(problem: &Value) -> bool {
    problem["field"] == "code"
        && problem["en"]
            .as_str()
            .unwrap_or("")
            .ends_with("is taken; choose another")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_works_row_reads_exactly_like_a_row_whose_code_no_work_has() {
    let db = TestDb::with_demo(250, 23).await;
    let all = works(&db).await;
    let taken: HashSet<&str> = all.iter().map(|w| w.code.as_str()).collect();
    let districts: Vec<i32> = {
        let mut d: Vec<i32> = all.iter().filter_map(|w| w.district).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    let mut hidden_rows = 0;
    let mut taken_told = 0;
    for case in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(case);
        // A random user: clearance below secret (so something is hidden), an engineer of a
        // district or two, or an administrator.
        let clearance = Classification::ALL[rng.random_range(0..3)];
        let admin = rng.random_bool(0.3);
        let who = Importer {
            user_id: None,
            name: format!("case-{case}"),
            via: "cli",
            clearance,
            declassify: admin,
            districts: (!admin).then(|| {
                (0..rng.random_range(1..3))
                    .map(|_| districts[rng.random_range(0..districts.len())])
                    .collect()
            }),
        };
        let hidden: Vec<&Work> = all
            .iter()
            .filter(|w| w.classification > clearance)
            .collect();
        let seen: Vec<&Work> = all
            .iter()
            .filter(|w| w.classification <= clearance)
            .collect();
        // Each hidden work named gets a code no work has, of the same shape.
        let mut free = Vec::new();
        let mut features_a = Vec::new();
        let mut features_b = Vec::new();
        let mut named_hidden: Vec<&Work> = Vec::new();
        let mut hidden_at: Vec<(usize, &Work)> = Vec::new();
        for i in 0..14 {
            let hide = rng.random_bool(0.6) || seen.is_empty();
            let work = if hide {
                // Sometimes the same hidden work twice (a duplicate in the file).
                if !named_hidden.is_empty() && rng.random_bool(0.1) {
                    named_hidden[rng.random_range(0..named_hidden.len())]
                } else {
                    hidden[rng.random_range(0..hidden.len())]
                }
            } else {
                seen[rng.random_range(0..seen.len())]
            };
            let code_b = if hide {
                match free
                    .iter()
                    .find(|(c, _): &&(String, String)| *c == work.code)
                {
                    Some((_, b)) => b.clone(),
                    None => {
                        let prefix = &work.code[..work.code.rfind('-').unwrap() + 1];
                        let b = (9000..)
                            .map(|n| format!("{prefix}{n}"))
                            .find(|c| {
                                !taken.contains(c.as_str()) && !free.iter().any(|(_, f)| f == c)
                            })
                            .unwrap();
                        free.push((work.code.clone(), b.clone()));
                        named_hidden.push(work);
                        b
                    }
                }
            } else {
                work.code.clone()
            };
            if hide {
                hidden_at.push((i as usize + 1, work));
            }
            let mut row_rng = ChaCha8Rng::seed_from_u64(case * 100 + i);
            features_a.push(random_row(&mut row_rng, work, &work.code));
            let mut row_rng = ChaCha8Rng::seed_from_u64(case * 100 + i);
            features_b.push(random_row(&mut row_rng, work, &code_b));
        }
        let file_a = geojson(&features_a);
        let a = run_as(&db, &who, &format!("hidden-{case}.geojson"), &file_a).await;
        let b = run_as(
            &db,
            &who,
            &format!("free-{case}.geojson"),
            &geojson(&features_b),
        )
        .await;
        // Row by row, the same words once the free codes read as the hidden ones; the one
        // difference allowed: a row that would make a new work is told its code is taken.
        let back: Vec<(String, String)> =
            free.iter().map(|(h, f)| (f.clone(), h.clone())).collect();
        let rows_a = rows_by_number(&a, &[]);
        let rows_b = rows_by_number(&b, &back);
        assert_eq!(
            rows_a.keys().collect::<Vec<_>>(),
            rows_b.keys().collect::<Vec<_>>(),
            "case {case}: the same rows listed"
        );
        let mut inserts = 0;
        for (n, row_a) in &rows_a {
            let row_b = &rows_b[n];
            if row_b["action"] == "insert" && row_a["action"] == "refused" {
                let errors = row_a["errors"].as_array().unwrap();
                assert!(
                    errors.len() == 1 && is_code_taken(&errors[0]),
                    "case {case} row {n}: {row_a} against {row_b}"
                );
                inserts += 1;
                taken_told += 1;
                continue;
            }
            assert_eq!(row_a, row_b, "case {case} row {n}");
        }
        for (field, x, y) in [
            ("features", a.counts.features, b.counts.features),
            ("update", a.counts.update, b.counts.update),
            ("unchanged", a.counts.unchanged, b.counts.unchanged),
            ("insert", a.counts.insert + inserts, b.counts.insert),
            ("refused", a.counts.refused, b.counts.refused + inserts),
        ] {
            assert_eq!(x, y, "case {case}: {field}");
        }
        assert_eq!(a.file_errors, b.file_errors, "case {case}");
        assert_eq!(a.warnings, b.warnings, "case {case}");
        // And not one value of a hidden work is in what its row says, unless the file itself
        // carries it; nor in what the report says of the file.
        let file_text = String::from_utf8_lossy(&file_a);
        let file_said = serde_json::to_string(&(&a.file_errors, &a.warnings)).unwrap();
        for (n, w) in &hidden_at {
            hidden_rows += 1;
            let said = format!(
                "{}{file_said}",
                rows_a.get(n).map(Value::to_string).unwrap_or_default()
            );
            let mut values = vec![w.name.clone()];
            values.extend(w.name_en.clone());
            for d in &w.dates {
                let iso = d.format("%Y-%m-%d").to_string();
                if !file_text.contains(&iso) {
                    values.push(iso);
                    values.push(d.format("%d/%m/%Y").to_string());
                }
            }
            for value in values {
                assert!(
                    !said.contains(&value),
                    "case {case} row {n}: the report tells {value:?} of {}",
                    w.code
                );
            }
        }
    }
    assert!(
        hidden_rows > 100,
        "the property saw enough hidden rows ({hidden_rows})"
    );
    assert!(
        taken_told > 0,
        "some rows made new works with a hidden code"
    );
}

#[tokio::test]
async fn the_reviews_import_tells_an_engineer_nothing_of_secret_works() {
    let db = TestDb::with_demo(200, 11).await;
    let client = db.client().await;
    let secret: Vec<(String, i16, String)> = client
        .query(
            "SELECT code, progress_pct, status::text FROM site
              WHERE classification = 'secret' AND progress_pct > 0 ORDER BY code LIMIT 3",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(secret.len(), 3);
    let cookie = db
        .sign_in(
            "ks.mot.huyen",
            UserRole::Engineer,
            Classification::Confidential,
            &["TBI"],
        )
        .await;
    let engineer = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&engineer).await;
    let file = geojson(&[
        feature(
            json!({"code": secret[0].0, "status": "planned", "percent": 0, "actual_finish": "2000-01-02"}),
            Value::Null,
        ),
        feature(
            json!({"code": secret[1].0, "actual_start": "2026-12-01"}),
            Value::Null,
        ),
        feature(json!({"code": secret[2].0, "percent": 50}), Value::Null),
        feature(json!({"code": "CHOT-TBI-9999", "percent": 50}), Value::Null),
    ]);
    let (status, headers, _) = upload(&engineer, &csrf, "review.geojson", &file).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let id = follow(&engineer, headers["location"].to_str().unwrap()).await;
    let (status, _, json) = request(&engineer, &format!("/api/imports/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let report: Value = serde_json::from_str(&json).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{json}");
    for (row, code) in rows
        .iter()
        .zip(secret.iter().map(|s| s.0.as_str()).chain(["CHOT-TBI-9999"]))
    {
        assert_eq!(row["action"], "refused");
        assert_eq!(
            row["errors"],
            json!([{
                "field": "code",
                "vi": format!("Không có công trình nào mang mã “{code}” (công trình mới cần có hình học, loại và tên)."),
                "en": format!("no work has code '{code}' (a new work needs a geometry, a kind and a name)"),
            }]),
            "{row}"
        );
    }
    for lang in ["vi", "en"] {
        let (_, _, page) = request(&engineer, &format!("/imports/{id}?lang={lang}"), &[]).await;
        for (_, pct, status) in &secret {
            let status = SiteStatus::from_code(status).unwrap();
            for told in [
                format!("{pct}%"),
                status.label(kvpt::i18n::Lang::Vi).to_string(),
                status.label(kvpt::i18n::Lang::En).to_string(),
            ] {
                assert!(!page.contains(&format!("{told} →")), "{lang}: {told}");
            }
        }
        for phrase in [
            "outside your districts",
            "ngoài các huyện",
            "may not go down",
            "không được giảm",
        ] {
            assert!(!page.contains(phrase), "{lang}: {phrase}");
        }
    }
}

#[tokio::test]
async fn an_import_report_is_read_only_by_users_cleared_as_high_as_its_importer() {
    let db = TestDb::with_demo(60, 12).await;
    let client = db.client().await;
    let secret_code: String = client
        .query_one(
            "SELECT code FROM site WHERE geom IS NOT NULL AND classification = 'secret' ORDER BY code LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // A secret engineer checks a file naming a secret work: the report names it.
    let cookie = db
        .sign_in(
            "ks.toi.mat",
            UserRole::Engineer,
            Classification::Secret,
            &[],
        )
        .await;
    let engineer = with_cookie(db.app(), &cookie);
    let csrf = csrf_of(&engineer).await;
    let file = geojson(&[feature(
        json!({"code": secret_code, "percent": 1}),
        Value::Null,
    )]);
    let (_, headers, _) = upload(&engineer, &csrf, "mat.geojson", &file).await;
    let id = follow(&engineer, headers["location"].to_str().unwrap()).await;
    let uri = format!("/api/imports/{id}");
    assert_eq!(request(&engineer, &uri, &[]).await.0, StatusCode::OK);
    // Administrators read it only when cleared as high.
    for (clearance, expected) in [
        (Classification::Public, StatusCode::NOT_FOUND),
        (Classification::Internal, StatusCode::NOT_FOUND),
        (Classification::Confidential, StatusCode::NOT_FOUND),
        (Classification::Secret, StatusCode::OK),
    ] {
        let admin = db.app_as(UserRole::Admin, clearance).await;
        let (status, _, _) = request(&admin, &uri, &[]).await;
        assert_eq!(status, expected, "{clearance:?}");
        let (status, _, _) = request(&admin, &format!("/imports/{id}"), &[]).await;
        assert_eq!(status, expected, "{clearance:?} page");
        let (_, _, list) = request(&admin, "/imports", &[]).await;
        assert_eq!(
            list.contains("mat.geojson"),
            expected == StatusCode::OK,
            "{clearance:?} list"
        );
    }
    // The importer, once their clearance is lowered, no longer reads it either.
    client
        .execute(
            "UPDATE app_user SET clearance = 'internal' WHERE username = 'ks.toi.mat'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(request(&engineer, &uri, &[]).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_an_administrator_lowers_a_works_classification() {
    let db = TestDb::with_demo(120, 13).await;
    let client = db.client().await;
    let (code, district): (String, String) = {
        let r = client
            .query_one(
                "SELECT s.code, d.abbr FROM site s JOIN admin_unit d ON d.id = s.district_id AND s.geom IS NOT NULL
                  WHERE s.classification = 'confidential' ORDER BY s.code LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let engineer = Importer {
        user_id: None,
        name: "ks".into(),
        via: "web",
        clearance: Classification::Secret,
        declassify: false,
        districts: Some(
            client
                .query("SELECT id FROM admin_unit WHERE abbr = $1", &[&district])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect(),
        ),
    };
    let write = Options {
        dry_run: false,
        ..Options::default()
    };
    let file = |to: &str| {
        geojson(&[feature(
            json!({"code": code, "classification": to}),
            Value::Null,
        )])
    };
    let classification = || async {
        db.client()
            .await
            .query_one(
                "SELECT classification::text FROM site WHERE geom IS NOT NULL AND code = $1",
                &[&code],
            )
            .await
            .unwrap()
            .get::<_, String>(0)
    };
    for lower in ["public", "internal"] {
        let name = format!("lower-{lower}.geojson");
        let report = run_with(&db, &engineer, &name, &file(lower), &write).await;
        assert_eq!(report.outcome, "refused");
        assert_eq!(report.rows[0].errors[0].field, "classification");
        assert!(
            report.rows[0].errors[0]
                .en
                .contains("only an administrator may lower"),
            "{:?}",
            report.rows[0].errors
        );
        assert_eq!(classification().await, "confidential");
    }
    // Keeping or raising it is the engineer's to do.
    let report = run_with(&db, &engineer, "raise.geojson", &file("secret"), &write).await;
    assert_eq!(report.outcome, "committed", "{:?}", report.rows);
    assert_eq!(classification().await, "secret");
    // An administrator lowers it, and the audit chain keeps both values.
    let admin = Importer {
        declassify: true,
        districts: None,
        name: "quan.tri".into(),
        ..engineer.clone()
    };
    let report = run_with(
        &db,
        &admin,
        "lower-admin.geojson",
        &file("internal"),
        &write,
    )
    .await;
    assert_eq!(report.outcome, "committed", "{:?}", report.rows);
    assert_eq!(classification().await, "internal");
    assert_eq!(
        count(
            &client,
            &format!(
                "SELECT count(*) FROM audit_log WHERE entity_key = '{code}' AND actor = 'quan.tri'
                   AND before->>'classification' = 'secret' AND after->>'classification' = 'internal'"
            )
        )
        .await,
        1
    );
}
