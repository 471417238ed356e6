//! Writing one medium-term ceiling (kế hoạch đầu tư công trung hạn được giao) of a work ×
//! year × source: locked, checked against the version the officer saw, audited with its
//! previous values, in one transaction.

use serde_json::json;

use super::rules::{self, Ceiling};
use super::store::{budget_versions, lock_site, may_edit, BudgetError, Saved};
use crate::accounts::sessions::SessionUser;
use crate::domain::FundingSource;

/// A ceiling as a budget officer sends it. `version` is 0 for a new one.
#[derive(Debug, Clone)]
pub struct CeilingUpdate {
    pub code: String,
    pub year: i16,
    pub source: FundingSource,
    pub ceiling: Ceiling,
    pub version: i32,
}

pub async fn save(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    update: &CeilingUpdate,
) -> Result<Saved, BudgetError> {
    may_edit(user)?;
    let errors = rules::check_ceiling(
        &update.ceiling,
        update.year,
        crate::i18n::today_in_vietnam(),
    );
    if !errors.is_empty() {
        return Err(BudgetError::Rules(errors));
    }
    let tx = client.transaction().await?;
    let (site_id, _) = lock_site(&tx, &update.code, user).await?;
    let (year, source) = (update.year, update.source.code());
    let existing = tx
        .query_opt(
            "SELECT ceiling_vnd, decision_no, decision_date, version FROM budget_ceiling
              WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source FOR UPDATE",
            &[&site_id, &year, &source],
        )
        .await?;
    let before = existing.as_ref().map(|r| Ceiling {
        amount: r.get(0),
        decision_no: r.get(1),
        decision_date: r.get(2),
    });
    let current = existing.as_ref().map_or(0, |r| r.get::<_, i32>(3));
    if current != update.version {
        return Err(BudgetError::Conflict {
            expected: update.version,
            current,
            amounts: None,
        });
    }
    let c = &update.ceiling;
    if let Some(b) = before
        .as_ref()
        .filter(|b| c.decision_date < b.decision_date)
    {
        return Err(BudgetError::Rules(vec![rules::Finding {
            field: "decision_date",
            rule: "ceiling_amended_before_its_decision",
            vi: format!(
                "Quyết định điều chỉnh không thể trước quyết định {} ngày {}.",
                b.decision_no,
                crate::i18n::format_date(b.decision_date, crate::i18n::Lang::Vi)
            ),
            en: format!(
                "an amending decision cannot predate decision {} of {}",
                b.decision_no, b.decision_date
            ),
        }]));
    }
    let number = c.decision_no.trim();
    // Written only over the version read: a new one only if none was made meanwhile.
    let written = if update.version == 0 {
        tx.query_opt(
            "INSERT INTO budget_ceiling (site_id, year, source, ceiling_vnd, decision_no, decision_date)
             VALUES ($1, $2, $3::text::funding_source, $4, $5, $6)
             ON CONFLICT (site_id, year, source) DO NOTHING RETURNING version",
            &[&site_id, &year, &source, &c.amount, &number, &c.decision_date],
        )
        .await?
    } else {
        tx.query_opt(
            "UPDATE budget_ceiling SET ceiling_vnd = $4, decision_no = $5, decision_date = $6,
                    version = version + 1, updated_at = now()
              WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source AND version = $7
             RETURNING version",
            &[&site_id, &year, &source, &c.amount, &number, &c.decision_date, &update.version],
        )
        .await?
    };
    let Some(version) = written.map(|r| r.get::<_, i32>(0)) else {
        return Err(BudgetError::Conflict {
            expected: update.version,
            current: update.version + 1,
            amounts: None,
        });
    };
    let allocated: Option<i64> = tx
        .query_opt(
            "SELECT allocated_vnd FROM budget_line
              WHERE site_id = $1 AND year = $2 AND source = $3::text::funding_source",
            &[&site_id, &year, &source],
        )
        .await?
        .map(|r| r.get(0));
    let warnings: Vec<_> = allocated
        .and_then(|a| rules::over_ceiling(a, c.amount, number))
        .into_iter()
        .collect();
    let key = format!("{}/{year}/{source}", update.code);
    let change = crate::db::audit::Change {
        user_id: Some(user.id),
        actor: &user.username,
        action: if before.is_some() {
            "ceiling.update"
        } else {
            "ceiling.create"
        },
        entity: "budget_ceiling",
        key: &key,
        before: before.map(|b| json!(b)),
        after: json!({ "ceiling": c.amount, "decision_no": number,
                       "decision_date": c.decision_date, "version": version }),
    };
    crate::db::audit::record(&tx, &change).await?;
    tx.commit().await?;
    Ok(Saved {
        version,
        warnings,
        budget_versions: budget_versions(client).await?,
    })
}
