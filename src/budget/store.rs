//! Writing one budget line: locked, checked against the version the officer saw, audited
//! with its previous values, in one transaction.

use serde_json::json;

use super::rules::{self, Amounts, Finding};
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::{FundingSource, SiteStatus, UserRole};

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error("no site '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// A line's (with its amounts now) or a ceiling's version moved on.
    #[error("it changed since version {expected}: it is at version {current}")]
    Conflict {
        expected: i32,
        current: i32,
        amounts: Option<Amounts>,
    },
    #[error("the line breaks {} rule(s)", .0.len())]
    Rules(Vec<Finding>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for BudgetError {
    fn from(err: tokio_postgres::Error) -> Self {
        BudgetError::Db(err.into())
    }
}

/// A line as a budget officer sends it. `version` is 0 for a new line.
#[derive(Debug, Clone)]
pub struct LineUpdate {
    pub code: String,
    pub year: i16,
    pub source: FundingSource,
    pub amounts: Amounts,
    pub version: i32,
}

#[derive(Debug, Clone)]
pub struct Saved {
    pub version: i32,
    pub warnings: Vec<Finding>,
    /// The budget's data version after the commit (dashboards cached before are stale).
    /// The budget's data versions after this write: its own and at each classification.
    pub budget_versions: Vec<(String, i64)>,
}

pub fn may_edit(user: &SessionUser) -> Result<(), BudgetError> {
    if user.role == UserRole::BudgetOfficer {
        Ok(())
    } else {
        Err(BudgetError::Forbidden(format!(
            "only budget officers enter budget lines; you are {}",
            user.role.code()
        )))
    }
}

pub async fn save(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    line: &LineUpdate,
) -> Result<Saved, BudgetError> {
    may_edit(user)?;
    let tx = client.transaction().await?;
    let (site_id, status) = lock_site(&tx, &line.code, user).await?;
    let existing = tx
        .query_opt(
            "SELECT estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd, version FROM budget_line
              WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source FOR UPDATE",
            &[&site_id, &line.year, &line.source.code()],
        )
        .await?;
    let before = existing.as_ref().map(|r| Amounts {
        estimate: r.get(0),
        allocated: r.get(1),
        disbursed: r.get(2),
        settled: r.get(3),
    });
    let current_version = existing.as_ref().map_or(0, |r| r.get::<_, i32>(4));
    if current_version != line.version {
        return Err(BudgetError::Conflict {
            expected: line.version,
            current: current_version,
            amounts: Some(before.unwrap_or(Amounts {
                estimate: 0,
                allocated: 0,
                disbursed: 0,
                settled: 0,
            })),
        });
    }
    let (errors, mut warnings) = rules::check(&line.amounts, line.year, status);
    if !errors.is_empty() {
        return Err(BudgetError::Rules(errors));
    }
    let ceiling = tx
        .query_opt(
            "SELECT ceiling_vnd, decision_no FROM budget_ceiling
              WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source",
            &[&site_id, &line.year, &line.source.code()],
        )
        .await?;
    if let Some(c) = ceiling {
        warnings.extend(rules::over_ceiling(
            line.amounts.allocated,
            c.get(0),
            c.get(1),
        ));
    }
    let a = &line.amounts;
    // Written only over the version read: a new line only if none was made meanwhile (two
    // officers adding the same line at once: the second is told, not overwritten).
    let sql = if line.version == 0 {
        "INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
         SELECT $1, $2, $3::text::funding_source, $4, $5, $6, $7 WHERE $8::int = 0
         ON CONFLICT (site_id, year, source) DO NOTHING RETURNING version"
    } else {
        "UPDATE budget_line SET estimate_vnd = $4, allocated_vnd = $5, disbursed_vnd = $6,
                settled_vnd = $7, version = version + 1, updated_at = now()
          WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source AND version = $8
         RETURNING version"
    };
    let written = tx
        .query_opt(
            sql,
            &[
                &site_id,
                &line.year,
                &line.source.code(),
                &a.estimate,
                &a.allocated,
                &a.disbursed,
                &a.settled,
                &line.version,
            ],
        )
        .await?;
    let Some(version) = written.map(|r| r.get::<_, i32>(0)) else {
        return Err(BudgetError::Conflict {
            expected: line.version,
            current: line.version + 1,
            amounts: before,
        });
    };
    let key = format!("{}/{}/{}", line.code, line.year, line.source.code());
    let change = crate::db::audit::Change {
        user_id: Some(user.id),
        actor: &user.username,
        action: if before.is_some() {
            "budget.update"
        } else {
            "budget.create"
        },
        entity: "budget_line",
        key: &key,
        before: before.map(|b| json!(b)),
        after: json!({ "estimate": a.estimate, "allocated": a.allocated, "disbursed": a.disbursed,
                       "settled": a.settled, "version": version,
                       "warnings": warnings.iter().map(|w| w.rule).collect::<Vec<_>>() }),
    };
    crate::db::audit::record(&tx, &change).await?;
    tx.commit().await?;
    Ok(Saved {
        version,
        warnings,
        budget_versions: budget_versions(client).await?,
    })
}

/// The work `code` the user may see, locked against deletion while its budget is
/// written: (id, status).
pub(super) async fn lock_site(
    tx: &deadpool_postgres::Transaction<'_>,
    code: &str,
    user: &SessionUser,
) -> Result<(i64, SiteStatus), BudgetError> {
    let site = tx
        .query_opt(
            "SELECT id, status::text FROM site
              WHERE code = $1 AND classification <= $2::text::classification FOR SHARE",
            &[&code, &user.clearance.code()],
        )
        .await?
        .ok_or_else(|| BudgetError::NotFound(code.to_string()))?;
    let status = SiteStatus::from_code(site.get(1))
        .ok_or_else(|| DbError::Data("unknown status in the database".into()))?;
    Ok((site.get(0), status))
}

/// The budget's data versions after a write committed.
pub(super) async fn budget_versions(
    client: &deadpool_postgres::Object,
) -> Result<Vec<(String, i64)>, BudgetError> {
    Ok(client
        .query(
            "SELECT layer, version FROM layer_version WHERE split_part(layer, '@', 1) = 'budget'",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
