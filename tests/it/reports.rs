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

/// The text of the element `id` of a page ("1.234" of `<dd id="late"><a …>1.234</a></dd>`).
fn text_of(page: &scraper::Html, id: &str) -> String {
    page.select(&scraper::Selector::parse(&format!("#{id}")).unwrap())
        .next()
        .unwrap_or_else(|| panic!("#{id} in the page"))
        .text()
        .collect::<String>()
        .trim()
        .to_string()
}

/// A report's figures are the dashboard's for the same day and scope (`query`: `as_of`
/// and any of `programme`, `district`, `kind`): the headline figures and money, the tables
/// by kind, by district and by year × source, the flags, the late works and search coverage.
pub(crate) async fn assert_has_the_dashboards_figures(
    app: &axum::Router,
    doc: &Value,
    query: &str,
) {
    let text = all_text(doc);
    let (status, _, page) = request(app, &format!("/dashboard?lang=vi&{query}"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{query}");
    let page = scraper::Html::parse_document(&page);
    let headline = format!(
        "có {} công trình, đã hoàn thành hoặc bàn giao {} (",
        text_of(&page, "total"),
        text_of(&page, "done")
    );
    assert!(text.contains(&headline), "{headline} ({query}) in:\n{text}");
    let progress = format!(
        "; {} công trình chậm tiến độ. Tiến độ bình quân {}, tiến độ theo vốn {}.",
        text_of(&page, "late"),
        text_of(&page, "mean"),
        text_of(&page, "weighted")
    );
    assert!(text.contains(&progress), "{progress} ({query})");
    for (first, table_name) in [("Loại công trình", "by_kind"), ("Huyện", "by_district")] {
        let want = csv(app, &format!("table={table_name}&{query}")).await;
        let rows = table(doc, first);
        assert_eq!(rows.len(), want.len() + 1, "{table_name} ({query})");
        for (row, want) in rows[1..].iter().zip(&want) {
            let done: i64 = want[6].parse::<i64>().unwrap() + want[7].parse::<i64>().unwrap();
            let going: i64 = want[4].parse::<i64>().unwrap() + want[5].parse::<i64>().unwrap();
            assert_eq!(
                row[1].as_str().unwrap(),
                vnd(&want[2]),
                "{row} total ({query})"
            );
            assert_eq!(
                row[2].as_str().unwrap(),
                vnd(&done.to_string()),
                "{row} done ({query})"
            );
            assert_eq!(
                row[4].as_str().unwrap(),
                vnd(&going.to_string()),
                "{row} under way ({query})"
            );
            assert_eq!(
                row[5].as_str().unwrap(),
                vnd(&want[12]),
                "{row} late ({query})"
            );
            let mean = match want[10].as_str() {
                "" => "—".to_string(),
                v => format!(
                    "{}%",
                    kvpt::i18n::format_decimal(v.parse().unwrap(), 1, kvpt::i18n::Lang::Vi)
                ),
            };
            assert_eq!(row[6].as_str().unwrap(), mean, "{row} mean ({query})");
        }
    }
    assert!(text.contains("Đơn vị tính: triệu đồng"));
    let plan = csv(app, &format!("table=plan&{query}")).await;
    let years = table(doc, "Năm");
    assert_eq!(years.len(), plan.len() + 1, "plan ({query})");
    let mut money = [0i64; 4];
    for (row, want) in years[1..].iter().zip(&plan) {
        assert_eq!(row[0].as_str().unwrap(), want[0]);
        for (col, field) in [(2, 2), (3, 3), (4, 4), (5, 5)] {
            // (In millions of đồng, as the unit line above the table says.)
            let million =
                kvpt::i18n::format_million_vnd(want[field].parse().unwrap(), kvpt::i18n::Lang::Vi);
            assert_eq!(row[col].as_str().unwrap(), million, "{row} ({query})");
            money[col - 2] += want[field].parse::<i64>().unwrap();
        }
    }
    let [estimate, allocated, disbursed, settled] = money.map(|m| vnd(&m.to_string()));
    let sentence = format!(
        "Kinh phí: dự toán {estimate} đồng, phân bổ {allocated} đồng, giải ngân {disbursed} đồng (tỷ lệ giải ngân {}), quyết toán {settled} đồng.",
        text_of(&page, "disbursement-rate")
    );
    assert!(text.contains(&sentence), "{sentence} ({query})");
    let flags = csv(app, &format!("table=flags&{query}")).await;
    let flag = |k: &str| vnd(&flags.iter().find(|r| r[0] == k).unwrap()[1]);
    let sentence = format!(
        "Cảnh báo: giải ngân vượt tiến độ {} công trình; đã quyết toán nhưng chưa hoàn thành {}; hoàn thành nhưng chưa giải ngân {}; lâu không cập nhật {}; phân bổ vượt kế hoạch trung hạn được giao {}.",
        flag("ahead"), flag("settled_not_done"), flag("done_nothing_disbursed"), flag("stale"), flag("over_ceiling")
    );
    assert!(text.contains(&sentence), "{sentence} ({query})");
    // The late works listed are the dashboard's list's first ones.
    let (status, _, late_page) =
        request(app, &format!("/dashboard/flags/late?lang=vi&{query}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let late_rows = doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_array().unwrap())
        .find(|t| t[0][0].as_str() == Some("Mã") && t[0][2].as_str() == Some("Huyện"));
    let listed = late_rows.map_or(0, |t| t.len() - 1);
    assert_eq!(
        listed as i64,
        text_of(&page, "late")
            .replace('.', "")
            .parse::<i64>()
            .unwrap()
            .min(kvpt::report::REPORT_LIST_LIMIT),
        "late works listed ({query})"
    );
    for row in late_rows.into_iter().flatten().skip(1) {
        let code = row[0].as_str().unwrap();
        assert!(
            late_page.contains(&format!(">{code}<")),
            "{code} late ({query})"
        );
    }
    let search = csv(app, &format!("table=search&{query}")).await;
    let get = |k: &str| search.iter().find(|r| r[0] == k).unwrap()[1].clone();
    let ha = |k: &str| kvpt::i18n::format_decimal(get(k).parse().unwrap(), 1, kvpt::i18n::Lang::Vi);
    let sentence = format!(
        "Kết luận địa bàn, vẽ bản đồ: {}/{} huyện, {}/{} xã, {}/{} địa bàn đơn vị tại Campuchia; {} khu vực, đã kết luận {}; diện tích đã tìm kiếm {} ha trên {} ha; hài cốt tìm thấy {}/{} dự kiến.",
        get("districts_done"), get("districts_total"), get("communes_done"), get("communes_total"),
        get("abroad_areas_done"), get("abroad_areas_total"), vnd(&get("zones")), vnd(&get("zones_concluded")),
        ha("concluded_area_ha"), ha("zone_area_ha"), vnd(&get("remains_found")), vnd(&get("remains_expected"))
    );
    assert!(text.contains(&sentence), "{sentence} ({query}) in:\n{text}");
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
    assert_has_the_dashboards_figures(&app, &doc, "as_of=2025-12-31").await;
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

/// Random users (role, clearance) and scopes (programme, district, kind): a report holds no
/// work above the user's clearance, is marked with the highest classification of the works
/// it counts, counts exactly the works of its scope the user may see, and has the
/// dashboard's figures for the same scope.
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
    let kinds = [
        "",
        "",
        "militia_post_combat_work",
        "remains_search_zone",
        "warehouse",
        "defence_land",
        "procurement",
    ];
    let roles = [
        UserRole::Viewer,
        UserRole::Engineer,
        UserRole::BudgetOfficer,
        UserRole::Reviewer,
        UserRole::Admin,
    ];
    for i in 0..10 {
        let clearance = levels[rng.random_range(0..levels.len())];
        let programme = programmes[rng.random_range(0..programmes.len())];
        let district = districts[rng.random_range(0..districts.len())];
        let kind = kinds[rng.random_range(0..kinds.len())];
        let role = roles[rng.random_range(0..roles.len())];
        let app = db.app_as(role, clearance).await;
        let query =
            format!("as_of=2025-12-31&programme={programme}&district={district}&kind={kind}");
        let (status, marking, docx) = fetch(&app, &query, "docx").await;
        assert_eq!(status, StatusCode::OK, "{query}");
        let doc = read_docx(&docx, &format!("random-{i}.docx")).await;
        let text = all_text(&doc);
        assert_has_the_dashboards_figures(&app, &doc, &query).await;
        let scope = format!(
            "classification <= '{}' AND ('{programme}' = '' OR programme::text = '{programme}')
             AND ('{district}' = '' OR district_id = (SELECT id FROM admin_unit WHERE level = 'district' AND code = '{district}'))
             AND ('{kind}' = '' OR kind = '{kind}')
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
