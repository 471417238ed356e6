//! `GET /sites/{code}`: a site's page; `GET /photos/{id}[/thumb]`: its photos.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::caller::Caller;
use super::{AppState, PageError};
use crate::db;
use crate::domain::UserRole;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::progress::{conflicts, store};
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sites/{code}", get(site_page))
        .route("/photos/{id}", get(photo))
        .route("/photos/{id}/thumb", get(thumbnail))
        .route("/photos/{id}/original", get(original))
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    pub lang: Option<String>,
}

/// The site `code` as `caller` may see it, or 404 (a site above their clearance does not
/// exist for them).
pub async fn visible_site(
    state: &AppState,
    caller: &Caller,
    code: &str,
) -> Result<db::sites::SiteDetails, AppError> {
    let clearance = caller.clearance()?;
    let client = state.db().await?;
    db::sites::details(&client, code, clearance)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no site '{code}'")))
}

async fn site_page(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let site = visible_site(&state, &caller, &code).await.map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let (map, history, photos, budget) = tokio::try_join!(
        db::sites::site_map(&client, site.id),
        store::history(&client, site.id),
        db::sites::photos(&client, site.id),
        db::sites::budget(&client, site.id),
    )
    .map_err(|e| fail(e.into()))?;
    let may_update = may_update(&client, &caller, site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let investment = investment_of(&client, &caller, &site.code, map.is_none())
        .await
        .map_err(fail)?;
    let search = search_of(&client, &site, &caller, may_update)
        .await
        .map_err(|e| fail(e.into()))?;
    let conflicts = conflicts_of(&client, &caller, site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let may_search = search.as_ref().is_some_and(|(_, _, may)| *may);
    let review = review_notices(&client, lang, &caller, (may_update, may_search), site.id)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(views::sites::page(
        lang,
        &views::sites::SitePage {
            site: &site,
            map: map.as_ref(),
            investment: investment.as_ref().map(|(item, may)| (item, *may)),
            history: &history,
            photos: &photos,
            budget: &budget,
            may_update,
            may_edit_budget: caller
                .user
                .as_deref()
                .is_some_and(|u| u.role == UserRole::BudgetOfficer),
            search: search
                .as_ref()
                .map(|(figures, history, may)| views::sites::SearchPart {
                    figures,
                    history,
                    may_update: *may,
                }),
            conflicts: &conflicts,
            review,
        },
    )
    .into_response())
}

/// What of the work waits for review or came back: its progress updates for the engineers
/// who may update its progress, its zone's for those who may update the zone's figures,
/// both for reviewers (others see the work as approved).
async fn review_notices(
    client: &deadpool_postgres::Object,
    lang: Lang,
    caller: &Caller,
    (may_update, may_search): (bool, bool),
    site_id: i64,
) -> Result<maud::Markup, crate::db::DbError> {
    let reviews = caller
        .user
        .as_deref()
        .is_some_and(crate::progress::review::may_review);
    let (progress, search) = tokio::try_join!(
        async {
            match may_update || reviews {
                true => crate::progress::review::of_site(client, site_id).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match may_search || reviews {
                true => crate::search::review::of_site(client, site_id).await,
                false => Ok(Vec::new()),
            }
        },
    )?;
    let notices = views::review::notices_of(lang, &progress, &search);
    Ok(views::review::notices(lang, &notices, false))
}

/// Whether the caller is an engineer who may update the site.
async fn may_update(
    client: &impl deadpool_postgres::GenericClient,
    caller: &Caller,
    site_id: i64,
) -> Result<bool, db::DbError> {
    match caller.user.as_deref() {
        Some(u) if u.role == UserRole::Engineer => {
            db::sites::in_scope(client, site_id, u.id, u.unit.as_deref()).await
        }
        _ => Ok(false),
    }
}

/// An investment's own record as the caller sees it, and whether they may correct it (none
/// for a work with a place).
async fn investment_of(
    client: &impl deadpool_postgres::GenericClient,
    caller: &Caller,
    code: &str,
    unplaced: bool,
) -> Result<Option<(crate::investment::Investment, bool)>, AppError> {
    if !unplaced {
        return Ok(None);
    }
    let item = crate::investment::store::load(client, code, caller.clearance()?).await?;
    let may_edit = caller
        .user
        .as_deref()
        .is_some_and(|u| crate::investment::store::may_edit(u).is_ok());
    Ok(item.map(|(item, _)| (item, may_edit)))
}

/// The open conflicts on the site that the caller may resolve (their own; any for an
/// administrator).
async fn conflicts_of(
    client: &deadpool_postgres::Object,
    caller: &Caller,
    site_id: i64,
) -> Result<Vec<conflicts::Conflict>, crate::db::DbError> {
    match caller.user.as_deref() {
        Some(u) if matches!(u.role, UserRole::Engineer | UserRole::Admin) => {
            conflicts::open_on_site(client, u, site_id).await
        }
        _ => Ok(Vec::new()),
    }
}

/// A search zone's figures, history, and whether the caller may update them (an engineer
/// of its districts or unit, or of the unit in charge of it).
async fn search_of(
    client: &deadpool_postgres::Object,
    site: &db::sites::SiteDetails,
    caller: &Caller,
    in_scope: bool,
) -> Result<Option<SearchFigures>, crate::db::DbError> {
    let Some(figures) = crate::search::store::figures(client, site.id).await? else {
        return Ok(None);
    };
    let history = crate::search::store::history(client, site.id).await?;
    let may = caller.user.as_deref().is_some_and(|u| {
        u.role == UserRole::Engineer
            && (in_scope || (u.unit.is_some() && u.unit == figures.unit_in_charge))
    });
    Ok(Some((figures, history, may)))
}

type SearchFigures = (
    crate::search::rules::Figures,
    Vec<crate::search::store::SearchEntry>,
    bool,
);

async fn photo(state: State<AppState>, caller: Caller, id: Path<String>) -> Response {
    serve_photo(state, caller, id, false).await
}

async fn thumbnail(state: State<AppState>, caller: Caller, id: Path<String>) -> Response {
    serve_photo(state, caller, id, true).await
}

/// The photo as uploaded, with its EXIF position: for administrators and the engineers of
/// the site only (404 to everyone else, as if it did not exist).
async fn original(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id: i64 = id
            .parse()
            .map_err(|_| AppError::bad_request("id", "a photo id is a whole number"))?;
        let user = caller.with_role(&[UserRole::Engineer, UserRole::Admin])?;
        let client = state.db().await?;
        let admin = user.role == UserRole::Admin;
        db::sites::original_photo(
            &client,
            id,
            user.clearance,
            admin,
            user.id,
            user.unit.as_deref(),
        )
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no photo {id}")))
    }
    .await;
    picture(result)
}

fn picture(result: Result<(String, Vec<u8>), AppError>) -> Response {
    match result {
        Ok((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn serve_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    thumbnail: bool,
) -> Response {
    let result = async {
        let id: i64 = id
            .parse()
            .map_err(|_| AppError::bad_request("id", "a photo id is a whole number"))?;
        let clearance = caller.clearance()?;
        let client = state.db().await?;
        let user = caller.user.as_deref();
        let reviews = user.is_some_and(crate::progress::review::may_review);
        db::sites::photo(
            &client,
            id,
            thumbnail,
            clearance,
            user.map(|u| u.id),
            reviews,
        )
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no photo {id}")))
    }
    .await;
    picture(result)
}
