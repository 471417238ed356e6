//! Budget lines: the officer's page (`/sites/{code}/budget`) and its JSON twin
//! (`PUT /api/sites/{code}/budget/{year}/{source}`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::caller::Caller;
use super::sites::{visible_site, LangQuery};
use super::{AppState, PageError};
use crate::budget::ceiling::{self, CeilingUpdate};
use crate::budget::rules::{Amounts, Ceiling};
use crate::budget::store::{self, BudgetError, LineUpdate};
use crate::db;
use crate::domain::{FundingSource, UserRole};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;
use crate::views::budget::Outcome;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{code}/budget", get(page).post(post))
        .route("/sites/{code}/ceiling", axum::routing::post(post_ceiling))
        .route("/api/sites/{code}/budget/{year}/{source}", put(api_put))
}

fn officer(caller: &Caller) -> Result<&crate::accounts::sessions::SessionUser, AppError> {
    caller.with_role(&[UserRole::BudgetOfficer])
}

async fn render(
    state: &AppState,
    caller: &Caller,
    code: &str,
    lang: Lang,
    status: StatusCode,
    outcome: Option<&Outcome>,
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    let user = officer(caller).map_err(fail)?;
    let site = visible_site(state, caller, code).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let lines = db::sites::budget(&client, site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let ceilings = db::sites::ceilings(&client, site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let page = views::budget::page(lang, &site, &lines, &ceilings, &user.csrf_token, outcome);
    Ok((status, page).into_response())
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    render(&state, &caller, &code, lang, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
struct LineForm {
    csrf: String,
    version: String,
    year: String,
    source: String,
    estimate: String,
    allocated: String,
    disbursed: String,
    settled: String,
}

/// Whole đồng as people type them: "1.234.567", "1,234,567" or "1 234 567".
fn parse_vnd(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, '.' | ',' | ' ' | '\u{a0}'))
        .collect();
    digits.parse().ok()
}

async fn post(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<LineForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = officer(&caller).map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let line = match line_of(lang, code.clone(), &form) {
        Ok(line) => line,
        Err(messages) => {
            let outcome = Outcome {
                ok: false,
                messages,
                warnings: vec![],
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render(&state, &caller, &code, lang, status, Some(&outcome)).await;
        }
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let (status, outcome) = match store::save(&mut client, &user, &line).await {
        Ok(saved) => {
            for (layer, version) in &saved.budget_versions {
                state.saw_version(layer, *version);
            }
            (
            StatusCode::OK,
            Outcome { ok: true, messages: vec![], warnings: saved.warnings.iter().map(|w| w.message(lang).to_string()).collect() },
        )
        }
        Err(BudgetError::Rules(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Outcome { ok: false, messages: errors.iter().map(|e| e.message(lang).to_string()).collect(), warnings: vec![] },
        ),
        Err(BudgetError::Conflict { .. }) => (
            StatusCode::CONFLICT,
            Outcome {
                ok: false,
                messages: vec![lang.pick("Dòng này vừa được người khác sửa; bảng dưới đây là số liệu mới nhất.",
                                         "Someone changed this line meanwhile; the table below has the newest figures.").to_string()],
                warnings: vec![],
            },
        ),
        Err(e) => return Err(fail(e.into())),
    };
    render(&state, &caller, &code, lang, status, Some(&outcome)).await
}

#[derive(Debug, Deserialize)]
struct CeilingForm {
    csrf: String,
    version: String,
    year: String,
    source: String,
    ceiling: String,
    decision_no: String,
    decision_date: String,
}

/// A ceiling entered or amended (the latest decision replaces the amount it had).
async fn post_ceiling(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<CeilingForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = officer(&caller).map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let refused = |messages: Vec<String>| Outcome {
        ok: false,
        messages,
        warnings: vec![],
    };
    let update = match ceiling_of(lang, code.clone(), &form) {
        Ok(update) => update,
        Err(messages) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render(
                &state,
                &caller,
                &code,
                lang,
                status,
                Some(&refused(messages)),
            )
            .await;
        }
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let (status, outcome) = match ceiling::save(&mut client, &user, &update).await {
        Ok(saved) => {
            for (layer, version) in &saved.budget_versions {
                state.saw_version(layer, *version);
            }
            let warnings = saved.warnings.iter().map(|w| w.message(lang).to_string());
            let outcome = Outcome { ok: true, messages: vec![], warnings: warnings.collect() };
            (StatusCode::OK, outcome)
        }
        Err(BudgetError::Rules(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            refused(errors.iter().map(|e| e.message(lang).to_string()).collect()),
        ),
        Err(BudgetError::Conflict { .. }) => (
            StatusCode::CONFLICT,
            refused(vec![lang
                .pick("Năm và nguồn vốn này đã có kế hoạch trung hạn, hoặc vừa được người khác sửa; bảng dưới đây là số liệu mới nhất, sửa tại dòng của nó.",
                      "This year and source already has a ceiling, or someone changed it meanwhile; the table below has the newest figures: amend it in its row.")
                .to_string()]),
        ),
        Err(e) => return Err(fail(e.into())),
    };
    render(&state, &caller, &code, lang, status, Some(&outcome)).await
}

/// The ceiling the form asks for, or what is wrong with it, in the user's language.
fn ceiling_of(lang: Lang, code: String, form: &CeilingForm) -> Result<CeilingUpdate, Vec<String>> {
    let mut messages = Vec::new();
    let amount = parse_vnd(&form.ceiling);
    if amount.is_none() {
        messages.push(format!(
            "ceiling: {}",
            lang.pick("không phải số tiền.", "not an amount.")
        ));
    }
    let date = crate::params::parse_date(form.decision_date.trim());
    if date.is_none() {
        messages.push(format!(
            "decision_date: {}",
            lang.pick("không phải ngày.", "not a date.")
        ));
    }
    let year = form.year.trim().parse::<i16>().ok();
    let source = FundingSource::from_code(form.source.trim());
    let version = form.version.trim().parse::<i32>().ok();
    if year.is_none() || source.is_none() || version.is_none() {
        messages.push(
            lang.pick(
                "Năm, nguồn vốn hoặc phiên bản không hợp lệ.",
                "Bad year, source or version.",
            )
            .to_string(),
        );
    }
    match (year, source, version, amount, date) {
        (Some(year), Some(source), Some(version), Some(amount), Some(decision_date))
            if messages.is_empty() =>
        {
            let decision_no = form.decision_no.clone();
            let ceiling = Ceiling {
                amount,
                decision_no,
                decision_date,
            };
            Ok(CeilingUpdate {
                code,
                year,
                source,
                ceiling,
                version,
            })
        }
        _ => Err(messages),
    }
}

/// The line the form asks for, or what is wrong with it, in the user's language.
fn line_of(lang: Lang, code: String, form: &LineForm) -> Result<LineUpdate, Vec<String>> {
    let mut messages = Vec::new();
    let mut amount = |name: &str, text: &str| {
        parse_vnd(text).unwrap_or_else(|| {
            messages.push(format!(
                "{name}: {}",
                lang.pick("không phải số tiền.", "not an amount.")
            ));
            0
        })
    };
    let amounts = Amounts {
        estimate: amount("estimate", &form.estimate),
        allocated: amount("allocated", &form.allocated),
        disbursed: amount("disbursed", &form.disbursed),
        settled: amount("settled", &form.settled),
    };
    let year = form.year.trim().parse::<i16>().ok();
    let source = FundingSource::from_code(form.source.trim());
    let version = form.version.trim().parse::<i32>().ok();
    let (Some(year), Some(source), Some(version)) = (year, source, version) else {
        messages.push(
            lang.pick(
                "Năm, nguồn vốn hoặc phiên bản không hợp lệ.",
                "Bad year, source or version.",
            )
            .to_string(),
        );
        return Err(messages);
    };
    if !messages.is_empty() {
        return Err(messages);
    }
    Ok(LineUpdate {
        code,
        year,
        source,
        amounts,
        version,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineBody {
    estimate: i64,
    allocated: i64,
    disbursed: i64,
    settled: i64,
    /// 0 for a new line.
    version: i32,
}

async fn api_put(
    State(state): State<AppState>,
    caller: Caller,
    Path((code, year, source)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let user = officer(&caller)?.clone();
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let year: i16 = year
        .parse()
        .map_err(|_| AppError::bad_request("year", format!("'{year}' is not a year")))?;
    let source = FundingSource::from_code(&source).ok_or_else(|| {
        let known: Vec<&str> = FundingSource::ALL.iter().map(|s| s.code()).collect();
        AppError::bad_request(
            "source",
            format!("no source '{source}'; sources are {}", known.join(", ")),
        )
    })?;
    let body: LineBody = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("body", format!("not a budget line: {e}")))?;
    visible_site(&state, &caller, &code).await?;
    let line = LineUpdate {
        code,
        year,
        source,
        amounts: Amounts {
            estimate: body.estimate,
            allocated: body.allocated,
            disbursed: body.disbursed,
            settled: body.settled,
        },
        version: body.version,
    };
    let mut client = state.db().await?;
    match store::save(&mut client, &user, &line).await {
        Ok(saved) => {
            for (layer, version) in &saved.budget_versions {
                state.saw_version(layer, *version);
            }
            Ok(Json(json!({ "version": saved.version, "warnings": saved.warnings })).into_response())
        }
        Err(BudgetError::Rules(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "the line breaks the budget rules", "status": 422, "violations": errors })),
        )
            .into_response()),
        Err(BudgetError::Conflict { expected, current, amounts }) => Ok((
            StatusCode::CONFLICT,
            Json(json!({ "error": format!("the line changed since version {expected}"), "status": 409,
                         "current": { "version": current, "amounts": amounts } })),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
