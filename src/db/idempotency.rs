//! Writes made with an `Idempotency-Key` (a phone's queue sends again whatever answer it
//! lost): the first use of a key by a user claims it in the write's own transaction and
//! records the answer there; any later use gets that answer back, and no second write. A
//! key used again for another request is refused. Kept 45 days, the newest 5,000 per user.

use deadpool_postgres::GenericClient;
use sha2::{Digest, Sha256};

use super::DbError;

/// How long a key is kept: a phone away for 30 days is covered.
pub const KEEP_DAYS: i32 = 45;

/// How many keys a user keeps (the newest): a phone's queue of a few hundred updates is far
/// below, and a client sending a new key with every request cannot fill the table.
pub const KEEP_PER_USER: i64 = 5_000;

/// A key as sent, with the user and what it was sent for.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub user_id: i32,
    pub key: String,
    pub request_sha256: Vec<u8>,
}

impl IdempotencyKey {
    /// `key` for `user_id`'s request (its method, path and body), if it is 8–128 letters,
    /// digits, `-` or `_` (a UUID is).
    pub fn new(user_id: i32, key: &str, request: &[&[u8]]) -> Option<Self> {
        let valid = (8..=128).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return None;
        }
        let mut hash = Sha256::new();
        for part in request {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Some(Self {
            user_id,
            key: key.to_string(),
            request_sha256: hash.finalize().to_vec(),
        })
    }
}

/// The `code` of the answer to a key whose first use is still being written.
pub const IN_FLIGHT: &str = "idempotency_key_in_flight";
/// The `code` of the answer to a key sent before with another request.
pub const REUSED: &str = "idempotency_key_reused";

/// What a key's first or later use finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First use: write, then `record` the answer in the same transaction.
    New,
    /// Used before for this very request: its answer.
    Answered {
        status: u16,
        answer: serde_json::Value,
    },
    /// Used before for another request.
    Reused,
    /// Its first use is still being written (a phone retrying hard): try again shortly.
    InFlight,
}

impl Claim {
    /// The answer a use of the key gets without writing: the one kept (`Answered`, to give
    /// only while the user still may reach what it wrote), or a refusal (`InFlight` 409,
    /// `Reused` 422). `None` for a first use.
    pub fn answer(&self) -> Option<(u16, serde_json::Value)> {
        // Each refusal has its own `code`, so a client tells them apart without reading words.
        let refused = |status: u16, code: &str, error: &str, vi: &str| {
            Some((
                status,
                serde_json::json!({ "error": error, "status": status, "code": code, "message_vi": vi }),
            ))
        };
        match self {
            Claim::New => None,
            Claim::Answered { status, answer } => Some((*status, answer.clone())),
            Claim::InFlight => refused(
                409,
                IN_FLIGHT,
                "this Idempotency-Key is still being written: send it again in a moment",
                "Cập nhật này đang được ghi: gửi lại sau giây lát.",
            ),
            Claim::Reused => refused(
                422,
                REUSED,
                "this Idempotency-Key was sent before with another request",
                "Mã gửi (Idempotency-Key) này đã dùng cho một yêu cầu khác.",
            ),
        }
    }
}

/// Claims `key` in the write's transaction; a concurrent first use of the same key is
/// waited for (its row is locked until it commits or rolls back).
pub async fn claim(client: &impl GenericClient, key: &IdempotencyKey) -> Result<Claim, DbError> {
    // This user's expired keys only (other users' writes never wait on these rows),
    // and beyond the newest KEEP_PER_USER.
    client
        .execute(
            "DELETE FROM idempotent_write
              WHERE user_id = $1
                AND (created_at < now() - make_interval(days => $2)
                     OR created_at < (SELECT created_at FROM idempotent_write
                                       WHERE user_id = $1
                                       ORDER BY created_at DESC OFFSET $3 LIMIT 1))",
            &[&key.user_id, &KEEP_DAYS, &(KEEP_PER_USER - 1)],
        )
        .await?;
    // A first use still running holds the key's row: wait a little, not a pool connection's
    // lifetime.
    client
        .batch_execute("SET LOCAL lock_timeout = '3s'")
        .await?;
    let inserted = client
        .execute(
            "INSERT INTO idempotent_write (user_id, key, request_sha256, status, answer)
             VALUES ($1, $2, $3, 0, 'null') ON CONFLICT (user_id, key) DO NOTHING",
            &[&key.user_id, &key.key, &key.request_sha256],
        )
        .await;
    let inserted = match inserted {
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            return Ok(Claim::InFlight);
        }
        other => other?,
    };
    client.batch_execute("SET LOCAL lock_timeout = 0").await?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let row = client
        .query_one(
            "SELECT request_sha256, status, answer FROM idempotent_write
              WHERE user_id = $1 AND key = $2",
            &[&key.user_id, &key.key],
        )
        .await?;
    if row.get::<_, Vec<u8>>(0) != key.request_sha256 {
        return Ok(Claim::Reused);
    }
    Ok(Claim::Answered {
        status: u16::try_from(row.get::<_, i16>(1)).unwrap_or(500),
        answer: row.get(2),
    })
}

/// Records the answer to a key's first use (in the transaction that claimed it).
pub async fn record(
    client: &impl GenericClient,
    key: &IdempotencyKey,
    status: u16,
    answer: &serde_json::Value,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE idempotent_write SET status = $3, answer = $4 WHERE user_id = $1 AND key = $2",
            &[
                &key.user_id,
                &key.key,
                &i16::try_from(status).unwrap_or(500),
                answer,
            ],
        )
        .await?;
    Ok(())
}

/// Deletes every user's keys older than KEEP_DAYS (a user who stopped writing keeps none
/// for ever); the number deleted.
pub async fn purge_expired(client: &impl GenericClient) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "DELETE FROM idempotent_write WHERE created_at < now() - make_interval(days => $1)",
            &[&KEEP_DAYS],
        )
        .await?)
}
