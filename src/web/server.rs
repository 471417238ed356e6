//! kvpt's own accept loop over hyper. `axum::serve` sets no limits on slow or greedy
//! clients; this one bounds the time to send headers, their size, the number of open
//! connections, and how long a shutdown waits for requests in flight. Tiles, tens of
//! thousands a second, take a lane of their own past the router.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::limits::Limits;
use super::AppState;

/// What the accept loop serves: the router and, in production, the tile lane: a
/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt` goes straight to the tile handler the router
/// would have chosen, without the router's matching, parameter maps and boxed services
/// (about 10 % more tiles a second on two cores; BENCHMARKS.md).
#[derive(Clone)]
pub struct Served {
    router: Router,
    tiles: Option<AppState>,
}

impl Served {
    /// `router` (made from `state`) with the tile lane in front.
    pub fn with_tile_lane(router: Router, state: AppState) -> Self {
        Served {
            router,
            tiles: Some(state),
        }
    }

    async fn answer(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
        secure: bool,
    ) -> axum::response::Response {
        let mut request = request.map(axum::body::Body::new);
        // kvpt itself ended TLS: pages, cookies (`Secure`) and links (`https://`) read it
        // as a proxy's `X-Forwarded-Proto` would say it.
        if secure {
            request.headers_mut().insert(
                "x-forwarded-proto",
                hyper::header::HeaderValue::from_static("https"),
            );
        }
        // HTTP/2 names the host in the request's authority, not in a Host header.
        if !request.headers().contains_key(hyper::header::HOST) {
            if let Some(host) = request
                .uri()
                .authority()
                .and_then(|a| hyper::header::HeaderValue::from_str(a.as_str()).ok())
            {
                request.headers_mut().insert(hyper::header::HOST, host);
            }
        }
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(remote));
        if let Some(state) = &self.tiles {
            if request.method() == hyper::Method::GET
                && super::tiles::is_tile_path(request.uri().path())
            {
                return super::tiles::answer(state, request).await;
            }
        }
        match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// The router alone (tests that need no lane).
impl From<Router> for Served {
    fn from(router: Router) -> Self {
        Served {
            router,
            tiles: None,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting (new
/// clients are refused), lets requests in flight finish for up to the grace period,
/// and returns.
pub async fn run(
    listener: TcpListener,
    app: impl Into<Served>,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    run_with(listener, app, limits, None, shutdown).await;
}

/// As `run`, over TLS when `tls` is given: HTTP/2 or HTTP/1.1 as ALPN chooses, the
/// handshake bounded by the header timeout, every other limit the same.
pub async fn run_with(
    listener: TcpListener,
    app: impl Into<Served>,
    limits: &Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let secure = tls.is_some();
    let app: Served = app.into();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(err) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // One copy per connection, so a request clones only this connection's handle,
        // never a counter every core shares.
        let app = Arc::new(app.clone());
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let app = app.clone();
            async move { Ok::<_, std::convert::Infallible>(app.answer(request, remote, secure).await) }
        });
        match &tls {
            None => serve_plain(stream, service, limits, &graceful, permit),
            Some(acceptor) => {
                serve_tls(acceptor.clone(), stream, service, limits, &graceful, permit)
            }
        }
    }
    drop(listener);
    tracing::info!(
        open = graceful.count(),
        "shutting down: no new connections, finishing requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "requests still running after the grace period: closing them");
        }
    }
}

/// Streams one HTTP/2 connection may run at once: a connection slot is no longer one
/// request, so this bounds what a client can ask in parallel.
const H2_MAX_STREAMS: u32 = 64;
/// Bytes buffered per stream before the client reads them.
const H2_SEND_BUFFER: usize = 128 * 1024;
/// How often an HTTP/2 connection is pinged, and how long an answer is awaited: a phone
/// gone without closing frees its slot.
const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// HTTP/1.1 with the limits: the time to send headers (also bounding an idle keep-alive
/// connection) and their size.
fn http1_with(limits: &Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes);
    builder
}

/// HTTP/1.1 on a plain connection, watched for the graceful shutdown.
fn serve_plain<S>(
    stream: tokio::net::TcpStream,
    service: S,
    limits: &Limits,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = http1_with(limits).serve_connection(TokioIo::new(stream), service);
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "connection ended");
        }
        drop(permit);
    });
}

/// The TLS handshake (bounded by the header timeout), then HTTP/2 or HTTP/1.1 as ALPN
/// chose, watched for the graceful shutdown.
fn serve_tls<S>(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    service: S,
    limits: &Limits,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limits = limits.clone();
    let watcher = graceful.watcher();
    tokio::spawn(async move {
        let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
        let stream = match handshake.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "TLS handshake failed");
                return;
            }
            Err(_) => return,
        };
        // HTTP/2 or HTTP/1.1 as ALPN chose: no bytes read to guess, so an idle client
        // is still bounded (HTTP/1.1: the header timeout; HTTP/2: keep-alive pings).
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(stream);
        let served = if h2 {
            let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .max_concurrent_streams(H2_MAX_STREAMS)
                .max_send_buf_size(H2_SEND_BUFFER)
                .keep_alive_interval(H2_KEEP_ALIVE)
                .keep_alive_timeout(H2_KEEP_ALIVE)
                .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
                .serve_connection(io, service);
            watcher.watch(connection).await
        } else {
            let connection = http1_with(&limits).serve_connection(io, service);
            watcher.watch(connection).await
        };
        if let Err(err) = served {
            tracing::debug!(error = %err, "connection ended");
        }
        drop(permit);
    });
}
