//! The field app: `/field` (an engineer's sites, opened offline by the service worker),
//! `/field/conflicts` (updates that crossed another, resolved by picking per field) and
//! `POST /api/sites/{code}/photos` (a photo sent from the phone's queue, once per
//! `Idempotency-Key`). The queue itself lives on the phone: `static/queue.js`.

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::caller::Caller;
use super::multipart::Refusal;
use super::progress::idempotency_key;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::domain::UserRole;
use crate::error::AppError;
use crate::i18n::{folded, Lang};
use crate::progress::photos::{Photo, MAX_PHOTO_BYTES};
use crate::progress::store;
use crate::progress::sync::{self, Pick};
use crate::progress::{conflicts, photos::PhotoError};
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/field", get(home))
        .route("/field/conflicts", get(conflicts_page))
        .route("/field/photos", get(photos_page))
        .route("/field/conflicts/{id}", post(resolve))
        .route(
            "/api/sync/progress",
            post(batch).layer(DefaultBodyLimit::max(MAX_BATCH * 16 * 1024)),
        )
        .route(
            "/api/sites/{code}/photos",
            post(photo).layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES + 64 * 1024)),
        )
}

/// Updates per batch: a day's queue in a few round trips on a slow link.
const MAX_BATCH: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    updates: Vec<Queued>,
}

/// One update of a phone's queue: its site, its key, and its body as the JSON text the
/// PATCH would send (byte for byte: the key is judged with it).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Queued {
    code: String,
    key: String,
    body: String,
}

fn engineer(caller: &Caller) -> Result<&SessionUser, AppError> {
    caller.with_role(&[UserRole::Engineer])
}

/// Conflicts are resolved by their engineer or by an administrator, their supervisor.
fn resolver(caller: &Caller) -> Result<&SessionUser, AppError> {
    caller.with_role(&[UserRole::Engineer, UserRole::Admin])
}

/// Sites listed on `/field` at most (an engineer has tens; a whole province's districts,
/// thousands): more are found with `q`.
const LISTED: usize = 500;

#[derive(Debug, Deserialize)]
struct HomeQuery {
    lang: Option<String>,
    /// Code, name or district, without diacritics if the phone has no Vietnamese keyboard.
    q: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HomeQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = engineer(&caller).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let (mut sites, extent, open, submitted, zone_submitted) = tokio::try_join!(
        store::updatable_sites(&client, user),
        store::field_extent(&client, user),
        conflicts::open(&client, user),
        crate::progress::review::of_author(&client, user),
        crate::search::review::of_author(&client, user),
    )
    .map_err(|e| fail(e.into()))?;
    let total = sites.len();
    if let Some(wanted) = q.q.as_deref().map(folded).filter(|w| !w.trim().is_empty()) {
        sites.retain(|s| s.search_text().contains(wanted.trim()));
    }
    sites.truncate(LISTED);
    let page = views::field::Home {
        sites: &sites,
        total,
        query: q.q.as_deref().unwrap_or(""),
        extent,
        open_conflicts: open.len(),
        review: views::review::notices(
            lang,
            &views::review::notices_of(lang, &submitted, &zone_submitted),
            true,
        ),
    };
    Ok(views::field::home(lang, &page).into_response())
}

async fn conflicts_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = resolver(&caller).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let open = conflicts::open(&client, user)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::field::conflicts(lang, &open, &user.csrf_token, None).into_response())
}

/// Photos in the review list at most.
const REVIEWED: i64 = 200;

/// `/field/photos`: the photos taken far from their site or long before their update, of
/// the engineer's sites (every site for an administrator), within their clearance.
async fn photos_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller
        .with_role(&[UserRole::Engineer, UserRole::Admin])
        .map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let admin = user.role == UserRole::Admin;
    let rows = crate::db::sites::flagged_photos(
        &client,
        user.id,
        user.unit.as_deref(),
        admin,
        user.clearance,
        REVIEWED,
    )
    .await
    .map_err(|e| fail(e.into()))?;
    Ok(views::field::photos(lang, &rows, REVIEWED as usize).into_response())
}

/// `POST /field/conflicts/{id}`: the picks of the conflict page's form (a radio button per
/// field that crossed). A refusal shows the page again saying why.
async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<LangQuery>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = resolver(&caller).map_err(fail)?.clone();
    caller
        .check_csrf(form.get("csrf").map(String::as_str))
        .map_err(fail)?;
    let picks = picks_of(&form).map_err(fail)?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let outcome = super::conflicts::resolve_any(&state, &mut client, &user, id, &picks).await;
    let (status, error) = match outcome {
        Ok(Some(_)) => {
            let to = format!("/field/conflicts?lang={}", lang.code());
            return Ok(Redirect::to(&to).into_response());
        }
        Ok(None) => {
            let e = AppError::NotFound(format!("no open conflict {id} you may resolve"));
            return Err(fail(e));
        }
        Err(e) if e.rules().is_some() => (
            StatusCode::UNPROCESSABLE_ENTITY,
            e.rules()
                .unwrap_or_default()
                .iter()
                .map(|v| v.message(lang).to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(e) if e.moved() => (
            StatusCode::CONFLICT,
            lang.pick(
                "Công trình vừa có cập nhật mới; cột “Người khác” đã được làm mới, hãy chọn lại.",
                "The site was updated meanwhile; “Theirs” now shows where it stands: pick again.",
            )
            .to_string(),
        ),
        Err(super::conflicts::Failed::Progress(e)) => return Err(fail(e.into())),
        Err(super::conflicts::Failed::Search(e)) => return Err(fail(e.into())),
    };
    let open = conflicts::open(&client, &user)
        .await
        .map_err(|e| fail(e.into()))?;
    let page = views::field::conflicts(lang, &open, &user.csrf_token, Some(&error));
    Ok((status, page).into_response())
}

/// `POST /api/sync/progress`: a phone's queued updates in one request, applied in order,
/// each in its own transaction exactly as `PATCH /api/sites/{code}/progress` with its
/// `Idempotency-Key` would (the same key answers the same whichever way it comes). Each
/// gets its answer; a refusal of one does not stop the others. A failure of the server
/// stops the batch there (`stopped`): what follows was not tried, and is sent again.
async fn batch(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let user = engineer(&caller)?.clone();
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let batch: Batch = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request("body", format!("not a batch of updates: {e}")))?;
    if batch.updates.len() > MAX_BATCH {
        return Err(AppError::bad_request(
            "updates",
            format!("at most {MAX_BATCH} updates per batch"),
        ));
    }
    let mut answers = Vec::with_capacity(batch.updates.len());
    for (i, queued) in batch.updates.into_iter().enumerate() {
        let sent = super::progress::send_update(
            &state,
            &user,
            queued.code,
            Some(&queued.key),
            queued.body.as_bytes(),
        )
        .await;
        let (status, body) = match sent {
            Ok(answer) => (answer.status, answer.body),
            Err(e) if e.status().is_server_error() => {
                tracing::warn!(error = %e, "a queued update failed; the batch stops");
                let stopped = json!({ "at": i, "error": e.to_string() });
                state.caught_up().await;
                return Ok(Json(json!({ "answers": answers, "stopped": stopped })));
            }
            Err(e) => {
                let status = e.status().as_u16();
                (status, e.json_body())
            }
        };
        answers.push(json!({ "key": queued.key, "status": status, "body": body }));
    }
    state.caught_up().await;
    Ok(Json(json!({ "answers": answers, "stopped": null })))
}

/// The conflict form's picks: each field but the token, "mine" or "theirs".
fn picks_of(form: &HashMap<String, String>) -> Result<HashMap<String, Pick>, AppError> {
    form.iter()
        .filter(|(k, _)| k.as_str() != "csrf")
        .map(|(field, pick)| match pick.as_str() {
            "mine" => Ok((field.clone(), Pick::Mine)),
            "theirs" => Ok((field.clone(), Pick::Theirs)),
            _ => Err(AppError::bad_request(field, "pick 'mine' or 'theirs'")),
        })
        .collect()
}

/// The id in form field `name`, if given.
fn id_field(
    fields: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<Option<i64>, AppError> {
    match fields.get(name).map(|h| h.trim()) {
        None | Some("") => Ok(None),
        Some(h) => h
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::bad_request(name, "must be the id of an update (a number)")),
    }
}

/// `POST /api/sites/{code}/photos`: one photo (`photo`) and, when it was queued with an
/// update, that update's `history_id` (or, waiting for review, its `submission_id`). With an
/// `Idempotency-Key` the same photo sent again
/// is stored once (the key is judged by the picture and the update, not by the multipart
/// wrapping, which a browser draws anew at each try).
async fn photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let user = engineer(&caller)?.clone();
    caller.check_csrf(headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))?;
    let (fields, files) = super::multipart::read(&mut multipart, |field, _| {
        Ok((field == "photo").then(Vec::new))
    })
    .await
    .map_err(|refusal| match refusal {
        Refusal::TooLarge(text) => AppError::bad_request("photo", text),
        Refusal::Error(e) => e,
    })?;
    let [file] = <[_; 1]>::try_from(files)
        .map_err(|_| AppError::bad_request("photo", "send exactly one file named 'photo'"))?;
    let history_id = id_field(&fields, "history_id")?;
    let submission_id = id_field(&fields, "submission_id")?;
    let name = file.name.clone();
    let photo = tokio::task::spawn_blocking(move || Photo::from_upload(&file.name, file.sink))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e: PhotoError| AppError::BadRequest {
            field: "photo".into(),
            reason: e.to_string(),
            vi: Some(e.vi()),
        })?;
    let history = history_id.map(|h| h.to_be_bytes()).unwrap_or_default();
    let submission = submission_id.map(|s| s.to_be_bytes()).unwrap_or_default();
    let key = idempotency_key(
        &headers,
        user.id,
        &[
            b"POST photo",
            code.as_bytes(),
            &history,
            &submission,
            &photo.sha256,
        ],
    )?;
    let mut client = state.db().await?;
    let (history, submission) = (history_id, submission_id);
    let answer = sync::send_photo(
        &mut client,
        &user,
        &code,
        history,
        submission,
        &photo,
        key.as_ref(),
    )
    .await?;
    tracing::debug!(site = code, file = name, status = answer.status, "photo");
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok((status, Json(answer.body)).into_response())
}
