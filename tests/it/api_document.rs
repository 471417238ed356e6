//! `/api` describes every JSON and file operation kvpt serves (issue 21 §3): the routes are
//! read from the router's sources (every `.route("path", get(…).post(…))` under src/web),
//! and each one that is not an HTML page, an HTML form's post or a static asset must be in
//! the document with that method; each documented operation must be routed.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::{call, request, TestDb};

/// Routes for people, not programs: pages, the forms they post, the static assets. Each
/// with why it is left out of /api.
const NOT_IN_THE_API: &[(&str, &str, &str)] = &[
    ("GET", "/login", "page"),
    ("POST", "/login", "form"),
    ("POST", "/logout", "form"),
    ("GET", "/account", "page"),
    ("POST", "/account/tokens", "form"),
    ("POST", "/account/tokens/{}/revoke", "form"),
    ("GET", "/admin/users", "page"),
    ("POST", "/admin/users", "form"),
    ("POST", "/admin/users/{}", "form"),
    ("GET", "/admin/profiles", "page"),
    ("POST", "/admin/profiles", "form"),
    ("GET", "/admin/exports", "page"),
    ("GET", "/map", "page"),
    ("GET", "/sites/{}", "page"),
    ("GET", "/sites/{}/progress", "page"),
    ("POST", "/sites/{}/progress", "form"),
    ("GET", "/sites/{}/budget", "page"),
    ("POST", "/sites/{}/budget", "form"),
    ("POST", "/sites/{}/ceiling", "form"),
    ("GET", "/sites/{}/search", "page"),
    ("POST", "/sites/{}/search", "form"),
    ("GET", "/progress/bulk", "page"),
    ("POST", "/progress/bulk", "form"),
    ("GET", "/dashboard", "page"),
    ("GET", "/dashboard/flags/{}", "page"),
    ("GET", "/dashboard/plan", "page"),
    ("GET", "/dashboard/summary", "page"),
    ("GET", "/reports", "page"),
    ("GET", "/sites/{}/land", "page"),
    ("POST", "/sites/{}/land", "form"),
    ("GET", "/review", "page"),
    ("POST", "/review/{}/{}", "form: approve or return"),
    ("POST", "/review/search/{}/{}", "form: approve or return"),
    ("GET", "/admin/communes", "page"),
    ("POST", "/admin/communes", "form"),
    ("POST", "/admin/communes/{}/write", "form"),
    ("GET", "/investments", "page"),
    ("POST", "/investments", "form"),
    ("GET", "/investments/new", "page"),
    ("GET", "/investments/{}/edit", "page"),
    ("POST", "/investments/{}/edit", "form"),
    (
        "GET",
        "/reports/{}",
        "document for people: printed, signed and sent",
    ),
    ("GET", "/public/budget", "page"),
    ("GET", "/exports", "page"),
    ("GET", "/imports", "page"),
    ("POST", "/imports", "form"),
    ("GET", "/imports/jobs/{}", "page"),
    ("GET", "/imports/{}", "page"),
    ("POST", "/imports/{}/again", "form"),
    ("GET", "/field", "page"),
    ("GET", "/field/conflicts", "page"),
    ("GET", "/field/photos", "page"),
    ("POST", "/field/conflicts/{}", "form"),
    ("GET", "/static/{}", "asset"),
    ("GET", "/static/vendor/{}", "asset"),
    ("GET", "/static/icons/{}", "asset"),
    ("GET", "/manifest.webmanifest", "asset"),
    ("GET", "/sw.js", "asset"),
];

/// `{anything}` as `{}`: the router and the document name parameters differently.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            _ => out.push(c),
        }
    }
    out
}

/// (method, path shape) of every `.route(…)` in the web layer's sources.
fn routed() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web");
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(".route(") {
                let call = &rest[at + ".route(".len()..];
                // The call's text, to its closing parenthesis.
                let mut depth = 1;
                let end = call
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map(|(i, _)| i)
                    .unwrap();
                let body = &call[..end];
                let route = body.split('"').nth(1).unwrap().to_string();
                for method in ["get", "post", "put", "patch", "delete"] {
                    let pattern = format!("{method}(");
                    let called = body.match_indices(&pattern).any(|(i, _)| {
                        i == 0
                            || !body.as_bytes()[i - 1].is_ascii_alphanumeric()
                                && body.as_bytes()[i - 1] != b'_'
                    });
                    if called {
                        out.insert((method.to_uppercase(), shape(&route)));
                    }
                }
                rest = &call[end..];
            }
        }
    }
    out
}

#[tokio::test]
async fn every_json_and_file_operation_is_in_the_api_document_and_every_documented_one_is_served() {
    let db = TestDb::new().await;
    let (_, _, body) = request(&db.app(), "/api", &[]).await;
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in api["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), shape(path)));
        }
    }
    let routed = routed();
    assert!(routed.len() > 60, "the sources were read: {routed:?}");
    let left_out: BTreeSet<(String, String)> = NOT_IN_THE_API
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = routed
        .iter()
        .filter(|r| !left_out.contains(*r) && !documented.contains(*r))
        .collect();
    assert!(missing.is_empty(), "served but not in /api: {missing:#?}");
    let unrouted: Vec<_> = documented.iter().filter(|d| !routed.contains(*d)).collect();
    assert!(unrouted.is_empty(), "in /api but not served: {unrouted:#?}");
    let stale: Vec<_> = left_out.iter().filter(|l| !routed.contains(*l)).collect();
    assert!(
        stale.is_empty(),
        "left out of /api but no longer served: {stale:#?}"
    );
    // The HTML page lists each operation, method and path.
    let (_, _, page) = request(&db.app(), "/api?f=html", &[]).await;
    for (path, item) in api["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let row = format!("{} {}", method.to_uppercase(), path);
            assert!(page.contains(&row), "/api?f=html lacks {row}");
        }
    }
    // Every operation says who may call it when it writes, and what its errors look like.
    for (path, item) in api["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            if method != "get" {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} says nothing of who may call it"
                );
            }
        }
    }
}

/// Where `value` breaks `schema` (OpenAPI 3.0's subset /api uses: type, nullable,
/// required, properties, items, enum), each as "path: what"; empty when it conforms.
fn breaks(value: &Value, schema: &Value, at: &str) -> Vec<String> {
    if value.is_null() {
        return if schema["nullable"] == true || schema.get("type").is_none() {
            vec![]
        } else {
            vec![format!("{at}: null, not nullable")]
        };
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        return vec![format!("{at}: {value} is not {}", schema["type"])];
    }
    let mut found = Vec::new();
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            found.push(format!("{at}: {value} not in {}", schema["enum"]));
        }
    }
    for key in schema["required"].as_array().into_iter().flatten() {
        if value.get(key.as_str().unwrap()).is_none() {
            found.push(format!("{at}: {key} missing"));
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (key, sub) in properties {
            if let Some(v) = object.get(key) {
                found.extend(breaks(v, sub, &format!("{at}.{key}")));
            }
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            found.extend(breaks(item, &schema["items"], &format!("{at}[{i}]")));
        }
    }
    found
}

/// Asserts that `answer`, what `method path` answered with 200, is what /api says that
/// operation answers (`path` as the document writes it, e.g. `/api/imports/{id}`).
pub async fn assert_documented_answer(
    app: &axum::Router,
    method: &str,
    path: &str,
    answer: &Value,
) {
    let (status, _, body) = call(app, "GET", "/api", &[("accept", "application/json")], "").await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_json::from_str(&body).unwrap();
    let schema = &document["paths"][path][method]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "/api has no JSON answer for {method} {path}"
    );
    let found = breaks(answer, schema, "answer");
    assert!(
        found.is_empty(),
        "{method} {path} answered outside /api: {found:#?}\n{answer:#}"
    );
    assert_ne!(
        breaks(&Value::from(12), schema, "x"),
        Vec::<String>::new(),
        "the schema of {method} {path} admits anything"
    );
}
