//! Creating and correcting investments, each in one transaction, audited; and the reads
//! their pages need. Who may: administrators and budget officers (the plan's keepers);
//! engineers update their progress as they do a work's.

use chrono::NaiveDate;
use deadpool_postgres::GenericClient;
use serde_json::json;

use super::Investment;
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::{Classification, InvestmentCategory, Programme, SiteKind, UserRole};

#[derive(Debug, thiserror::Error)]
pub enum InvestmentError {
    #[error("no investment '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the investment changed since version {expected}: it is at version {current}")]
    Conflict { expected: i32, current: i32 },
    #[error("the investment breaks {} rule(s)", .0.len())]
    Rules(Vec<(&'static str, String, String)>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for InvestmentError {
    fn from(err: tokio_postgres::Error) -> Self {
        InvestmentError::Db(err.into())
    }
}

/// Administrators and budget officers keep the plan's investments.
pub fn may_edit(user: &SessionUser) -> Result<(), InvestmentError> {
    match user.role {
        UserRole::Admin | UserRole::BudgetOfficer => Ok(()),
        other => Err(InvestmentError::Forbidden(format!(
            "administrators and budget officers keep the investments; you are {}",
            other.code()
        ))),
    }
}

fn rule(field: &'static str, vi: String, en: String) -> InvestmentError {
    InvestmentError::Rules(vec![(field, vi, en)])
}

/// The id of the command post `code` that `clearance` sees, classified no higher than the
/// item it equips (whose district it gives: a district must not tell more than the item).
async fn command_post_id(
    tx: &impl GenericClient,
    code: Option<&str>,
    clearance: Classification,
    item: Classification,
) -> Result<Option<i64>, InvestmentError> {
    let Some(code) = code else { return Ok(None) };
    let row = tx
        .query_opt(
            "SELECT id, classification <= $3::text::classification FROM site
              WHERE code = $1 AND classification <= $2::text::classification
                AND kind IN ('district_command_post', 'provincial_command_post')",
            &[&code, &clearance.code(), &item.code()],
        )
        .await?;
    match row {
        Some(r) if r.get::<_, bool>(1) => Ok(Some(r.get(0))),
        Some(_) => Err(rule(
            "command_post",
            format!("Sở chỉ huy “{code}” có độ mật cao hơn khoản đầu tư: hãy nâng độ mật của khoản đầu tư."),
            format!("the command post '{code}' is classified above the investment: raise the investment's classification"),
        )),
        None => Err(rule(
            "command_post",
            format!("Không có sở chỉ huy mã “{}”.", code.chars().take(60).collect::<String>()),
            format!("no command post '{}'", code.chars().take(60).collect::<String>()),
        )),
    }
}

/// Creates `item` for `user`: its code (the one given, or the next free one of its kind).
pub async fn create(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    item: &Investment,
) -> Result<String, InvestmentError> {
    may_edit(user)?;
    let wrong = super::check(item, user.clearance);
    if !wrong.is_empty() {
        return Err(InvestmentError::Rules(wrong));
    }
    let kind = item.category.kind();
    let tx = client.transaction().await?;
    let post = command_post_id(
        &tx,
        item.command_post.as_deref(),
        user.clearance,
        item.classification,
    )
    .await?;
    let code = if item.code.trim().is_empty() {
        // One code at a time per kind: two officers adding at once get different ones.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('investment code ' || $1))",
            &[&kind.code()],
        )
        .await?;
        let prefix = format!("{}-TNH-", kind.code_prefix());
        let next: i64 = tx
            .query_one(
                "SELECT coalesce(max(substr(code, length($1) + 1)::int8), 0) + 1 FROM site_all
                  WHERE code LIKE $1 || '%' AND substr(code, length($1) + 1) ~ '^[0-9]{1,9}$'",
                &[&prefix],
            )
            .await?
            .get(0);
        format!("{prefix}{next:04}")
    } else {
        item.code.trim().to_string()
    };
    let c = columns(item);
    let inserted = tx
        .query_opt(
            "INSERT INTO site_all (code, name, name_en, kind, geom, programme, responsible_unit,
                                   planned_start, planned_finish, classification)
             VALUES ($1, $2, $3, $4, NULL, $5::text::programme, $6, $7, $8, $9::text::classification)
             ON CONFLICT (code) DO NOTHING RETURNING id",
            &[&code, &c.0, &c.1, &kind.code(), &c.2, &c.3, &c.4, &c.5, &c.6],
        )
        .await?;
    let Some(row) = inserted else {
        return Err(rule(
            "code",
            format!("Mã “{code}” đã có."),
            format!("the code '{code}' is taken"),
        ));
    };
    let id: i64 = row.get(0);
    tx.execute(
        "INSERT INTO investment (site_id, category, command_post_id)
         VALUES ($1, $2::text::investment_category, $3)",
        &[&id, &item.category.code(), &post],
    )
    .await?;
    tx.execute(
        "INSERT INTO progress_history (site_id, recorded_by, actor, new_status, new_pct, note, site_version)
         VALUES ($1, $2, $3, 'planned', 0, 'Đưa vào kế hoạch', 1)",
        &[&id, &user.id, &user.username],
    )
    .await?;
    let change = crate::db::audit::Change {
        user_id: Some(user.id),
        actor: &user.username,
        action: "investment.create",
        entity: "investment",
        key: &code,
        before: None,
        after: record_json(item, &code),
    };
    crate::db::audit::record(&tx, &change).await?;
    tx.commit().await?;
    Ok(code)
}

/// The columns of `site_all` an item's record sets, as written: name, English name,
/// programme, responsible unit, planned start and finish, classification.
type Columns<'a> = (
    &'a str,
    Option<&'a str>,
    &'static str,
    &'a str,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    &'static str,
);

fn columns(item: &Investment) -> Columns<'_> {
    (
        item.name.trim(),
        item.name_en
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty()),
        item.programme.code(),
        item.responsible_unit.trim(),
        item.planned_start,
        item.planned_finish,
        item.classification.code(),
    )
}

fn record_json(item: &Investment, code: &str) -> serde_json::Value {
    json!({
        "code": code, "name": item.name.trim(), "name_en": item.name_en,
        "category": item.category.code(), "programme": item.programme.code(),
        "responsible_unit": item.responsible_unit.trim(), "command_post": item.command_post,
        "classification": item.classification.code(),
        "planned_start": item.planned_start, "planned_finish": item.planned_finish,
    })
}

/// Corrects the investment `code` (its code stays) over `version`: the new version.
pub async fn update(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    code: &str,
    item: &Investment,
    version: i32,
) -> Result<i32, InvestmentError> {
    may_edit(user)?;
    let tx = client.transaction().await?;
    let Some((before, current, kind)) = load_for_update(&tx, code, user.clearance).await? else {
        return Err(InvestmentError::NotFound(code.to_string()));
    };
    // The version first: rules are judged on the item as the user saw it.
    if current != version {
        return Err(InvestmentError::Conflict {
            expected: version,
            current,
        });
    }
    let mut wrong = super::check(item, user.clearance);
    wrong.retain(|w| w.0 != "code");
    if item.classification < before.classification && user.role != UserRole::Admin {
        wrong.push((
            "classification",
            "Chỉ quản trị viên được hạ độ mật.".into(),
            "only administrators lower a classification".into(),
        ));
    }
    if item.category.kind() != kind {
        wrong.push((
            "category",
            "Không đổi được loại đầu tư (tự động hóa chỉ huy / mua sắm) của một khoản đã có."
                .into(),
            "an item's kind (command automation or procurement) cannot change".into(),
        ));
    }
    if !wrong.is_empty() {
        return Err(InvestmentError::Rules(wrong));
    }
    let post = command_post_id(
        &tx,
        item.command_post.as_deref(),
        user.clearance,
        item.classification,
    )
    .await?;
    let before_post = before.command_post.clone();
    // A post the user may not see stays as it is unless they name another.
    let keep_hidden = item.command_post.is_none() && before_post.is_none();
    let c = columns(item);
    tx.execute(
        "UPDATE site_all SET name = $2, name_en = $3, programme = $4::text::programme,
                responsible_unit = $5, planned_start = $6, planned_finish = $7,
                classification = $8::text::classification, updated_at = now()
          WHERE code = $1",
        &[&code, &c.0, &c.1, &c.2, &c.3, &c.4, &c.5, &c.6],
    )
    .await?;
    let new_version: i32 = tx
        .query_one(
            "UPDATE investment i SET category = $2::text::investment_category,
                    command_post_id = CASE WHEN $4 THEN i.command_post_id ELSE $3 END,
                    version = i.version + 1, updated_at = now()
               FROM site_all s WHERE s.id = i.site_id AND s.code = $1 RETURNING i.version",
            &[&code, &item.category.code(), &post, &keep_hidden],
        )
        .await?
        .get(0);
    let change = crate::db::audit::Change {
        user_id: Some(user.id),
        actor: &user.username,
        action: "investment.update",
        entity: "investment",
        key: code,
        before: Some(record_json(&before, code)),
        after: record_json(item, code),
    };
    crate::db::audit::record(&tx, &change).await?;
    tx.commit().await?;
    Ok(new_version)
}

/// The investment `code` as `clearance` sees it, locked, with its version and kind.
async fn load_for_update(
    tx: &impl GenericClient,
    code: &str,
    clearance: Classification,
) -> Result<Option<(Investment, i32, SiteKind)>, InvestmentError> {
    let row = tx
        .query_opt(
            &format!("{SELECT} WHERE s.code = $1 AND s.classification <= $2::text::classification FOR UPDATE OF i"),
            &[&code, &clearance.code()],
        )
        .await?;
    row.map(|r| {
        let item = item_of(&r)?;
        Ok((
            item,
            r.get(11),
            SiteKind::from_code(r.get(12)).unwrap_or(SiteKind::Procurement),
        ))
    })
    .transpose()
}

/// The columns [`item_of`] reads, then the version and kind. The command post's code is
/// given only to those cleared to see it.
const SELECT: &str = "SELECT s.code, s.name, s.name_en, i.category::text, s.programme::text,
        coalesce(s.responsible_unit, ''),
        (SELECT p.code FROM site p WHERE p.id = i.command_post_id
            AND p.classification <= $2::text::classification),
        s.classification::text, s.planned_start, s.planned_finish, NULL::text, i.version, s.kind
   FROM investment i JOIN site s ON s.id = i.site_id";

fn item_of(r: &tokio_postgres::Row) -> Result<Investment, InvestmentError> {
    let bad = || InvestmentError::Db(DbError::Data("unknown vocabulary in an investment".into()));
    Ok(Investment {
        code: r.get(0),
        name: r.get(1),
        name_en: r.get(2),
        category: InvestmentCategory::from_code(r.get(3)).ok_or_else(bad)?,
        programme: Programme::from_code(r.get(4)).ok_or_else(bad)?,
        responsible_unit: r.get(5),
        command_post: r.get(6),
        classification: Classification::from_code(r.get(7)).ok_or_else(bad)?,
        planned_start: r.get(8),
        planned_finish: r.get(9),
    })
}

/// The investment `code` as `clearance` sees it, with its version.
pub async fn load(
    client: &impl GenericClient,
    code: &str,
    clearance: Classification,
) -> Result<Option<(Investment, i32)>, InvestmentError> {
    let row = client
        .query_opt(
            &format!("{SELECT} WHERE s.code = $1 AND s.classification <= $2::text::classification"),
            &[&code, &clearance.code()],
        )
        .await?;
    row.map(|r| Ok((item_of(&r)?, r.get(11)))).transpose()
}

/// One line of the investments' list.
#[derive(Debug, Clone)]
pub struct Listed {
    pub code: String,
    pub name: String,
    pub category: String,
    pub programme: String,
    pub unit: String,
    /// The command post's code and name, if the reader may see it.
    pub post: Option<(String, String)>,
    pub status: String,
    pub percent: i16,
    pub planned_finish: Option<NaiveDate>,
    pub estimate: i64,
    pub allocated: i64,
    pub disbursed: i64,
    pub classification: String,
}

/// The investments `clearance` sees, of `programme` if given, by code.
pub async fn list(
    client: &impl GenericClient,
    clearance: Classification,
    programme: Option<Programme>,
) -> Result<Vec<Listed>, DbError> {
    let rows = client
        .query(
            "SELECT s.code, s.name, i.category::text, s.programme::text, coalesce(s.responsible_unit, ''),
                    p.code, p.name, s.status::text, s.progress_pct, s.planned_finish,
                    coalesce(t.estimate_vnd, 0), coalesce(t.allocated_vnd, 0),
                    coalesce(t.disbursed_vnd, 0), s.classification::text
               FROM investment i JOIN site s ON s.id = i.site_id
               LEFT JOIN site p ON p.id = i.command_post_id AND p.classification <= $1::text::classification
               LEFT JOIN site_budget_total t ON t.site_id = s.id
              WHERE s.classification <= $1::text::classification
                AND ($2::text IS NULL OR s.programme = $2::text::programme)
              ORDER BY s.code",
            &[&clearance.code(), &programme.map(|p| p.code())],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Listed {
            code: r.get(0),
            name: r.get(1),
            category: r.get(2),
            programme: r.get(3),
            unit: r.get(4),
            post: r.get::<_, Option<String>>(5).map(|c| (c, r.get(6))),
            status: r.get(7),
            percent: r.get(8),
            planned_finish: r.get(9),
            estimate: r.get(10),
            allocated: r.get(11),
            disbursed: r.get(12),
            classification: r.get(13),
        })
        .collect())
}

/// The command posts `clearance` sees (code, name), for the form's choices.
pub async fn command_posts(
    client: &impl GenericClient,
    clearance: Classification,
) -> Result<Vec<(String, String)>, DbError> {
    let rows = client
        .query(
            "SELECT code, name FROM site
              WHERE kind IN ('district_command_post', 'provincial_command_post')
                AND classification <= $1::text::classification
              ORDER BY kind DESC, code LIMIT 5000",
            &[&clearance.code()],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
