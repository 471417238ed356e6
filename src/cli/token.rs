//! `kvpt token add | list | revoke USER`: personal access tokens, for QGIS, GDAL and
//! scripts (an administrator's tool; users make their own on their account page).

use clap::Subcommand;
use deadpool_postgres::Pool;

use crate::accounts::tokens::{self, Scope};
use crate::db;

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token for USER; it is printed this once, and only its hash is kept.
    Add {
        username: String,
        /// What it is for (shown in the list), e.g. "QGIS Phòng TN&MT".
        #[arg(long)]
        name: String,
        /// `read`, or `read,write` to update works through the API.
        #[arg(long, default_value = "read")]
        scope: String,
        /// How many days it lasts (at most 365).
        #[arg(long, default_value_t = tokens::DEFAULT_DAYS)]
        days: i32,
    },
    /// USER's tokens (never their secrets).
    List { username: String },
    /// Revoke USER's token ID: it opens nothing from now on.
    Revoke { username: String, id: i64 },
}

pub async fn run(url: &str, pool: &Pool, action: TokenAction) -> anyhow::Result<()> {
    db::migrate::migrate_url(url).await?;
    let client = pool.get().await.map_err(db::DbError::from)?;
    let actor = "cli";
    match action {
        TokenAction::Add {
            username,
            name,
            scope,
            days,
        } => {
            let scope = Scope::from_code(&scope).ok_or_else(|| {
                anyhow::anyhow!("--scope is 'read' or 'read,write', not '{scope}'")
            })?;
            let made = tokens::create(&client, &username, actor, &name, scope, days).await?;
            println!("{}", made.secret);
            eprintln!(
                "token {} for {username} ({}), until {}: copy it now, it is not shown again",
                made.id,
                scope.code(),
                made.expires_at.format("%d/%m/%Y")
            );
        }
        TokenAction::List { username } => {
            for t in tokens::list(&client, &username).await? {
                let state = if t.revoked {
                    "revoked"
                } else if t.expires_at < chrono::Utc::now() {
                    "expired"
                } else {
                    "live"
                };
                let used = t.last_used_at.map_or_else(
                    || "never used".to_string(),
                    |at| format!("last used {}", at.format("%d/%m/%Y %H:%M")),
                );
                println!(
                    "{}\t{}\t{}\t{state}\tuntil {}\t{used}",
                    t.id,
                    t.name,
                    t.scope.code(),
                    t.expires_at.format("%d/%m/%Y")
                );
            }
        }
        TokenAction::Revoke { username, id } => {
            anyhow::ensure!(
                tokens::revoke(&client, &username, id, actor).await?,
                "{username} has no live token {id}"
            );
            println!("token {id} of {username} revoked");
        }
    }
    Ok(())
}
