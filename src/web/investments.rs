//! `/investments`: the investments without a place on the map (issue 24 §4) — listed for
//! anyone who sees them, added and corrected by administrators and budget officers. Their
//! progress and budget pages are the works' (`/sites/{code}`, `/progress`, `/budget`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::{AppState, PageError};
use crate::accounts::sessions::SessionUser;
use crate::domain::{Classification, InvestmentCategory, Programme};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::investment::store::{self, InvestmentError};
use crate::investment::Investment;
use crate::views;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/investments", get(list).post(create))
        .route("/investments/new", get(new))
        .route("/investments/{code}/edit", get(edit).post(correct))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    lang: Option<String>,
    programme: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let programme = match q
        .programme
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(code) => Some(Programme::from_code(code).ok_or_else(|| {
            fail(AppError::BadRequest {
                field: "programme".into(),
                reason: format!("no programme '{code}'"),
                vi: Some(format!("không có chương trình “{code}”")),
            })
        })?),
    };
    let clearance = caller.clearance().map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let rows = store::list(&client, clearance, programme)
        .await
        .map_err(|e| fail(e.into()))?;
    let may_create = caller
        .user
        .as_deref()
        .is_some_and(|u| store::may_edit(u).is_ok());
    Ok(views::investments::list(lang, &rows, programme, may_create).into_response())
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The form, for a new item (`editing` None) or to correct one, with the last attempt's
/// values and what was wrong with them.
async fn render(
    state: &AppState,
    user: &SessionUser,
    lang: Lang,
    status: StatusCode,
    item: Option<&Investment>,
    editing: Option<(&str, i32)>,
    errors: &[String],
) -> Result<Response, PageError> {
    let fail = |e: AppError| PageError::new(lang, e);
    store::may_edit(user).map_err(|e| fail(e.into()))?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let posts = store::command_posts(&client, user.clearance)
        .await
        .map_err(|e| fail(e.into()))?;
    let form = views::investments::Form {
        item,
        editing: editing.map(|e| e.0),
        version: editing.map_or(0, |e| e.1),
        posts: &posts,
        csrf: &user.csrf_token,
        errors,
        clearance: user.clearance,
    };
    Ok((status, views::investments::form(lang, &form)).into_response())
}

async fn new(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let user = caller.user().map_err(|e| PageError::new(lang, e))?;
    render(&state, user, lang, StatusCode::OK, None, None, &[]).await
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller.user().map_err(fail)?;
    let client = state.db().await.map_err(|e| fail(e.into()))?;
    let (item, version) = store::load(&client, &code, user.clearance)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(|| fail(AppError::NotFound(format!("no investment '{code}'"))))?;
    drop(client);
    let editing = Some((code.as_str(), version));
    render(
        &state,
        user,
        lang,
        StatusCode::OK,
        Some(&item),
        editing,
        &[],
    )
    .await
}

#[derive(Debug, Deserialize)]
struct ItemForm {
    csrf: String,
    version: String,
    code: Option<String>,
    name: String,
    name_en: Option<String>,
    category: String,
    programme: String,
    responsible_unit: String,
    command_post: Option<String>,
    classification: String,
    planned_start: Option<String>,
    planned_finish: Option<String>,
}

/// The form's choices from their vocabularies, each refusal said in the user's language.
fn choices_of(
    lang: Lang,
    f: &ItemForm,
    wrong: &mut Vec<String>,
) -> Option<(InvestmentCategory, Programme, Classification, i32)> {
    let mut bad =
        |field: &str, vi: &str, en: &str| wrong.push(format!("{field}: {}", lang.pick(vi, en)));
    let category = InvestmentCategory::from_code(f.category.trim());
    let programme = Programme::from_code(f.programme.trim());
    let classification = Classification::from_code(f.classification.trim());
    if category.is_none() {
        bad("category", "không có danh mục này.", "no such category.");
    }
    if programme.is_none() {
        bad(
            "programme",
            "không có chương trình này.",
            "no such programme.",
        );
    }
    if classification.is_none() {
        bad(
            "classification",
            "không có độ mật này.",
            "no such classification.",
        );
    }
    for (field, v) in [
        ("planned_start", &f.planned_start),
        ("planned_finish", &f.planned_finish),
    ] {
        if date_of(v).is_err() {
            bad(
                field,
                "không phải ngày (dd/mm/yyyy).",
                "not a date (dd/mm/yyyy).",
            );
        }
    }
    let version = f.version.trim().parse::<i32>().ok();
    Some((category?, programme?, classification?, version?))
}

/// A date field: none when empty, an error when not a date.
fn date_of(v: &Option<String>) -> Result<Option<chrono::NaiveDate>, ()> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => crate::params::parse_date(t).map(Some).ok_or(()),
    }
}

/// The item the form asks for, or what is wrong with it in the user's language.
fn item_of(lang: Lang, f: &ItemForm) -> Result<(Investment, i32), Vec<String>> {
    let mut wrong = Vec::new();
    let choices = choices_of(lang, f, &mut wrong);
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    match choices {
        Some((category, programme, classification, v)) if wrong.is_empty() => Ok((
            Investment {
                code: text(&f.code).unwrap_or_default().to_uppercase(),
                name: f.name.trim().to_string(),
                name_en: text(&f.name_en),
                category,
                programme,
                responsible_unit: f.responsible_unit.trim().to_string(),
                command_post: text(&f.command_post).map(|c| c.to_uppercase()),
                classification,
                planned_start: date_of(&f.planned_start).ok().flatten(),
                planned_finish: date_of(&f.planned_finish).ok().flatten(),
            },
            v,
        )),
        _ => Err(wrong),
    }
}

/// The refusal's messages in the user's language, or the error it is.
fn refusal(lang: Lang, err: InvestmentError) -> Result<(StatusCode, Vec<String>), AppError> {
    match err {
        InvestmentError::Rules(wrong) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            wrong.into_iter().map(|(f, vi, en)| format!("{f}: {}", lang.pick(&vi, &en))).collect(),
        )),
        InvestmentError::Conflict { .. } => Ok((
            StatusCode::CONFLICT,
            vec![lang
                .pick(
                    "Khoản đầu tư vừa được người khác sửa; đây là thông tin mới nhất, hãy sửa lại.",
                    "Someone changed the investment meanwhile; these are the newest values: correct them again.",
                )
                .to_string()],
        )),
        other => Err(other.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<LangQuery>,
    Form(form): Form<ItemForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller.user().map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    store::may_edit(&user).map_err(|e| fail(e.into()))?;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let item = match item_of(lang, &form) {
        Ok((item, _)) => item,
        Err(wrong) => return render(&state, &user, lang, unprocessable, None, None, &wrong).await,
    };
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    match store::create(&mut client, &user, &item).await {
        Ok(code) => {
            Ok(Redirect::to(&format!("/sites/{code}?lang={}", lang.code())).into_response())
        }
        Err(e) => {
            drop(client);
            let (status, wrong) = refusal(lang, e).map_err(fail)?;
            render(&state, &user, lang, status, Some(&item), None, &wrong).await
        }
    }
}

async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
    Form(form): Form<ItemForm>,
) -> Result<Response, PageError> {
    let lang = Lang::from_param(q.lang.as_deref());
    let fail = |e: AppError| PageError::new(lang, e);
    let user = caller.user().map_err(fail)?.clone();
    caller.check_csrf(Some(&form.csrf)).map_err(fail)?;
    store::may_edit(&user).map_err(|e| fail(e.into()))?;
    let mut client = state.db().await.map_err(|e| fail(e.into()))?;
    let (current, current_version) = store::load(&client, &code, user.clearance)
        .await
        .map_err(|e| fail(e.into()))?
        .ok_or_else(|| fail(AppError::NotFound(format!("no investment '{code}'"))))?;
    let (item, version) = match item_of(lang, &form) {
        Ok(ok) => ok,
        Err(wrong) => {
            drop(client);
            let editing = Some((code.as_str(), current_version));
            return render(
                &state,
                &user,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&current),
                editing,
                &wrong,
            )
            .await;
        }
    };
    let refused = match store::update(&mut client, &user, &code, &item, version).await {
        Ok(_) => {
            let to = format!("/sites/{code}?lang={}", lang.code());
            return Ok(Redirect::to(&to).into_response());
        }
        Err(e) => e,
    };
    let (status, wrong) = refusal(lang, refused).map_err(fail)?;
    // On a conflict the form shows the newest values; otherwise what was sent.
    let newest = store::load(&client, &code, user.clearance)
        .await
        .map_err(|e| fail(e.into()))?;
    drop(client);
    let Some((newest, v)) = newest else {
        return Err(fail(AppError::NotFound(format!("no investment '{code}'"))));
    };
    // After a refusal the form keeps what was sent and the version it was sent over, so
    // a change made meanwhile still comes back as a conflict.
    let (shown, v) = if status == StatusCode::CONFLICT {
        (&newest, v)
    } else {
        (&item, version)
    };
    let editing = Some((code.as_str(), v));
    render(&state, &user, lang, status, Some(shown), editing, &wrong).await
}
