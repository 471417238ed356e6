//! Limits on what one request may take: the numbers (from the environment), the
//! response deadline, and admission of heavy work (exports, imports) with 429 beyond
//! what the server can queue. The connection-level ones are applied in `server`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// What one client may take, and how long a shutdown waits. Each has an environment
/// variable (README, Operations).
#[derive(Debug, Clone)]
pub struct Limits {
    /// A client must send a request's whole header within this (`KVPT_HEADER_TIMEOUT_S`).
    pub header_timeout: Duration,
    /// A request body must keep arriving: no gap between its parts longer than this
    /// (`KVPT_BODY_TIMEOUT_S`).
    pub body_timeout: Duration,
    /// A response must start within this, or the client gets 503 (`KVPT_REQUEST_TIMEOUT_S`).
    /// Uploads and the streaming of exports are not bound by it.
    pub request_timeout: Duration,
    /// Largest request head (line and headers) in bytes; 431 beyond (`KVPT_MAX_HEADER_KB`).
    pub max_header_bytes: usize,
    /// Open connections at most; further clients wait in the kernel's queue
    /// (`KVPT_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Heavy work (exports, imports) running or waiting at once; 429 beyond
    /// (`KVPT_MAX_HEAVY_QUEUE`).
    pub max_heavy_queue: usize,
    /// How long a shutdown lets requests in flight finish (`KVPT_SHUTDOWN_GRACE_S`).
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            max_header_bytes: 32 * 1024,
            max_connections: 1024,
            max_heavy_queue: 16,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// The defaults, overridden by the environment; a malformed value is an error that
    /// names the variable.
    pub fn from_env() -> anyhow::Result<Self> {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
            match std::env::var(name) {
                Ok(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a positive number")),
                Err(_) => Ok(default),
            }
        }
        let d = Self::default();
        let secs =
            |name: &str, default: Duration| var(name, default.as_secs()).map(Duration::from_secs);
        Ok(Self {
            header_timeout: secs("KVPT_HEADER_TIMEOUT_S", d.header_timeout)?,
            body_timeout: secs("KVPT_BODY_TIMEOUT_S", d.body_timeout)?,
            request_timeout: secs("KVPT_REQUEST_TIMEOUT_S", d.request_timeout)?,
            // hyper needs room for at least 8 KiB.
            max_header_bytes: var("KVPT_MAX_HEADER_KB", d.max_header_bytes / 1024)?.max(8) * 1024,
            max_connections: var("KVPT_MAX_CONNECTIONS", d.max_connections)?.max(1),
            max_heavy_queue: var("KVPT_MAX_HEAVY_QUEUE", d.max_heavy_queue)?.max(1),
            shutdown_grace: secs("KVPT_SHUTDOWN_GRACE_S", d.shutdown_grace)?,
        })
    }
}

/// Answers 503 when no response has started within `limit`: a page in the caller's
/// language for browsers, JSON otherwise. Streaming bodies (exports) are not cut.
pub async fn deadline(limit: Duration, request: Request, next: Next) -> Response {
    // What the answer needs if time runs out, kept before the request is handed on.
    let mut stub = Request::new(axum::body::Body::empty());
    *stub.uri_mut() = request.uri().clone();
    if let Some(accept) = request.headers().get(header::ACCEPT) {
        stub.headers_mut().insert(header::ACCEPT, accept.clone());
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit = ?limit, "request deadline passed");
            super::page::answer_for(&stub, AppError::TimedOut(limit.as_secs()))
        }
    }
}

/// Refuses, before any handler sees them and naming the parameter: a NUL character
/// anywhere in the path or query (PostgreSQL text cannot hold one), `lang` or `f`
/// given more than once (every route reads one of each), and a `lang` other than vi or en.
pub async fn query_sanity(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let refused = if uri.path().contains("%00") {
        Some(("path".to_string(), "a NUL character (%00) is not allowed"))
    } else {
        uri.query().and_then(|q| {
            let pairs: Vec<_> = form_urlencoded::parse(q.as_bytes()).collect();
            if let Some((k, _)) = pairs
                .iter()
                .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            {
                return Some((
                    k.replace('\0', "\\0"),
                    "a NUL character (%00) is not allowed",
                ));
            }
            if pairs
                .iter()
                .any(|(k, v)| k == "lang" && !matches!(v.as_ref(), "vi" | "en" | ""))
            {
                return Some(("lang".to_string(), "must be vi or en"));
            }
            ["lang", "f"].into_iter().find_map(|single| {
                (pairs.iter().filter(|(k, _)| k == single).count() > 1)
                    .then(|| (single.to_string(), "given more than once; give it once"))
            })
        })
    };
    match refused {
        Some((field, reason)) => {
            super::page::answer_for(&request, AppError::bad_request(field, reason))
        }
        None => next.run(request).await,
    }
}

/// Exports and imports: a few run at once, some more wait their turn, and beyond that
/// callers are told to come back (429) instead of piling up work.
#[derive(Debug)]
pub struct HeavyWork {
    queue: Arc<Semaphore>,
}

/// A place in the heavy-work queue, held until the work is done.
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl HeavyWork {
    pub fn new(max_queue: usize) -> Self {
        Self {
            queue: Arc::new(Semaphore::new(max_queue)),
        }
    }

    /// A place in the queue, or `AppError::Busy` when it is full.
    pub fn admit(&self) -> Result<Admitted, AppError> {
        self.queue
            .clone()
            .try_acquire_owned()
            .map(Admitted)
            .map_err(|_| AppError::Busy)
    }
}
