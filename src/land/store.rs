//! Writing a parcel's plan: the work locked and checked (a defence land work the user may
//! see), the version the user saw checked, audited with its previous values, in one
//! transaction.

use serde_json::json;

use super::LandPlan;
use crate::accounts::sessions::SessionUser;
use crate::db::DbError;
use crate::domain::UserRole;

#[derive(Debug, thiserror::Error)]
pub enum LandError {
    #[error("no defence land work '{0}'")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the plan changed since version {expected}: it is at version {current}")]
    Conflict { expected: i32, current: i32 },
    #[error("the plan breaks {} rule(s)", .0.len())]
    Rules(Vec<(&'static str, String, String)>),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for LandError {
    fn from(err: tokio_postgres::Error) -> Self {
        LandError::Db(err.into())
    }
}

/// Administrators and budget officers keep the land-use plan.
pub fn may_edit(user: &SessionUser) -> Result<(), LandError> {
    match user.role {
        UserRole::Admin | UserRole::BudgetOfficer => Ok(()),
        other => Err(LandError::Forbidden(format!(
            "administrators and budget officers keep the land-use plan; you are {}",
            other.code()
        ))),
    }
}

/// Writes `plan` for the work `code` over `version` (0: it has none yet): the new version.
pub async fn save(
    client: &mut deadpool_postgres::Object,
    user: &SessionUser,
    code: &str,
    plan: &LandPlan,
    version: i32,
) -> Result<i32, LandError> {
    may_edit(user)?;
    let wrong = super::check(plan, crate::i18n::today_in_vietnam());
    if !wrong.is_empty() {
        return Err(LandError::Rules(wrong));
    }
    let tx = client.transaction().await?;
    let site_id: i64 = tx
        .query_opt(
            "SELECT id FROM site WHERE code = $1 AND kind = 'defence_land'
                AND classification <= $2::text::classification FOR SHARE",
            &[&code, &user.clearance.code()],
        )
        .await?
        .ok_or_else(|| LandError::NotFound(code.to_string()))?
        .get(0);
    let before = tx
        .query_opt(
            "SELECT version, to_jsonb(l) - 'site_id' - 'updated_at' FROM land_parcel l
              WHERE site_id = $1 FOR UPDATE",
            &[&site_id],
        )
        .await?;
    let current = before.as_ref().map_or(0, |r| r.get::<_, i32>(0));
    if current != version {
        return Err(LandError::Conflict {
            expected: version,
            current,
        });
    }
    let (number, date) = match &plan.decision {
        Some((n, d)) => (Some(n.trim().to_string()), Some(*d)),
        None => (None, None),
    };
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &site_id,
        &plan.five_year,
        &plan.current_use.code(),
        &plan.planned_use.code(),
        &plan.legal_status.code(),
        &number,
        &date,
        &version,
    ];
    // Written only over the version read: a new record only if none was made meanwhile.
    let sql = if version == 0 {
        "INSERT INTO land_parcel (site_id, five_year, current_use, planned_use, legal_status,
                                  decision_no, decision_date)
         SELECT $1, $2, $3::text::land_use, $4::text::land_use, $5::text::land_legal_status, $6, $7
          WHERE $8::int = 0
         ON CONFLICT (site_id) DO NOTHING RETURNING version"
    } else {
        "UPDATE land_parcel SET five_year = $2, current_use = $3::text::land_use,
                planned_use = $4::text::land_use, legal_status = $5::text::land_legal_status,
                decision_no = $6, decision_date = $7, version = version + 1, updated_at = now()
          WHERE site_id = $1 AND version = $8 RETURNING version"
    };
    let Some(new_version) = tx.query_opt(sql, &args).await?.map(|r| r.get::<_, i32>(0)) else {
        return Err(LandError::Conflict {
            expected: version,
            current: version + 1,
        });
    };
    // The work's version moves too: a file exported before this change, imported after it,
    // is stale (its version check) rather than writing the old plan back.
    tx.execute(
        "UPDATE site_all SET version = version + 1, updated_at = now() WHERE id = $1",
        &[&site_id],
    )
    .await?;
    let change = crate::db::audit::Change {
        user_id: Some(user.id),
        actor: &user.username,
        action: if before.is_some() {
            "land.update"
        } else {
            "land.create"
        },
        entity: "land_parcel",
        key: code,
        before: before.map(|r| r.get::<_, serde_json::Value>(1)),
        after: json!({ "five_year": plan.five_year, "current_use": plan.current_use.code(),
                       "planned_use": plan.planned_use.code(),
                       "legal_status": plan.legal_status.code(),
                       "decision_no": number, "decision_date": date, "version": new_version }),
    };
    crate::db::audit::record(&tx, &change).await?;
    tx.commit().await?;
    Ok(new_version)
}
