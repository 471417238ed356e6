//! `kvpt geodata load`, `kvpt geodata communes` and `kvpt demo load`: the context layers,
//! commune boundaries from a file, and the synthetic works.

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};
use deadpool_postgres::Pool;

use crate::db;

#[derive(Debug, Subcommand)]
pub enum GeodataAction {
    /// Load the layers from geodata/ (skipped when already loaded).
    Load,
    /// Commune boundaries from a GIS file (Shapefile, GeoPackage, GeoJSON…, VN-2000 or
    /// WGS 84): each feature matched to the commune list by GSO code or name and reported;
    /// written, and every work's commune derived again, only with --write and when every
    /// feature matched.
    Communes {
        file: std::path::PathBuf,
        /// The file's coordinate system when it does not say (EPSG:9209, vn2000-tm3, wgs84…).
        #[arg(long)]
        srs: Option<String>,
        /// Write the boundaries (without it, only the report).
        #[arg(long)]
        write: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoAction {
    /// Generate and load a deterministic synthetic dataset.
    Load {
        #[command(flatten)]
        demo: DemoArgs,
        /// Do nothing (successfully) when the database already holds sites.
        #[arg(long, env = "KVPT_DEMO_IF_EMPTY", value_parser = BoolishValueParser::new())]
        if_empty: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of sites to generate.
    #[arg(long = "sites", env = "KVPT_DEMO_SITES", default_value_t = 2000)]
    pub sites: usize,
    /// Seed of the generator: same seed, same data.
    #[arg(long = "seed", env = "KVPT_DEMO_SEED", default_value_t = 2020)]
    pub seed: u64,
}

/// `kvpt geodata load`.
pub async fn geodata(url: &str, pool: &Pool, action: GeodataAction) -> anyhow::Result<()> {
    db::migrate::migrate_url(url).await?;
    let GeodataAction::Load = action else {
        let GeodataAction::Communes { file, srs, write } = action else {
            unreachable!("two actions")
        };
        return communes(pool, &file, srs.as_deref(), write).await;
    };
    let mut client = pool.get().await.map_err(db::DbError::from)?;
    let loaded = crate::geodata::load(&mut client).await?;
    println!(
        "{}",
        if loaded {
            "geodata loaded"
        } else {
            "geodata already loaded"
        }
    );
    Ok(())
}

/// `kvpt demo load`: the context layers too, when missing.
pub async fn demo(url: &str, pool: &Pool, action: DemoAction) -> anyhow::Result<()> {
    let DemoAction::Load { demo, if_empty } = action;
    db::migrate::migrate_url(url).await?;
    let mut client = pool.get().await.map_err(db::DbError::from)?;
    crate::geodata::load(&mut client).await?;
    let report = crate::demo::load(&mut client, demo.sites, demo.seed, if_empty).await?;
    println!("{report}");
    Ok(())
}

/// `kvpt geodata communes FILE`: the matching report, then the write when asked.
async fn communes(
    pool: &Pool,
    file: &std::path::Path,
    srs: Option<&str>,
    write: bool,
) -> anyhow::Result<()> {
    use crate::exchange::import::communes::import;
    let forced = srs
        .map(crate::exchange::import::srs::from_option)
        .transpose()
        .map_err(|(_, en)| anyhow::anyhow!(en))?;
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let r = import(pool, file, &name, forced, write, &format!("cli:{who}")).await?;
    if let Some(p) = &r.file_error {
        anyhow::bail!("{name}: {} / {}", p.vi, p.en);
    }
    println!(
        "{name}: {} ({})",
        r.format.as_deref().unwrap_or("?"),
        r.crs.as_deref().unwrap_or("?")
    );
    for m in &r.matched {
        println!("  #{:<4} {} {} (by {})", m.index, m.code, m.name, m.by);
    }
    for x in &r.refused {
        println!(
            "  #{:<4} REFUSED {}: {} / {}",
            x.index, x.label, x.problem.vi, x.problem.en
        );
    }
    for o in &r.overlaps {
        println!(
            "  OVERLAP {} / {}: {:.1} ha (a work there takes the first)",
            o.first, o.second, o.hectares
        );
    }
    println!(
        "matched {}, refused {}, communes without a boundary in the file {}",
        r.matched.len(),
        r.refused.len(),
        r.missing.len()
    );
    if r.written {
        println!("written; {} works changed commune", r.works_moved);
    } else if !r.refused.is_empty() {
        anyhow::bail!("nothing written: {} features refused", r.refused.len());
    } else {
        println!("nothing written (give --write to write)");
    }
    Ok(())
}
