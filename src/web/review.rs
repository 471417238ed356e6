//! `/review`: reviewers and administrators approve or return the engineers' updates that
//! wait for review (issue 24 §6; only when the deployment reviews them).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::error::AppError;
use crate::i18n::{today_in_vietnam, Lang};
use crate::progress::review::{self, ReviewError};
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(page))
        .route("/review/{id}/approve", post(approve))
        .route("/review/{id}/return", post(send_back))
}

/// The caller, if they review.
fn reviewer(caller: &Caller) -> Result<SessionUser, AppError> {
    let user = caller.user()?;
    if !review::may_review(user) {
        return Err(AppError::Forbidden(format!(
            "reviewers and administrators review updates; you are {}",
            user.role.code()
        )));
    }
    Ok(user.clone())
}

/// The list, with the last decision's outcome.
async fn render(
    state: &AppState,
    user: &SessionUser,
    lang: Lang,
    status: StatusCode,
    outcome: Option<&(bool, String)>,
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let open = review::open(&client, user.clearance)
        .await
        .map_err(|e| fail(e.into()))?;
    let mut items = Vec::with_capacity(open.len());
    for s in open {
        let map = crate::db::sites::site_map(&client, s.site_id)
            .await
            .map_err(|e| fail(e.into()))?;
        items.push((s, map));
    }
    let page = views::review::page(lang, &items, &user.csrf_token, outcome);
    Ok((status, page).into_response())
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = reviewer(&caller).map_err(|e| PageError::new(lang, e))?;
    render(&state, &user, lang, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
struct Decision {
    csrf: Option<String>,
    reason: Option<String>,
}

/// The submission's id from the path: a bad one names no update (404).
fn id_of(id: &str) -> Result<i64, AppError> {
    id.parse()
        .map_err(|_| AppError::NotFound(format!("no update '{id}' waits for review")))
}

/// A decision refused: said on the list (409 when the work moved on, 422 otherwise).
async fn refused(
    state: &AppState,
    user: &SessionUser,
    lang: Lang,
    err: ReviewError,
) -> Result<Response, PageError> {
    let (status, message) = match err {
        ReviewError::Refused { vi, en } => {
            let status = if en.contains("changed since") {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (status, lang.pick(&vi, &en).to_string())
        }
        ReviewError::NotFound(id) => (
            StatusCode::NOT_FOUND,
            lang.pick(
                &format!("Cập nhật {id} không còn chờ duyệt (đã được người khác quyết định?)."),
                &format!("update {id} no longer waits for review (decided by someone else?)"),
            )
            .to_string(),
        ),
        ReviewError::Forbidden(reason) => {
            return Err(PageError::new(lang, AppError::Forbidden(reason)))
        }
        ReviewError::Progress(e) => return Err(PageError::new(lang, AppError::from(e))),
        ReviewError::Db(e) => return Err(PageError::new(lang, AppError::from(e))),
    };
    render(state, user, lang, status, Some(&(false, message))).await
}

/// Who decides which submission, over which connection: a reviewer, with the form's token.
async fn deciding(
    state: &AppState,
    caller: &Caller,
    id: &str,
    form: &Decision,
) -> Result<(SessionUser, i64, deadpool_postgres::Object), AppError> {
    let user = reviewer(caller)?;
    caller.check_csrf(form.csrf.as_deref())?;
    let id = id_of(id)?;
    Ok((user, id, state.db().await?))
}

async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<Decision>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let (user, id, mut client) = deciding(&state, &caller, &id, &form).await.map_err(fail)?;
    match review::approve(&mut client, &user, id, today_in_vietnam()).await {
        Ok(mut applied) => {
            // The writer's next tile and dashboard show it (as after any update).
            crate::progress::store::committed_versions(&client, std::slice::from_mut(&mut applied))
                .await
                .map_err(|e| fail(e.into()))?;
            super::progress::saw(&state, &applied).await;
            Ok(Redirect::to(&format!("/review?lang={}", lang.code())).into_response())
        }
        Err(e) => {
            drop(client);
            refused(&state, &user, lang, e).await
        }
    }
}

async fn send_back(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<Decision>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let (user, id, mut client) = deciding(&state, &caller, &id, &form).await.map_err(fail)?;
    let reason = form.reason.as_deref().unwrap_or("");
    match review::send_back(&mut client, &user, id, reason).await {
        Ok(()) => Ok(Redirect::to(&format!("/review?lang={}", lang.code())).into_response()),
        Err(e) => {
            drop(client);
            refused(&state, &user, lang, e).await
        }
    }
}
