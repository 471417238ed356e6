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
/// Failed logins for one user name within the window before further tries are refused.
pub const MAX_FAILURES: i64 = 5;
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
    let failures: i64 = client
        .query_one(
            "SELECT count(*) FROM login_attempt
              WHERE username = $1 AND NOT succeeded
                AND at > now() - make_interval(mins => $2)",
            &[&username, &WINDOW_MINUTES],
        )
        .await?
        .get(0);
    if failures >= MAX_FAILURES {
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
        _ => LoginOutcome::WrongCredentials,
    };
    tx.commit().await?;
    Ok(outcome)
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
