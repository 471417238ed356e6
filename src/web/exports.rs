//! Exports for partners: `GET /exports/sites.{ext}` (streamed; any signed-in user, never
//! above their clearance nor their profile's), `/exports` (the form the viewer's
//! "export what I see" opens), `/exports/count` (what an export would hold), and for
//! administrators `/admin/profiles` and `/admin/exports` (the log).

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::sites::LangQuery;
use super::{AppState, PageError};
use crate::domain::UserRole;
use crate::error::AppError;
use crate::exchange::export::{self, Actor};
use crate::exchange::profile::{self, ProfileInput, Saved};
use crate::exchange::request;
use crate::i18n::Lang;
use crate::params::export::ExportQuery;
use crate::params::format::Format;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports", get(page))
        .route("/exports/count", get(count))
        .route("/exports/{file}", get(download))
        .route("/admin/profiles", get(profiles_page).post(save_profile))
        .route("/admin/exports", get(log_page))
        .route("/api/exports/log", get(log_json))
}

fn pairs_of(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `sites.geojson`, `sites.gpkg`, `sites.shp.zip`, … : the format from the file name.
fn format_of(file: &str) -> Result<Format, AppError> {
    file.strip_prefix("sites.")
        .and_then(Format::from_code)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no export '{file}'; ask for sites.{{{}}}",
                Format::ALL
                    .iter()
                    .map(|f| f.extension())
                    .collect::<Vec<_>>()
                    .join(",")
            ))
        })
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let format = format_of(&file)?;
    let user = caller.user()?.clone();
    let clearance = caller.clearance()?;
    let pairs = pairs_of(query.as_deref());
    let query = ExportQuery::parse(&pairs, Some(format))?;
    let request = {
        let client = state.db().await?;
        request::read(&client, query, clearance).await?
    };
    let crs = request.export.crs;
    let actor = Actor {
        user_id: Some(user.id),
        name: user.username.clone(),
        via: "web",
    };
    // Exports are heavy: admitted while the queue has room (else 429), then they wait
    // their turn with the large feature pages.
    let admitted = state.heavy_work.admit()?;
    let permit = state.heavy.clone().acquire_owned().await;
    // The export is logged before it reads: its connection is checked first, and the
    // primary's taken when a replica's is gone.
    let read = match state.read_db(caller.min_lsn).await? {
        client if client.simple_query("").await.is_ok() => client,
        _ => state.db().await?,
    };
    let output = export::start(&state.pool, read, request, &actor).await?;
    // Both are held until the last byte is sent.
    let held = (admitted, permit);
    let body = futures_util::StreamExt::map(output.body, move |chunk| {
        let _ = &held;
        chunk
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(output.format.media_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", output.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        headers.insert("content-crs", v);
    }
    headers.insert("x-kvpt-export-id", HeaderValue::from(output.log_id));
    if let Some(n) = output.features {
        headers.insert("x-kvpt-features", HeaderValue::from(n));
    }
    Ok(response)
}

/// How many works an export with these parameters would hold: the form shows it and the
/// viewer's progress indicator counts against it.
async fn count(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, AppError> {
    caller.user()?;
    let clearance = caller.clearance()?;
    let pairs = pairs_of(query.as_deref());
    let query = ExportQuery::parse(&pairs, None)?;
    let client = state.db().await?;
    let request = request::read(&client, query, clearance).await?;
    let n = export::count(&client, &request).await?;
    Ok(Json(serde_json::json!({ "features": n })))
}

async fn page(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = pairs_of(query.as_deref());
    let lang = Lang::from_param(
        pairs
            .iter()
            .find(|(n, _)| n == "lang")
            .map(|(_, v)| v.as_str()),
    );
    let fail = |e: AppError| PageError::new(lang, e);
    caller.user().map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let profiles: Vec<_> = profile::list(&client)
        .await
        .map_err(|e| fail(e.into()))?
        .into_iter()
        .filter(|p| !p.disabled)
        .collect();
    Ok(views::exports::form(lang, &profiles, &pairs).into_response())
}

async fn profiles_render(
    state: &AppState,
    caller: &Caller,
    lang: Lang,
    status: StatusCode,
    message: Option<(bool, String)>,
    draft: Option<&ProfileForm>,
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    let admin = caller.with_role(&[UserRole::Admin]).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let list = profile::list(&client).await.map_err(|e| fail(e.into()))?;
    let draft = draft.map(ProfileForm::input);
    Ok((
        status,
        views::exports::profiles(
            lang,
            &list,
            &admin.csrf_token,
            message.as_ref().map(|(ok, t)| (*ok, t.as_str())),
            draft.as_ref(),
        ),
    )
        .into_response())
}

async fn profiles_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    profiles_render(&state, &caller, lang, StatusCode::OK, None, None).await
}

/// A profile form: lists arrive as repeated checkbox values.
#[derive(Debug, Default, Clone)]
pub struct ProfileForm {
    csrf: String,
    version: i32,
    input: ProfileInput,
}

impl ProfileForm {
    fn input(&self) -> ProfileInput {
        self.input.clone()
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<ProfileForm, AppError> {
        let mut form = ProfileForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "csrf" => form.csrf = value.clone(),
                "version" => {
                    form.version = value
                        .trim()
                        .parse()
                        .map_err(|_| AppError::bad_request("version", "must be a whole number"))?
                }
                "name" => form.input.name = value.clone(),
                "title" => form.input.title = value.clone(),
                "kinds" => form.input.kinds.push(value.clone()),
                "ceiling" => form.input.ceiling = value.clone(),
                "fields" => form.input.fields.push(value.clone()),
                "coarse_kinds" => form.input.coarse_kinds.push(value.clone()),
                "coarsening" => form.input.coarsening = value.clone(),
                "grid_m" => form.input.grid_m = Some(value.clone()),
                "disabled" => form.input.disabled = value == "on" || value == "true",
                other => return Err(AppError::bad_request(other, "is not a field of this form")),
            }
        }
        Ok(form)
    }
}

async fn save_profile(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let admin = caller.with_role(&[UserRole::Admin]).map_err(fail)?.clone();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let form = ProfileForm::from_pairs(&pairs).map_err(fail)?;
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    let checked = match form.input.check() {
        Ok(p) => p,
        Err(e) => {
            let text = format!("{}: {}", e.field, e.reason);
            return profiles_render(
                &state,
                &caller,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((false, text)),
                Some(&form),
            )
            .await;
        }
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let saved = profile::save(
        &mut client,
        &checked,
        form.version,
        Some(admin.id),
        &admin.username,
    )
    .await
    .map_err(|e| fail(e.into()))?;
    drop(client);
    let (status, ok, text) = saved_message(lang, &saved, &checked.name, form.version);
    let draft = (!ok && form.version == 0).then_some(&form);
    profiles_render(&state, &caller, lang, status, Some((ok, text)), draft).await
}

/// What saving profile `name` (from `version`, 0 for a new one) came to, for the page.
fn saved_message(
    lang: Lang,
    saved: &Saved,
    name: &str,
    version: i32,
) -> (StatusCode, bool, String) {
    match saved {
        Saved::Created => (
            StatusCode::OK,
            true,
            format!("{} {name}", lang.pick("Đã tạo hồ sơ", "Created profile")),
        ),
        Saved::Updated => (
            StatusCode::OK,
            true,
            format!("{} {name}", lang.pick("Đã lưu hồ sơ", "Saved profile")),
        ),
        Saved::Stale if version == 0 => (
            StatusCode::CONFLICT,
            false,
            format!(
                "{} '{name}'",
                lang.pick("Đã có hồ sơ tên", "A profile already exists named")
            ),
        ),
        Saved::Stale => (
            StatusCode::CONFLICT,
            false,
            lang.pick(
                "Hồ sơ này vừa được người khác sửa; xem bản mới bên dưới rồi sửa lại.",
                "Someone changed this profile meanwhile; see the newer version below and edit again.",
            )
            .to_string(),
        ),
    }
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    lang: Option<String>,
}

async fn log_page(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LogQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    caller.with_role(&[UserRole::Admin]).map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let rows = export::recent(&client, 500)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::exports::log(lang, &rows).into_response())
}

async fn log_json(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<export::LogRow>>, AppError> {
    caller.with_role(&[UserRole::Admin])?;
    let client = state.db().await?;
    Ok(Json(export::recent(&client, 500).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_pick_the_format() {
        assert_eq!(format_of("sites.gpkg").unwrap(), Format::GeoPackage);
        assert_eq!(format_of("sites.shp.zip").unwrap(), Format::Shapefile);
        assert!(format_of("sites.dxf").is_err());
        assert!(format_of("../etc/passwd").is_err());
    }

    #[test]
    fn profile_forms_collect_checkbox_lists() {
        let pairs: Vec<(String, String)> = [
            ("csrf", "t"),
            ("name", "cong-an"),
            ("kinds", "warehouse"),
            ("kinds", "workshop"),
            ("fields", "code"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let form = ProfileForm::from_pairs(&pairs).unwrap();
        assert_eq!(form.input.kinds, ["warehouse", "workshop"]);
        assert!(ProfileForm::from_pairs(&[("x".into(), "1".into())]).is_err());
    }
}
