//! `kvpt geodata load` and `kvpt demo load`: the context layers and the synthetic works.

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};
use deadpool_postgres::Pool;

use crate::db;

#[derive(Debug, Subcommand)]
pub enum GeodataAction {
    /// Load the layers from geodata/ (skipped when already loaded).
    Load,
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
    let GeodataAction::Load = action;
    db::migrate::migrate_url(url).await?;
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
