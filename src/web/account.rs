//! `/account`: the signed-in user and their personal access tokens, made and revoked from
//! a browser session (a token cannot make or revoke tokens).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::caller::Caller;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::accounts::tokens::{self, NewToken, Scope, TokenError};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/tokens", post(create))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

/// The signed-in user of a browser session with its CSRF token.
fn in_browser<'a>(caller: &'a Caller, csrf: Option<&str>) -> Result<&'a SessionUser, AppError> {
    if caller.token.is_some() {
        return Err(AppError::Forbidden(
            "tokens are made and revoked from a signed-in browser, not with a token".into(),
        ));
    }
    caller.check_csrf(csrf)
}

async fn render(
    state: &AppState,
    lang: Lang,
    user: &SessionUser,
    made: Option<&NewToken>,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let client = state
        .db()
        .await
        .map_err(|e| PageError::new(lang, AppError::from(e)))?;
    let list = tokens::list(&client, &user.username)
        .await
        .map_err(|e| PageError::new(lang, AppError::from(e)))?;
    let page = views::account::AccountPage {
        tokens: &list,
        made,
        error,
    };
    Ok(views::account::page(lang, user, &page).into_response())
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = caller.user().map_err(|e| PageError::new(lang, e))?;
    render(&state, lang, user, None, None).await
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let user = in_browser(&caller, form.get("csrf").map(String::as_str))
        .map_err(|e| PageError::new(lang, e))?;
    let scope = Scope::from_code(field("scope")).unwrap_or(Scope::Read);
    let days = field("days").trim().parse::<i32>().unwrap_or(0);
    let client = state
        .db()
        .await
        .map_err(|e| PageError::new(lang, AppError::from(e)))?;
    let made = tokens::create(
        &client,
        &user.username,
        &user.username,
        field("name"),
        scope,
        days,
    )
    .await;
    match made {
        Ok(made) => render(&state, lang, user, Some(&made), None).await,
        Err(TokenError::Invalid { field, .. }) => {
            let why = match field {
                "name" => lang.pick(
                    "Hãy đặt tên cho mã (1–80 ký tự).",
                    "Give the token a name (1–80 characters).",
                ),
                _ => lang.pick(
                    "Mã có hiệu lực từ 1 đến 365 ngày.",
                    "A token lasts 1 to 365 days.",
                ),
            };
            let mut page = render(&state, lang, user, None, Some(why)).await?;
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
        Err(TokenError::NoUser(_)) => Err(PageError::new(lang, AppError::Unauthorized)),
        Err(TokenError::Db(e)) => Err(PageError::new(lang, AppError::from(e))),
    }
}

async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<LangQuery>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = in_browser(&caller, form.get("csrf").map(String::as_str))
        .map_err(|e| PageError::new(lang, e))?;
    let client = state
        .db()
        .await
        .map_err(|e| PageError::new(lang, AppError::from(e)))?;
    let revoked = tokens::revoke(&client, &user.username, id, &user.username)
        .await
        .map_err(|e| PageError::new(lang, AppError::from(e)))?;
    if !revoked {
        return Err(PageError::new(
            lang,
            AppError::NotFound(format!("no live token {id} of yours")),
        ));
    }
    Ok(Redirect::to(&format!("/account?lang={}#tokens", lang.code())).into_response())
}
