//! Which representation a caller wants: `f=json|html` first, else the `Accept` header.

use axum::http::{header, HeaderMap};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

/// `f` wins; else the media type the `Accept` header rates highest among HTML and
/// JSON ones (`*/*` and no header mean `default`).
pub fn choose(f: Option<&str>, headers: &HeaderMap, default: Format) -> Result<Format, AppError> {
    match f {
        Some("json") => return Ok(Format::Json),
        Some("html") => return Ok(Format::Html),
        Some(other) => {
            return Err(AppError::bad_request(
                "f",
                format!("'{other}' is not a format; use json or html"),
            ))
        }
        None => {}
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(default);
    };
    let mut best: Option<(f32, Format)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let format = match media.as_str() {
            "text/html" | "application/xhtml+xml" => Format::Html,
            "application/json"
            | "application/geo+json"
            | "application/vnd.oai.openapi+json"
            | "application/schema+json" => Format::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, format));
        }
    }
    Ok(best.map_or(default, |(_, f)| f))
}

/// `scheme://host` of this request, for absolute links.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("127.0.0.1:8080");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_accept(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn f_wins_then_accept_then_default() {
        let browser =
            with_accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assert_eq!(choose(None, &browser, Format::Json).unwrap(), Format::Html);
        assert_eq!(
            choose(Some("json"), &browser, Format::Html).unwrap(),
            Format::Json
        );
        let gdal = with_accept("application/geo+json, application/json;q=0.9");
        assert_eq!(choose(None, &gdal, Format::Html).unwrap(), Format::Json);
        let rated = with_accept("text/html;q=0.5, application/json");
        assert_eq!(choose(None, &rated, Format::Html).unwrap(), Format::Json);
        assert_eq!(
            choose(None, &with_accept("*/*"), Format::Html).unwrap(),
            Format::Html
        );
        assert_eq!(
            choose(None, &HeaderMap::new(), Format::Json).unwrap(),
            Format::Json
        );
        assert!(choose(Some("xml"), &HeaderMap::new(), Format::Json).is_err());
    }

    #[test]
    fn base_url_refuses_odd_hosts() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("kvpt.local:8080"));
        assert_eq!(base_url(&h), "http://kvpt.local:8080");
        h.insert(header::HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(base_url(&h), "http://127.0.0.1:8080");
    }
}
