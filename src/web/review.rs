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
use crate::progress::review::{self, ReviewError, Table};
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(page))
        .route("/review/{id}/{decision}", post(decide_progress))
        .route("/review/search/{id}/{decision}", post(decide_search))
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
    let (open, zones) = tokio::try_join!(
        review::open(&client, user.clearance),
        crate::search::review::open(&client, user.clearance),
    )
    .map_err(|e| fail(e.into()))?;
    let mut maps = std::collections::HashMap::new();
    for site_id in open
        .iter()
        .map(|s| s.site_id)
        .chain(zones.iter().map(|s| s.site_id))
    {
        if let std::collections::hash_map::Entry::Vacant(e) = maps.entry(site_id) {
            let map = crate::db::sites::site_map(&client, site_id)
                .await
                .map_err(|e| fail(e.into()))?;
            e.insert(map);
        }
    }
    let items = views::review::Items {
        progress: &open,
        search: &zones,
        maps: &maps,
    };
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

async fn decide_progress(
    state: State<AppState>,
    caller: Caller,
    Path((id, decision)): Path<(String, String)>,
    q: Query<LangQuery>,
    form: Form<Decision>,
) -> Result<Response, PageError> {
    decide(state, caller, (Table::Progress, id, decision), q, form).await
}

async fn decide_search(
    state: State<AppState>,
    caller: Caller,
    Path((id, decision)): Path<(String, String)>,
    q: Query<LangQuery>,
    form: Form<Decision>,
) -> Result<Response, PageError> {
    decide(state, caller, (Table::Search, id, decision), q, form).await
}

/// Approves or returns (with the form's reason) the submission of `table` the path names:
/// `approve` or `return`.
async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    (table, id, decision): (Table, String, String),
    Query(q): Query<LangQuery>,
    Form(form): Form<Decision>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    // Who may decide, and on what, before which decision: a visitor learns nothing here.
    let (user, id, mut client) = deciding(&state, &caller, &id, &form).await.map_err(fail)?;
    let approving = match decision.as_str() {
        "approve" => true,
        "return" => false,
        _ => {
            return Err(fail(AppError::NotFound(format!(
                "no decision '{decision}'"
            ))))
        }
    };
    let decided = if approving {
        approved(&state, &mut client, &user, table, id)
            .await
            .map_err(fail)?
    } else {
        let reason = form.reason.as_deref().unwrap_or("");
        review::send_back_from(&mut client, &user, table, id, reason).await
    };
    match decided {
        Ok(()) => Ok(Redirect::to(&format!("/review?lang={}", lang.code())).into_response()),
        Err(e) => {
            drop(client);
            refused(&state, &user, lang, e).await
        }
    }
}

/// Approves submission `id` of `table`; once applied, the writer's next tile and dashboard
/// show it (as after any update).
async fn approved(
    state: &AppState,
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    table: Table,
    id: i64,
) -> Result<Result<(), ReviewError>, AppError> {
    let today = today_in_vietnam();
    match table {
        Table::Progress => match review::approve(client, user, id, today).await {
            Ok(mut applied) => {
                let applied_one = std::slice::from_mut(&mut applied);
                crate::progress::store::committed_versions(&*client, applied_one).await?;
                super::progress::saw(state, &applied).await;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        },
        Table::Search => match crate::search::review::approve(client, user, id, today).await {
            Ok(_) => {
                for (layer, version) in crate::search::store::layer_versions(&*client).await? {
                    state.saw_version(&layer, version);
                }
                state.caught_up().await;
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(e)),
        },
    }
}
