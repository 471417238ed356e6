//! Who is asking: the user of the session cookie, the user of a personal access token
//! (`Authorization: Bearer kvpt_…`, or HTTP Basic with the token as the password, which is
//! what QGIS and GDAL send), or an anonymous visitor whose clearance the deployment chooses
//! (`--anonymous public|none`). A token that is unknown, expired or revoked is a 401 with
//! `WWW-Authenticate`; failed tokens count against the address like failed sign-ins.
//!
//! The `identify` middleware resolves the caller once per request and leaves it in the
//! request's extensions, where handlers take it as an extractor: there the session or
//! token is looked up in PostgreSQL, so a sign-out or a disabled account on any instance is
//! refused on the next request. The tile lane, tens of thousands of requests a second,
//! uses a cache instead: a minute at most, and dropped at once when PostgreSQL notifies
//! `kvpt_sessions` (a logout, a disabled account or a changed role, from any process);
//! while that listener is down the cache is not trusted and every tile asks the database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::freshness::{LSN_COOKIE, MIN_LSN_HEADER};
use super::AppState;
use crate::accounts::sessions::{self, SessionUser};
use crate::accounts::tokens::{self, Scope};
use crate::db::replicas::parse_lsn;
use crate::domain::{Classification, UserRole};
use crate::error::AppError;

/// The cookie that carries the session's token.
pub const SESSION_COOKIE: &str = "kvpt_session";

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The position of the client's last write, from its cookie or header (0 when none).
pub fn client_lsn(headers: &HeaderMap) -> u64 {
    let cookie = cookie(headers, LSN_COOKIE).and_then(parse_lsn);
    let header = headers
        .get(MIN_LSN_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_lsn);
    cookie.max(header).unwrap_or(0)
}

/// How long a looked-up session is trusted without asking again.
const SESSION_TTL: Duration = Duration::from_secs(60);

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<Arc<SessionUser>>,
    /// The highest classification this caller may see; `None` for an anonymous visitor of
    /// a deployment that shows anonymous visitors nothing.
    pub clearance: Option<Classification>,
    /// The scope of the token the user came with; `None` for a browser session.
    pub token: Option<Scope>,
    /// The primary's WAL position after this client's last write (0: none known): what
    /// its replies must hold (`web::freshness`).
    pub min_lsn: u64,
}

impl Caller {
    /// What this caller may see, or 401 when they must sign in first.
    pub fn clearance(&self) -> Result<Classification, AppError> {
        self.clearance.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user, or 401.
    pub fn user(&self) -> Result<&SessionUser, AppError> {
        self.user.as_deref().ok_or(AppError::Unauthorized)
    }

    /// The signed-in user if their role is one of `roles`: 401 when anonymous, 403 otherwise.
    pub fn with_role(&self, roles: &[UserRole]) -> Result<&SessionUser, AppError> {
        let user = self.user()?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.code()).collect();
            Err(AppError::Forbidden(format!(
                "this needs the role {}; you are {}",
                names.join(" or "),
                user.role.code()
            )))
        }
    }

    /// A form's or request's CSRF token must be the session's: 403 otherwise. A request
    /// with a personal access token carries no cookie, so needs none; every write passes
    /// here, where a `read` token is refused naming its scope.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<&SessionUser, AppError> {
        let user = self.user()?;
        match self.token {
            Some(Scope::ReadWrite) => return Ok(user),
            Some(Scope::Read) => {
                return Err(AppError::Forbidden(
                    "this token's scope is 'read': a write needs a token with scope 'read,write'"
                        .into(),
                ))
            }
            None => {}
        }
        match token {
            Some(t)
                if !t.is_empty() && constant_time_eq(t.as_bytes(), user.csrf_token.as_bytes()) =>
            {
                Ok(user)
            }
            _ => Err(AppError::Forbidden(
                "missing or wrong CSRF token: reload the page and try again".into(),
            )),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no caller: identify layer missing")))
    }
}

/// Resolves the caller, keeps it for the handlers and the page header.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // Looked up in PostgreSQL every time: a sign-out or a disabled account anywhere is
    // refused on the next request. Only the tile lane trusts the cache.
    let caller = match state
        .caller(request.headers(), peer, Lookup::Database)
        .await
    {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let context = crate::views::context::PageContext {
        user: caller.user.clone(),
        path_and_query: request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
    };
    request.extensions_mut().insert(caller);
    crate::views::context::scope(context, next.run(request)).await
}

/// Sessions and tokens recently looked up, by the SHA-256 of their token (a token's with
/// its scope).
pub struct SessionCache {
    entries: quick_cache::sync::Cache<Vec<u8>, (Arc<SessionUser>, Option<Scope>, Instant)>,
    live: AtomicBool,
}

impl Default for SessionCache {
    fn default() -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(10_000),
            live: AtomicBool::new(false),
        }
    }
}

impl SessionCache {
    fn get(&self, hash: &[u8]) -> Option<(Arc<SessionUser>, Option<Scope>)> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let (user, scope, until) = self.entries.get(hash)?;
        (Instant::now() < until).then_some((user, scope))
    }

    fn insert(&self, hash: Vec<u8>, user: Arc<SessionUser>, scope: Option<Scope>) {
        let left = (user.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        self.entries
            .insert(hash, (user, scope, Instant::now() + left.min(SESSION_TTL)));
    }

    /// Forgets one session (a logout in this process).
    pub fn forget(&self, token: &str) {
        self.entries.remove(&sessions::token_hash(token));
    }

    /// Forgets every session: something changed in the database.
    pub fn clear(&self) {
        self.entries.clear();
    }

    pub fn set_live(&self, live: bool) {
        if !live {
            self.entries.clear();
        }
        self.live.store(live, Ordering::Release);
    }
}

/// Where a request's session or token is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// In PostgreSQL: what was ended or disabled a moment ago, anywhere, is refused.
    Database,
    /// In this process's cache when it holds it (emptied by every session notice, so an
    /// ending elsewhere is seen once the notice arrives, in milliseconds): the tile lane.
    Cache,
}

impl AppState {
    /// The caller of a request with these headers, from `peer` (the TCP peer; the client
    /// address is taken through the trusted proxies).
    pub async fn caller(
        &self,
        headers: &HeaderMap,
        peer: Option<std::net::IpAddr>,
        lookup: Lookup,
    ) -> Result<Caller, AppError> {
        let min_lsn = self.freshness.plausible(client_lsn(headers));
        if let Some(authorization) = headers.get(header::AUTHORIZATION) {
            let address = self.trusted_proxies.client(peer, headers);
            let (user, scope) = self
                .token_user(authorization, address, min_lsn, lookup)
                .await?;
            return Ok(Caller {
                clearance: Some(user.clearance),
                user: Some(user),
                token: Some(scope),
                min_lsn,
            });
        }
        let user = match cookie(headers, SESSION_COOKIE) {
            Some(token) if !token.is_empty() => self.session_user(token, min_lsn, lookup).await?,
            _ => None,
        };
        let clearance = match &user {
            Some(user) => Some(user.clearance),
            None => self.anonymous,
        };
        Ok(Caller {
            user,
            clearance,
            token: None,
            min_lsn,
        })
    }

    /// The user of a token sent as `Bearer TOKEN` or `Basic base64(user:TOKEN)`: 401 when it
    /// is none (recorded as a failed try), 429 once the address has failed too often.
    async fn token_user(
        &self,
        authorization: &axum::http::HeaderValue,
        address: Option<std::net::IpAddr>,
        min_lsn: u64,
        lookup: Lookup,
    ) -> Result<(Arc<SessionUser>, Scope), AppError> {
        let refused = |why: &str| AppError::TokenRefused(why.to_string());
        let text = authorization
            .to_str()
            .map_err(|_| refused("the Authorization header is not text"))?;
        let (username, secret) = credentials(text).ok_or_else(|| {
            refused(
                "send `Authorization: Bearer TOKEN`, or HTTP Basic with a token as the password",
            )
        })?;
        let hash = sessions::token_hash(text);
        if let Some((user, Some(scope))) = self.cached_session(&hash, min_lsn, lookup) {
            return Ok((user, scope));
        }
        let client = self.db().await?;
        if tokens::held_back(&client, address).await? {
            return Err(AppError::Throttled);
        }
        match tokens::user_of(&client, &secret, username.as_deref(), address).await? {
            Some((user, scope)) => {
                let user = Arc::new(user);
                self.sessions.insert(hash, user.clone(), Some(scope));
                Ok((user, scope))
            }
            None => {
                tokens::record_failure(&client, username.as_deref(), address).await?;
                Err(refused(
                    "the token is unknown, expired or revoked (a password is never taken here: use a personal access token)",
                ))
            }
        }
    }

    /// A session or token from the cache, when the lookup may use it and the client's last
    /// write (a sign-out, say, on another instance) has reached this process's cache.
    fn cached_session(
        &self,
        hash: &[u8],
        min_lsn: u64,
        lookup: Lookup,
    ) -> Option<(Arc<SessionUser>, Option<Scope>)> {
        if lookup == Lookup::Cache && self.freshness.covers(min_lsn) {
            self.sessions.get(hash)
        } else {
            None
        }
    }

    async fn session_user(
        &self,
        token: &str,
        min_lsn: u64,
        lookup: Lookup,
    ) -> Result<Option<Arc<SessionUser>>, AppError> {
        let hash = sessions::token_hash(token);
        if let Some((user, None)) = self.cached_session(&hash, min_lsn, lookup) {
            return Ok(Some(user));
        }
        let client = self.db().await?;
        let user = sessions::user_of(&client, token).await?.map(Arc::new);
        if let Some(user) = &user {
            self.sessions.insert(hash, user.clone(), None);
        }
        Ok(user)
    }
}

/// The user name (HTTP Basic) and the token of an Authorization header's value.
fn credentials(value: &str) -> Option<(Option<String>, String)> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| (None, rest.to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, token) = decoded.split_once(':')?;
        return Some((Some(user.to_string()), token.to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_client_position_comes_from_cookie_or_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(client_lsn(&headers), 0);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; kvpt_lsn=1/0"),
        );
        assert_eq!(client_lsn(&headers), 1 << 32);
        headers.insert(MIN_LSN_HEADER, HeaderValue::from_static("2/0"));
        assert_eq!(client_lsn(&headers), 2 << 32);
        headers.insert(MIN_LSN_HEADER, HeaderValue::from_static("nonsense"));
        assert_eq!(client_lsn(&headers), 1 << 32);
    }

    #[test]
    fn bearer_and_basic_credentials_are_read_and_anything_else_is_not() {
        assert_eq!(
            credentials("Bearer kvpt_abc"),
            Some((None, "kvpt_abc".into()))
        );
        // "ks.a:kvpt_abc"
        assert_eq!(
            credentials("Basic a3MuYTprdnB0X2FiYw=="),
            Some((Some("ks.a".into()), "kvpt_abc".into()))
        );
        assert_eq!(credentials("Basic !!!"), None);
        assert_eq!(credentials("Digest x"), None);
        assert_eq!(credentials("Bearer "), None);
    }
}
