//! `/admin/users` (administrators): add accounts, change roles, clearances, units and
//! districts, disable accounts; each change audited, as on the command line.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::users::{self, NewUser, UserChange, UserError};
use crate::domain::{Classification, UserRole};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(page).post(add))
        .route("/admin/users/{username}", post(change))
}

async fn render(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    status: StatusCode,
    message: Option<(bool, &str)>,
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    let admin = caller.with_role(&[UserRole::Admin]).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let list = users::list(&client)
        .await
        .map_err(|e| fail(user_error(e)))?;
    Ok((
        status,
        views::admin::users(lang, &list, &admin.csrf_token, message),
    )
        .into_response())
}

fn user_error(err: UserError) -> AppError {
    match err {
        UserError::NotFound(name) => AppError::NotFound(format!("no user '{name}'")),
        UserError::Db(e) => e.into(),
        other => AppError::bad_request("user", other.to_string()),
    }
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    render(&state, &caller, lang, StatusCode::OK, None).await
}

fn districts_of(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Deserialize)]
struct AddForm {
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    clearance: String,
    unit: Option<String>,
    districts: Option<String>,
    password: String,
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let admin = caller.with_role(&[UserRole::Admin]).map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let (Some(role), Some(clearance)) = (
        UserRole::from_code(&form.role),
        Classification::from_code(&form.clearance),
    ) else {
        return Err(fail(AppError::bad_request(
            "role",
            "unknown role or clearance",
        )));
    };
    let user = NewUser {
        username: form.username.trim().to_string(),
        display_name: form.display_name.trim().to_string(),
        role,
        clearance,
        unit: form.unit.filter(|u| !u.trim().is_empty()),
        districts: districts_of(form.districts.as_deref().unwrap_or("")),
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let outcome = users::add(&mut client, &user, &form.password, &admin.username).await;
    drop(client);
    match outcome {
        Ok(_) => {
            let text = format!("{} {}", lang.pick("Đã thêm", "Added"), user.username);
            render(&state, &caller, lang, StatusCode::OK, Some((true, &text))).await
        }
        Err(e) => {
            let text = refusal_of_add(lang, e).map_err(fail)?;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, &caller, lang, status, Some((false, &text))).await
        }
    }
}

/// Why an account was not added, for the page; a failure of kvpt's own is an error.
fn refusal_of_add(lang: Lang, e: UserError) -> Result<String, AppError> {
    match e {
        UserError::Db(e) => match AppError::from(e) {
            AppError::Conflict(_) => Ok(lang
                .pick("Tên đăng nhập đã có.", "That user name is taken.")
                .to_string()),
            AppError::Unprocessable { .. } => Ok(lang
                .pick(
                    "Tên đăng nhập chỉ gồm chữ thường, số, dấu chấm, gạch (2–64 ký tự).",
                    "User names are 2–64 lower-case letters, digits, dots or dashes.",
                )
                .to_string()),
            other => Err(other),
        },
        other => Ok(other.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct ChangeForm {
    csrf: String,
    action: String,
    role: Option<String>,
    clearance: Option<String>,
    unit: Option<String>,
    districts: Option<String>,
}

async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<ChangeForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let admin = caller.with_role(&[UserRole::Admin]).map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let outcome = match form.action.as_str() {
        "disable" => users::disable(&mut client, &username, &admin.username).await,
        "enable" => users::enable(&mut client, &username, &admin.username).await,
        "save" => {
            let change = UserChange {
                role: form.role.as_deref().and_then(UserRole::from_code),
                clearance: form
                    .clearance
                    .as_deref()
                    .and_then(Classification::from_code),
                // The form always sends the unit: empty takes the user out of it.
                unit: form
                    .unit
                    .map(|u| Some(u.trim().to_string()).filter(|u| !u.is_empty())),
                districts: Some(districts_of(form.districts.as_deref().unwrap_or(""))),
            };
            users::set(&mut client, &username, &change, &admin.username).await
        }
        other => {
            return Err(fail(AppError::bad_request(
                "action",
                format!("no action '{other}'"),
            )))
        }
    };
    drop(client);
    match outcome {
        Ok(()) => {
            let text = format!("{} {username}", lang.pick("Đã lưu", "Saved"));
            render(&state, &caller, lang, StatusCode::OK, Some((true, &text))).await
        }
        Err(UserError::NotFound(_)) => {
            Err(fail(AppError::NotFound(format!("no user '{username}'"))))
        }
        Err(UserError::Db(e)) => Err(fail(e.into())),
        Err(e) => {
            let text = e.to_string();
            render(
                &state,
                &caller,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((false, &text)),
            )
            .await
        }
    }
}
