//! `kvpt audit verify`: walks the audit chain and recomputes every link. PostgreSQL
//! gives each row's content in canonical form (`audit_log_payload`, the function its
//! trigger hashes); the hashing and the chain are checked here, independently.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::db::DbError;

/// One break in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The row's content no longer matches its hash.
    Edited { id: i64, position: i64 },
    /// Positions `from..=to` are missing.
    Removed { from: i64, to: i64 },
    /// The row does not follow the one before it (its link was rewritten or it was
    /// inserted out of the chain).
    Relinked { id: i64, position: i64 },
    /// The head says the chain reaches `head`, but the log ends at `last`.
    TailRemoved { head: i64, last: i64 },
    /// The head's hash is not the last row's.
    HeadMismatch,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Edited { id, position } => write!(
                f,
                "row {id} (position {position}) was changed after it was written"
            ),
            Break::Removed { from, to } if from == to => {
                write!(f, "the row at position {from} was removed")
            }
            Break::Removed { from, to } => {
                write!(f, "the rows at positions {from} to {to} were removed")
            }
            Break::Relinked { id, position } => write!(
                f,
                "row {id} (position {position}) does not link to the row before it"
            ),
            Break::TailRemoved { head, last } => write!(
                f,
                "the newest rows were removed: the chain reached position {head}, the log ends at {last}"
            ),
            Break::HeadMismatch => write!(f, "the chain's head does not match its last row"),
        }
    }
}

/// What a verification found.
#[derive(Debug)]
pub struct Verdict {
    pub rows: u64,
    pub head: Vec<u8>,
    pub breaks: Vec<Break>,
}

impl Verdict {
    pub fn intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// Walks the whole chain (streamed: memory stays flat whatever its length).
pub async fn verify(client: &Client) -> Result<Verdict, DbError> {
    let rows = client
        .query_raw(
            "SELECT id, chain_seq, prev_hash, hash,
                    audit_log_payload(chain_seq, at, user_id, actor, action, entity,
                                      entity_key, before, after)
               FROM audit_log ORDER BY chain_seq",
            std::iter::empty::<i32>(),
        )
        .await?;
    futures_util::pin_mut!(rows);
    let mut breaks = Vec::new();
    let mut expected_seq = 1i64;
    let mut last_hash: Vec<u8> = Vec::new();
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await? {
        count += 1;
        let (id, seq): (i64, i64) = (row.get(0), row.get(1));
        let (prev, stored, payload): (Vec<u8>, Vec<u8>, Vec<u8>) =
            (row.get(2), row.get(3), row.get(4));
        if seq > expected_seq {
            breaks.push(Break::Removed {
                from: expected_seq,
                to: seq - 1,
            });
        } else if prev != last_hash {
            breaks.push(Break::Relinked { id, position: seq });
        }
        let computed: Vec<u8> = Sha256::new()
            .chain_update(&prev)
            .chain_update(&payload)
            .finalize()
            .to_vec();
        if computed != stored {
            breaks.push(Break::Edited { id, position: seq });
        }
        last_hash = stored;
        expected_seq = seq + 1;
    }
    let head = client
        .query_opt("SELECT chain_seq, hash FROM audit_chain_head", &[])
        .await?;
    let head_hash = match head {
        Some(h) => {
            let (head_seq, head_hash): (i64, Vec<u8>) = (h.get(0), h.get(1));
            if head_seq > expected_seq - 1 {
                breaks.push(Break::TailRemoved {
                    head: head_seq,
                    last: expected_seq - 1,
                });
            } else if head_hash != last_hash {
                breaks.push(Break::HeadMismatch);
            }
            head_hash
        }
        None => {
            breaks.push(Break::HeadMismatch);
            Vec::new()
        }
    };
    Ok(Verdict {
        rows: count,
        head: head_hash,
        breaks,
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
