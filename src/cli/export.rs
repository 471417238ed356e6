//! `kvpt export`: a partner's file, through the web route's parser and pipeline.

use clap::Args;
use deadpool_postgres::Pool;

use crate::db;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The partner profile the export is cut to (see /admin/profiles).
    #[arg(long)]
    pub profile: String,
    /// The file to write; its extension picks the format unless --format says it
    /// (.geojson, .gpkg, .shp.zip, .kml, .csv, .fgb). "-" writes to standard output.
    #[arg(long, short)]
    pub output: std::path::PathBuf,
    /// geojson, gpkg, shp, kml, csv or fgb.
    #[arg(long)]
    pub format: Option<String>,
    /// Layers, comma-separated (defence_works, border_militia, logistics, search_zones,
    /// border_markers, land).
    #[arg(long)]
    pub layer: Option<String>,
    /// Kinds, comma-separated codes.
    #[arg(long)]
    pub kind: Option<String>,
    /// Statuses, comma-separated codes.
    #[arg(long)]
    pub status: Option<String>,
    /// Districts: codes (705), abbreviations (TBI) or Cambodian province codes.
    #[arg(long)]
    pub district: Option<String>,
    /// Phases, comma-separated.
    #[arg(long)]
    pub phase: Option<String>,
    /// Programmes, comma-separated (kvpt_2017_2020, kvpt_2021_2025, mr7_roadmap).
    #[arg(long)]
    pub programme: Option<String>,
    /// Code or name contains (diacritics ignored).
    #[arg(long)]
    pub q: Option<String>,
    /// min x, min y, max x, max y (in --bbox-crs, CRS84 by default).
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    #[arg(long)]
    pub bbox_crs: Option<String>,
    /// As they stood at the end of this day (yyyy-mm-dd or dd/mm/yyyy).
    #[arg(long)]
    pub as_of: Option<String>,
    /// CRS of the coordinates: CRS84 (default) or EPSG:9209 (VN-2000 / TM-3 105°30′).
    #[arg(long)]
    pub crs: Option<String>,
}

impl ExportArgs {
    /// The same parameters the web route reads, so both are checked by one parser.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![("profile".to_string(), self.profile.clone())];
        for (name, value) in [
            ("format", &self.format),
            ("layer", &self.layer),
            ("kind", &self.kind),
            ("status", &self.status),
            ("district", &self.district),
            ("phase", &self.phase),
            ("programme", &self.programme),
            ("q", &self.q),
            ("bbox", &self.bbox),
            ("bbox-crs", &self.bbox_crs),
            ("as_of", &self.as_of),
            ("crs", &self.crs),
        ] {
            if let Some(v) = value {
                pairs.push((name.to_string(), v.clone()));
            }
        }
        pairs
    }

    /// The format the output file's name implies, if any.
    fn format_of_output(&self) -> Option<crate::params::format::Format> {
        let name = self.output.file_name()?.to_str()?.to_ascii_lowercase();
        crate::params::format::Format::ALL
            .iter()
            .copied()
            .find(|f| name.ends_with(&format!(".{}", f.extension())))
    }
}

/// Migrates, then exports.
pub async fn run(url: &str, pool: &Pool, args: ExportArgs) -> anyhow::Result<()> {
    db::migrate::migrate_url(url).await?;
    export_command(pool, args).await
}

/// `kvpt export`: the web route's parser and pipeline, written to a file (renamed into
/// place only when complete) or to standard output.
async fn export_command(pool: &deadpool_postgres::Pool, args: ExportArgs) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let pairs = args.pairs();
    let format = if args.format.is_some() {
        None
    } else {
        args.format_of_output()
    };
    let request = {
        let client = pool.get().await.map_err(db::DbError::from)?;
        // The operator reaches the database itself: the profile's ceiling is the limit.
        let query = crate::params::export::ExportQuery::parse(&pairs, format)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::exchange::request::read(&client, query, crate::domain::Classification::Secret)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let actor = crate::exchange::export::Actor {
        user_id: None,
        name: std::env::var("USER").unwrap_or_else(|_| "cli".to_string()),
        via: "cli",
    };
    let to_stdout = args.output.as_os_str() == "-";
    let partial = args.output.with_extension("partial");
    let output = crate::exchange::export::start(
        pool,
        pool.get().await.map_err(crate::db::DbError::from)?,
        request,
        &actor,
    )
    .await?;
    let mut body = output.body;
    let mut written = 0u64;
    if to_stdout {
        let mut out = tokio::io::stdout();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
    } else {
        let mut file = tokio::fs::File::create(&partial).await?;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    drop(file);
                    let _ = tokio::fs::remove_file(&partial).await;
                    return Err(e.into());
                }
            };
            written += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        tokio::fs::rename(&partial, &args.output).await?;
    }
    let client = pool.get().await.map_err(db::DbError::from)?;
    let (features, sha256) = crate::exchange::export::log_figures(&client, output.log_id).await?;
    eprintln!(
        "export {}: {} features, {} bytes, sha256 {}{}",
        output.log_id,
        features.unwrap_or(0),
        written,
        sha256.unwrap_or_default(),
        if to_stdout {
            String::new()
        } else {
            format!(" → {}", args.output.display())
        }
    );
    Ok(())
}
