//! `/reports` (the form and the reports generated lately) and `/reports/bao-cao.docx|pdf`:
//! an official report for a day and a scope, from the dashboard's figures, logged.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::caller::Caller;
use super::{AppState, PageError};
use crate::domain::UserRole;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::params::dashboard::{DashboardQuery, Scope};
use crate::report;
use crate::views;
use crate::views::dashboard::View;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(page))
        .route("/reports/{file}", get(generate))
}

#[derive(Debug, Default, Deserialize)]
struct ReportQuery {
    lang: Option<String>,
    as_of: Option<String>,
    from: Option<String>,
    programme: Option<String>,
    district: Option<String>,
    kind: Option<String>,
    number: Option<String>,
    signer: Option<String>,
    signer_name: Option<String>,
    counted: Option<String>,
}

/// The day and scope asked for, checked, with the districts a scope may name.
async fn view_of(state: &AppState, q: &ReportQuery) -> Result<View, AppError> {
    let scope = Scope::parse(
        q.programme.as_deref(),
        q.district.as_deref(),
        q.kind.as_deref(),
    )?;
    let d = state.flags;
    let asked = DashboardQuery::parse(
        q.as_of.as_deref(),
        None,
        None,
        (d.ahead_points, d.stale_days),
        scope,
    )?;
    let client = state.db().await?;
    Ok(View {
        as_of: asked.as_of,
        ahead_points: asked.ahead_points,
        stale_days: asked.stale_days,
        scope: asked.scope,
        districts: crate::db::areas::districts(&client).await?,
        submitted: crate::params::dashboard::parse_counted(q.counted.as_deref(), asked.as_of)?,
        review: crate::progress::review::is_on(&client).await?,
    })
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller.user().map_err(fail)?;
    let view = view_of(&state, &q).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    // Administrators see everyone's reports; others their own.
    let whose = (user.role != UserRole::Admin).then_some(user.id);
    let recent = report::log::recent(&client, whose, user.id, user.clearance, 20)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::reports::page(lang, &view, &recent).into_response())
}

/// A text field of the form: trimmed, at most `max` characters, else `default`.
fn field(
    value: &Option<String>,
    name: &str,
    max: usize,
    default: &str,
) -> Result<String, AppError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default.to_string()),
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => {
            Err(crate::params::ParamError::new(
                name,
                format!("at most {max} characters, no control characters"),
            )
            .vi(format!("tối đa {max} ký tự, không có ký tự điều khiển."))
            .into())
        }
        Some(v) => Ok(v.to_string()),
    }
}

/// The first day of the period: `from`, else the first of the as-of day's month.
fn period_start(q: &ReportQuery, as_of: chrono::NaiveDate) -> Result<chrono::NaiveDate, AppError> {
    use chrono::Datelike;
    let first = as_of.with_day(1).unwrap_or(as_of);
    match q.from.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(first),
        Some(v) => crate::params::parse_date(v)
            .filter(|d| *d <= as_of)
            .ok_or_else(|| {
                crate::params::ParamError::new(
                    "from",
                    format!("'{v}' is not a date on or before the report's day"),
                )
                .vi(format!(
                    "“{v}” không phải ngày từ ngày báo cáo trở về trước."
                ))
                .into()
            }),
    }
}

async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let format = match file.as_str() {
        "bao-cao.docx" => "docx",
        "bao-cao.pdf" => "pdf",
        _ => {
            return Err(fail(AppError::NotFound(format!(
                "no report '{file}'; reports are bao-cao.docx and bao-cao.pdf"
            ))))
        }
    };
    let user = caller.user().map_err(fail)?.clone();
    let view = view_of(&state, &q).await.map_err(fail)?;
    let request = request_of(&q, &view).map_err(fail)?;
    let p = super::dashboard::params(&view, &caller).map_err(fail)?;
    // Heavy as an export (LibreOffice for a PDF): admitted while the queue has room, then
    // in turn.
    let _admitted = state.heavy_work.admit().map_err(fail)?;
    let _permit = state.heavy.clone().acquire_owned().await;
    let dashboard = super::dashboard::load(&state, &p, caller.min_lsn)
        .await
        .map_err(fail)?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let works = dashboard.totals.total;
    let r = snapshot_gather(&mut client, &p, &dashboard, &request)
        .await
        .map_err(|e| fail(e.into()))?;
    let mut bytes = report::docx::write(&r).map_err(|e| fail(AppError::Internal(e.into())))?;
    if format == "pdf" {
        bytes = report::pdf::convert(&bytes)
            .await
            .map_err(|e| fail(AppError::Internal(e.into())))?;
    }
    let id = log(&client, &user, &view, &r, format, works, &bytes)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(download(format, r.as_of, id, r.marking, bytes))
}

/// The report's lists, map and marking, read in one snapshot.
async fn snapshot_gather(
    client: &mut deadpool_postgres::Object,
    p: &crate::db::dashboard::Params,
    dashboard: &crate::db::dashboard::Dashboard,
    request: &report::Request,
) -> Result<report::Report, crate::db::DbError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let r = report::gather(&tx, p, dashboard.clone(), request).await?;
    tx.commit().await?;
    Ok(r)
}

/// Logs the report `r` sent as `bytes`: its id.
async fn log(
    client: &deadpool_postgres::Object,
    user: &crate::accounts::sessions::SessionUser,
    view: &View,
    r: &report::Report,
    format: &str,
    works: i64,
    bytes: &[u8],
) -> Result<i64, crate::db::DbError> {
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let entry = report::log::Entry {
        user_id: Some(user.id),
        actor: &user.username,
        via: "web",
        number: &r.number,
        scope: serde_json::json!({
            "programme": view.scope.programme.map(|p| p.code()),
            "district": view.scope.district,
            "kind": view.scope.kind.map(|k| k.code()),
        }),
        as_of: r.as_of,
        from: r.from,
        format,
        marking: r.marking,
        works,
        bytes: bytes.len() as i64,
        sha256: &sha256,
    };
    report::log::record(client, &entry).await
}

/// The scope as the report's sentences name it: "toàn tỉnh", or "thuộc Đề án KVPT
/// 2021–2025, trên địa bàn Tân Biên, loại Kho tàng".
fn scope_words(view: &View) -> String {
    let s = &view.scope;
    let mut parts = Vec::new();
    if let Some(p) = s.programme {
        parts.push(format!("thuộc {}", p.label(Lang::Vi)));
    }
    if let Some(code) = &s.district {
        let name = view.districts.iter().find(|d| &d.code == code);
        parts.push(format!(
            "trên địa bàn {}",
            name.map_or(code.as_str(), |d| d.name_vi.as_str())
        ));
    }
    if let Some(k) = s.kind {
        parts.push(format!("loại {}", k.label(Lang::Vi).to_lowercase()));
    }
    if parts.is_empty() {
        "toàn tỉnh".into()
    } else {
        parts.join(", ")
    }
}

/// What the form asked for besides the day and scope.
fn request_of(q: &ReportQuery, view: &View) -> Result<report::Request, AppError> {
    let as_of = view.as_of.unwrap_or_else(crate::i18n::today_in_vietnam);
    let scope = scope_words(view);
    Ok(report::Request {
        number: field(&q.number, "number", 60, "……/BC-BCH")?,
        from: period_start(q, as_of)?,
        signer: (
            field(&q.signer, "signer", 100, "CHỈ HUY TRƯỞNG")?.to_uppercase(),
            field(&q.signer_name, "signer_name", 100, "")?,
        ),
        scope_label: scope,
        issued: crate::i18n::today_in_vietnam(),
        counted: (view.review || view.submitted).then(|| {
            if view.submitted {
                "Số liệu tính cả các cập nhật đang chờ duyệt.".to_string()
            } else {
                "Số liệu chỉ tính các cập nhật đã được duyệt.".to_string()
            }
        }),
    })
}

fn download(
    format: &str,
    as_of: chrono::NaiveDate,
    id: i64,
    marking: crate::domain::Classification,
    bytes: Vec<u8>,
) -> Response {
    let content_type = match format {
        "pdf" => "application/pdf",
        _ => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bao-cao-{as_of}.{format}\""),
            ),
            (
                header::HeaderName::from_static("x-kvpt-report-id"),
                id.to_string(),
            ),
            (
                header::HeaderName::from_static("x-kvpt-marking"),
                marking.code().to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}
