//! Sign in and out: `/login`, `/logout`, and `/api/me`. Sessions live in PostgreSQL; the
//! cookie holds a random token (HttpOnly, SameSite=Strict, Secure behind TLS); every form
//! carries a CSRF token (the login form's is a double-submit cookie).

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::caller::Caller;
use super::{AppState, PageError};
use crate::accounts::sessions::{self, LoginOutcome, SESSION_HOURS, WINDOW_MINUTES};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

pub const SESSION_COOKIE: &str = "kvpt_session";
const LOGIN_CSRF_COOKIE: &str = "kvpt_login_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/api/me", get(me))
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

fn secure(headers: &HeaderMap) -> &'static str {
    match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "; Secure",
        _ => "",
    }
}

fn set_cookie(name: &str, value: &str, max_age: i64, headers: &HeaderMap) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        secure(headers)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("kvpt_invalid=1"))
}

/// Only paths on this site: "/map", not "//evil.example" or "https://…".
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    lang: Option<String>,
    next: Option<String>,
}

async fn login_page(Query(q): Query<LoginQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::from_param(q.lang.as_deref());
    let csrf = sessions::random_token();
    let mut response =
        views::auth::login(lang, &csrf, &safe_next(q.next.as_deref()), "", None).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, &headers),
    );
    response
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
    lang: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(form.lang.as_deref());
    let next = safe_next(form.next.as_deref());
    if cookie(&headers, LOGIN_CSRF_COOKIE) != Some(form.csrf.as_str()) || form.csrf.is_empty() {
        return Err(PageError::new(
            lang,
            AppError::Forbidden(
                lang.pick(
                    "Phiên biểu mẫu không hợp lệ hoặc đã hết hạn; hãy tải lại trang đăng nhập.",
                    "The form's token is missing or stale; reload the sign-in page.",
                )
                .to_string(),
            ),
        ));
    }
    let mut client = state.db().await.map_err(|e| PageError::new(lang, e))?;
    let outcome = sessions::login(
        &mut client,
        form.username.trim(),
        &form.password,
        cookie(&headers, SESSION_COOKIE),
        extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip()),
    )
    .await
    .map_err(|e| PageError::new(lang, e))?;
    let retry = |status: StatusCode, message: &str| {
        let csrf = sessions::random_token();
        let mut response = (
            status,
            views::auth::login(lang, &csrf, &next, form.username.trim(), Some(message)),
        )
            .into_response();
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, &headers),
        );
        response
    };
    Ok(match outcome {
        LoginOutcome::Ok(token) => {
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &token,
                    i64::from(SESSION_HOURS) * 3600,
                    &headers,
                ),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, &headers),
            );
            response
        }
        LoginOutcome::WrongCredentials => retry(
            StatusCode::UNAUTHORIZED,
            lang.pick(
                "Sai tên đăng nhập hoặc mật khẩu.",
                "Wrong user name or password.",
            ),
        ),
        LoginOutcome::Throttled => {
            let message = match lang {
                Lang::Vi => {
                    format!("Đăng nhập sai quá nhiều lần; hãy thử lại sau {WINDOW_MINUTES} phút.")
                }
                Lang::En => {
                    format!("Too many failed sign-ins; try again in {WINDOW_MINUTES} minutes.")
                }
            };
            let mut response = retry(StatusCode::TOO_MANY_REQUESTS, &message);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(u64::try_from(WINDOW_MINUTES * 60).unwrap_or(900)),
            );
            response
        }
    })
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AppError> {
    if let (Some(_), Some(token)) = (&caller.user, cookie(&headers, SESSION_COOKIE)) {
        caller.check_csrf(Some(&form.csrf))?;
        let client = state.db().await?;
        sessions::logout(&client, token).await?;
        state.sessions.forget(token);
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, &headers),
    );
    Ok(response)
}

/// Who the session belongs to (401 without one).
async fn me(caller: Caller) -> Result<Response, AppError> {
    match caller.user.as_deref() {
        Some(u) => Ok(Json(json!({
            "username": u.username, "display_name": u.display_name, "role": u.role.code(),
            "clearance": u.clearance.code(), "unit": u.unit, "csrf_token": u.csrf_token,
        }))
        .into_response()),
        None => Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "not signed in", "status": 401 })),
        )
            .into_response()),
    }
}
