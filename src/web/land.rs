//! `/sites/{code}/land`: a defence land parcel's land-use plan; administrators and budget
//! officers enter and correct it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::sites::{visible_site, LangQuery};
use super::{AppState, PageError};
use crate::db;
use crate::domain::{LandLegalStatus, LandUse};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::land::store::{self, LandError};
use crate::land::LandPlan;
use crate::views;
use crate::views::land::Outcome;

pub fn routes() -> Router<AppState> {
    Router::new().route("/sites/{code}/land", get(page).post(post))
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
    let site = visible_site(state, caller, code).await.map_err(fail)?;
    if site.kind != "defence_land" {
        return Err(fail(AppError::NotFound(format!(
            "{code} is not defence land: it has no land-use plan"
        ))));
    }
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let land = db::sites::land(&client, site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let form = caller
        .user
        .as_deref()
        .filter(|u| store::may_edit(u).is_ok())
        .map(|u| u.csrf_token.as_str());
    let page = views::land::page(lang, &site, &land, form, outcome);
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
struct LandForm {
    csrf: String,
    version: String,
    five_year: String,
    current_use: String,
    planned_use: String,
    legal_status: String,
    decision_no: String,
    decision_date: String,
}

/// The plan the form asks for, or what is wrong with it in the user's language.
fn plan_of(lang: Lang, f: &LandForm) -> Result<(LandPlan, i32), Vec<String>> {
    let bad = |field: &str, vi: &str, en: &str| format!("{field}: {}", lang.pick(vi, en));
    let mut wrong = Vec::new();
    let current = LandUse::from_code(f.current_use.trim());
    let planned = LandUse::from_code(f.planned_use.trim());
    let legal = LandLegalStatus::from_code(f.legal_status.trim());
    let version = f.version.trim().parse::<i32>().ok();
    if current.is_none() || planned.is_none() {
        wrong.push(bad("use", "không có mục đích sử dụng này.", "no such use."));
    }
    if legal.is_none() {
        wrong.push(bad(
            "legal_status",
            "không có tình trạng này.",
            "no such status.",
        ));
    }
    let (number, date) = (f.decision_no.trim(), f.decision_date.trim());
    let decision = match (number.is_empty(), date.is_empty()) {
        (true, true) => None,
        (false, false) => match crate::params::parse_date(date) {
            Some(d) => Some((number.to_string(), d)),
            None => {
                wrong.push(bad("decision_date", "không phải ngày.", "not a date."));
                None
            }
        },
        _ => {
            wrong.push(bad(
                "decision",
                "cần cả số và ngày quyết định.",
                "give both the decision's number and date.",
            ));
            None
        }
    };
    match (current, planned, legal, version) {
        (Some(current_use), Some(planned_use), Some(legal_status), Some(v)) if wrong.is_empty() => {
            let five_year = f.five_year.trim().to_string();
            Ok((
                LandPlan {
                    five_year,
                    current_use,
                    planned_use,
                    legal_status,
                    decision,
                },
                v,
            ))
        }
        _ => Err(wrong),
    }
}

async fn post(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<LandForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller.user().map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    let (plan, version) = match plan_of(lang, &form) {
        Ok(p) => p,
        Err(wrong) => {
            return render(&state, &caller, &code, lang, refused, Some(&(false, wrong))).await
        }
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let (status, outcome) = match store::save(&mut client, &user, &code, &plan, version).await {
        Ok(_) => (StatusCode::OK, (true, vec![])),
        Err(LandError::Rules(wrong)) => {
            let messages = wrong
                .into_iter()
                .map(|(f, vi, en)| format!("{f}: {}", lang.pick(&vi, &en)));
            (refused, (false, messages.collect()))
        }
        Err(LandError::Conflict { .. }) => (
            StatusCode::CONFLICT,
            (
                false,
                vec![lang
                    .pick(
                        "Quy hoạch vừa được người khác sửa; đây là số liệu mới nhất.",
                        "Someone changed the plan meanwhile; these are the newest figures.",
                    )
                    .to_string()],
            ),
        ),
        Err(LandError::Forbidden(reason)) => return Err(fail(AppError::Forbidden(reason))),
        Err(LandError::NotFound(code)) => {
            return Err(fail(AppError::NotFound(format!(
                "no defence land work '{code}'"
            ))))
        }
        Err(LandError::Db(e)) => return Err(fail(e.into())),
    };
    render(&state, &caller, &code, lang, status, Some(&outcome)).await
}
