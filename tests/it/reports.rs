//! Issue 24 §7: official reports. A report from the demo, read back by independent readers
//! (python-docx for the DOCX, pdftotext for the PDF, LibreOffice for a picture of its first
//! page), has the administrative layout of Nghị định 30/2020, the dashboard's figures for the
//! same day and scope, the highest classification it holds as its mark, is logged, and holds
//! nothing above the requester's clearance (random users and scopes).

use crate::common::{call_bytes, count, request, TestDb};
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Where the test leaves its files (the first page's picture is looked at by people).
fn out_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A report downloaded: status, marking header, bytes.
pub(crate) async fn fetch(
    app: &axum::Router,
    query: &str,
    format: &str,
) -> (StatusCode, String, Vec<u8>) {
    let uri = format!("/reports/bao-cao.{format}?{query}");
    let (status, headers, body) = call_bytes(app, "GET", &uri, &[], "").await;
    let marking = headers
        .get("x-kvpt-marking")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, marking, body.to_vec())
}

/// The DOCX read by python-docx.
pub(crate) async fn read_docx(bytes: &[u8], name: &str) -> Value {
    let path = out_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    let script = format!("{}/tests/python/docx_text.py", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&path)
        .output()
        .await
        .expect("python3 with python-docx (make test-tools)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn all_text(doc: &Value) -> String {
    let mut text: Vec<String> = doc["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    for t in doc["tables"].as_array().unwrap() {
        for row in t.as_array().unwrap() {
            for c in row.as_array().unwrap() {
                text.push(c.as_str().unwrap().to_string());
            }
        }
    }
    text.join("\n")
}

/// The table whose header row starts with `first`.
fn table<'a>(doc: &'a Value, first: &str) -> &'a Vec<Value> {
    doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_array().unwrap())
        .find(|t| t[0][0].as_str() == Some(first))
        .unwrap_or_else(|| panic!("a table headed {first}"))
}

/// A dashboard CSV as rows.
async fn csv(app: &axum::Router, query: &str) -> Vec<Vec<String>> {
    let (status, _, body) = request(app, &format!("/dashboard.csv?{query}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn vnd(v: &str) -> String {
    kvpt::i18n::format_int(v.parse().unwrap(), kvpt::i18n::Lang::Vi)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_from_the_demo_has_the_dashboards_figures_in_the_official_layout() {
    let db = TestDb::with_demo(500, 71).await;
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let query = "as_of=2025-12-31&number=15%2FBC-BCH&signer=Ch%E1%BB%89+huy+tr%C6%B0%E1%BB%9Fng&signer_name=Nguy%E1%BB%85n+V%C4%83n+A&from=2025-10-01";
    let (status, marking, docx) = fetch(&app, query, "docx").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&docx));
    assert_eq!(marking, "secret", "the demo has secret works");
    let doc = read_docx(&docx, "bao-cao.docx").await;
    let text = all_text(&doc);
    // Nghị định 30: A4, margins, the blocks of the first and last parts.
    assert_eq!(doc["page_mm"], serde_json::json!([210, 297]));
    assert_eq!(doc["margins_mm"], serde_json::json!([20, 20, 30, 15]));
    for expected in [
        "UBND TỈNH TÂY NINH",
        "BỘ CHỈ HUY QUÂN SỰ TỈNH",
        "Số: 15/BC-BCH",
        "TỐI MẬT",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BÁO CÁO",
        "Kết quả thực hiện nhiệm vụ xây dựng khu vực phòng thủ toàn tỉnh đến ngày 31/12/2025",
        "Nơi nhận:",
        "CHỈ HUY TRƯỞNG",
        "Nguyễn Văn A",
        "Từ ngày 01/10/2025 đến ngày 31/12/2025",
    ] {
        assert!(text.contains(expected), "{expected} in:\n{text}");
    }
    let today = kvpt::i18n::today_in_vietnam();
    assert!(text.contains(&format!(
        "Tây Ninh, ngày {}",
        today.format("%d tháng %m năm %Y")
    )));
    assert_eq!(doc["pictures"], 1, "the map figure");
    // The figures are the dashboard's for the same day.
    let by_kind = csv(&app, "table=by_kind&as_of=2025-12-31").await;
    let kinds = table(&doc, "Loại công trình");
    assert_eq!(kinds.len(), by_kind.len() + 1);
    for (row, want) in kinds[1..].iter().zip(&by_kind) {
        let done: i64 = want[6].parse::<i64>().unwrap() + want[7].parse::<i64>().unwrap();
        assert_eq!(row[1].as_str().unwrap(), vnd(&want[2]), "{row} total");
        assert_eq!(
            row[2].as_str().unwrap(),
            vnd(&done.to_string()),
            "{row} done"
        );
        assert_eq!(row[5].as_str().unwrap(), vnd(&want[12]), "{row} late");
    }
    let plan = csv(&app, "table=plan&as_of=2025-12-31").await;
    let years = table(&doc, "Năm");
    assert_eq!(years.len(), plan.len() + 1);
    for (row, want) in years[1..].iter().zip(&plan) {
        assert_eq!(row[0].as_str().unwrap(), want[0]);
        for (col, field) in [(2, 2), (3, 3), (4, 4), (5, 5)] {
            assert_eq!(row[col].as_str().unwrap(), vnd(&want[field]), "{row}");
        }
    }
    let search = csv(&app, "table=search&as_of=2025-12-31").await;
    let get = |k: &str| search.iter().find(|r| r[0] == k).unwrap()[1].clone();
    assert!(text.contains(&format!(
        "{}/{} huyện, {}/{} xã",
        get("districts_done"),
        get("districts_total"),
        get("communes_done"),
        get("communes_total")
    )));
    // The PDF, read by pdftotext.
    let (status, _, pdf) = fetch(&app, query, "pdf").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert!(pdf.starts_with(b"%PDF"));
    let pdf_path = out_dir().join("bao-cao.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    let out = tokio::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .await
        .expect("pdftotext (poppler-utils)");
    let pdf_text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "BÁO CÁO",
        "TỐI MẬT",
        "Nơi nhận:",
        "15/BC-BCH",
    ] {
        assert!(
            pdf_text.contains(expected),
            "{expected} in the PDF:\n{pdf_text}"
        );
    }
    // LibreOffice opened the DOCX (the PDF is its rendering); a picture of the first page,
    // for people to look at: target/report-test/bao-cao-first-page.png.
    let first = out_dir().join("bao-cao-first-page");
    let made = tokio::process::Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf_path)
        .arg(&first)
        .status()
        .await
        .expect("pdftoppm (poppler-utils)");
    assert!(made.success());
    let page = image::open(first.with_extension("png")).unwrap();
    assert!(page.height() > page.width(), "a portrait A4 page");
    // Both are logged, with what was sent.
    let client = db.client().await;
    let rows = client
        .query("SELECT format, marking::text, bytes, sha256, as_of::text, number FROM report_log ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let sha = |b: &[u8]| {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(b))
    };
    for (row, (format, bytes)) in rows.iter().zip([("docx", &docx), ("pdf", &pdf)]) {
        assert_eq!(row.get::<_, String>(0), format);
        assert_eq!(row.get::<_, String>(1), "secret");
        assert_eq!(row.get::<_, i64>(2), bytes.len() as i64);
        assert_eq!(row.get::<_, String>(3), sha(bytes));
        assert_eq!(row.get::<_, String>(4), "2025-12-31");
        assert_eq!(row.get::<_, String>(5), "15/BC-BCH");
    }
    // The page lists them; visitors who have not signed in get no report.
    let (status, _, page) = request(&app, "/reports", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("report-log") && page.contains("15/BC-BCH"));
    // An administrator sees everyone's reports, but not one marked above their clearance.
    for (clearance, shown) in [
        (Classification::Internal, false),
        (Classification::Secret, true),
    ] {
        let admin = db.app_as(UserRole::Admin, clearance).await;
        let (status, _, page) = request(&admin, "/reports", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page.contains("id=\"report-log\""), shown, "{clearance:?}");
    }
    let (status, _, _) = fetch(&db.app(), "", "docx").await;
    assert!(
        matches!(status, StatusCode::UNAUTHORIZED | StatusCode::SEE_OTHER),
        "{status}"
    );
    // Bad requests: 400 naming the field, in Vietnamese.
    for (query, says) in [
        ("as_of=2099-01-01", "ở tương lai"),
        ("programme=kvpt_2030", "không có chương trình"),
        ("as_of=2025-06-30&from=2025-07-01", "from"),
    ] {
        let (status, _, body) = fetch(&app, query, "docx").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(String::from_utf8_lossy(&body).contains(says), "{query}");
    }
    assert_eq!(fetch(&app, "", "odt").await.0, StatusCode::NOT_FOUND);
}

/// Random users (clearance) and scopes: a report holds no work above the user's clearance,
/// is marked with the highest classification of the works it counts, and counts exactly
/// the works of its scope the user may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_hold_nothing_above_clearance_and_carry_the_highest_mark_they_contain() {
    let db = TestDb::with_demo(300, 72).await;
    let client = db.client().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(72);
    let levels = [
        Classification::Public,
        Classification::Internal,
        Classification::Confidential,
        Classification::Secret,
    ];
    let programmes = ["", "kvpt_2017_2020", "kvpt_2021_2025", "mr7_roadmap"];
    let districts = ["", "705", "706", "711"];
    for i in 0..8 {
        let clearance = levels[rng.random_range(0..levels.len())];
        let programme = programmes[rng.random_range(0..programmes.len())];
        let district = districts[rng.random_range(0..districts.len())];
        let app = db.app_as(UserRole::Viewer, clearance).await;
        let query = format!("as_of=2025-12-31&programme={programme}&district={district}");
        let (status, marking, docx) = fetch(&app, &query, "docx").await;
        assert_eq!(status, StatusCode::OK, "{query}");
        let doc = read_docx(&docx, &format!("random-{i}.docx")).await;
        let text = all_text(&doc);
        let scope = format!(
            "classification <= '{}' AND ('{programme}' = '' OR programme::text = '{programme}')
             AND ('{district}' = '' OR district_id = (SELECT id FROM admin_unit WHERE level = 'district' AND code = '{district}'))
             AND created_at < '2026-01-01 00:00+07' AND (deleted_at IS NULL OR deleted_at >= '2026-01-01 00:00+07')",
            clearance.code()
        );
        let highest: Option<String> = client
            .query_one(
                &format!("SELECT max(classification)::text FROM site_all WHERE {scope}"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            marking,
            highest.clone().unwrap_or_else(|| "public".into()),
            "{clearance:?} {query}"
        );
        let mark = highest
            .as_deref()
            .and_then(Classification::from_code)
            .and_then(|c| c.mark());
        for m in ["TỐI MẬT", "MẬT"] {
            let shown = text.lines().any(|l| l.trim() == m);
            assert_eq!(shown, mark == Some(m), "{m}: {clearance:?} {query}");
        }
        let total = count(
            &client,
            &format!("SELECT count(*) FROM site_all WHERE {scope}"),
        )
        .await;
        assert!(
            text.contains(&format!(
                "có {} công trình",
                kvpt::i18n::format_int(total, kvpt::i18n::Lang::Vi)
            )),
            "{total} works: {clearance:?} {query}"
        );
        // No work above the clearance is named anywhere in it.
        let above = client
            .query(
                &format!(
                    "SELECT code FROM site_all WHERE classification > '{}'",
                    clearance.code()
                ),
                &[],
            )
            .await
            .unwrap();
        for r in above {
            let code: String = r.get(0);
            assert!(
                !text.contains(&code),
                "{code} above {clearance:?} in a report"
            );
        }
    }
}
