//! The error at the HTTP edge: each case maps to a status and a message the
//! caller can act on. Internal failures are logged once and answered with a
//! generic message, never SQL or a stack.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    /// Bad input: which parameter or field, and why (and why in Vietnamese, when said).
    #[error("{field}: {reason}")]
    BadRequest {
        field: String,
        reason: String,
        vi: Option<String>,
    },
    /// A named constraint refused the input.
    #[error("{message}")]
    Unprocessable { constraint: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// An `If-Match` that names a version the resource has moved past (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// A write that must say which version it was made from and did not (428).
    #[error("{0}")]
    PreconditionRequired(String),
    /// The rules refused a written work (422): every problem, naming its field, in both
    /// languages.
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.field, p.en)).collect::<Vec<_>>().join("; "))]
    Refused(Vec<crate::exchange::import::Problem>),
    #[error("{0}")]
    Forbidden(String),
    /// Signing in would help: no session, or an anonymous visitor where they see nothing.
    #[error("sign in first")]
    Unauthorized,
    /// A personal access token that opens nothing (401 with `WWW-Authenticate`).
    #[error("{0}")]
    TokenRefused(String),
    /// Too many failed sign-ins or tokens from this address lately.
    #[error("too many failed sign-ins from your address: try again in 15 minutes")]
    Throttled,
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// Too much heavy work (exports, imports) is running or waiting already.
    #[error("too many exports and imports are running; try again in a minute")]
    Busy,
    /// No response could be produced within the request deadline.
    #[error("the request took longer than {0} s and was stopped; narrow it or try again")]
    TimedOut(u64),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            AppError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Unauthorized | AppError::TokenRefused(_) => StatusCode::UNAUTHORIZED,
            AppError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Busy => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn bad_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: field.into(),
            reason: reason.into(),
            vi: None,
        }
    }
}

/// An exchange's refusals are 400s naming the parameter; its own failures are internal.
impl From<crate::exchange::ExchangeError> for AppError {
    fn from(err: crate::exchange::ExchangeError) -> Self {
        use crate::exchange::ExchangeError;
        match err {
            ExchangeError::Param(e) => e.into(),
            ExchangeError::Db(e) => e.into(),
            other => AppError::Internal(other.into()),
        }
    }
}

/// A work written through the API: each refusal its status.
impl From<crate::exchange::item::ItemError> for AppError {
    fn from(err: crate::exchange::item::ItemError) -> Self {
        use crate::exchange::item::ItemError as E;
        match err {
            E::Body { field, reason } => AppError::bad_request(field, reason),
            E::Refused(problems) => AppError::Refused(problems),
            E::Stale(reason) => AppError::PreconditionFailed(reason),
            E::Conflict(reason) => AppError::Conflict(reason),
            E::NotFound(code) => AppError::NotFound(format!("no work '{code}'")),
            E::Forbidden(reason) => AppError::Forbidden(reason),
            E::Exchange(e) => e.into(),
        }
    }
}

impl AppError {
    /// Broken rules: 422 naming the first rule broken, every message joined.
    pub fn rules<'a>(broken: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let broken: Vec<(&str, &str)> = broken.into_iter().collect();
        AppError::Unprocessable {
            constraint: broken.first().map_or("rules", |b| b.0).to_string(),
            message: broken.iter().map(|b| b.1).collect::<Vec<_>>().join("; "),
        }
    }
}

/// The features that write (progress, budget) refuse alike: a site not found or not
/// theirs, a conflict with a newer version, broken rules; each case its status.
macro_rules! refusals_of_writes {
    ($($error:path),+) => {$(
        impl From<$error> for AppError {
            fn from(err: $error) -> Self {
                use $error as E;
                match err {
                    E::NotFound(code) => AppError::NotFound(format!("no site '{code}'")),
                    E::Forbidden(reason) => AppError::Forbidden(reason),
                    E::Conflict { .. } => AppError::Conflict(err.to_string()),
                    E::Rules(broken) => {
                        AppError::rules(broken.iter().map(|b| (b.rule, b.en.as_str())))
                    }
                    E::Db(e) => e.into(),
                }
            }
        }
    )+};
}

refusals_of_writes!(
    crate::progress::store::ProgressError,
    crate::search::store::SearchError,
    crate::budget::store::BudgetError
);

/// An investment's refusals (its pages say the rules themselves, in the user's language).
impl From<crate::investment::store::InvestmentError> for AppError {
    fn from(err: crate::investment::store::InvestmentError) -> Self {
        use crate::investment::store::InvestmentError as E;
        match err {
            E::NotFound(code) => AppError::NotFound(format!("no investment '{code}'")),
            E::Forbidden(reason) => AppError::Forbidden(reason),
            E::Conflict { .. } => AppError::Conflict(err.to_string()),
            E::Rules(broken) => AppError::rules(broken.iter().map(|b| (b.0, b.2.as_str()))),
            E::Db(e) => e.into(),
        }
    }
}

/// A refused request parameter is a 400 naming it.
impl From<crate::params::ParamError> for AppError {
    fn from(err: crate::params::ParamError) -> Self {
        AppError::BadRequest {
            field: err.param,
            reason: err.en,
            vi: err.vi,
        }
    }
}

/// Uniqueness clashes are conflicts; other named constraints are bad input.
impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable { reason } => {
                tracing::warn!(%reason, "database unavailable");
                AppError::Unavailable
            }
            DbError::Constraint {
                constraint,
                message,
            } => {
                if constraint.ends_with("_key") || constraint.ends_with("_pkey") {
                    AppError::Conflict(message)
                } else {
                    AppError::Unprocessable {
                        constraint,
                        message,
                    }
                }
            }
            DbError::Invalid { message } => {
                tracing::warn!(%message, "a value refused by the database");
                AppError::bad_request("input", format!("a value was refused: {message}"))
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl AppError {
    /// The JSON an API client gets: what was wrong, the status, and the field (with the
    /// Vietnamese words, when there are some) or the constraint.
    pub fn json_body(&self) -> serde_json::Value {
        let mut body = json!({ "error": self.to_string(), "status": self.status().as_u16() });
        match self {
            AppError::BadRequest { field, vi, .. } => {
                body["field"] = json!(field);
                if let Some(vi) = vi {
                    body["message_vi"] = json!(vi);
                }
            }
            AppError::Unprocessable { constraint, .. } => body["constraint"] = json!(constraint),
            AppError::Refused(problems) => {
                body["problems"] = problems
                    .iter()
                    .map(|p| json!({ "field": p.field, "message": p.en, "message_vi": p.vi }))
                    .collect();
            }
            _ => {}
        }
        body
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "internal error");
        }
        let body = self.json_body();
        let mut response = (status, Json(body)).into_response();
        retry_after(&mut response);
        if let AppError::TokenRefused(_) = &self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(r#"Bearer realm="kvpt", Basic realm="kvpt""#),
            );
        }
        response
    }
}

/// 503 and 429 say when to come back.
pub fn retry_after(response: &mut Response) {
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static(if status == StatusCode::TOO_MANY_REQUESTS {
                "30"
            } else {
                "5"
            }),
        );
    }
}
