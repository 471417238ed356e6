//! One audited change: the row a write adds to the audit log, in the write's transaction
//! (the log's triggers chain it; `ops::audit` verifies the chain).

use deadpool_postgres::GenericClient;

use super::DbError;

/// What changed, who changed it, and the values before and after.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub user_id: Option<i32>,
    pub actor: &'a str,
    /// "budget.update", "land.create", …
    pub action: &'a str,
    /// The table: "budget_line", "land_parcel", …
    pub entity: &'a str,
    /// Which row, as people name it: "KHO-TBI-0012/2024/central".
    pub key: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
}

/// Adds `change` to the audit log.
pub async fn record(client: &impl GenericClient, change: &Change<'_>) -> Result<(), DbError> {
    client
        .execute(
            "INSERT INTO audit_log (user_id, actor, action, entity, entity_key, before, after)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &change.user_id,
                &change.actor,
                &change.action,
                &change.entity,
                &change.key,
                &change.before,
                &change.after,
            ],
        )
        .await?;
    Ok(())
}
