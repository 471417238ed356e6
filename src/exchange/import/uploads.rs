//! Uploaded files kept in PostgreSQL (`import_upload`, `import_upload_part`), so that any
//! instance can check one again or write it: the receiving instance keeps the upload on its
//! own disk and here; another copies it from here to its disk when asked to run it.

use std::path::{Path, PathBuf};

use deadpool_postgres::GenericClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::db::DbError;

/// Largest part of a file kept in one row.
const PART: usize = 1024 * 1024;

/// The file in an upload's folder that names what the import reads.
pub const SOURCE: &str = ".source";

/// What an upload is for (migration 0043).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Works to import (`/imports`).
    Works,
    /// Commune boundaries (`/admin/communes`).
    Communes,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::Works => "works",
            Purpose::Communes => "communes",
        }
    }
}

/// Keeps the upload in `dir` (every file but [`SOURCE`]) under `token`, in one transaction;
/// `source` is the file the import reads, or "" for the whole folder.
pub async fn keep(
    client: &mut deadpool_postgres::Object,
    token: &str,
    (owner, purpose): (i32, Purpose),
    dir: &Path,
    source: &str,
) -> Result<(), DbError> {
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO import_upload (token, owner, source, purpose) VALUES ($1, $2, $3, $4)",
        &[&token, &owner, &source, &purpose.code()],
    )
    .await?;
    let insert = tx
        .prepare(
            "INSERT INTO import_upload_part (token, file_name, seq, data) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    let unreadable = |e: std::io::Error| DbError::Data(format!("reading the upload: {e}"));
    let mut entries = tokio::fs::read_dir(dir).await.map_err(unreadable)?;
    let mut buffer = vec![0u8; PART];
    while let Some(entry) = entries.next_entry().await.map_err(unreadable)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == SOURCE {
            continue;
        }
        let mut file = tokio::fs::File::open(entry.path())
            .await
            .map_err(unreadable)?;
        let mut seq = 0i32;
        loop {
            let n = read_part(&mut file, &mut buffer)
                .await
                .map_err(unreadable)?;
            if n == 0 && seq > 0 {
                break;
            }
            tx.execute(&insert, &[&token, &name, &seq, &&buffer[..n]])
                .await?;
            seq += 1;
            if n < PART {
                break;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Fills `buffer` as far as the file goes: the bytes read.
async fn read_part(file: &mut tokio::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = file.read(&mut buffer[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Whether the upload `token` is kept.
pub async fn exists(client: &impl GenericClient, token: &str) -> Result<bool, DbError> {
    Ok(client
        .query_opt("SELECT 1 FROM import_upload WHERE token = $1", &[&token])
        .await?
        .is_some())
}

/// Who uploaded `token` for `purpose`, while it is kept.
pub async fn owner(
    client: &impl GenericClient,
    token: &str,
    purpose: Purpose,
) -> Result<Option<i32>, DbError> {
    Ok(client
        .query_opt(
            "SELECT owner FROM import_upload WHERE token = $1 AND purpose = $2",
            &[&token, &purpose.code()],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Takes upload `token` of `owner` for `purpose` out of the kept ones, once: whether this
/// call did (another, at the same time, finds it gone).
pub async fn claim(
    client: &impl GenericClient,
    token: &str,
    owner: i32,
    purpose: Purpose,
) -> Result<bool, DbError> {
    Ok(client
        .execute(
            "DELETE FROM import_upload WHERE token = $1 AND owner = $2 AND purpose = $3",
            &[&token, &owner, &purpose.code()],
        )
        .await?
        == 1)
}

/// The path the import reads for upload `token` in `dir`, copied there from PostgreSQL
/// when this instance does not have it; `None` when it is not kept (written through
/// another instance, or too old: this instance's copy, if any, goes too).
pub async fn local(
    client: &impl GenericClient,
    token: &str,
    dir: &Path,
) -> Result<Option<PathBuf>, DbError> {
    let Some(row) = client
        .query_opt(
            "SELECT source FROM import_upload WHERE token = $1",
            &[&token],
        )
        .await?
    else {
        let _ = tokio::fs::remove_dir_all(dir).await;
        return Ok(None);
    };
    let source: String = row.get(0);
    let path = if source.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(&source)
    };
    if tokio::fs::try_exists(dir.join(SOURCE))
        .await
        .unwrap_or(false)
    {
        return Ok(Some(path));
    }
    // Copied beside it, then renamed into place: two requests copying at once never
    // read each other's half-written files.
    let unwritable = |e: std::io::Error| DbError::Data(format!("copying the upload here: {e}"));
    let random = crate::accounts::sessions::random_token();
    let copy = dir.with_extension(format!("copy-{}", &random[..12.min(random.len())]));
    tokio::fs::create_dir_all(&copy).await.map_err(unwritable)?;
    let copied = copy_parts(client, token, &copy).await;
    let copied = match copied {
        Ok(()) => tokio::fs::write(copy.join(SOURCE), path.to_string_lossy().as_bytes())
            .await
            .map_err(unwritable),
        Err(e) => Err(e),
    };
    if let Err(e) = copied {
        let _ = tokio::fs::remove_dir_all(&copy).await;
        return Err(e);
    }
    if tokio::fs::rename(&copy, dir).await.is_err() {
        // Another request put its copy there first: that one is read.
        let _ = tokio::fs::remove_dir_all(&copy).await;
    }
    Ok(Some(path))
}

/// Writes the kept files of `token` into `dir`, streamed: a file of hundreds of MiB never
/// sits in memory whole.
async fn copy_parts(client: &impl GenericClient, token: &str, dir: &Path) -> Result<(), DbError> {
    let unwritable = |e: std::io::Error| DbError::Data(format!("copying the upload here: {e}"));
    let parts = client
        .query_raw(
            "SELECT file_name, data FROM import_upload_part WHERE token = $1
              ORDER BY file_name, seq",
            [token],
        )
        .await?;
    futures_util::pin_mut!(parts);
    let mut current: Option<(String, tokio::fs::File)> = None;
    while let Some(part) = futures_util::TryStreamExt::try_next(&mut parts).await? {
        let name: String = part.get(0);
        let data: &[u8] = part.get(1);
        if current.as_ref().is_none_or(|(n, _)| *n != name) {
            if let Some((_, mut file)) = current.take() {
                file.flush().await.map_err(unwritable)?;
            }
            // Names were made safe when received; a path is never taken from here.
            let file_name = Path::new(&name)
                .file_name()
                .ok_or_else(|| DbError::Data(format!("a kept upload names {name:?}")))?;
            let file = tokio::fs::File::create(dir.join(file_name))
                .await
                .map_err(unwritable)?;
            current = Some((name, file));
        }
        if let Some((_, file)) = current.as_mut() {
            file.write_all(data).await.map_err(unwritable)?;
        }
    }
    if let Some((_, mut file)) = current {
        file.flush().await.map_err(unwritable)?;
    }
    Ok(())
}

/// Forgets the upload `token` (it was written).
pub async fn forget(client: &impl GenericClient, token: &str) -> Result<(), DbError> {
    client
        .execute("DELETE FROM import_upload WHERE token = $1", &[&token])
        .await?;
    Ok(())
}

/// Forgets uploads older than a day; how many.
pub async fn purge_old(client: &impl GenericClient) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "DELETE FROM import_upload WHERE created_at < now() - interval '1 day'",
            &[],
        )
        .await?)
}
