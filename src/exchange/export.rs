//! Running an export: the log row first, then the bytes (GeoJSON streamed from the
//! database as it is read, GIS files built through GDAL and then sent), each chunk
//! counted and hashed, and the log finished with the figures when the last byte left
//! (or marked failed or aborted).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use deadpool_postgres::{GenericClient, Object, Pool};
use futures_util::stream::{self, BoxStream, StreamExt};
use sha2::{Digest, Sha256};
use tokio_postgres::RowStream;

use super::fields::FieldType;
use super::gis::GisFile;
use super::query::{Export, GeometryOut};
use super::request::ExportRequest;
use super::ExchangeError;
use crate::db::features::json::{push_json_opt, push_json_str};
use crate::db::DbError;
use crate::params::format::Format;

/// Who asked, for the log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i32>,
    pub name: String,
    /// "web" or "cli".
    pub via: &'static str,
}

/// A started export: its log row and the bytes still to send.
pub struct Output {
    pub log_id: i64,
    pub format: Format,
    pub file_name: String,
    /// Known before the first byte for GIS files; counted as they go for GeoJSON.
    pub features: Option<u64>,
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

/// What the transformation to VN-2000 is, in words, for every export's metadata.
pub const VN2000_TRANSFORMATION: &str =
    "EPSG:6960 VN-2000 to WGS 84 (2), Decision 05/2007/QĐ-BTNMT: \
     tX −191.90441429 m, tY −39.30318279 m, tZ −111.45032835 m, rX −0.00928836″, rY +0.01975479″, \
     rZ −0.00427372″ (coordinate frame), dS +0.252906278 ppm";

/// Starts `request` for `actor`: writes the log row through `pool` (the primary) and
/// returns the body to send, read through `client` (a replica's, or the primary's).
pub async fn start(
    pool: &Pool,
    client: deadpool_postgres::Object,
    request: ExportRequest,
    actor: &Actor,
) -> Result<Output, ExchangeError> {
    let export = &request.export;
    let id: i64 = pool
        .get()
        .await?
        .query_one(
            "INSERT INTO export_log (user_id, actor, via, profile, profile_version, format, crs, filter)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                &actor.user_id,
                &actor.name,
                &actor.via,
                &export.profile.name,
                &export.profile.version,
                &request.format.code(),
                &export.crs.uri(),
                &request.filter_echo,
            ],
        )
        .await?
        .get(0);
    let log = LogEntry {
        pool: pool.clone(),
        id,
        finished: false,
    };
    let today = crate::i18n::today_in_vietnam().format("%Y%m%d");
    let file_name = format!(
        "kvpt-{}-{}.{}",
        export.profile.name,
        export
            .as_of
            .map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_else(|| today.to_string()),
        request.format.extension()
    );
    let metadata = metadata(&request, id);
    let features = Arc::new(AtomicU64::new(0));
    let (body, known) = match request.format {
        Format::GeoJson => {
            match geojson(client, export.clone(), metadata, features.clone()).await {
                Ok(body) => (body, None),
                Err(e) => {
                    log.fail(&e.to_string()).await;
                    return Err(e.into());
                }
            }
        }
        _ => match gis(client, &request, metadata).await {
            Ok((path, dir, count)) => {
                features.store(count, Ordering::Relaxed);
                (file_stream(path, dir).await?, Some(count))
            }
            Err(e) => {
                log.fail(&format!("{e:#}")).await;
                return Err(ExchangeError::Gis(e));
            }
        },
    };
    Ok(Output {
        log_id: id,
        format: request.format,
        file_name,
        features: known,
        body: logged(body, features, log),
    })
}

/// Name–value pairs describing the export, written into each file that has room.
fn metadata(request: &ExportRequest, log_id: i64) -> Vec<(String, String)> {
    let export = &request.export;
    let mut pairs = vec![
        ("producer".to_string(), "kvpt".to_string()),
        ("export_id".to_string(), log_id.to_string()),
        (
            "profile".to_string(),
            format!(
                "{} v{} ({})",
                export.profile.name, export.profile.version, export.profile.title
            ),
        ),
        ("crs".to_string(), export.crs.uri().to_string()),
        ("filter".to_string(), request.filter_echo.to_string()),
        (
            "generated_at".to_string(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ];
    if let Some(day) = export.as_of {
        pairs.push(("as_of".to_string(), day.to_string()));
    }
    if export.crs == crate::spatial::crs::Crs::Vn2000Tm3 {
        pairs.push((
            "transformation".to_string(),
            VN2000_TRANSFORMATION.to_string(),
        ));
    }
    pairs
}

/// The RFC 7946 FeatureCollection, streamed in chunks of about 64 KiB as rows arrive.
async fn geojson(
    client: Object,
    export: Export,
    metadata: Vec<(String, String)>,
    features: Arc<AtomicU64>,
) -> Result<BoxStream<'static, std::io::Result<Bytes>>, DbError> {
    let (sql, binds) = export.sql(GeometryOut::GeoJson);
    let statement = client.prepare(&sql).await?;
    let rows = client.query_raw(&statement, binds.refs()).await?;
    let mut head =
        String::from("{\"type\":\"FeatureCollection\",\"name\":\"kvpt_sites\",\"kvpt\":{");
    for (i, (key, value)) in metadata.iter().enumerate() {
        if i > 0 {
            head.push(',');
        }
        push_json_str(&mut head, key);
        head.push(':');
        push_json_str(&mut head, value);
    }
    head.push_str("},\"features\":[");
    struct State {
        _client: Object,
        rows: std::pin::Pin<Box<RowStream>>,
        head: Option<String>,
        export: Export,
        done: bool,
        features: Arc<AtomicU64>,
    }
    let state = State {
        _client: client,
        rows: Box::pin(rows),
        head: Some(head),
        export,
        done: false,
        features,
    };
    Ok(stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        let mut out = st.head.take().unwrap_or_default();
        while out.len() < 64 * 1024 {
            match st.rows.next().await {
                Some(Ok(row)) => {
                    let n = st.features.fetch_add(1, Ordering::Relaxed);
                    if n > 0 {
                        out.push(',');
                    }
                    write_feature(&mut out, &row, &st.export, n);
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(std::io::Error::other(e)), st));
                }
                None => {
                    out.push_str("]}\n");
                    st.done = true;
                    break;
                }
            }
        }
        Some((Ok(Bytes::from(out)), st))
    })
    .fuse()
    .boxed())
}

/// One feature from a row of the export query: the profile's fields, then the geometry.
fn write_feature(out: &mut String, row: &tokio_postgres::Row, export: &Export, n: u64) {
    use std::fmt::Write;
    let fields = &export.profile.fields;
    out.push_str("{\"type\":\"Feature\",\"id\":");
    match fields.iter().position(|f| f.name == "code") {
        Some(i) => push_json_opt(out, row.get::<_, Option<&str>>(i)),
        None => {
            let _ = write!(out, "{}", n + 1);
        }
    }
    out.push_str(",\"geometry\":");
    out.push_str(row.get::<_, Option<&str>>(fields.len()).unwrap_or("null"));
    out.push_str(",\"properties\":{");
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(field.name);
        out.push_str("\":");
        match field.ty {
            FieldType::Text => push_json_opt(out, row.get::<_, Option<&str>>(i)),
            FieldType::Integer => match row.get::<_, Option<i64>>(i) {
                Some(v) => {
                    let _ = write!(out, "{v}");
                }
                None => out.push_str("null"),
            },
            FieldType::Real => match row.get::<_, Option<f64>>(i) {
                Some(v) if v.is_finite() => {
                    let _ = write!(out, "{v}");
                }
                _ => out.push_str("null"),
            },
            FieldType::Date => match row.get::<_, Option<chrono::NaiveDate>>(i) {
                Some(d) => {
                    let _ = write!(out, "\"{}\"", d.format("%Y-%m-%d"));
                }
                None => out.push_str("null"),
            },
            FieldType::DateTime => match row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(i) {
                Some(t) => {
                    let _ = write!(
                        out,
                        "\"{}\"",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    );
                }
                None => out.push_str("null"),
            },
        }
    }
    out.push_str("}}");
}

/// Builds a GIS file: rows read here and handed to GDAL on a blocking thread through a
/// bounded channel. Returns the file, its private folder and the feature count.
async fn gis(
    client: Object,
    request: &ExportRequest,
    metadata: Vec<(String, String)>,
) -> anyhow::Result<(PathBuf, TempDir, u64)> {
    let export = &request.export;
    let dir = TempDir::new()?;
    let (sql, binds) = export.sql(GeometryOut::Wkb);
    let statement = client.prepare(&sql).await?;
    let rows = client.query_raw(&statement, binds.refs()).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let file = GisFile {
        format: request.format,
        crs: export.crs,
        fields: export.profile.fields.clone(),
        metadata,
        dir: dir.path.clone(),
    };
    let writer = tokio::task::spawn_blocking(move || file.write(rx));
    let mut rows = Box::pin(rows);
    let mut read_error = None;
    while let Some(row) = rows.next().await {
        match row {
            Ok(row) => {
                if tx.send(row).await.is_err() {
                    break; // the writer stopped; its error says why
                }
            }
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await?;
    if let Some(e) = read_error {
        return Err(e.into());
    }
    let (path, count) = written?;
    Ok((path, dir, count))
}

/// A file read in 64 KiB chunks; its folder is removed when the stream ends or is dropped.
async fn file_stream(
    path: PathBuf,
    dir: TempDir,
) -> Result<BoxStream<'static, std::io::Result<Bytes>>, ExchangeError> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(&path).await?;
    Ok(stream::unfold((file, dir), |(mut file, dir)| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (file, dir)))
            }
            Err(e) => Some((Err(e), (file, dir))),
        }
    })
    .fuse()
    .boxed())
}

/// A private folder under the system's temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> std::io::Result<TempDir> {
        let name = &crate::accounts::sessions::random_token()[..16];
        let path = std::env::temp_dir().join(format!("kvpt-export-{name}"));
        std::fs::create_dir(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The export's log row, finished exactly once: done, failed, or aborted when dropped
/// unfinished (the client went away).
struct LogEntry {
    pool: Pool,
    id: i64,
    finished: bool,
}

impl LogEntry {
    async fn finish(
        mut self,
        outcome: &str,
        figures: Option<(u64, u64, String)>,
        error: Option<&str>,
    ) {
        self.finished = true;
        let (features, bytes, sha) = match figures {
            Some((f, b, s)) => (Some(f as i64), Some(b as i64), Some(s)),
            None => (None, None, None),
        };
        let result = async {
            let client = self.pool.get().await?;
            client
                .execute(
                    "UPDATE export_log
                        SET outcome = $2, finished_at = now(), features = $3, bytes = $4,
                            sha256 = $5, error = $6
                      WHERE id = $1 AND outcome = 'running'",
                    &[&self.id, &outcome, &features, &bytes, &sha, &error],
                )
                .await?;
            Ok::<_, DbError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(export = self.id, error = %e, "could not finish the export log");
        }
    }

    async fn fail(self, reason: &str) {
        tracing::warn!(export = self.id, %reason, "export failed");
        self.finish("failed", None, Some(reason)).await;
    }
}

impl Drop for LogEntry {
    fn drop(&mut self) {
        if !self.finished {
            let pool = self.pool.clone();
            let id = self.id;
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    if let Ok(client) = pool.get().await {
                        let _ = client
                            .execute(
                                "UPDATE export_log SET outcome = 'aborted', finished_at = now()
                                  WHERE id = $1 AND outcome = 'running'",
                                &[&id],
                            )
                            .await;
                    }
                });
            }
        }
    }
}

/// `body`, counted and hashed as it goes; the log is finished before the stream ends,
/// so whoever has read the last byte finds the export recorded.
fn logged(
    body: BoxStream<'static, std::io::Result<Bytes>>,
    features: Arc<AtomicU64>,
    log: LogEntry,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let state = (body, Sha256::new(), 0u64, Some(log));
    stream::unfold(state, move |(mut body, mut hasher, mut bytes, mut log)| {
        let features = features.clone();
        async move {
            log.as_ref()?;
            match body.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    bytes += chunk.len() as u64;
                    Some((Ok(chunk), (body, hasher, bytes, log)))
                }
                Some(Err(e)) => {
                    if let Some(log) = log.take() {
                        log.fail(&e.to_string()).await;
                    }
                    Some((Err(e), (body, hasher, bytes, None)))
                }
                None => {
                    let sha: String = hasher
                        .finalize()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    if let Some(log) = log.take() {
                        log.finish(
                            "done",
                            Some((features.load(Ordering::Relaxed), bytes, sha)),
                            None,
                        )
                        .await;
                    }
                    None
                }
            }
        }
    })
    // Bodies may be polled again after their end (compression does): stay ended.
    .fuse()
    .boxed()
}

/// The log's recent rows, newest first, for the administrators' page.
pub async fn recent(client: &impl GenericClient, limit: i64) -> Result<Vec<LogRow>, DbError> {
    let rows = client
        .query(
            "SELECT id, started_at, finished_at, actor, via, profile, profile_version, format, crs,
                    filter, outcome, features, bytes, sha256, error
               FROM export_log ORDER BY id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LogRow {
            id: r.get(0),
            started_at: r.get(1),
            finished_at: r.get(2),
            actor: r.get(3),
            via: r.get(4),
            profile: r.get(5),
            profile_version: r.get(6),
            format: r.get(7),
            crs: r.get(8),
            filter: r.get(9),
            outcome: r.get(10),
            features: r.get(11),
            bytes: r.get(12),
            sha256: r.get(13),
            error: r.get(14),
        })
        .collect())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LogRow {
    pub id: i64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub actor: String,
    pub via: String,
    pub profile: String,
    pub profile_version: i32,
    pub format: String,
    pub crs: String,
    pub filter: serde_json::Value,
    pub outcome: String,
    pub features: Option<i64>,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub error: Option<String>,
}

/// The feature count and SHA-256 export `id` was logged with (once it finished).
pub async fn log_figures(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
) -> Result<(Option<i64>, Option<String>), DbError> {
    let row = client
        .query_one(
            "SELECT features, sha256 FROM export_log WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok((row.get(0), row.get(1)))
}

/// How many works `request` would export.
pub async fn count(
    client: &impl deadpool_postgres::GenericClient,
    request: &ExportRequest,
) -> Result<i64, DbError> {
    let (sql, binds) = request.export.sql(GeometryOut::GeoJson);
    Ok(client
        .query_one(&format!("SELECT count(*) FROM ({sql}) e"), &binds.refs())
        .await?
        .get(0))
}
