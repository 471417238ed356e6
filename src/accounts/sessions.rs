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
/// Failed sign-ins for one name from every address (a guesser with many addresses) before
/// the name is refused from every address but those it signed in from lately.
pub const MAX_NAME_FAILURES: i64 = 50;
/// How recent a successful sign-in from an address must be for it to stay open to that name.
pub const KNOWN_ADDRESS_DAYS: i32 = 30;
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

/// The addresses counted as one: an IPv4 address, or the /64 an IPv6 address is in (one
/// subscriber holds a whole /64, and would otherwise have 2^64 fresh addresses).
pub fn address_bucket(remote: std::net::IpAddr) -> String {
    match remote {
        std::net::IpAddr::V4(v4) => format!("{v4}/32"),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{v4}/32"),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
    }
}

/// Whether `name` could be an account's (the shape `app_user` allows).
fn could_be_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Checks the password and opens a fresh session (any previous one from `old_token` is
/// ended: rotation at login). Every attempt is recorded.
///
/// Sign-ins from one address (bucket) take turns, so the counts read and the attempt
/// written agree however many arrive at once, and the try that locks is audited once.
pub async fn login(
    client: &mut Client,
    username: &str,
    password_given: &str,
    old_token: Option<&str>,
    remote: Option<std::net::IpAddr>,
) -> Result<LoginOutcome, DbError> {
    // Names no account can have are recorded cut short, and checked against no hash.
    let username: String = username.chars().take(64).collect();
    let username = username.as_str();
    let bucket = remote.map(address_bucket);
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('kvpt.login:' || coalesce($1, 'unknown')))",
        &[&bucket],
    )
    .await?;
    let counts = tx
        .query_one(
            "WITH recent AS (
                 SELECT username, coalesce(remote_addr <<= $2::text::cidr, remote_addr IS NULL AND $2::text IS NULL) AS here
                   FROM login_attempt
                  WHERE NOT succeeded AND at > now() - make_interval(mins => $3)
                    AND (username = $1 OR coalesce(remote_addr <<= $2::text::cidr, remote_addr IS NULL AND $2::text IS NULL)))
             SELECT count(*) FILTER (WHERE username = $1 AND here),
                    count(*) FILTER (WHERE here),
                    count(*) FILTER (WHERE username = $1),
                    EXISTS (SELECT 1 FROM login_attempt
                             WHERE username = $1 AND succeeded AND remote_addr <<= $2::text::cidr
                               AND at > now() - make_interval(days => $4))
               FROM recent",
            &[&username, &bucket, &WINDOW_MINUTES, &KNOWN_ADDRESS_DAYS],
        )
        .await?;
    let (pair, address, name, known): (i64, i64, i64, bool) =
        (counts.get(0), counts.get(1), counts.get(2), counts.get(3));
    if pair >= MAX_FAILURES
        || address >= MAX_ADDRESS_FAILURES
        || (name >= MAX_NAME_FAILURES && !known)
    {
        tx.commit().await?;
        return Ok(LoginOutcome::Throttled);
    }
    let user = if could_be_username(username) {
        tx.query_opt(
            "SELECT id, password_hash FROM app_user WHERE username = $1 AND NOT disabled",
            &[&username],
        )
        .await?
    } else {
        None
    };
    // Verify against a dummy hash when the user is unknown, so timing does not tell; off
    // the async workers, which must keep serving while argon2 works.
    let (id, hash) = match &user {
        Some(row) => (Some(row.get::<_, i32>(0)), row.get::<_, String>(1)),
        None => (None, DUMMY_HASH.clone()),
    };
    let password_given = password_given.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&password_given, &hash))
        .await
        .unwrap_or(false)
        && id.is_some();
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
            if pair + 1 == MAX_FAILURES {
                audit_lockout(&tx, username, remote, "user_address").await?;
            }
            if address + 1 == MAX_ADDRESS_FAILURES {
                audit_lockout(&tx, username, remote, "address").await?;
            }
            if name + 1 == MAX_NAME_FAILURES {
                audit_lockout(&tx, username, remote, "user").await?;
            }
            LoginOutcome::WrongCredentials
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Records in the audit chain that sign-ins are held back for the window: `username` from
/// `remote` (`scope` "user_address"), every name from `remote` ("address"), or `username`
/// from every address it has not signed in from lately ("user").
async fn audit_lockout(
    tx: &tokio_postgres::Transaction<'_>,
    username: &str,
    remote: Option<std::net::IpAddr>,
    scope: &str,
) -> Result<(), DbError> {
    let address = remote.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let (key, limit) = match scope {
        "address" => (address.clone(), MAX_ADDRESS_FAILURES),
        "user" => (username.to_string(), MAX_NAME_FAILURES),
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

/// Deletes the sessions that have expired (they open nothing already); the number deleted.
pub async fn purge_expired(client: &impl deadpool_postgres::GenericClient) -> Result<u64, DbError> {
    Ok(client
        .execute("DELETE FROM user_session WHERE expires_at < now()", &[])
        .await?)
}

/// A real argon2id hash, so refusing an unknown user costs what refusing a wrong password does.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash(&random_token()));
