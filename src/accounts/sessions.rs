//! Server-side sessions: a random token in an HttpOnly cookie, only its SHA-256 stored;
//! a CSRF token per session; login throttling from the recorded attempts.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::password;
use crate::db::DbError;
use crate::domain::{Classification, UserRole};

/// How long a session lasts.
pub const SESSION_HOURS: i32 = 8;
/// Failed sign-ins for one user name from one address within the window before further
/// tries of that name from that address are refused. Another address is not held back, so
/// nobody can lock a user out from where they are.
pub const MAX_FAILURES: i64 = 5;
/// Failed sign-ins from one address, whatever the user names, before that address is
/// refused for the rest of the window: one password sprayed over many names is slowed.
pub const MAX_ADDRESS_FAILURES: i64 = 20;
pub const WINDOW_MINUTES: i32 = 15;

/// A signed-in user, as every request sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub role: UserRole,
    pub clearance: Classification,
    pub unit: Option<String>,
    pub csrf_token: String,
    /// When the session ends.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The new session's cookie token.
    Ok(String),
    WrongCredentials,
    Throttled,
}

/// Checks the password and opens a fresh session (any previous one from `old_token` is
/// ended: rotation at login). Every attempt is recorded.
pub async fn login(
    client: &mut Client,
    username: &str,
    password_given: &str,
    old_token: Option<&str>,
    remote: Option<std::net::IpAddr>,
) -> Result<LoginOutcome, DbError> {
    // Failures of this name from this address, and from this address for any name. An
    // unknown address (none given) is one address of its own.
    let counts = client
        .query_one(
            "SELECT count(*) FILTER (WHERE username = $1), count(*) FROM login_attempt
              WHERE remote_addr IS NOT DISTINCT FROM $2 AND NOT succeeded
                AND at > now() - make_interval(mins => $3)",
            &[&username, &remote, &WINDOW_MINUTES],
        )
        .await?;
    let (pair_failures, address_failures): (i64, i64) = (counts.get(0), counts.get(1));
    if pair_failures >= MAX_FAILURES || address_failures >= MAX_ADDRESS_FAILURES {
        return Ok(LoginOutcome::Throttled);
    }
    let user = client
        .query_opt(
            "SELECT id, password_hash FROM app_user WHERE username = $1 AND NOT disabled",
            &[&username],
        )
        .await?;
    // Verify against a dummy hash when the user is unknown, so timing does not tell.
    let (id, ok) = match &user {
        Some(row) => (
            Some(row.get::<_, i32>(0)),
            password::verify(password_given, row.get(1)),
        ),
        None => {
            let _ = password::verify(password_given, &DUMMY_HASH);
            (None, false)
        }
    };
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO login_attempt (username, remote_addr, succeeded) VALUES ($1, $2, $3)",
        &[&username, &remote, &ok],
    )
    .await?;
    let outcome = match (id, ok) {
        (Some(id), true) => {
            if let Some(old) = old_token {
                tx.execute(
                    "DELETE FROM user_session WHERE token_hash = $1",
                    &[&token_hash(old)],
                )
                .await?;
            }
            let token = random_token();
            tx.execute(
                "INSERT INTO user_session (token_hash, user_id, csrf_token, expires_at)
                 VALUES ($1, $2, $3, now() + make_interval(hours => $4))",
                &[&token_hash(&token), &id, &random_token(), &SESSION_HOURS],
            )
            .await?;
            LoginOutcome::Ok(token)
        }
        _ => {
            // This failure may be the one that locks: the audit chain records it, once.
            if pair_failures + 1 == MAX_FAILURES {
                audit_lockout(&tx, username, remote, "user_address").await?;
            }
            if address_failures + 1 == MAX_ADDRESS_FAILURES {
                audit_lockout(&tx, username, remote, "address").await?;
            }
            LoginOutcome::WrongCredentials
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Records in the audit chain that sign-ins from `remote` are held back for the window:
/// for `username` alone (`scope` "user_address") or for every name ("address").
async fn audit_lockout(
    tx: &tokio_postgres::Transaction<'_>,
    username: &str,
    remote: Option<std::net::IpAddr>,
    scope: &str,
) -> Result<(), DbError> {
    let address = remote.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let (key, limit) = match scope {
        "address" => (address.clone(), MAX_ADDRESS_FAILURES),
        _ => (format!("{username}@{address}"), MAX_FAILURES),
    };
    tx.execute(
        "INSERT INTO audit_log (actor, action, entity, entity_key, after)
         VALUES ($3, 'login.lockout', 'login', $2,
                 jsonb_build_object('username', $1::text, 'address', $3::text, 'scope', $4::text,
                                    'failures', $5::int8, 'minutes', $6::int4))",
        &[&username, &key, &address, &scope, &limit, &WINDOW_MINUTES],
    )
    .await?;
    Ok(())
}

/// The user of a live session, if the token names one (expired sessions and disabled users
/// count as none).
pub async fn user_of(
    client: &impl deadpool_postgres::GenericClient,
    token: &str,
) -> Result<Option<SessionUser>, DbError> {
    let row = client
        .query_opt(
            "SELECT u.id, u.username, u.display_name, u.role::text, u.clearance::text, u.unit,
                    s.csrf_token, s.expires_at
               FROM user_session s JOIN app_user u ON u.id = s.user_id
              WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
            &[&token_hash(token)],
        )
        .await?;
    Ok(row.and_then(|r| {
        Some(SessionUser {
            id: r.get(0),
            username: r.get(1),
            display_name: r.get(2),
            role: UserRole::from_code(r.get(3))?,
            clearance: Classification::from_code(r.get(4))?,
            unit: r.get(5),
            csrf_token: r.get(6),
            expires_at: r.get(7),
        })
    }))
}

/// Ends the session of `token`.
pub async fn logout(
    client: &impl deadpool_postgres::GenericClient,
    token: &str,
) -> Result<(), DbError> {
    client
        .execute(
            "DELETE FROM user_session WHERE token_hash = $1",
            &[&token_hash(token)],
        )
        .await?;
    Ok(())
}

/// A real argon2id hash, so refusing an unknown user costs what refusing a wrong password does.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash(&random_token()));
