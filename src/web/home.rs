//! The first page: what is loaded, per kind and per district.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::caller::Caller;
use super::negotiate::{self, Format};
use super::{AppState, PageError};
use crate::db;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    lang: Option<String>,
    f: Option<String>,
}

/// The overview page for people; the OGC API landing document for programs: `f=json`,
/// an `Accept` that prefers JSON, `*/*` or no `Accept` at all (OWSLib, Python `requests`,
/// curl). Browsers ask for `text/html` by name, and get the page.
async fn home(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<HomeQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(query.lang.as_deref());
    match negotiate::choose(query.f.as_deref(), &headers, Format::Json) {
        Ok(Format::Json) => return Ok(super::features::landing(&headers)),
        Ok(Format::Html) => {}
        Err(e) => return Err(PageError::new(lang, e)),
    }
    let clearance = caller.clearance().map_err(|e| PageError::new(lang, e))?;
    let overview = state
        .reading(caller.min_lsn, |lsn| overview(&state, lsn, clearance))
        .await
        .map_err(|e| PageError::new(lang, e))?;
    Ok(views::home::page(lang, &overview).into_response())
}

/// The province's figures for `clearance`, read where a client whose last write was at
/// `client_lsn` may read.
async fn overview(
    state: &AppState,
    client_lsn: u64,
    clearance: crate::domain::Classification,
) -> Result<db::stats::Overview, AppError> {
    let client = state.read_db(client_lsn).await?;
    Ok(db::stats::overview(&**client, clearance).await?)
}
