//! Personal access tokens, for QGIS, GDAL and scripts: made for a user, shown once, only
//! their SHA-256 kept; they last at most a year; their scope is `read` or `read,write`.
//! A token stands for its user exactly as a session does (clearance, districts, unit, role).
//! Creation, revocation and each use from a new address go in the audit chain.

use deadpool_postgres::GenericClient;
use serde::Serialize;

use super::sessions::{random_token, token_hash, SessionUser};
use crate::db::DbError;
use crate::domain::{Classification, UserRole};

/// How long a token lasts unless asked otherwise, and at most.
pub const DEFAULT_DAYS: i32 = 90;
pub const MAX_DAYS: i32 = 365;
/// What every token starts with, so a leaked one is recognised (and told from a password).
pub const PREFIX: &str = "kvpt_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Scope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "read,write")]
    ReadWrite,
}

impl Scope {
    pub fn code(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ReadWrite => "read,write",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.replace(' ', "").as_str() {
            "read" => Some(Scope::Read),
            "read,write" | "write,read" | "write" => Some(Scope::ReadWrite),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no user '{0}'")]
    NoUser(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for TokenError {
    fn from(err: tokio_postgres::Error) -> Self {
        TokenError::Db(err.into())
    }
}

/// A token just made: its secret is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    pub id: i64,
    pub secret: String,
    pub scope: Scope,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A token as its user's list shows it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked: bool,
}

/// Makes a token named `name` for user `username`, lasting `days`, audited as `actor`'s.
pub async fn create(
    client: &impl GenericClient,
    username: &str,
    actor: &str,
    name: &str,
    scope: Scope,
    days: i32,
) -> Result<NewToken, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(TokenError::Invalid {
            field: "name",
            reason: "give the token a name of 1 to 80 characters (what it is for)".into(),
        });
    }
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(TokenError::Invalid {
            field: "days",
            reason: format!("a token lasts 1 to {MAX_DAYS} days"),
        });
    }
    let secret = format!("{PREFIX}{}", random_token());
    let row = client
        .query_opt(
            "WITH u AS (SELECT id FROM app_user WHERE username = $1),
                  t AS (INSERT INTO api_token (user_id, name, token_hash, scope, expires_at)
                        SELECT u.id, $2, $3, $4, now() + make_interval(days => $5) FROM u
                        RETURNING id, user_id, expires_at),
                  a AS (INSERT INTO audit_log (user_id, actor, action, entity, entity_key, after)
                        SELECT (SELECT id FROM app_user WHERE username = $6), $6, 'token.create',
                               'api_token', t.id::text,
                               jsonb_build_object('user', $1::text, 'name', $2::text,
                                                  'scope', $4::text, 'expires_at', t.expires_at)
                          FROM t)
             SELECT id, expires_at FROM t",
            &[
                &username,
                &name,
                &token_hash(&secret),
                &scope.code(),
                &days,
                &actor,
            ],
        )
        .await?
        .ok_or_else(|| TokenError::NoUser(username.to_string()))?;
    Ok(NewToken {
        id: row.get(0),
        secret,
        scope,
        expires_at: row.get(1),
    })
}

/// User `username`'s tokens, newest first (revoked and expired ones too, so they can see).
pub async fn list(client: &impl GenericClient, username: &str) -> Result<Vec<TokenRow>, DbError> {
    Ok(client
        .query(
            "SELECT t.id, t.name, t.scope, t.created_at, t.expires_at, t.last_used_at,
                    t.revoked_at IS NOT NULL
               FROM api_token t JOIN app_user u ON u.id = t.user_id
              WHERE u.username = $1 ORDER BY t.id DESC",
            &[&username],
        )
        .await?
        .iter()
        .map(|r| TokenRow {
            id: r.get(0),
            name: r.get(1),
            scope: Scope::from_code(r.get(2)).unwrap_or(Scope::Read),
            created_at: r.get(3),
            expires_at: r.get(4),
            last_used_at: r.get(5),
            revoked: r.get(6),
        })
        .collect())
}

/// Revokes token `id` of user `username` (audited as `actor`'s): whether there was such a
/// token still live.
pub async fn revoke(
    client: &impl GenericClient,
    username: &str,
    id: i64,
    actor: &str,
) -> Result<bool, DbError> {
    Ok(client
        .query_opt(
            "WITH t AS (UPDATE api_token t SET revoked_at = now()
                          FROM app_user u
                         WHERE t.id = $2 AND u.id = t.user_id AND u.username = $1
                           AND t.revoked_at IS NULL
                        RETURNING t.id, t.name),
                  a AS (INSERT INTO audit_log (user_id, actor, action, entity, entity_key, after)
                        SELECT (SELECT id FROM app_user WHERE username = $3), $3, 'token.revoke',
                               'api_token', t.id::text,
                               jsonb_build_object('user', $1::text, 'name', t.name)
                          FROM t)
             SELECT id FROM t",
            &[&username, &id, &actor],
        )
        .await?
        .is_some())
}

/// The user a live token stands for, with its scope; `username`, when given (HTTP Basic),
/// must be the token's. A use is recorded (at most once a minute, and always from an
/// address not seen before, which is audited).
pub async fn user_of(
    client: &impl GenericClient,
    secret: &str,
    username: Option<&str>,
    address: Option<std::net::IpAddr>,
) -> Result<Option<(SessionUser, Scope)>, DbError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let row = client
        .query_opt(
            "WITH t AS (SELECT t.id, t.scope, t.expires_at, t.user_id, t.name,
                               NOT ($3 = ANY (t.addresses)) AS new_address
                          FROM api_token t JOIN app_user u ON u.id = t.user_id
                         WHERE t.token_hash = $1 AND t.revoked_at IS NULL
                           AND t.expires_at > now() AND NOT u.disabled
                           AND ($2::text IS NULL OR u.username = $2)),
                  used AS (UPDATE api_token a SET last_used_at = now(),
                                  addresses = CASE WHEN t.new_address
                                                   THEN (a.addresses || $3)[greatest(1, cardinality(a.addresses) - 98):]
                                                   ELSE a.addresses END
                             FROM t
                            WHERE a.id = t.id
                              AND (t.new_address OR a.last_used_at IS NULL
                                   OR a.last_used_at < now() - interval '1 minute')),
                  audited AS (INSERT INTO audit_log (user_id, actor, action, entity, entity_key, after)
                              SELECT t.user_id, u.username, 'token.new_address', 'api_token',
                                     t.id::text, jsonb_build_object('address', $3::text, 'name', t.name)
                                FROM t JOIN app_user u ON u.id = t.user_id
                               WHERE t.new_address)
             SELECT u.id, u.username, u.display_name, u.role::text, u.clearance::text, u.unit,
                    t.expires_at, t.scope
               FROM t JOIN app_user u ON u.id = t.user_id",
            &[&token_hash(secret), &username, &address],
        )
        .await?;
    Ok(row.and_then(|r| {
        let user = SessionUser {
            id: r.get(0),
            username: r.get(1),
            display_name: r.get(2),
            role: UserRole::from_code(r.get(3))?,
            clearance: Classification::from_code(r.get(4))?,
            unit: r.get(5),
            // A token's requests carry no cookie, so no CSRF token either.
            csrf_token: String::new(),
            expires_at: r.get(6),
        };
        Some((user, Scope::from_code(r.get(7))?))
    }))
}

/// Whether tokens from `address` (its bucket) are held back: it failed as often in the
/// window as sign-ins from one address may.
pub async fn held_back(
    client: &impl GenericClient,
    address: Option<std::net::IpAddr>,
) -> Result<bool, DbError> {
    let bucket = address.map(super::sessions::address_bucket);
    Ok(client
        .query_one(
            "SELECT count(*) >= $3 FROM login_attempt
              WHERE NOT succeeded AND at > now() - make_interval(mins => $2)
                AND coalesce(remote_addr <<= $1::text::cidr, remote_addr IS NULL AND $1::text IS NULL)",
            &[
                &bucket,
                &super::sessions::WINDOW_MINUTES,
                &super::sessions::MAX_ADDRESS_FAILURES,
            ],
        )
        .await?
        .get(0))
}

/// Records a token that opened nothing, as a failed sign-in of `username` (HTTP Basic) or
/// of "(token)" from `address`.
pub async fn record_failure(
    client: &impl GenericClient,
    username: Option<&str>,
    address: Option<std::net::IpAddr>,
) -> Result<(), DbError> {
    let name: String = username.unwrap_or("(token)").chars().take(64).collect();
    client
        .execute(
            "INSERT INTO login_attempt (username, remote_addr, succeeded)
             VALUES ($1, $2::text::inet, false)",
            &[&name, &address.map(|a| a.to_string())],
        )
        .await?;
    Ok(())
}
