//! A search zone's figures (issue 20 §5): the search team's form (`/sites/{code}/search`)
//! and its JSON twin (`GET`/`PUT /api/sites/{code}/search`, with an `Idempotency-Key` from
//! a phone's queue). Both go through `search::store`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde_json::Value;

use super::caller::Caller;
use super::progress::idempotency_key;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::error::AppError;
use crate::i18n::{today_in_vietnam, Lang};
use crate::search::form::{asked_of, FormValues};
use crate::search::rules::Asked;
use crate::search::store::{self, Request, SearchError};
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{code}/search", get(form_page).post(form_post))
        .route("/api/sites/{code}/search", get(api_state).put(api_put))
}

/// After a write (`status` 200), this process's caches move on at once.
async fn saw(
    state: &AppState,
    client: &deadpool_postgres::Object,
    status: u16,
) -> Result<(), AppError> {
    if status == 200 {
        for (layer, version) in store::layer_versions(client).await? {
            state.saw_version(&layer, version);
        }
        state.caught_up().await;
    }
    Ok(())
}

async fn api_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let user = caller.with_role(&[crate::domain::UserRole::Engineer])?;
    let mut client = state.db().await?;
    let zone = store::state(&mut client, user, &code).await?;
    Ok(Json(zone).into_response())
}

/// The update a JSON body asks for: `version` (the zone must be at it) or `base_version`
/// (made from it, merged), `note`, `correction_reason`, and the figures to set.
fn request_of(code: String, body: &[u8]) -> Result<Request, AppError> {
    let bad = |e: String| AppError::bad_request("body", format!("not a search update: {e}"));
    let mut body: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let mut take_text = |name: &str| -> Result<Option<String>, AppError> {
        match body.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AppError::bad_request(name, "must be text")),
        }
    };
    let (note, correction_reason) = (take_text("note")?, take_text("correction_reason")?);
    let version = |v: Option<Value>, name: &str| -> Result<Option<i32>, AppError> {
        v.map(|v| {
            v.as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| AppError::bad_request(name, "must be a whole number"))
        })
        .transpose()
    };
    let (exact, base) = (
        version(body.remove("version"), "version")?,
        version(body.remove("base_version"), "base_version")?,
    );
    let (version, merge) = match (exact, base) {
        (Some(v), None) => (v, false),
        (None, Some(v)) => (v, true),
        _ => {
            return Err(AppError::bad_request(
                "version",
                "give version (the zone must be at it) or base_version (merged), one of them",
            ))
        }
    };
    let asked: Asked =
        serde_json::from_value(Value::Object(body)).map_err(|e| bad(e.to_string()))?;
    Ok(Request {
        code,
        version,
        merge,
        asked,
        note,
        correction_reason,
        supervising: false,
        audit_note: None,
    })
}

/// `PUT /api/sites/{code}/search`.
async fn api_put(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let user = caller.with_role(&[crate::domain::UserRole::Engineer])?;
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let key = idempotency_key(&headers, user.id, &[b"PUT search", code.as_bytes(), &body])?;
    let request = request_of(code, &body)?;
    let mut client = state.db().await?;
    let (status, body) = store::send(
        &mut client,
        user,
        &request,
        key.as_ref(),
        today_in_vietnam(),
    )
    .await?;
    saw(&state, &client, status).await?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok((status, Json(body)).into_response())
}

async fn form_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller
        .with_role(&[crate::domain::UserRole::Engineer])
        .map_err(fail)?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let zone = store::state(&mut client, user, &code)
        .await
        .map_err(|e| fail(e.into()))?;
    let values = FormValues::of(&zone);
    Ok(views::search::form(lang, &zone, &values, &[], &user.csrf_token).into_response())
}

/// The refused rules of a 422 answer, each with its field, in `lang`.
fn violations_of(body: &Value, lang: Lang) -> Vec<(String, String)> {
    body["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let text = match lang {
                Lang::Vi => &v["message_vi"],
                Lang::En => &v["message"],
            };
            (
                v["field"].as_str().unwrap_or("").to_string(),
                text.as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// `POST /sites/{code}/search`: refused values come back in the form with what was wrong;
/// a newer update by someone else shows the form again from where the zone now stands.
async fn form_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller
        .with_role(&[crate::domain::UserRole::Engineer])
        .map_err(fail)?
        .clone();
    caller
        .check_csrf(form.get("csrf").map(String::as_str))
        .map_err(fail)?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let zone = store::state(&mut client, &user, &code)
        .await
        .map_err(|e| fail(e.into()))?;
    let values = FormValues::from_form(&form);
    let again = |status: StatusCode, values: &FormValues, errors: &[(String, String)]| {
        let page = views::search::form(lang, &zone, values, errors, &user.csrf_token);
        (status, page).into_response()
    };
    let asked = match asked_of(&values, lang) {
        Ok(asked) => asked,
        Err(errors) => return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &values, &errors)),
    };
    let request = Request {
        code: code.clone(),
        version: values.version,
        asked,
        note: Some(values.note.clone()),
        correction_reason: Some(values.correction_reason.clone()),
        ..Request::default()
    };
    let sent = store::send(&mut client, &user, &request, None, today_in_vietnam())
        .await
        .map_err(|e: SearchError| fail(e.into()))?;
    Ok(match sent {
        (200, _) => {
            saw(&state, &client, 200).await.map_err(fail)?;
            Redirect::to(&format!("/sites/{code}?lang={}#search", lang.code())).into_response()
        }
        (422, body) => again(
            StatusCode::UNPROCESSABLE_ENTITY,
            &values,
            &violations_of(&body, lang),
        ),
        _ => {
            let newer = lang.pick(
                "Khu vực vừa được người khác cập nhật; biểu mẫu đã lấy số liệu mới nhất, hãy kiểm tra rồi gửi lại.",
                "The zone was updated meanwhile; the form now shows the newest figures: check and send again.",
            );
            let newest = [("version".to_string(), newer.to_string())];
            again(StatusCode::CONFLICT, &FormValues::of(&zone), &newest)
        }
    })
}
