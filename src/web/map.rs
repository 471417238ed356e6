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
    // Districts first, then the Cambodian provinces where search zones lie.
    let rows = client
        .query(
            "SELECT code, short_name, coalesce(name_en, short_name), 0 AS o FROM admin_unit WHERE level = 'district'
             UNION ALL
             SELECT code, coalesce(name_vi, name), name, 1 FROM adjacent_area WHERE country = 'KH'
             ORDER BY 4, 2",
            &[],
        )
        .await
        .map_err(|e| PageError::new(lang, crate::db::DbError::from(e)))?;
    let districts: Vec<DistrictOption> = rows
        .iter()
        .map(|r| DistrictOption {
            code: r.get(0),
            name: match lang {
                Lang::Vi => r.get(1),
                Lang::En => r.get(2),
            },
        })
        .collect();
    Ok(views::map::page(lang, &districts))
}
