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

use super::caller::{cookie, Caller, SESSION_COOKIE};
use super::{AppState, PageError};
use crate::accounts::sessions::{self, LoginOutcome, SESSION_HOURS, WINDOW_MINUTES};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

const LOGIN_CSRF_COOKIE: &str = "kvpt_login_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/api/me", get(me))
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

/// Longest `next` kept; a longer one is no page of kvpt's.
const MAX_NEXT: usize = 2048;

/// Where to go after signing in: only a path on this site ("/map", "/sites/X?lang=en"),
/// judged the way a browser reads a `Location`: browsers drop tabs and newlines anywhere,
/// read `\` as `/`, and resolve `.` and `..` segments (also written `%2e`), so
/// "/\t/evil.example", "/\\evil.example" and "/.//evil.example" would all leave the site.
/// Anything with a control character or white space, a backslash, a dot segment or an
/// empty segment (`//`), and anything not starting with one `/`, goes to "/". Letters
/// beyond ASCII are percent-encoded, so the value is always a valid header.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    let path = next.split(['?', '#']).next().unwrap_or("");
    let dot_segment = |segment: &str| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    let safe = next.len() <= MAX_NEXT
        && next.starts_with('/')
        && !next
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        && !path.contains("//")
        && !path.split('/').any(dot_segment);
    if !safe {
        return "/".into();
    }
    let mut out = String::with_capacity(next.len());
    for c in next.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
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
        state.trusted_proxies.client(
            extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
            &headers,
        ),
    )
    .await
    .map_err(|e| PageError::new(lang, e))?;
    Ok(answer_login(
        lang,
        &next,
        form.username.trim(),
        outcome,
        &headers,
    ))
}

/// The answer to a sign-in: the session cookie and a redirect to `next`, or the form again
/// with why (and, when throttled, when to come back).
fn answer_login(
    lang: Lang,
    next: &str,
    username: &str,
    outcome: LoginOutcome,
    headers: &HeaderMap,
) -> Response {
    let retry = |status: StatusCode, message: &str| {
        let csrf = sessions::random_token();
        let mut response = (
            status,
            views::auth::login(lang, &csrf, next, username, Some(message)),
        )
            .into_response();
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, headers),
        );
        response
    };
    match outcome {
        LoginOutcome::Ok(token) => {
            let mut response = Redirect::to(next).into_response();
            let h = response.headers_mut();
            let hours = i64::from(SESSION_HOURS);
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &token, hours * 3600, headers),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, headers),
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
    }
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
    // The field app's copies on this device (pages, offline map tiles, the queue) go with
    // the session; the page's script has already asked before dropping unsent updates.
    response.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"storage\""),
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_keeps_paths_on_this_site() {
        for (given, kept) in [
            ("/map", "/map"),
            (
                "/sites/CHOT-TBI-0012?lang=en#history",
                "/sites/CHOT-TBI-0012?lang=en#history",
            ),
            ("/map?q=Tân Biên", "/"),
            ("/map?q=Tân", "/map?q=T%C3%A2n"),
            ("/%2F%2Fevil.example", "/%2F%2Fevil.example"),
            ("/dashboard?next=//x", "/dashboard?next=//x"),
        ] {
            assert_eq!(safe_next(Some(given)), kept, "{given:?}");
        }
    }

    #[test]
    fn next_sends_everything_else_home() {
        let long = format!("/{}", "a".repeat(5000));
        for hostile in [
            "",
            "map",
            "//evil.example/",
            "///evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            "/\x0b/x",
            "/\x0c/x",
            "/\u{85}/x",
            "/\u{a0}/x",
            "/\u{2028}/x",
            "/ /evil.example",
            "/./evil.example/..//x",
            "/.//evil.example",
            "/%2e//evil.example",
            "/%2E%2E//evil.example",
            "/x/..//evil.example",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "http://evil.example/",
            "https:evil.example",
            "/\0",
            long.as_str(),
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
