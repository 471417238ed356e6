//! `kvpt backup` and `kvpt restore`: PostgreSQL's own custom dump format, written and
//! read by the `pg_dump`/`pg_restore` of the server's major version. Photos live in the
//! database, so they travel with it. Both print the same summary (counts and the audit
//! chain's head) so an operator can see that what came back is what left.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

/// The tables whose row counts a backup and its restore must agree on.
pub const COUNTED: &[(&str, &str)] = &[
    ("site_all", "works (deleted ones included)"),
    ("progress_history", "progress history rows"),
    ("budget_line", "budget lines"),
    ("budget_history", "budget history rows"),
    ("budget_ceiling", "medium-term ceilings"),
    ("site_photo", "photos"),
    ("app_user", "accounts"),
    ("audit_log", "audit rows"),
    ("export_log", "exports logged"),
    ("import_log", "imports logged"),
    ("report_log", "reports logged"),
    ("progress_submission", "updates sent for review"),
    ("search_submission", "search updates sent for review"),
    ("land_parcel", "defence land plans"),
    ("investment", "investments without a place"),
];

/// Counts per table and the audit chain's head.
#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub counts: Vec<(&'static str, i64)>,
    pub audit_head: String,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (label, n) in &self.counts {
            writeln!(f, "  {label}: {n}")?;
        }
        write!(f, "  audit chain head: {}", self.audit_head)
    }
}

pub async fn summary(client: &Client) -> anyhow::Result<Summary> {
    let mut counts = Vec::new();
    for (table, label) in COUNTED {
        let n: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .with_context(|| format!("counting {table}"))?
            .get(0);
        counts.push((*label, n));
    }
    let head: Option<Vec<u8>> = client
        .query_opt("SELECT hash FROM audit_chain_head", &[])
        .await?
        .map(|r| r.get(0));
    Ok(Summary {
        counts,
        audit_head: head.map_or_else(|| "none".into(), |h| super::audit::hex(&h)),
    })
}

/// `tool` (pg_dump, pg_restore) of the server's major version: from `pg_bin` when that
/// is the version's folder, else from Debian's folder for that version.
async fn tool(client: &Client, pg_bin: &Path, tool: &str) -> anyhow::Result<PathBuf> {
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await?
        .get(0);
    let major = version / 10000;
    let debian = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    for dir in [pg_bin.to_path_buf(), debian.clone()] {
        let candidate = dir.join(tool);
        if !candidate.exists() {
            continue;
        }
        let out = std::process::Command::new(&candidate)
            .arg("--version")
            .output()
            .with_context(|| format!("running {}", candidate.display()))?;
        let said = String::from_utf8_lossy(&out.stdout);
        if said
            .split_whitespace()
            .last()
            .and_then(|v| v.split('.').next())
            .and_then(|v| v.parse::<i32>().ok())
            == Some(major)
        {
            return Ok(candidate);
        }
    }
    anyhow::bail!(
        "{tool} for PostgreSQL {major} not found in {} or {}: install postgresql-client-{major}",
        pg_bin.display(),
        debian.display()
    )
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(super::audit::hex(&hasher.finalize()))
}

/// Dumps the database at `url` into `file`; what it holds, and the file's SHA-256.
pub async fn backup(url: &str, pg_bin: &Path, file: &Path) -> anyhow::Result<(Summary, String)> {
    let client = crate::db::connect(url).await?;
    let pg_dump = tool(&client, pg_bin, "pg_dump").await?;
    // The summary and the dump see the same data: the dump runs in one snapshot, and
    // the counts are taken just before it; a busy server may add rows in between, which
    // the restore's summary then shows.
    let summary = summary(&client).await?;
    let partial = file.with_extension("partial");
    let out = tokio::process::Command::new(&pg_dump)
        .args([
            "--format=custom",
            "--compress=6",
            "--no-owner",
            "--no-privileges",
        ])
        .arg(format!("--file={}", partial.display()))
        .arg(format!("--dbname={url}"))
        .output()
        .await
        .with_context(|| format!("running {}", pg_dump.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        anyhow::bail!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::rename(&partial, file).with_context(|| format!("writing {}", file.display()))?;
    let sha = sha256_of(file)?;
    Ok((summary, sha))
}

/// Restores `file` into the empty database at `url`, brings its schema up to date, and
/// checks the audit chain; what it now holds.
pub async fn restore(
    url: &str,
    pg_bin: &Path,
    file: &Path,
) -> anyhow::Result<(Summary, super::audit::Verdict)> {
    if !file.is_file() {
        anyhow::bail!("no backup file at {}", file.display());
    }
    let client = crate::db::connect(url).await?;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables
              WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
                AND tablename <> 'spatial_ref_sys'",
            &[],
        )
        .await?
        .get(0);
    if tables > 0 {
        anyhow::bail!(
            "the database is not empty ({tables} tables): restore into a new data directory \
             (KVPT_DATA_DIR) or an empty database (DATABASE_URL)"
        );
    }
    let pg_restore = tool(&client, pg_bin, "pg_restore").await?;
    let out = tokio::process::Command::new(&pg_restore)
        .args([
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
        ])
        .arg(format!("--dbname={url}"))
        .arg(file)
        .output()
        .await
        .with_context(|| format!("running {}", pg_restore.display()))?;
    if !out.status.success() {
        anyhow::bail!(
            "pg_restore refused {}: {} (nothing was restored)",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    crate::db::migrate::migrate_url(url).await?;
    // A process already serving this database keeps no tile from before (pg_restore makes
    // the triggers after the rows, so the rows notified nothing).
    client
        .execute("SELECT pg_notify('tile_change', '*')", &[])
        .await?;
    let summary = summary(&client).await?;
    let verdict = super::audit::verify(&client).await?;
    Ok((summary, verdict))
}
