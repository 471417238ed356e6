//! `GET /map`: the viewer.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use maud::Markup;
use serde::Deserialize;

use super::caller::Caller;
use super::{AppState, PageError};
use crate::i18n::Lang;
use crate::views;
use crate::views::map::DistrictOption;

pub fn routes() -> Router<AppState> {
    Router::new().route("/map", get(map))
}

#[derive(Debug, Deserialize)]
struct MapQuery {
    lang: Option<String>,
}

async fn map(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<MapQuery>,
) -> Result<Markup, PageError> {
    let lang = Lang::from_param(query.lang.as_deref());
    caller.clearance().map_err(|e| PageError::new(lang, e))?;
    let client = state.db().await.map_err(|e| PageError::new(lang, e))?;
    let districts: Vec<DistrictOption> = crate::db::areas::filter_areas(&client)
        .await
        .map_err(|e| PageError::new(lang, e))?
        .into_iter()
        .map(|a| DistrictOption {
            code: a.code,
            name: match lang {
                Lang::Vi => a.name_vi,
                Lang::En => a.name_en,
            },
        })
        .collect();
    Ok(views::map::page(lang, &districts))
}
