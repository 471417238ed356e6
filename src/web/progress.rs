//! Updating progress: the engineer's form (`/sites/{code}/progress`), its JSON twin
//! (`PATCH /api/sites/{code}/progress`) and CSV bulk updates (`/progress/bulk`,
//! `POST /api/progress/bulk`). All go through `progress::store`, so the rules, the
//! version check and the one transaction are the same whichever way an update comes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::caller::Caller;
use super::multipart::Refusal;
use super::sites::{visible_site, LangQuery};
use super::{AppState, PageError};
use crate::db::idempotency::IdempotencyKey;
use crate::domain::{SiteStatus, UserRole};
use crate::error::AppError;
use crate::i18n::{today_in_vietnam, typed_date, Lang};
use crate::progress::bulk;
use crate::progress::photos::{Photo, MAX_PHOTOS, MAX_PHOTO_BYTES};
use crate::progress::rules::Update;
use crate::progress::store::{self, Applied, ProgressError, Request};
use crate::progress::sync::{self, Answer, Synced};
use crate::views;
use crate::views::sites::FormValues;

/// Photos plus the form's fields.
const MAX_FORM_BYTES: usize = MAX_PHOTOS * MAX_PHOTO_BYTES + 1024 * 1024;
/// A CSV of many thousand rows.
const MAX_CSV_BYTES: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sites/{code}/progress",
            get(form_page)
                .post(form_post)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route(
            "/api/sites/{code}/progress",
            get(api_state).patch(api_patch),
        )
        .route(
            "/progress/bulk",
            get(bulk_page)
                .post(bulk_post)
                .layer(DefaultBodyLimit::max(MAX_CSV_BYTES + 64 * 1024)),
        )
        .route(
            "/api/progress/bulk",
            axum::routing::post(bulk_api).layer(DefaultBodyLimit::max(MAX_CSV_BYTES)),
        )
        .route("/api/progress/template.csv", get(template))
        .route("/api/search/template.csv", get(search_template))
}

/// A written update's layer versions, so this process's dashboards move on at once.
fn saw_versions(state: &AppState, applied: &Applied) {
    for (layer, version) in &applied.layer_versions {
        state.saw_version(layer, *version);
    }
}

/// A written update seen by this process: its versions, and its listener caught up, so the
/// writer's next tile and dashboard show it.
pub(super) async fn saw(state: &AppState, applied: &Applied) {
    saw_versions(state, applied);
    state.caught_up().await;
}

fn engineer(caller: &Caller) -> Result<&crate::accounts::sessions::SessionUser, AppError> {
    caller.with_role(&[UserRole::Engineer])
}

fn values_of(site: &crate::db::sites::SiteDetails) -> FormValues {
    FormValues {
        status: site.status.clone(),
        percent: site.percent.to_string(),
        actual_start: typed_date(site.actual_start),
        actual_finish: typed_date(site.actual_finish),
        note: String::new(),
        correction_reason: String::new(),
        version: site.version,
    }
}

async fn form_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = engineer(&caller).map_err(fail)?;
    let site = visible_site(&state, &caller, &code).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    if !crate::db::sites::in_scope(&client, site.id, user.id, user.unit.as_deref())
        .await
        .map_err(|e| fail(e.into()))?
    {
        return Err(fail(AppError::Forbidden(format!(
            "site {code} is outside your districts and unit"
        ))));
    }
    Ok(
        views::sites::progress_form(lang, &site, &values_of(&site), &[], &user.csrf_token, None)
            .into_response(),
    )
}

/// A date field of a form: empty is none; anything else must be a date.
fn form_date(
    field: &'static str,
    text: &str,
    lang: Lang,
) -> Result<Option<NaiveDate>, (String, String)> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    crate::params::parse_date(t).map(Some).ok_or_else(|| {
        (
            field.to_string(),
            lang.pick("Ngày không hợp lệ.", "Not a date.").to_string(),
        )
    })
}

/// `POST /sites/{code}/progress`: the engineer's form, with photos. Refused values come
/// back in the form with what was wrong; a newer update by someone else is shown (409).
async fn form_post(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = engineer(&caller).map_err(fail)?.clone();
    let (fields, files) = super::multipart::read(&mut multipart, |field, _| {
        Ok((field == "photos").then(Vec::new))
    })
    .await
    .map_err(|refusal| match refusal {
        Refusal::TooLarge(text) => fail(AppError::bad_request("form", text)),
        Refusal::Error(e) => fail(e),
    })?;
    caller
        .check_csrf(fields.get("csrf").map(String::as_str))
        .map_err(fail)?;
    let site = visible_site(&state, &caller, &code).await.map_err(fail)?;
    let values = form_values(&fields);
    let uploads = files
        .into_iter()
        .filter(|f| !f.sink.is_empty())
        .map(|f| (f.name, f.sink))
        .collect();
    let form = FormAgain {
        lang,
        site: &site,
        csrf: &user.csrf_token,
    };
    let (update, photos) = match checked_form(lang, &values, uploads).await.map_err(fail)? {
        Ok(checked) => checked,
        Err(errors) => {
            return Ok(form.again(StatusCode::UNPROCESSABLE_ENTITY, &values, &errors, None))
        }
    };
    let request = Request {
        code: code.clone(),
        expected_version: values.version,
        photos,
        audit_note: None,
        supervising: false,
        keep: Default::default(),
        update,
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    match store::apply(&mut client, &user, &request, today_in_vietnam()).await {
        Ok(applied) => {
            saw(&state, &applied).await;
            Ok(Redirect::to(&format!("/sites/{code}?lang={}", lang.code())).into_response())
        }
        Err(e) => form.refused(e, values).map_err(fail),
    }
}

/// The progress form shown again: what was typed, what was wrong, or a newer update.
struct FormAgain<'a> {
    lang: Lang,
    site: &'a crate::db::sites::SiteDetails,
    csrf: &'a str,
}

impl FormAgain<'_> {
    fn again(
        &self,
        status: StatusCode,
        values: &FormValues,
        errors: &[(String, String)],
        newer: Option<&crate::progress::store::HistoryEntry>,
    ) -> Response {
        let page =
            views::sites::progress_form(self.lang, self.site, values, errors, self.csrf, newer);
        (status, page).into_response()
    }

    /// The form again after `apply` refused: the rules broken (422), or the newer update
    /// (409) with what the engineer typed, now against the newest version, so sending
    /// again is a decision taken knowingly.
    fn refused(&self, e: ProgressError, values: FormValues) -> Result<Response, AppError> {
        match e {
            ProgressError::Rules(violations) => {
                let errors: Vec<(String, String)> = violations
                    .iter()
                    .map(|v| (v.field.to_string(), v.message(self.lang).to_string()))
                    .collect();
                Ok(self.again(StatusCode::UNPROCESSABLE_ENTITY, &values, &errors, None))
            }
            ProgressError::Conflict { current, .. } => {
                let values = FormValues {
                    version: current.version,
                    ..values
                };
                let newer = current.last_update.as_ref();
                Ok(self.again(StatusCode::CONFLICT, &values, &[], newer))
            }
            e => Err(e.into()),
        }
    }
}

/// The uploaded pictures decoded and checked off the async threads; each refused one is
/// added to `errors`.
async fn decoded_photos(
    lang: Lang,
    uploads: Vec<(String, Vec<u8>)>,
    errors: &mut Vec<(String, String)>,
) -> Result<Vec<Photo>, AppError> {
    let checked = tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .map(|(name, bytes)| Photo::from_upload(&name, bytes))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut photos = Vec::new();
    for photo in checked {
        match photo {
            Ok(p) => photos.push(p),
            Err(e) => errors.push((
                "photos".into(),
                match lang {
                    Lang::Vi => e.vi(),
                    Lang::En => e.to_string(),
                },
            )),
        }
    }
    Ok(photos)
}

/// The form's fields as typed (a version that is not a number reads as -1).
fn form_values(fields: &HashMap<String, String>) -> FormValues {
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    FormValues {
        status: text("status"),
        percent: text("percent"),
        actual_start: text("actual_start"),
        actual_finish: text("actual_finish"),
        note: text("note"),
        correction_reason: text("correction_reason"),
        version: text("version").trim().parse().unwrap_or(-1),
    }
}

/// The update the form asks for and its photos (decoded and checked off the async
/// threads), or every field that is wrong, in the user's language.
async fn checked_form(
    lang: Lang,
    values: &FormValues,
    uploads: Vec<(String, Vec<u8>)>,
) -> Result<Result<(Update, Vec<Photo>), Vec<(String, String)>>, AppError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut wrong =
        |field: &str, vi: &str, en: &str| errors.push((field.into(), lang.pick(vi, en).into()));
    if values.version < 1 {
        wrong(
            "version",
            "Biểu mẫu thiếu phiên bản; hãy tải lại trang.",
            "The form lost its version; reload the page.",
        );
    }
    let status = SiteStatus::from_code(values.status.trim());
    if status.is_none() {
        wrong("status", "Hãy chọn trạng thái.", "Choose a status.");
    }
    let percent = values.percent.trim().parse::<i64>();
    if percent.is_err() {
        wrong(
            "percent",
            "Tỷ lệ phải là số nguyên từ 0 đến 100.",
            "Percent is a whole number from 0 to 100.",
        );
    }
    let start = form_date("actual_start", &values.actual_start, lang);
    let finish = form_date("actual_finish", &values.actual_finish, lang);
    errors.extend(
        [&start, &finish]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
            .cloned(),
    );
    if uploads.len() > MAX_PHOTOS {
        let lead = lang.pick(
            "Tối đa số ảnh mỗi lần:",
            "At most this many photos at once:",
        );
        errors.push(("photos".into(), format!("{lead} {MAX_PHOTOS}.")));
    }
    let photos = decoded_photos(lang, uploads, &mut errors).await?;
    Ok(match (status, percent, start, finish) {
        (Some(status), Ok(percent), Ok(actual_start), Ok(actual_finish)) if errors.is_empty() => {
            Ok((
                Update {
                    status,
                    percent,
                    actual_start,
                    actual_finish,
                    note: Some(values.note.clone()),
                    correction_reason: Some(values.correction_reason.clone()),
                },
                photos,
            ))
        }
        _ => Err(errors),
    })
}

/// The JSON body of `PATCH /api/sites/{code}/progress`. Fields left out keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    /// The version the site must be at.
    version: Option<i32>,
    /// The version the update was made from (a phone's queue): merged with what changed.
    base_version: Option<i32>,
    status: Option<String>,
    percent: Option<i64>,
    actual_start: Option<NaiveDate>,
    actual_finish: Option<NaiveDate>,
    note: Option<String>,
    correction_reason: Option<String>,
}

fn csrf_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

async fn api_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let site = visible_site(&state, &caller, &code).await?;
    Ok(Json(json!({
        "code": site.code, "status": site.status, "percent": site.percent,
        "actual_start": site.actual_start, "actual_finish": site.actual_finish,
        "version": site.version, "updated_at": site.updated_at,
    }))
    .into_response())
}

/// `PATCH /api/sites/{code}/progress`: `version` (the site must be at it, else 409) or
/// `base_version` (made from it: merged with what changed since, a conflict kept when a
/// field crossed). With an `Idempotency-Key`, a repeat gets the first answer, and writes
/// nothing.
async fn api_patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let user = engineer(&caller)?;
    caller.check_csrf(csrf_header(&headers))?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().unwrap_or("\u{0}")),
    };
    let answer = send_update(&state, user, code, key, &body).await?;
    state.caught_up().await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok((status, Json(answer.body)).into_response())
}

/// One progress update as the API takes it, alone (`PATCH`) or in a phone's batch: `body`
/// as sent, sent once per `key` (the same key for the same site and body gets the same
/// answer whichever way it comes).
pub(super) async fn send_update(
    state: &AppState,
    user: &crate::accounts::sessions::SessionUser,
    code: String,
    key: Option<&str>,
    body: &[u8],
) -> Result<Answer, AppError> {
    let key = key_of(key, user.id, &[b"PATCH", code.as_bytes(), body])?;
    let body: PatchBody = serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request("body", format!("not a progress update: {e}")))?;
    let merge = body.base_version.is_some();
    let request = patch_request(code, body)?;
    let mut client = state.db().await?;
    let today = today_in_vietnam();
    let sent = sync::send(
        &mut client,
        user,
        &request,
        merge,
        key.as_ref(),
        today,
        answer_of,
    )
    .await
    .map_err(AppError::from)?;
    // The caller waits for the listener once (a batch sends many updates).
    if let Some(applied) = &sent.applied {
        saw_versions(state, applied);
    }
    Ok(sent.answer)
}

/// The `Idempotency-Key` header of a write, if sent: 8–128 letters, digits, `-` or `_`.
pub(super) fn idempotency_key(
    headers: &HeaderMap,
    user_id: i32,
    request: &[&[u8]],
) -> Result<Option<IdempotencyKey>, AppError> {
    let value = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    key_of(value, user_id, request)
}

/// A key as sent (if it was) for `user_id`'s `request`; refused unless it is 8–128
/// letters, digits, `-` or `_`.
fn key_of(
    value: Option<&str>,
    user_id: i32,
    request: &[&[u8]],
) -> Result<Option<IdempotencyKey>, AppError> {
    let Some(value) = value else {
        return Ok(None);
    };
    IdempotencyKey::new(user_id, value, request)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request(
                "Idempotency-Key",
                "must be 8 to 128 letters, digits, '-' or '_' (a UUID is)",
            )
        })
}

/// What a progress update came to, as the API answers it (and answers it again for the
/// same Idempotency-Key).
fn answer_of(outcome: &Result<Synced, ProgressError>) -> Answer {
    let (status, body) = match outcome {
        // An update waiting for review has no history row yet.
        Ok(Synced::Applied(a)) => (
            200,
            json!({ "site": a.state, "history_id": (a.history_id != 0).then_some(a.history_id) }),
        ),
        Ok(Synced::Crossed {
            id,
            fields,
            base,
            theirs,
            mine,
        }) => (
            409,
            json!({
                "error": "the update crossed another one: pick mine or theirs for each field",
                "status": 409,
                "conflict": { "id": id, "fields": fields, "base": base, "theirs": theirs,
                              "mine": mine, "resolve": format!("/api/conflicts/{id}") },
                "current": theirs,
            }),
        ),
        Err(ProgressError::Rules(violations)) => (
            422,
            json!({
                "error": "the update breaks the progress rules",
                "status": 422,
                "violations": violations.iter().map(|v| json!({
                    "field": v.field, "rule": v.rule, "message": v.en, "message_vi": v.vi,
                })).collect::<Vec<_>>(),
            }),
        ),
        Err(ProgressError::Conflict { expected, current }) => (
            409,
            json!({
                "error": format!("the site changed since version {expected}"),
                "status": 409,
                "current": current,
            }),
        ),
        Err(
            e @ (ProgressError::NotFound(_) | ProgressError::Forbidden(_) | ProgressError::Db(_)),
        ) => {
            let status = match e {
                ProgressError::NotFound(_) => 404,
                ProgressError::Forbidden(_) => 403,
                _ => 500,
            };
            (status, json!({ "error": e.to_string(), "status": status }))
        }
    };
    Answer { status, body }
}

/// The update a PATCH body asks for: fields left out keep the site's value (read under the
/// site's lock when applying).
fn patch_request(code: String, body: PatchBody) -> Result<Request, AppError> {
    let status = match &body.status {
        Some(s) => SiteStatus::from_code(s).ok_or_else(|| {
            let known: Vec<&str> = SiteStatus::ALL.iter().map(|s| s.code()).collect();
            AppError::bad_request(
                "status",
                format!("no status '{s}'; statuses are {}", known.join(", ")),
            )
        })?,
        None => SiteStatus::Planned,
    };
    let keep = store::Keep {
        status: body.status.is_none(),
        percent: body.percent.is_none(),
        actual_start: body.actual_start.is_none(),
        actual_finish: body.actual_finish.is_none(),
    };
    Ok(Request {
        code,
        expected_version: match (body.version, body.base_version) {
            (Some(v), None) | (None, Some(v)) => v,
            _ => {
                return Err(AppError::bad_request(
                    "version",
                    "give version (the site must be at it) or base_version (merged), one of them",
                ))
            }
        },
        photos: vec![],
        audit_note: None,
        supervising: false,
        keep,
        update: Update {
            status,
            percent: body.percent.unwrap_or(0),
            actual_start: body.actual_start,
            actual_finish: body.actual_finish,
            note: body.note,
            correction_reason: body.correction_reason,
        },
    })
}

async fn template(State(state): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    let user = engineer(&caller)?;
    let client = state.db().await?;
    let csv = bulk::template(&client, user).await?;
    Ok(csv_download("tien-do.csv", csv))
}

async fn search_template(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, AppError> {
    let user = engineer(&caller)?;
    let client = state.db().await?;
    let csv = crate::search::bulk::template(&client, user).await?;
    Ok(csv_download("tim-kiem.csv", csv))
}

/// A CSV for spreadsheet programs: a byte-order mark so they read the Vietnamese rightly.
fn csv_download(name: &str, csv: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        format!("\u{feff}{csv}"),
    )
        .into_response()
}

async fn run_bulk(
    state: &AppState,
    caller: &Caller,
    data: &[u8],
) -> Result<bulk::Report, AppError> {
    let user = engineer(caller)?;
    let mut client = state.db().await?;
    if crate::search::bulk::is_search_csv(data) {
        // Search zones' figures (the search template), on the same page and route.
        let report =
            crate::search::bulk::apply(&mut client, user, data, today_in_vietnam()).await?;
        if report.committed {
            for (layer, version) in crate::search::store::layer_versions(&client).await? {
                state.saw_version(&layer, version);
            }
            state.caught_up().await;
        }
        return Ok(report);
    }
    let report = bulk::apply(&mut client, user, data, today_in_vietnam()).await?;
    for applied in &report.applied {
        saw_versions(state, applied);
    }
    if !report.applied.is_empty() {
        state.caught_up().await;
    }
    Ok(report)
}

async fn bulk_api(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    engineer(&caller)?;
    caller.check_csrf(csrf_header(&headers))?;
    if body.len() > MAX_CSV_BYTES {
        return Err(AppError::bad_request(
            "body",
            "the CSV is larger than 8 MB; split it",
        ));
    }
    let report = run_bulk(&state, &caller, &body).await?;
    let status = if report.committed {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

async fn bulk_page(caller: Caller, Query(q): Query<LangQuery>) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = engineer(&caller).map_err(|e| PageError::new(lang, e))?;
    Ok(views::progress::bulk_page(lang, &user.csrf_token, None).into_response())
}

async fn bulk_post(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = engineer(&caller).map_err(fail)?.clone();
    let mut csrf = String::new();
    let mut data = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| fail(AppError::bad_request("form", e.body_text())))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                data = field
                    .bytes()
                    .await
                    .map_err(|e| fail(AppError::bad_request("file", e.body_text())))?
                    .to_vec()
            }
            _ => {}
        }
    }
    caller.check_csrf(Some(&csrf)).map_err(fail)?;
    let report = run_bulk(&state, &caller, &data).await.map_err(fail)?;
    let status = if report.committed {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        views::progress::bulk_page(lang, &user.csrf_token, Some(&report)),
    )
        .into_response())
}
