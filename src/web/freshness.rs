//! Never stale, with caches and read replicas: what a reply may be made from.
//!
//! - **A client's own writes.** Every write that succeeds answers with the primary's WAL
//!   position after it (`KVPT-LSN` header and the `kvpt_lsn` cookie, which lives a minute
//!   longer than the replicas' allowed lag); the client's next requests carry it back (the
//!   cookie, or `KVPT-Min-LSN` from API clients), to whichever instance. Their replies are
//!   made from a replica that has replayed that far, or from the primary, and this process's
//!   caches answer them only once its listener has read every notice up to there.
//! - **Everyone's writes, through the caches.** A tile, a dashboard or a list of matching
//!   ids is kept under the data versions read before it was made. Made on a replica, it must
//!   hold every change those versions count: the replica must have replayed the position the
//!   listener confirmed after its last notice ([`Freshness::floor`]); while a notice is being
//!   confirmed, the primary answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::db::replicas::format_lsn;

/// The cookie that carries the position of the client's last write.
pub const LSN_COOKIE: &str = "kvpt_lsn";
/// The header a write's reply names that position in.
pub const LSN_HEADER: &str = "kvpt-lsn";
/// The header API clients send it back in.
pub const MIN_LSN_HEADER: &str = "kvpt-min-lsn";

/// While the listener has read a notice but not yet confirmed how far it has read.
const PENDING: u64 = u64::MAX;

/// How far ahead of the last confirmed position a client's may be: a write's position is
/// confirmed within a fifth of a second, in which no primary writes this much WAL. A
/// position further ahead is not one kvpt gave (it would only turn the caches off for its
/// sender) and is ignored.
const AHEAD_AT_MOST: u64 = 64 * 1024 * 1024;

/// How far this process's listener has read the primary's notices.
pub struct Freshness {
    floor: Mutex<Floor>,
    /// The last position read with every notice sent before it applied.
    confirmed: AtomicU64,
}

/// The position read right after the last notice was applied: what a replica must have
/// replayed before what it returns may be cached ([`PENDING`] while a notice is being
/// confirmed), and how many notices (or this process's own writes) changed a data version.
struct Floor {
    lsn: u64,
    generation: u64,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            floor: Mutex::new(Floor {
                lsn: PENDING,
                generation: 0,
            }),
            confirmed: AtomicU64::new(0),
        }
    }
}

impl Freshness {
    fn floor_state(&self) -> std::sync::MutexGuard<'_, Floor> {
        self.floor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a replica must have replayed for a reply that may be cached (`u64::MAX`: none
    /// can, read the primary).
    pub fn floor(&self) -> u64 {
        self.floor_state().lsn
    }

    /// How many times a data version changed in this process: a reply whose cache key is
    /// read after its replica was picked may be cached only if this did not move between.
    pub fn generation(&self) -> u64 {
        self.floor_state().generation
    }

    /// A data version is about to change (a notice applied, this process's own write, the
    /// listener starting over): nothing made on a replica is cached until it is confirmed.
    pub fn pending(&self) {
        let mut floor = self.floor_state();
        floor.generation += 1;
        floor.lsn = PENDING;
    }

    /// Every notice sent before the primary was at `lsn` has been applied. The floor moves
    /// there only if no version changed since `since` ([`Self::generation`] before `lsn` was
    /// asked): a notice applied meanwhile may be of a later commit. With nothing pending,
    /// the floor stays: what was cached is as good as before, and replicas need not catch
    /// up with every write the caches do not hold.
    pub fn confirm(&self, lsn: u64, since: u64) {
        self.confirmed.fetch_max(lsn, Ordering::SeqCst);
        let mut floor = self.floor_state();
        if floor.generation == since && floor.lsn == PENDING {
            floor.lsn = lsn;
        }
    }

    /// Whether this process's caches hold every change up to a client's write at `lsn`.
    /// Strictly before: a position read while that write was still finishing its commit
    /// may equal it, one read after it is past it.
    pub fn covers(&self, lsn: u64) -> bool {
        lsn == 0 || lsn < self.confirmed.load(Ordering::SeqCst)
    }

    /// The last position confirmed.
    pub fn confirmed(&self) -> u64 {
        self.confirmed.load(Ordering::SeqCst)
    }

    /// A client's position as sent, or 0 when it cannot be one kvpt gave (far ahead of
    /// what the primary has written).
    pub fn plausible(&self, lsn: u64) -> u64 {
        let confirmed = self.confirmed.load(Ordering::SeqCst);
        if confirmed > 0 && lsn > confirmed.saturating_add(AHEAD_AT_MOST) {
            0
        } else {
            lsn
        }
    }
}

/// Marks a reply to be stamped with the primary's position though it answers a GET (an
/// import job seen done: its write committed elsewhere).
#[derive(Clone, Copy)]
pub struct Stamp;

/// Stamps every successful write's reply (and those marked [`Stamp`]) with the primary's
/// position after it. The write stands whatever happens here: a failure is logged.
pub async fn stamp(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let write = !request.method().is_safe();
    // A token's client keeps no cookies: it reads the header.
    let cookies = !request.headers().contains_key(header::AUTHORIZATION);
    let secure = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes() == b"https");
    let mut response = next.run(request).await;
    let status = response.status();
    let succeeded = status.is_success() || status.is_redirection();
    if !(succeeded && (write || response.extensions().get::<Stamp>().is_some())) {
        return response;
    }
    let lsn = async {
        let client = state.db().await?;
        crate::db::replicas::current_lsn(&**client).await
    };
    // Unknown: a position as far ahead as the caches allow, so the client's next reads go
    // to the primary, past the caches, until the listener passes it or the cookie ends.
    let lsn = lsn.await.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "cannot read the WAL position after a write");
        state.freshness.confirmed().saturating_add(AHEAD_AT_MOST)
    });
    let text = format_lsn(lsn);
    let max_age = cookie_life(state.replicas.max_lag()).as_secs();
    let cookie = format!(
        "{LSN_COOKIE}={text}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    let headers = response.headers_mut();
    match HeaderValue::from_str(&cookie) {
        Ok(v) if cookies => {
            headers.append(header::SET_COOKIE, v);
        }
        _ => {}
    }
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.insert(LSN_HEADER, v);
    }
    response
}

/// How long the cookie lives: past it, any replica kvpt reads from has replayed the write
/// (a replica further behind than the allowed lag is skipped) and every listener has read
/// its notices.
fn cookie_life(max_lag: Duration) -> Duration {
    max_lag + Duration::from_secs(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_covered_only_once_confirmed_past_it() {
        let f = Freshness::default();
        assert_eq!(f.floor(), u64::MAX, "nothing confirmed yet");
        assert!(f.covers(0));
        assert!(!f.covers(10));
        f.confirm(10, f.generation());
        assert_eq!(f.floor(), 10);
        assert!(!f.covers(10), "strictly before");
        assert!(f.covers(9));
        f.confirm(20, f.generation());
        assert_eq!(f.floor(), 10, "no notice since: the floor stays");
        assert!(f.covers(19));
        f.pending();
        assert_eq!(f.floor(), u64::MAX);
        assert!(f.covers(9), "what was confirmed stays confirmed");
        f.confirm(30, f.generation());
        assert_eq!(f.floor(), 30);
        // A position asked before a version changed does not move the floor.
        let since = f.generation();
        f.pending();
        f.confirm(40, since);
        assert_eq!(f.floor(), u64::MAX);
        assert!(f.covers(39), "but confirms what came before it");
    }

    #[test]
    fn a_position_far_ahead_of_the_primary_is_ignored() {
        let f = Freshness::default();
        assert_eq!(
            f.plausible(u64::MAX - 1),
            u64::MAX - 1,
            "nothing confirmed yet"
        );
        f.confirm(1 << 30, f.generation());
        assert_eq!(f.plausible((1 << 30) + 1000), (1 << 30) + 1000);
        assert_eq!(f.plausible(u64::MAX - 1), 0);
    }
}
