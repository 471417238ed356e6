//! `kvpt backup`, `kvpt restore` and `kvpt audit verify`: operations.

use std::path::Path;

use clap::Subcommand;

use crate::db;

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the audit chain and report any row changed, removed or relinked
    /// (exit status 1 if so).
    Verify,
}

/// `kvpt backup FILE`.
pub async fn backup(url: &str, pg_bin: &Path, file: &Path) -> anyhow::Result<()> {
    let (summary, sha) = crate::ops::backup::backup(url, pg_bin, file).await?;
    println!(
        "backup written: {} ({} bytes, sha256 {sha})\n{summary}",
        file.display(),
        std::fs::metadata(file).map_or(0, |m| m.len())
    );
    Ok(())
}

/// `kvpt restore FILE`: into an empty database, then the audit chain checked.
pub async fn restore(url: &str, pg_bin: &Path, file: &Path) -> anyhow::Result<()> {
    let (summary, verdict) = crate::ops::backup::restore(url, pg_bin, file).await?;
    println!("restored from {}\n{summary}", file.display());
    if !verdict.intact() {
        for b in &verdict.breaks {
            eprintln!("audit chain broken: {b}");
        }
        anyhow::bail!("the restored audit log does not verify");
    }
    println!("  audit chain intact ({} rows)", verdict.rows);
    Ok(())
}

/// `kvpt audit verify`.
pub async fn audit(url: &str, action: AuditAction) -> anyhow::Result<()> {
    let AuditAction::Verify = action;
    db::migrate::migrate_url(url).await?;
    let client = db::connect(url).await?;
    let verdict = crate::ops::audit::verify(&client).await?;
    if verdict.intact() {
        println!(
            "audit log intact: {} rows, chain head {}",
            verdict.rows,
            crate::ops::audit::hex(&verdict.head)
        );
    } else {
        for b in &verdict.breaks {
            println!("audit chain broken: {b}");
        }
        anyhow::bail!(
            "{} break(s) in {} rows: the audit log was tampered with",
            verdict.breaks.len(),
            verdict.rows
        );
    }
    Ok(())
}
