//! The first page: what is loaded, per kind and per district.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use maud::Markup;
use serde::Deserialize;

use super::{AppState, PageError};
use crate::db;
use crate::i18n::Lang;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/kvpt.css", get(stylesheet))
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
) -> Result<Markup, PageError> {
    let lang = Lang::from_param(query.lang.as_deref());
    let client = state.db().await.map_err(|e| PageError::new(lang, e))?;
    let overview = db::stats::overview(&**client)
        .await
        .map_err(|e| PageError::new(lang, e))?;
    Ok(views::home::page(lang, &overview))
}

async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../web/static/kvpt.css"),
    )
}
