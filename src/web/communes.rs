//! `/admin/communes` (administrators, issue 24 §1): commune boundaries from a GIS file
//! through the page, as `kvpt geodata communes` does on the command line. The file is
//! uploaded and checked — each feature matched to the commune list and reported, nothing
//! written — and kept (in PostgreSQL too, so any instance can write it); when every feature
//! matched, "write" replaces the boundaries and derives every work's commune again.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::imports::{forget_old_uploads, kept_upload, receive_upload, upload_gone};
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::domain::UserRole;
use crate::error::AppError;
use crate::exchange::import::communes::{self, CommuneReport};
use crate::exchange::import::srs::{self, SourceCrs};
use crate::exchange::import::uploads::{self, Purpose};
use crate::i18n::Lang;
use crate::views;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route(
            "/admin/communes",
            get(page).post(check).layer(DefaultBodyLimit::max(
                usize::try_from(max_upload_bytes).unwrap_or(usize::MAX),
            )),
        )
        .route("/admin/communes/{token}/write", post(write))
}

/// The page: the boundaries as they are, the form, and a report when there is one.
async fn render(
    state: &AppState,
    user: &SessionUser,
    lang: Lang,
    status: StatusCode,
    report: Option<(&CommuneReport, &str, &str)>,
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let sources = crate::db::areas::boundary_sources(&client)
        .await
        .map_err(|e| fail(e.into()))?;
    let page = views::communes::page(lang, &user.csrf_token, &sources, report);
    Ok((status, page).into_response())
}

fn admin(caller: &Caller, lang: Lang) -> Result<SessionUser, PageError> {
    caller
        .with_role(&[UserRole::Admin])
        .cloned()
        .map_err(|e| PageError::new(lang, e))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = admin(&caller, lang)?;
    render(&state, &user, lang, StatusCode::OK, None).await
}

/// The coordinate system the form names ("" for the file's own).
fn forced_crs(lang: Lang, srs: Option<&String>) -> Result<Option<SourceCrs>, AppError> {
    srs.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(srs::from_option)
        .transpose()
        .map_err(|(vi, en)| AppError::bad_request("srs", lang.pick(&vi, &en)))
}

/// 200 for a report that may be written (or was), 422 when the file or a feature was refused.
fn status_of(report: &CommuneReport) -> StatusCode {
    if report.file_error.is_some() || !report.refused.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// `POST /admin/communes`: the file uploaded and checked; nothing written.
async fn check(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = admin(&caller, lang)?;
    let admitted = state.heavy_work.admit().map_err(fail)?;
    let received = match receive_upload(&state, &caller, lang, &mut multipart).await {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let srs = received.fields.get("srs").cloned().unwrap_or_default();
    let forced = match forced_crs(lang, Some(&srs)) {
        Ok(f) => f,
        Err(e) => {
            received.discard();
            return Err(fail(e));
        }
    };
    let kept = async {
        let mut client = state.db().await?;
        uploads::keep(
            &mut client,
            &received.token,
            (user.id, Purpose::Communes),
            &received.dir,
            &received.source(),
        )
        .await
    };
    if let Err(e) = kept.await {
        received.discard();
        return Err(fail(e.into()));
    }
    forget_old_uploads();
    let report = communes::import(
        &state.pool,
        &received.path,
        &received.shown,
        forced,
        false,
        &user.username,
    )
    .await
    .map_err(|e| fail(e.into()))?;
    drop(admitted);
    let token = received.token.clone();
    render(
        &state,
        &user,
        lang,
        status_of(&report),
        Some((&report, &token, &srs)),
    )
    .await
}

#[derive(Debug, Deserialize)]
struct WriteForm {
    csrf: Option<String>,
    #[serde(default)]
    srs: String,
    /// The file's name as the check showed it (names the boundaries' source).
    #[serde(default)]
    name: String,
}

/// `POST /admin/communes/{token}/write`: the checked upload written, if every feature
/// still matches; only its uploader may, once (the upload is gone after, written or not).
async fn write(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<WriteForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = admin(&caller, lang)?;
    caller.check_csrf(form.csrf.as_deref()).map_err(fail)?;
    let forced = forced_crs(lang, Some(&form.srs)).map_err(fail)?;
    let owner = {
        let client = state.db().await.map_err(|e| fail(e.into()))?;
        uploads::owner(&client, &token, Purpose::Communes)
            .await
            .map_err(|e| fail(e.into()))?
    };
    let upload = owner.map(|_| token.clone());
    let (token, path) = kept_upload(&state, lang, upload, owner == Some(user.id))
        .await
        .map_err(fail)?;
    let name: String = form.name.trim().chars().take(200).collect();
    let name = if name.is_empty() {
        "upload".into()
    } else {
        name
    };
    let admitted = state.heavy_work.admit().map_err(fail)?;
    // Claimed before it is written: a second press, here or on another instance, finds it gone.
    let claimed = async {
        let client = state.db().await?;
        uploads::claim(&client, &token, user.id, Purpose::Communes).await
    };
    if !claimed.await.map_err(|e| fail(e.into()))? {
        return Err(fail(upload_gone(lang)));
    }
    let report = communes::import(&state.pool, &path, &name, forced, true, &user.username).await;
    let _ = std::fs::remove_dir_all(crate::exchange::import::uploads_dir().join(&token));
    let report = report.map_err(|e| fail(e.into()))?;
    drop(admitted);
    render(
        &state,
        &user,
        lang,
        status_of(&report),
        Some((&report, &token, &form.srs)),
    )
    .await
}
