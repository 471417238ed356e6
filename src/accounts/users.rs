//! Users: created, re-passworded, disabled and listed, each change in one transaction with
//! its audit row (never the password or its hash).

use serde_json::json;
use tokio_postgres::Client;

use super::password::{self, PasswordError};
use crate::db::DbError;
use crate::domain::{Classification, UserRole};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no user '{0}'")]
    NotFound(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("no district '{0}'; give its code (705) or abbreviation (TBI)")]
    UnknownDistrict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for UserError {
    fn from(err: tokio_postgres::Error) -> Self {
        UserError::Db(err.into())
    }
}

/// What `kvpt user add` is told.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: UserRole,
    pub clearance: Classification,
    pub unit: Option<String>,
    /// Districts an engineer may update: codes or abbreviations.
    pub districts: Vec<String>,
}

/// One line of `kvpt user list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub clearance: String,
    pub unit: Option<String>,
    pub districts: Vec<String>,
    pub disabled: bool,
}

async fn audit(
    tx: &tokio_postgres::Transaction<'_>,
    actor: &str,
    action: &str,
    username: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO audit_log (actor, action, entity, entity_key, before, after)
         VALUES ($1, $2, 'user', $3, $4, $5)",
        &[&actor, &action, &username, &before, &after],
    )
    .await?;
    Ok(())
}

/// Gives user `id` the districts named by code (705) or abbreviation (TBI).
async fn set_districts(
    tx: &tokio_postgres::Transaction<'_>,
    id: i32,
    districts: &[String],
) -> Result<(), UserError> {
    for district in districts {
        let inserted = tx
            .execute(
                "INSERT INTO user_district (user_id, district_id)
                 SELECT $1, id FROM admin_unit
                  WHERE level = 'district' AND (code = $2 OR upper(abbr) = upper($2))",
                &[&id, district],
            )
            .await?;
        if inserted == 0 {
            return Err(UserError::UnknownDistrict(district.clone()));
        }
    }
    Ok(())
}

/// Creates a user; its id.
pub async fn add(
    client: &mut Client,
    user: &NewUser,
    password: &str,
    actor: &str,
) -> Result<i32, UserError> {
    password::check(&user.username, password)?;
    let hash = password::hash(password);
    let tx = client.transaction().await?;
    let id: i32 = tx
        .query_one(
            "INSERT INTO app_user (username, display_name, password_hash, role, clearance, unit)
             VALUES ($1, $2, $3, $4::text::user_role, $5::text::classification, $6) RETURNING id",
            &[
                &user.username,
                &user.display_name,
                &hash,
                &user.role.code(),
                &user.clearance.code(),
                &user.unit,
            ],
        )
        .await?
        .get(0);
    set_districts(&tx, id, &user.districts).await?;
    let after = json!({
        "username": user.username, "display_name": user.display_name, "role": user.role.code(),
        "clearance": user.clearance.code(), "unit": user.unit, "districts": user.districts,
    });
    audit(&tx, actor, "user.add", &user.username, None, Some(after)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets a new password and ends the user's sessions.
pub async fn set_password(
    client: &mut Client,
    username: &str,
    password: &str,
    actor: &str,
) -> Result<(), UserError> {
    password::check(username, password)?;
    let hash = password::hash(password);
    let tx = client.transaction().await?;
    let id: i32 = tx
        .query_opt(
            "UPDATE app_user SET password_hash = $2, updated_at = now() WHERE username = $1 RETURNING id",
            &[&username, &hash],
        )
        .await?
        .ok_or_else(|| UserError::NotFound(username.to_string()))?
        .get(0);
    tx.execute("DELETE FROM user_session WHERE user_id = $1", &[&id])
        .await?;
    audit(&tx, actor, "user.password", username, None, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Disables an account and ends its sessions; its history stays.
pub async fn disable(client: &mut Client, username: &str, actor: &str) -> Result<(), UserError> {
    set_disabled(client, username, true, actor).await
}

/// Enables a disabled account again (audited); it signs in with its password as it was.
pub async fn enable(client: &mut Client, username: &str, actor: &str) -> Result<(), UserError> {
    set_disabled(client, username, false, actor).await
}

async fn set_disabled(
    client: &mut Client,
    username: &str,
    disabled: bool,
    actor: &str,
) -> Result<(), UserError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "UPDATE app_user u SET disabled = $2, updated_at = now()
               FROM (SELECT id, disabled FROM app_user WHERE username = $1 FOR UPDATE) old
              WHERE u.id = old.id
             RETURNING u.id, old.disabled",
            &[&username, &disabled],
        )
        .await?
        .ok_or_else(|| UserError::NotFound(username.to_string()))?;
    let id: i32 = row.get(0);
    let was: bool = row.get(1);
    if disabled {
        tx.execute("DELETE FROM user_session WHERE user_id = $1", &[&id])
            .await?;
    }
    audit(
        &tx,
        actor,
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        username,
        Some(json!({ "disabled": was })),
        Some(json!({ "disabled": disabled })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The districts (admin_unit ids) user `id` may update as an engineer.
pub async fn district_ids(
    client: &impl deadpool_postgres::GenericClient,
    id: i32,
) -> Result<Vec<i32>, DbError> {
    Ok(client
        .query(
            "SELECT district_id FROM user_district WHERE user_id = $1",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Every user, by name.
pub async fn list(client: &Client) -> Result<Vec<UserSummary>, UserError> {
    let rows = client
        .query(
            "SELECT u.username, u.display_name, u.role::text, u.clearance::text, u.disabled, u.unit,
                    coalesce(array_agg(d.abbr ORDER BY d.abbr) FILTER (WHERE d.id IS NOT NULL), '{}')
               FROM app_user u
               LEFT JOIN user_district ud ON ud.user_id = u.id
               LEFT JOIN admin_unit d ON d.id = ud.district_id
              GROUP BY u.id ORDER BY u.username",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| UserSummary {
            username: r.get(0),
            display_name: r.get(1),
            role: r.get(2),
            clearance: r.get(3),
            disabled: r.get(4),
            unit: r.get(5),
            districts: r.get(6),
        })
        .collect())
}

/// On a database without accounts, creates `admin` (administrator, clearance secret) with a
/// random password and returns that password, to be shown once; otherwise does nothing.
pub async fn bootstrap_admin(client: &mut Client) -> Result<Option<String>, UserError> {
    let any: bool = client
        .query_one("SELECT EXISTS (SELECT 1 FROM app_user)", &[])
        .await?
        .get(0);
    if any {
        return Ok(None);
    }
    let password = super::sessions::random_token()[..20].to_string();
    let admin = NewUser {
        username: "admin".into(),
        display_name: "Quản trị hệ thống".into(),
        role: UserRole::Admin,
        clearance: Classification::Secret,
        unit: None,
        districts: vec![],
    };
    add(client, &admin, &password, "bootstrap").await?;
    Ok(Some(password))
}

/// What `kvpt user set` changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<UserRole>,
    pub clearance: Option<Classification>,
    /// `Some(None)` takes the user out of their unit (and the write access it gave).
    pub unit: Option<Option<String>>,
    /// Replaces the engineer's districts when given.
    pub districts: Option<Vec<String>>,
}

/// Changes a user's role, clearance, unit or districts, audited with the previous values;
/// their sessions see the change on their next request (servers are notified).
pub async fn set(
    client: &mut Client,
    username: &str,
    change: &UserChange,
    actor: &str,
) -> Result<(), UserError> {
    let tx = client.transaction().await?;
    let row = tx
        .query_opt(
            "SELECT id, role::text, clearance::text, unit,
                    coalesce((SELECT array_agg(d.abbr ORDER BY d.abbr) FROM user_district ud
                               JOIN admin_unit d ON d.id = ud.district_id WHERE ud.user_id = u.id), '{}')
               FROM app_user u WHERE username = $1 FOR UPDATE",
            &[&username],
        )
        .await?
        .ok_or_else(|| UserError::NotFound(username.to_string()))?;
    let id: i32 = row.get(0);
    let before = json!({
        "role": row.get::<_, String>(1), "clearance": row.get::<_, String>(2),
        "unit": row.get::<_, Option<String>>(3), "districts": row.get::<_, Vec<String>>(4),
    });
    tx.execute(
        "UPDATE app_user SET role = coalesce($2::text::user_role, role),
                clearance = coalesce($3::text::classification, clearance),
                unit = CASE WHEN $5 THEN $4 ELSE unit END, updated_at = now()
          WHERE id = $1",
        &[
            &id,
            &change.role.map(|r| r.code()),
            &change.clearance.map(|c| c.code()),
            &change.unit.clone().flatten(),
            &change.unit.is_some(),
        ],
    )
    .await?;
    if let Some(districts) = &change.districts {
        tx.execute("DELETE FROM user_district WHERE user_id = $1", &[&id])
            .await?;
        set_districts(&tx, id, districts).await?;
    }
    // What was changed, and only that: a unit taken away is `"unit": null`, a unit not
    // named is not there.
    let mut after = serde_json::Map::new();
    if let Some(role) = change.role {
        after.insert("role".into(), json!(role.code()));
    }
    if let Some(clearance) = change.clearance {
        after.insert("clearance".into(), json!(clearance.code()));
    }
    if let Some(unit) = &change.unit {
        after.insert("unit".into(), json!(unit));
    }
    if let Some(districts) = &change.districts {
        after.insert("districts".into(), json!(districts));
    }
    let after = serde_json::Value::Object(after);
    audit(&tx, actor, "user.set", username, Some(before), Some(after)).await?;
    tx.commit().await?;
    Ok(())
}
