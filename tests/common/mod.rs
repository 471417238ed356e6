//! Test harness: a real PostgreSQL + PostGIS for every test that touches data.
//!
//! The server is `DATABASE_URL` when set (`make test` starts a throwaway cluster
//! and sets it), otherwise a private cluster this harness starts under the
//! system temp directory and leaves running for the next run. A template
//! database is migrated and given the geodata once per run; each test gets its
//! own copy, dropped when the test ends. Databases left by dead test processes
//! are swept. A missing PostgreSQL fails loudly: nothing is skipped.

#![allow(dead_code)]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kvpt::cluster::{Cluster, ClusterConfig};
use tokio_postgres::{Client, Config};
use tower::ServiceExt;

static SERVER: OnceLock<String> = OnceLock::new();
static TEMPLATE: OnceLock<String> = OnceLock::new();

/// Serialises template creation and sweeping across test processes.
const HARNESS_LOCK: i64 = 0x6b76_7074_7465_7374;

/// The server's connection string.
pub fn server_url() -> &'static str {
    SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_private_cluster(),
    })
}

fn start_private_cluster() -> String {
    let uid = unsafe { libc::geteuid() };
    let dir = std::env::temp_dir().join(format!("kvpt-test-{uid}"));
    std::fs::create_dir_all(&dir).expect("creating the test cluster directory");
    let lock = std::fs::File::create(dir.join("harness.lock")).expect("creating the harness lock");
    lock.lock().expect("locking the test cluster");
    let cluster = Cluster::new(cluster_config(&dir))
        .unwrap_or_else(|e| panic!("tests need PostgreSQL 15 + PostGIS: {e}"));
    cluster
        .start()
        .unwrap_or_else(|e| panic!("starting the test cluster: {e}"));
    cluster.database_url()
}

/// Settings for a throwaway cluster under `dir` (fsync off).
pub fn cluster_config(dir: &std::path::Path) -> ClusterConfig {
    ClusterConfig {
        data_dir: dir.to_path_buf(),
        pg_bin: std::env::var("KVPT_PG_BIN")
            .unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into())
            .into(),
        port: 5432,
        tcp: false,
        run_as: std::env::var("KVPT_PG_USER").unwrap_or_else(|_| "postgres".into()),
        fast: true,
    }
}

/// The server's configuration pointed at database `name`.
pub fn config_for(name: &str) -> Config {
    let mut config: Config = server_url().parse().expect("DATABASE_URL parses");
    config.dbname(name);
    config
}

fn maintenance_db() -> String {
    let config: Config = server_url().parse().expect("DATABASE_URL parses");
    config.get_dbname().unwrap_or("postgres").to_string()
}

async fn maintenance() -> Client {
    kvpt::db::connect_with(config_for(&maintenance_db()))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL ({}): {e}", server_url()))
}

/// Name of the template for this schema and geodata.
fn template_name() -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for m in kvpt::db::migrate::MIGRATIONS {
        hasher.update(m.sql.as_bytes());
    }
    hasher.update(include_bytes!("../../src/geodata.rs"));
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("kvpt_tpl_{hex}")
}

/// The migrated template with geodata, made once per run (and per schema).
pub fn template() -> &'static str {
    TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(make_template())
        })
        .join()
        .expect("making the template database")
    })
}

async fn make_template() -> String {
    let admin = maintenance().await;
    admin
        .execute("SELECT pg_advisory_lock($1)", &[&HARNESS_LOCK])
        .await
        .expect("lock");
    sweep(&admin).await;
    let name = template_name();
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("pg_database")
        .is_some();
    if !exists {
        let build = format!("{name}_build");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {build} WITH (FORCE)"))
            .await
            .expect("drop");
        admin
            .batch_execute(&format!("CREATE DATABASE {build}"))
            .await
            .expect("create template");
        {
            let mut client = kvpt::db::connect_with(config_for(&build))
                .await
                .expect("connect template");
            kvpt::db::migrate::migrate(&mut client)
                .await
                .expect("migrating the template");
            kvpt::geodata::load(&mut client)
                .await
                .expect("loading geodata into the template");
        }
        // The connection above must be gone before the database can be renamed or copied.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        admin
            .batch_execute(&format!("ALTER DATABASE {build} RENAME TO {name}"))
            .await
            .expect("publishing the template");
    }
    admin
        .execute("SELECT pg_advisory_unlock($1)", &[&HARNESS_LOCK])
        .await
        .expect("unlock");
    name
}

/// Drops test databases whose process is gone, and templates of older schemas.
async fn sweep(admin: &Client) {
    let current = template_name();
    let rows = admin
        .query("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%' OR datname LIKE 'kvpt\\_tpl\\_%'", &[])
        .await
        .expect("listing databases");
    for row in rows {
        let name: String = row.get(0);
        let stale = if let Some(rest) = name.strip_prefix("t_") {
            let pid = rest.split('_').next().unwrap_or("");
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
        } else {
            !name.starts_with(&current)
        };
        if stale {
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

/// A database of the test's own, dropped when the value is.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// A copy of the template: migrated, geodata loaded, no sites.
    pub async fn new() -> Self {
        let template = template();
        Self::create(&format!("TEMPLATE {template} STRATEGY FILE_COPY")).await
    }

    /// An empty database: no PostGIS, no schema.
    pub async fn empty() -> Self {
        Self::create("TEMPLATE template0").await
    }

    /// A copy of the template with `sites` demo sites from `seed`.
    pub async fn with_demo(sites: usize, seed: u64) -> Self {
        let db = Self::new().await;
        let mut client = db.client().await;
        kvpt::demo::load(&mut client, sites, seed, false)
            .await
            .expect("loading the demo");
        db
    }

    async fn create(options: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = maintenance().await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .await
            .unwrap_or_else(|e| panic!("creating {name}: {e}"));
        Self { name }
    }

    /// A connection string for this database, for running the `kvpt` binary against it.
    pub fn url(&self) -> String {
        let server = server_url();
        match server.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, query) = match rest.split_once('/') {
                    Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
                    None => (rest, None),
                };
                match query {
                    Some(q) => format!("{scheme}://{authority}/{}?{q}", self.name),
                    None => format!("{scheme}://{authority}/{}", self.name),
                }
            }
            // key=value: a later key overrides an earlier one.
            None => format!("{server} dbname={}", self.name),
        }
    }

    pub fn config(&self) -> Config {
        config_for(&self.name)
    }

    pub async fn client(&self) -> Client {
        kvpt::db::connect_with(self.config())
            .await
            .expect("connecting to the test database")
    }

    pub fn pool(&self) -> deadpool_postgres::Pool {
        kvpt::db::pool_with(self.config()).expect("pool")
    }

    /// The application as an anonymous visitor reaches it (anonymous sees public works).
    pub fn app(&self) -> axum::Router {
        kvpt::web::router(kvpt::web::AppState::new(self.pool()))
    }

    /// The same as `kvpt serve` serves it over TCP: with the tile lane in front.
    pub fn served(&self) -> kvpt::web::server::Served {
        kvpt::web::served(kvpt::web::AppState::new(self.pool()))
    }

    /// Creates the account `username` (password `PASSWORD`) and signs it in; the session
    /// cookie's `name=value`.
    pub async fn sign_in(
        &self,
        username: &str,
        role: kvpt::domain::UserRole,
        clearance: kvpt::domain::Classification,
        districts: &[&str],
    ) -> String {
        let mut client = self.client().await;
        let user = kvpt::accounts::users::NewUser {
            username: username.to_string(),
            display_name: format!("Người dùng {username}"),
            role,
            clearance,
            unit: None,
            districts: districts.iter().map(|d| d.to_string()).collect(),
        };
        kvpt::accounts::users::add(&mut client, &user, PASSWORD, "test")
            .await
            .expect("adding the test user");
        self.session_of(username).await
    }

    /// A fresh session of an existing account whose password is `PASSWORD`.
    pub async fn session_of(&self, username: &str) -> String {
        let mut client = self.client().await;
        match kvpt::accounts::sessions::login(&mut client, username, PASSWORD, None, None)
            .await
            .expect("signing in")
        {
            kvpt::accounts::sessions::LoginOutcome::Ok(token) => format!("kvpt_session={token}"),
            other => panic!("signing in {username}: {other:?}"),
        }
    }

    /// The application as seen by a signed-in `role` with `clearance` (every request
    /// carries that user's session cookie).
    pub async fn app_as(
        &self,
        role: kvpt::domain::UserRole,
        clearance: kvpt::domain::Classification,
    ) -> axum::Router {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "{}{}",
            role.code().replace('_', ""),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let cookie = self.sign_in(&name, role, clearance, &[]).await;
        with_cookie(self.app(), &cookie)
    }

    /// A personal access token of `username` (who must exist) with `scope`.
    pub async fn token(&self, username: &str, scope: kvpt::accounts::tokens::Scope) -> String {
        let client = self.pool().get().await.expect("a connection");
        kvpt::accounts::tokens::create(&client, username, "test", "QGIS", scope, 90)
            .await
            .expect("a token")
            .secret
    }

    /// A planner cleared for internal works: what the demo viewer shows a signed-in viewer.
    pub async fn internal_app(&self) -> axum::Router {
        self.app_as(
            kvpt::domain::UserRole::Viewer,
            kvpt::domain::Classification::Internal,
        )
        .await
    }

    /// Drops the database now, whoever is connected (to test a database going away).
    pub async fn drop_now(&self) {
        maintenance()
            .await
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .expect("dropping the test database");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?
                .block_on(async {
                    let admin = kvpt::db::connect_with(config_for(&maintenance_db()))
                        .await
                        .ok()?;
                    admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok()
                })
        })
        .join();
    }
}

/// The password of every test account.
pub const PASSWORD: &str = "mật-khẩu-thử-nghiệm";

/// `app` with `cookie` added to every request it receives.
pub fn with_cookie(app: axum::Router, cookie: &str) -> axum::Router {
    with_header(app, axum::http::header::COOKIE, cookie)
}

/// `app` with every request carrying `Authorization: Bearer token`.
pub fn with_token(app: axum::Router, token: &str) -> axum::Router {
    with_header(
        app,
        axum::http::header::AUTHORIZATION,
        &format!("Bearer {token}"),
    )
}

/// `app` with the header `name: value` added to every request.
pub fn with_header(app: axum::Router, name: axum::http::HeaderName, value: &str) -> axum::Router {
    let value = axum::http::HeaderValue::from_str(value).expect("a header value");
    app.layer(tower::util::MapRequestLayer::new(
        move |mut request: Request<Body>| {
            request.headers_mut().append(name.clone(), value.clone());
            request
        },
    ))
}

/// A response's status and body, from the router in-process.
pub async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(uri)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    )
}

/// The constraint named by a failed statement.
pub fn constraint_of(err: &tokio_postgres::Error) -> Option<String> {
    err.as_db_error()
        .and_then(|e| e.constraint())
        .map(str::to_string)
}

/// Asserts a statement was refused by the constraint `name`.
#[track_caller]
pub fn assert_refused_by<T: std::fmt::Debug>(result: Result<T, tokio_postgres::Error>, name: &str) {
    match result {
        Ok(value) => panic!("expected {name} to refuse, but it was accepted: {value:?}"),
        Err(err) => assert_eq!(constraint_of(&err).as_deref(), Some(name), "{err}"),
    }
}

/// The abbreviations of every district, for an engineer who may write everywhere.
pub async fn district_abbrs(client: &Client) -> Vec<String> {
    client
        .query("SELECT abbr FROM admin_unit WHERE level = 'district'", &[])
        .await
        .expect("the districts")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The single bigint a counting query returns.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// A response's status, headers and body, sending `headers` with the request.
pub async fn request(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    call(app, "GET", uri, headers, Body::empty()).await
}

/// Serves `app` over real TCP on a free loopback port until the test's runtime ends.
pub async fn serve(app: impl Into<kvpt::web::server::Served>) -> std::net::SocketAddr {
    let app = app.into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        kvpt::web::server::run(
            listener,
            app,
            &kvpt::web::limits::Limits::default(),
            std::future::pending(),
        )
        .await;
    });
    addr
}

/// Sends `method uri` with `headers` and `body`; the status, headers and body text.
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, bytes) = call_bytes(app, method, uri, headers, body).await;
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// [`call`], the body as bytes (for files).
pub async fn call_bytes(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(builder.body(body.into()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes.to_vec())
}

/// A multipart/form-data body of text fields and files (name, file name, bytes): the body
/// and its content type.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "kvpt-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    for (name, file, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// The CSRF token of the session `app` sends (from `/api/me`).
pub async fn csrf_of(app: &axum::Router) -> String {
    let (status, _, me) = request(app, "/api/me", &[]).await;
    assert_eq!(status, StatusCode::OK, "signed in: {me}");
    serde_json::from_str::<serde_json::Value>(&me).expect("JSON")["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string()
}

/// An answer read off the wire by [`http`].
#[derive(Debug)]
pub struct Wire {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Wire {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a fresh TCP connection (`Connection: close`), as a plain
/// client sends it; `None` when the server closed the connection without an answer.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Option<Wire>> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    read_answer(&mut stream).await
}

/// Reads one answer to the end of the connection.
pub async fn read_answer(stream: &mut tokio::net::TcpStream) -> std::io::Result<Option<Wire>> {
    use tokio::io::AsyncReadExt;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    if raw.is_empty() {
        return Ok(None);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete answer head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
        body = out;
    }
    Ok(Some(Wire {
        status,
        headers,
        body,
    }))
}

/// Serves `app` with `limits` until `stop` fires; the address and the server's task.
pub async fn serve_until(
    app: impl Into<kvpt::web::server::Served>,
    limits: kvpt::web::limits::Limits,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("address");
    let app = app.into();
    let task = tokio::spawn(async move {
        kvpt::web::server::run(listener, app, &limits, async {
            let _ = stop.await;
        })
        .await;
    });
    (addr, task)
}

// ---- Photos as phones take them (EXIF position and time) ----

/// An EXIF APP1 segment with GPS position and time, as a phone writes it.
pub fn exif_segment(lon: f64, lat: f64, when: &str, orientation: u16) -> Vec<u8> {
    use exif::experimental::Writer;
    use exif::{Field, In, Rational, Tag, Value};
    let dms = |v: f64| {
        let v = v.abs();
        let d = v.trunc();
        let m = ((v - d) * 60.0).trunc();
        let s = ((v - d) * 60.0 - m) * 60.0;
        Value::Rational(vec![
            Rational::from((d as u32, 1)),
            Rational::from((m as u32, 1)),
            Rational::from(((s * 1000.0).round() as u32, 1000)),
        ])
    };
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![when.as_bytes().to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lat < 0.0 {
                b"S".to_vec()
            } else {
                b"N".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![if lon < 0.0 {
                b"W".to_vec()
            } else {
                b"E".to_vec()
            }]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    segment.extend_from_slice(b"Exif\0\0");
    segment.extend_from_slice(&tiff);
    segment
}

/// A JPEG of `w`×`h` carrying `segment` right after its start.
pub fn jpeg_with(w: u32, h: u32, segment: &[u8]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 60])
    });
    let mut plain = std::io::Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(segment);
    out.extend_from_slice(&plain[2..]);
    out
}
