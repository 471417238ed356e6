//! The service skeleton: probes, the first page, errors.

use crate::common::{count, get, TestDb};
use axum::http::StatusCode;
use kvpt::domain::{Classification, UserRole};
use scraper::{Html, Selector};

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(el: &scraper::ElementRef) -> String {
    el.text().collect::<String>().trim().to_string()
}

#[tokio::test]
async fn healthz_answers_without_the_database() {
    let db = TestDb::new().await;
    let app = db.app();
    db.drop_now().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["status"],
        "ok"
    );
}

#[tokio::test]
async fn readyz_is_ready_then_unavailable_when_the_database_is_gone() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    db.drop_now().await;
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "unavailable");
}

#[tokio::test]
async fn readyz_is_unavailable_while_migrations_are_pending() {
    let db = TestDb::empty().await;
    let (status, body) = get(&db.app(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("migration(s) pending"), "{body}");
}

#[tokio::test]
async fn home_page_counts_sites_per_kind_and_district() {
    let db = TestDb::with_demo(120, 3).await;
    // Anonymous visitors count public works only.
    let public = count(
        &db.client().await,
        "SELECT count(*) FROM site WHERE classification = 'public'",
    )
    .await;
    assert!(public > 0 && public < 120);
    let (status, body) = get(&db.app(), "/?f=html").await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(&body);
    assert_eq!(text(&select(&doc, "#total-sites")[0]), public.to_string());
    // Someone cleared for secret counts every work.
    let app = db.app_as(UserRole::Viewer, Classification::Secret).await;
    let (status, body) = get(&app, "/?f=html").await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(&body);
    assert_eq!(select(&doc, "html")[0].value().attr("lang"), Some("vi"));
    assert_eq!(text(&select(&doc, "#total-sites")[0]), "120");
    let kinds = select(&doc, "#by-kind tbody tr");
    assert_eq!(kinds.len(), 17, "the works' kinds and the investments'");
    let count = |row: &scraper::ElementRef| {
        text(
            &row.select(&Selector::parse("td.num").unwrap())
                .next()
                .unwrap(),
        )
    };
    let sum: i64 = kinds
        .iter()
        .map(|r| count(r).replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(sum, 120);
    let posts = kinds
        .iter()
        .find(|r| r.value().attr("data-kind") == Some("militia_post_combat_work"))
        .unwrap();
    assert!(text(posts).contains("Công trình chiến đấu chốt dân quân thường trực biên giới"));
    let districts = select(&doc, "#by-district tbody tr");
    assert!(
        (10..=11).contains(&districts.len()),
        "nine districts, Cambodia and the province-wide investments, if any"
    );
    let sum: i64 = districts
        .iter()
        .map(|r| count(r).replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(sum, 120);
}

#[tokio::test]
async fn home_page_speaks_english_when_asked() {
    let db = TestDb::with_demo(30, 3).await;
    let (status, body) = get(&db.app(), "/?lang=en&f=html").await;
    assert_eq!(status, StatusCode::OK);
    let doc = Html::parse_document(&body);
    assert_eq!(select(&doc, "html")[0].value().attr("lang"), Some("en"));
    assert_eq!(text(&select(&doc, "h1")[0]), "What is loaded");
    assert_eq!(
        select(&doc, "a.lang")[0].value().attr("href"),
        Some("/?lang=vi")
    );
}

#[tokio::test]
async fn home_page_says_the_database_is_unavailable_in_vietnamese() {
    let db = TestDb::new().await;
    let app = db.app();
    db.drop_now().await;
    let (status, body) = get(&app, "/?f=html").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let doc = Html::parse_document(&body);
    assert!(
        text(&select(&doc, ".message")[0]).contains("Cơ sở dữ liệu tạm thời không truy cập được")
    );
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_users_language() {
    let db = TestDb::new().await;
    let app = db.app();
    let (status, body) = get(&app, "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text(&select(&Html::parse_document(&body), ".message")[0]).contains("Không tìm thấy"));
    let (status, body) = get(&app, "/no-such-page?lang=en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text(&select(&Html::parse_document(&body), ".message")[0]).contains("does not exist"));
}

#[test]
fn named_constraints_map_to_4xx_and_outages_to_503() {
    use kvpt::db::DbError;
    use kvpt::error::AppError;
    let conflict = AppError::from(DbError::Constraint {
        constraint: "site_code_key".into(),
        message: "dup".into(),
    });
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let invalid = AppError::from(DbError::Constraint {
        constraint: "budget_line_disbursed_within_allocated".into(),
        message: kvpt::db::constraint_message("budget_line_disbursed_within_allocated")
            .unwrap()
            .into(),
    });
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.to_string(), "disbursed cannot exceed allocated");
    assert_eq!(
        AppError::from(DbError::Unavailable {
            reason: "gone".into()
        })
        .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        AppError::from(DbError::Data("boom".into())).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
