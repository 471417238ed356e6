//! Imports from the web: `/imports` (the upload form and recent runs), the upload kept
//! privately and checked in the background while the page shows its progress, the report
//! at `/imports/{id}` with "check again" (another encoding, CRS or kind) and "write"
//! (the same file run again for real, all or nothing). Administrators and engineers
//! (in their districts) only.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::multipart::Refusal;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::domain::{SiteKind, UserRole};
use crate::error::AppError;
use crate::exchange::import::encoding::TextEncoding;
use crate::exchange::import::jobs::{self, JobState};
use crate::exchange::import::uploads;
use crate::exchange::import::{self, Importer, Options, Progress};
use crate::i18n::Lang;
use crate::views;

/// Largest upload unless the deployment says otherwise (`KVPT_IMPORT_MAX_MB`).
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 512;

pub fn routes(max_upload_bytes: u64) -> Router<AppState> {
    Router::new()
        .route(
            "/imports",
            get(page).post(upload).layer(DefaultBodyLimit::max(
                usize::try_from(max_upload_bytes).unwrap_or(usize::MAX),
            )),
        )
        .route("/imports/jobs/{token}", get(job_page))
        .route("/api/imports/jobs/{token}", get(job_json))
        .route("/imports/{id}", get(report_page))
        .route("/api/imports/{id}", get(report_json))
        .route("/imports/{id}/again", post(again))
}

/// Administrators import anywhere; engineers in their districts.
pub(super) async fn importer(
    state: &AppState,
    caller: &Caller,
) -> Result<(SessionUser, Importer), AppError> {
    let user = caller
        .with_role(&[UserRole::Admin, UserRole::Engineer])?
        .clone();
    let districts = if user.role == UserRole::Admin {
        None
    } else {
        let client = state.db().await?;
        Some(crate::accounts::users::district_ids(&client, user.id).await?)
    };
    let who = Importer {
        user_id: Some(user.id),
        name: user.username.clone(),
        via: "web",
        clearance: user.clearance,
        declassify: user.role == UserRole::Admin,
        districts,
    };
    Ok((user, who))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let (user, _) = importer(&state, &caller).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let recent = import::log::recent(&client, reader(&user))
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(
        views::imports::form(lang, &user.csrf_token, &recent, state.import_max_bytes)
            .into_response(),
    )
}

/// Who reads the import log: this user.
fn reader(user: &SessionUser) -> import::log::Reader {
    import::log::Reader {
        user_id: user.id,
        admin: user.role == UserRole::Admin,
        clearance: user.clearance,
    }
}

/// The options a form gives: kind, coordinate system, encoding ("" for automatic).
fn options_of(lang: Lang, fields: &HashMap<String, String>) -> Result<Options, AppError> {
    let pick = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    Ok(Options {
        kind: match pick("kind") {
            Some(k) => Some(SiteKind::from_code(k).ok_or_else(|| {
                AppError::bad_request(
                    "kind",
                    lang.pick("Loại công trình không hợp lệ.", "unknown kind"),
                )
            })?),
            None => None,
        },
        srs: match pick("srs") {
            Some(s) => Some(
                import::srs::from_option(s)
                    .map_err(|(vi, en)| AppError::bad_request("srs", lang.pick(&vi, &en)))?,
            ),
            None => None,
        },
        encoding: match pick("encoding") {
            Some(e) => Some(TextEncoding::parse(e).ok_or_else(|| {
                AppError::bad_request(
                    "encoding",
                    lang.pick("Bảng mã không hợp lệ.", "unknown encoding"),
                )
            })?),
            None => None,
        },
        dry_run: fields.get("write").is_none_or(|w| w != "1"),
        ..Options::default()
    })
}

/// A file name kept without any folder part, hidden-file dot or odd character.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    // File systems take 255 bytes a name: keep the start and the extension of a long one.
    const MAX: usize = 100;
    let cleaned = if cleaned.chars().count() > MAX {
        let ext = cleaned
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.chars().count() <= 10)
            .unwrap_or("");
        let stem: String = cleaned
            .chars()
            .take(MAX - ext.chars().count() - 1)
            .collect();
        if ext.is_empty() {
            stem
        } else {
            format!("{stem}.{ext}")
        }
    } else {
        cleaned
    };
    if cleaned.is_empty() {
        "upload".to_string()
    } else {
        cleaned
    }
}

/// The form's text fields, and the files written into `dir` (by their safe names).
async fn receive(
    multipart: &mut Multipart,
    dir: &std::path::Path,
) -> Result<(HashMap<String, String>, Vec<String>), Refusal> {
    let (fields, files) = super::multipart::read(multipart, |field, name| {
        if field != "file" {
            return Ok(None);
        }
        std::fs::File::create(dir.join(safe_name(name)))
            .map(Some)
            .map_err(|e| AppError::Internal(e.into()))
    })
    .await?;
    let mut names: Vec<String> = Vec::new();
    for file in files {
        let name = safe_name(&file.name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok((fields, names))
}

/// An upload received into a folder of its own: its token and folder, the path an import
/// reads (one file as itself, several — a Shapefile's parts — as their folder), the name
/// shown, and the form's text fields.
pub(super) struct Received {
    pub token: String,
    pub dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
    pub shown: String,
    pub fields: HashMap<String, String>,
}

impl Received {
    /// The file the kept upload reads ("" for the whole folder).
    pub fn source(&self) -> String {
        if self.path == self.dir {
            String::new()
        } else {
            files_name(&self.path)
        }
    }

    /// Drops the folder (a refused upload).
    pub fn discard(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Receives the form's files into a new folder, with its token checked: a page saying the
/// file is too large (413) or what else was wrong, in `lang`, when not.
pub(super) async fn receive_upload(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    multipart: &mut Multipart,
) -> Result<Received, Response> {
    let fail = |e: AppError| PageError::new(lang, e).into_response();
    let token = crate::accounts::sessions::random_token()[..24].to_string();
    let dir = import::uploads_dir().join(&token);
    std::fs::create_dir_all(&dir).map_err(|e| fail(AppError::Internal(e.into())))?;
    let accepted = async {
        let (fields, files) = receive(multipart, &dir).await?;
        caller.check_csrf(fields.get("csrf").map(String::as_str))?;
        if files.is_empty() {
            return Err(Refusal::Error(AppError::bad_request(
                "file",
                lang.pick("Chưa chọn tệp nào.", "no file chosen"),
            )));
        }
        let (path, shown) = if files.len() == 1 {
            (dir.join(&files[0]), files[0].clone())
        } else {
            (dir.clone(), files.join(", "))
        };
        std::fs::write(dir.join(uploads::SOURCE), path.to_string_lossy().as_bytes())
            .map_err(|e| Refusal::Error(AppError::Internal(e.into())))?;
        Ok((fields, path, shown))
    }
    .await;
    match accepted {
        Ok((fields, path, shown)) => Ok(Received {
            token,
            dir,
            path,
            shown,
            fields,
        }),
        Err(refusal) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(match refusal {
                Refusal::TooLarge(_) => too_large(lang, state.import_max_bytes),
                Refusal::Error(e) => fail(e),
            })
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let (_, who) = importer(&state, &caller).await.map_err(fail)?;
    let admitted = state.heavy_work.admit().map_err(fail)?;
    let received = match receive_upload(&state, &caller, lang, &mut multipart).await {
        Ok(r) => r,
        Err(page) => return Ok(page),
    };
    let options = match options_of(lang, &received.fields) {
        Ok(o) => o,
        Err(e) => {
            received.discard();
            return Err(fail(e));
        }
    };
    // Kept in PostgreSQL too: "check again" and "write" may reach another instance.
    if let Err(e) = keep_upload(
        &state,
        &received.token,
        &who,
        &received.dir,
        &received.source(),
    )
    .await
    {
        received.discard();
        return Err(fail(e));
    }
    forget_old_uploads();
    let Received {
        token, path, shown, ..
    } = received;
    start(&state, admitted, token.clone(), path, shown, options, who)
        .await
        .map_err(fail)?;
    Ok(Redirect::to(&format!("/imports/jobs/{token}?lang={}", lang.code())).into_response())
}

/// The last part of a path, as text.
fn files_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Keeps the upload in `dir` in PostgreSQL, for the instances that did not receive it.
pub(super) async fn keep_upload(
    state: &AppState,
    token: &str,
    who: &Importer,
    dir: &std::path::Path,
    source: &str,
) -> Result<(), AppError> {
    let owner = who
        .user_id
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a web import without a user")))?;
    let mut client = state.db().await?;
    uploads::keep(
        &mut client,
        token,
        (owner, uploads::Purpose::Works),
        dir,
        source,
    )
    .await?;
    Ok(())
}

/// 413 with a page saying so, in the user's language.
fn too_large(lang: Lang, max: u64) -> Response {
    let mb = max / (1024 * 1024);
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        views::error_page(
            lang,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "{} {mb} MiB.",
                lang.pick(
                    "Tệp quá lớn: không ghi gì cả. Hãy chia nhỏ tệp; giới hạn tải lên là",
                    "The file is too large: nothing was written. Split it; uploads are limited to"
                )
            ),
        ),
    )
        .into_response()
}

/// Runs an import in the background; its page follows it by `token`, on any instance
/// (the job is kept in PostgreSQL, with this instance's heartbeat while it runs). 409 when
/// the same upload is being processed already.
async fn start(
    state: &AppState,
    admitted: super::limits::Admitted,
    token: String,
    path: std::path::PathBuf,
    shown: String,
    options: Options,
    who: Importer,
) -> Result<(), AppError> {
    let owner = who
        .user_id
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a web import without a user")))?;
    let logged = import::log::options_json(&options);
    let write = !options.dry_run;
    let run = jobs::begin(
        &state.db().await?,
        &token,
        owner,
        who.clearance,
        state.instance.clone(),
        &shown,
        &logged,
        write,
    )
    .await?
    .ok_or_else(|| {
        AppError::Conflict("this file is being processed; follow it on its page".into())
    })?;
    tokio::spawn(run_job(
        state.clone(),
        admitted,
        run,
        path,
        shown,
        options,
        who,
    ));
    Ok(())
}

/// The job itself, in the background: its heartbeat, the import, its end recorded.
async fn run_job(
    state: AppState,
    admitted: super::limits::Admitted,
    run: jobs::Run,
    path: std::path::PathBuf,
    shown: String,
    options: Options,
    who: Importer,
) {
    let pool = state.pool.clone();
    let progress = Arc::new(Progress::default());
    // Beats until the job's end is recorded, or its task panics (the job then shows
    // interrupted, or done if the import log says so).
    let heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
        pool.clone(),
        run.clone(),
        progress.clone(),
    )));
    // Imports are heavy: admitted while the queue had room, they wait their turn with
    // exports and large pages.
    let _admitted = admitted;
    let _permit = state.heavy.clone().acquire_owned().await;
    let token = run.token.as_str();
    let result = import::run(
        &pool,
        &path,
        &shown,
        &options,
        &who,
        progress.clone(),
        Some(token),
    )
    .await;
    if result.as_ref().is_ok_and(|r| r.committed()) {
        let _ = std::fs::remove_dir_all(import::uploads_dir().join(token));
        let forgotten = match pool.get().await {
            Ok(client) => uploads::forget(&client, token).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = forgotten {
            tracing::warn!(error = %e, token, "forgetting a written upload (gone within a day)");
        }
        // Done once this process's tiles show it.
        state.caught_up().await;
    }
    let result = result.map(|r| r.id).map_err(|e| e.to_string());
    let finished = match pool.get().await {
        Ok(client) => jobs::finish(&client, &run, &progress, result).await,
        Err(e) => Err(e.into()),
    };
    drop(heartbeat);
    if let Err(e) = finished {
        // The page will show it done from the import log, or interrupted.
        tracing::warn!(error = %e, token, "recording an import job's end");
    }
}

/// A task aborted when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes a running job's progress every [`jobs::HEARTBEAT`] until aborted.
async fn heartbeat(pool: deadpool_postgres::Pool, run: jobs::Run, progress: Arc<Progress>) {
    let mut every = tokio::time::interval(jobs::HEARTBEAT);
    loop {
        every.tick().await;
        if let Ok(client) = pool.get().await {
            if let Err(e) = jobs::beat(&client, &run, &progress).await {
                tracing::debug!(error = %e, "an import job's heartbeat");
            }
        }
    }
}

/// The job under `token` if the caller may follow it (its owner, or an administrator
/// cleared as high as the importer); 404 otherwise, as for a token that never was.
async fn job_of(
    state: &AppState,
    caller: &Caller,
    token: &str,
    lang: Lang,
) -> Result<jobs::Job, AppError> {
    let user = caller.with_role(&[UserRole::Admin, UserRole::Engineer])?;
    let job = jobs::get(&state.db().await?, token).await?;
    job.filter(|j| {
        j.owner == user.id || (user.role == UserRole::Admin && j.clearance <= user.clearance)
    })
    .ok_or_else(|| AppError::NotFound(lang.pick("Không có lần nhập này.", "no such import").into()))
}

/// Uploads left from a day ago or more (checked and never written) are removed.
pub(super) fn forget_old_uploads() {
    let Ok(entries) = std::fs::read_dir(import::uploads_dir()) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

async fn job_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let job = job_of(&state, &caller, &token, Lang::En).await?;
    let (name, report, error) = match &job.state {
        JobState::Running => ("running", None, None),
        JobState::Done(id) => ("done", Some(format!("/imports/{id}")), None),
        // Why is in the server's log, as for any 5xx.
        JobState::Failed(_) => ("failed", None, Some(FAILED.to_string())),
        JobState::Interrupted => ("interrupted", None, Some(INTERRUPTED.to_string())),
    };
    let mut response = Json(serde_json::json!({
        "state": name,
        "stage": job.stage,
        "done": job.done,
        "total": job.total,
        "report": report,
        "error": error,
    }))
    .into_response();
    if matches!(job.state, JobState::Done(_)) {
        // Its write committed, maybe on another instance: the client's next reads hold it.
        response.extensions_mut().insert(super::freshness::Stamp);
    }
    Ok(response)
}

/// What a failed job's JSON says (the page is a 500).
const FAILED: &str = "the import failed on the server; its log says why";

/// What an interrupted job's page and JSON say.
const INTERRUPTED: &str = "the server running this import stopped before it finished; \
                           nothing of it was written: upload the file again";

async fn job_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let job = job_of(&state, &caller, &token, lang).await.map_err(fail)?;
    match &job.state {
        JobState::Done(id) => {
            let mut response =
                Redirect::to(&format!("/imports/{id}?lang={}", lang.code())).into_response();
            response.extensions_mut().insert(super::freshness::Stamp);
            Ok(response)
        }
        JobState::Failed(e) => Err(fail(AppError::Internal(anyhow::anyhow!("{e}")))),
        JobState::Interrupted => Ok(views::imports::interrupted(lang).into_response()),
        JobState::Running => {
            let progress = Progress::default();
            progress
                .stage
                .store(job.stage, std::sync::atomic::Ordering::Relaxed);
            progress
                .done
                .store(job.done, std::sync::atomic::Ordering::Relaxed);
            progress
                .total
                .store(job.total, std::sync::atomic::Ordering::Relaxed);
            Ok(views::imports::running(lang, &token, &progress).into_response())
        }
    }
}

/// The stored report of run `id`, if the caller may see it (theirs, or any for an
/// administrator, and checked at their clearance or below).
async fn stored(
    state: &AppState,
    user: &SessionUser,
    id: i64,
) -> Result<(import::Report, Option<String>, i32, views::imports::Chosen), AppError> {
    let client = state.db().await?;
    let run = import::log::stored(&client, reader(user), id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no import {id}")))?;
    let report: import::Report =
        serde_json::from_value(run.report).map_err(|e| AppError::Internal(e.into()))?;
    // The options the run was made with, as the form offers them, for "check again".
    let text = |k: &str| run.options[k].as_str().map(str::to_string);
    let chosen = views::imports::Chosen {
        kind: text("kind"),
        srs: text("srs").and_then(|label| {
            let at = label.rfind("EPSG:")?;
            let digits: String = label[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (!digits.is_empty()).then(|| format!("EPSG:{digits}"))
        }),
        encoding: text("encoding"),
    };
    Ok((report, run.upload, run.owner, chosen))
}

async fn report_json(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<import::Report>, AppError> {
    let (user, _) = importer(&state, &caller).await?;
    Ok(Json(stored(&state, &user, id).await?.0))
}

async fn report_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let (user, _) = importer(&state, &caller).await.map_err(fail)?;
    let (report, upload, owner, chosen) = stored(&state, &user, id).await.map_err(fail)?;
    let kept = match upload.as_deref() {
        Some(token) if owner == user.id => {
            let client = state.db().await.map_err(|e| fail(e.into()))?;
            uploads::exists(&client, token)
                .await
                .map_err(|e| fail(e.into()))?
        }
        _ => false,
    };
    Ok(views::imports::report(lang, &report, &chosen, &user.csrf_token, kept).into_response())
}

#[derive(Debug, Deserialize)]
struct AgainForm {
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    srs: String,
    #[serde(default)]
    encoding: String,
    /// "1" to write, else check only.
    #[serde(default)]
    write: String,
}

/// Runs the kept upload of `id` again: checked with other options, or written.
async fn again(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<AgainForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let (user, who) = importer(&state, &caller).await.map_err(fail)?;
    let (report, upload, owner, _) = stored(&state, &user, id).await.map_err(fail)?;
    let (token, source) = kept_upload(&state, lang, upload, owner == user.id)
        .await
        .map_err(fail)?;
    let fields: HashMap<String, String> = [
        ("kind", form.kind),
        ("srs", form.srs),
        ("encoding", form.encoding),
        ("write", form.write),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let options = options_of(lang, &fields).map_err(fail)?;
    let admitted = state.heavy_work.admit().map_err(fail)?;
    start(
        &state,
        admitted,
        token.clone(),
        source,
        report.file_name,
        options,
        who,
    )
    .await
    .map_err(|e| match e {
        AppError::Conflict(_) => fail(AppError::Conflict(
            lang.pick("Tệp này đang được xử lý.", "this file is being processed")
                .into(),
        )),
        other => fail(other),
    })?;
    Ok(Redirect::to(&format!("/imports/jobs/{token}?lang={}", lang.code())).into_response())
}

/// 409: the upload is no longer kept.
pub(super) fn upload_gone(lang: Lang) -> AppError {
    AppError::Conflict(
        lang.pick(
            "Tệp tải lên không còn (đã ghi hoặc quá một ngày): hãy tải lên lại.",
            "the upload is gone (written already, or a day old): upload it again",
        )
        .into(),
    )
}

/// The kept upload of a run (its token and the path it is read from, copied to this
/// instance's disk when another received it): only its uploader may run it again, and
/// only while it is kept.
pub(super) async fn kept_upload(
    state: &AppState,
    lang: Lang,
    upload: Option<String>,
    own: bool,
) -> Result<(String, std::path::PathBuf), AppError> {
    let gone = || upload_gone(lang);
    let token = upload.ok_or_else(gone)?;
    if !own {
        return Err(AppError::Forbidden(
            lang.pick(
                "Chỉ người tải lên mới ghi được tệp này.",
                "only who uploaded the file may write it",
            )
            .into(),
        ));
    }
    let client = state.db().await?;
    let dir = import::uploads_dir().join(&token);
    let source = uploads::local(&client, &token, &dir)
        .await?
        .ok_or_else(gone)?;
    Ok((token, source))
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn upload_names_stay_inside_their_folder_and_short() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..\\..\\x.csv"), "x.csv");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name(""), "upload");
        assert_eq!(safe_name("Kho mới <b>.geojson"), "Kho_mới__b_.geojson");
        let long = safe_name(&format!("{}.geojson", "n".repeat(5000)));
        assert_eq!(long.chars().count(), 100);
        assert!(long.ends_with(".geojson"));
    }
}
