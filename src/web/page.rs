//! Errors on HTML pages: the same statuses as the API, said in the page's language.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

/// An [`AppError`] raised while building a page in `lang`.
#[derive(Debug)]
pub struct PageError {
    pub lang: Lang,
    pub error: AppError,
}

impl PageError {
    pub fn new(lang: Lang, error: impl Into<AppError>) -> Self {
        Self {
            lang,
            error: error.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.error.status();
        if let AppError::Unauthorized = self.error {
            // People are sent to sign in, and brought back afterwards.
            let next = crate::views::context::current().path_and_query;
            let to = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", if next.is_empty() { "/" } else { &next })
                .append_pair("lang", self.lang.code())
                .finish();
            return axum::response::Redirect::to(&format!("/login?{to}")).into_response();
        }
        if let AppError::Internal(err) = &self.error {
            tracing::error!(error = format!("{err:#}"), "internal error");
        }
        let message = match (&self.error, self.lang) {
            (AppError::Unavailable, Lang::Vi) => {
                "Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau ít phút."
                    .to_string()
            }
            (AppError::Busy, Lang::Vi) => {
                "Đang có quá nhiều lượt xuất và nhập dữ liệu; vui lòng thử lại sau một phút."
                    .to_string()
            }
            (AppError::TimedOut(s), Lang::Vi) => format!(
                "Yêu cầu chạy quá {s} giây nên đã dừng; hãy thu hẹp phạm vi hoặc thử lại."
            ),
            (AppError::BadRequest { field, reason, .. }, Lang::Vi) if reason.contains("NUL") => {
                format!("{field}: dữ liệu chứa ký tự NUL (%00), không được phép.")
            }
            (AppError::BadRequest { field, reason, .. }, Lang::Vi) if reason.starts_with("given more than once") => {
                format!("Tham số “{field}” được ghi nhiều lần; chỉ ghi một lần.")
            }
            (AppError::BadRequest { reason, .. }, Lang::Vi) if reason == "must be vi or en" => {
                "Ngôn ngữ (lang) chỉ có thể là vi hoặc en.".to_string()
            }
            (AppError::BadRequest { reason, .. }, Lang::Vi) if reason.starts_with("a value was refused") => {
                format!("Một giá trị không hợp lệ nên không được ghi ({reason}).")
            }
            // Parameters whose refusal has its Vietnamese words (dates asked for in a page).
            (AppError::BadRequest { field, vi: Some(vi), .. }, Lang::Vi) => format!("{field}: {vi}"),
            (AppError::Internal(_), Lang::Vi) => "Lỗi hệ thống; sự cố đã được ghi lại.".to_string(),
            (AppError::NotFound(_), Lang::Vi) => "Không tìm thấy trang này.".to_string(),
            // Refusals worded in English by the access checks get their Vietnamese here.
            (AppError::Forbidden(m), Lang::Vi) if m.contains("CSRF") => {
                "Biểu mẫu đã hết hạn hoặc không hợp lệ; hãy tải lại trang và thử lại.".to_string()
            }
            (AppError::Forbidden(m), Lang::Vi) if m.contains("token's scope is 'read'") => {
                "Mã truy cập này chỉ có quyền đọc (read); để ghi cần mã có quyền read,write."
                    .to_string()
            }
            (AppError::Forbidden(m), Lang::Vi) if m.is_ascii() => {
                "Tài khoản của bạn không có quyền thực hiện việc này (vai trò hoặc địa bàn được giao không phù hợp)."
                    .to_string()
            }
            (err, _) => err.to_string(),
        };
        let mut response = (status, views::error_page(self.lang, status, &message)).into_response();
        crate::error::retry_after(&mut response);
        response
    }
}

/// `error` as a page in the request's language for browsers (which ask for HTML), as
/// JSON for everyone else: for layers that answer before any handler runs.
pub fn answer_for(request: &axum::extract::Request, error: AppError) -> Response {
    let html = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if html {
        let lang = Lang::from_param(
            request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))),
        );
        PageError::new(lang, error).into_response()
    } else {
        error.into_response()
    }
}

/// Any route that does not exist.
pub async fn not_found(uri: Uri) -> Response {
    let lang = Lang::from_param(
        uri.query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))),
    );
    let message = lang.pick("Không tìm thấy trang này.", "This page does not exist.");
    (
        StatusCode::NOT_FOUND,
        views::error_page(lang, StatusCode::NOT_FOUND, message),
    )
        .into_response()
}

/// axum's own refusals (a path part that is not a number, a malformed query or multipart
/// body) come as text/plain: they leave as kvpt's JSON error instead, with their status and
/// their words, so every 4xx a client reads has one shape.
pub async fn plain_rejections(response: Response) -> Response {
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if !response.status().is_client_error() || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let body = serde_json::json!({
        "error": text, "status": parts.status.as_u16(), "field": "request",
    });
    (parts.status, axum::Json(body)).into_response()
}
