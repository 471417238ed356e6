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
use crate::params::parse_date;
use crate::search::rules::Asked;
use crate::search::store::{self, Request, SearchError};
use crate::views;
use crate::views::search::FormValues;

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
            state.tiles.saw_version(&layer, version);
        }
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

/// The form's figures as an update of the whole zone (each field as typed), or what is wrong.
fn asked_of(values: &FormValues, lang: Lang) -> Result<Asked, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut wrong = |field: &str, vi: &str, en: &str| {
        errors.push((field.to_string(), lang.pick(vi, en).to_string()))
    };
    let count = |text: &str| text.trim().parse::<i32>().ok().filter(|n| *n >= 0);
    let (expected, found) = (
        count(&values.remains_expected),
        count(&values.remains_found),
    );
    if expected.is_none() {
        wrong(
            "remains_expected",
            "Số hài cốt dự kiến là số nguyên không âm.",
            "Remains expected is a whole number, 0 or more.",
        );
    }
    if found.is_none() {
        wrong(
            "remains_found",
            "Số hài cốt đã quy tập là số nguyên không âm.",
            "Remains found is a whole number, 0 or more.",
        );
    }
    let area = values
        .area_concluded_ha
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok();
    if area.is_none() {
        wrong(
            "area_concluded_ha",
            "Diện tích kết luận là số (ha), ví dụ 12,5.",
            "Area concluded is a number of hectares, e.g. 12.5.",
        );
    }
    let mut date = |field: &str, text: &str| -> Option<NaiveDateOpt> {
        let t = text.trim();
        if t.is_empty() {
            return Some(None);
        }
        let parsed = parse_date(t);
        if parsed.is_none() {
            errors.push((
                field.to_string(),
                lang.pick("Nhập ngày dạng dd/mm/yyyy.", "Type the date as dd/mm/yyyy.")
                    .to_string(),
            ));
        }
        parsed.map(Some)
    };
    let drawn_on = date("map_drawn_on", &values.map_drawn_on);
    let concluded = date("concluded_on", &values.concluded_on);
    match (expected, found, area, drawn_on, concluded) {
        (Some(e), Some(f), Some(a), Some(d), Some(c)) if errors.is_empty() => Ok(Asked {
            remains_expected: Some(e),
            remains_found: Some(f),
            area_concluded_ha: Some(a),
            map_drawn: Some(values.map_drawn),
            map_drawn_on: Some(d),
            concluded_on: Some(c),
            unit_in_charge: Some(Some(values.unit_in_charge.clone())),
        }),
        _ => Err(errors),
    }
}

type NaiveDateOpt = Option<chrono::NaiveDate>;

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
    let again = |status: StatusCode,
                 zone: &store::ZoneState,
                 values: &FormValues,
                 errors: &[(String, String)]| {
        (
            status,
            views::search::form(lang, zone, values, errors, &user.csrf_token),
        )
            .into_response()
    };
    let asked = match asked_of(&values, lang) {
        Ok(asked) => asked,
        Err(errors) => {
            return Ok(again(
                StatusCode::UNPROCESSABLE_ENTITY,
                &zone,
                &values,
                &errors,
            ))
        }
    };
    let request = Request {
        code: code.clone(),
        version: values.version,
        merge: false,
        asked,
        note: Some(values.note.clone()),
        correction_reason: Some(values.correction_reason.clone()),
    };
    match store::send(&mut client, &user, &request, None, today_in_vietnam()).await {
        Ok((200, _)) => {
            saw(&state, &client, 200).await.map_err(fail)?;
            Ok(Redirect::to(&format!("/sites/{code}?lang={}#search", lang.code())).into_response())
        }
        Ok((422, body)) => {
            let errors: Vec<(String, String)> = body["violations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| {
                    let text = if lang == Lang::Vi {
                        &v["message_vi"]
                    } else {
                        &v["message"]
                    };
                    (
                        v["field"].as_str().unwrap_or("").to_string(),
                        text.as_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            Ok(again(
                StatusCode::UNPROCESSABLE_ENTITY,
                &zone,
                &values,
                &errors,
            ))
        }
        Ok(_) => {
            let newer = lang.pick(
                "Khu vực vừa được người khác cập nhật; biểu mẫu đã lấy số liệu mới nhất, hãy kiểm tra rồi gửi lại.",
                "The zone was updated meanwhile; the form now shows the newest figures: check and send again.",
            );
            let fresh = FormValues::of(&zone);
            Ok(again(
                StatusCode::CONFLICT,
                &zone,
                &fresh,
                &[("version".into(), newer.into())],
            ))
        }
        Err(e @ SearchError::Db(_)) => Err(fail(e.into())),
        Err(e) => Err(fail(e.into())),
    }
}
