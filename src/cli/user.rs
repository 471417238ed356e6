//! `kvpt user add | set | passwd | disable | enable | list`: local accounts.

use clap::Subcommand;
use deadpool_postgres::Pool;

use crate::db;

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account. The password is asked twice on a terminal, else read from the
    /// first line of standard input.
    Add {
        username: String,
        /// Full name as shown on pages.
        #[arg(long)]
        name: String,
        /// viewer, engineer, budget_officer, reviewer or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Highest classification the user may see: public, internal, confidential, secret.
        #[arg(long, default_value = "internal")]
        clearance: String,
        /// The unit the user belongs to.
        #[arg(long)]
        unit: Option<String>,
        /// Districts an engineer may update, comma-separated codes or abbreviations (TBI,TCH).
        #[arg(long, value_delimiter = ',')]
        districts: Vec<String>,
    },
    /// Change a user's role, clearance, unit or districts (audited; applies at once).
    Set {
        username: String,
        /// viewer, engineer, budget_officer, reviewer or admin.
        #[arg(long)]
        role: Option<String>,
        /// public, internal, confidential or secret.
        #[arg(long)]
        clearance: Option<String>,
        /// The user's unit; an empty value (`--unit ""`) takes them out of it.
        #[arg(long)]
        unit: Option<String>,
        /// Replace the districts an engineer may update (comma-separated codes or abbreviations).
        #[arg(long, value_delimiter = ',')]
        districts: Option<Vec<String>>,
    },
    /// Set a new password (ends the user's sessions).
    Passwd { username: String },
    /// Disable an account (ends its sessions; its history stays).
    Disable { username: String },
    /// Enable a disabled account again (audited).
    Enable { username: String },
    /// List the accounts.
    List,
}

/// Runs one account command as the operator ("cli" in the audit log).
pub async fn run(url: &str, pool: &Pool, action: UserAction) -> anyhow::Result<()> {
    db::migrate::migrate_url(url).await?;
    let mut client = pool.get().await.map_err(db::DbError::from)?;
    user_command(&mut client, action).await
}

/// The password for `username`: asked twice on a terminal, else the first line of stdin.
fn read_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

async fn user_command(
    client: &mut tokio_postgres::Client,
    action: UserAction,
) -> anyhow::Result<()> {
    use crate::accounts::users;
    use crate::domain::{Classification, UserRole};
    let actor = "cli";
    match action {
        UserAction::Add {
            username,
            name,
            role,
            clearance,
            unit,
            districts,
        } => {
            let role = UserRole::from_code(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "no role '{role}'; roles are viewer, engineer, budget_officer, reviewer, admin"
                )
            })?;
            let clearance = Classification::from_code(&clearance).ok_or_else(|| {
                anyhow::anyhow!(
                    "no clearance '{clearance}'; levels are public, internal, confidential, secret"
                )
            })?;
            let password = read_password(&username)?;
            let user = users::NewUser {
                username: username.clone(),
                display_name: name,
                role,
                clearance,
                unit,
                districts,
            };
            users::add(client, &user, &password, actor).await?;
            println!(
                "user {username} added ({}, clearance {})",
                role.code(),
                clearance.code()
            );
        }
        UserAction::Set {
            username,
            role,
            clearance,
            unit,
            districts,
        } => {
            let role = match role {
                Some(r) => Some(UserRole::from_code(&r).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no role '{r}'; roles are viewer, engineer, budget_officer, reviewer, admin"
                    )
                })?),
                None => None,
            };
            let clearance = match clearance {
                Some(c) => Some(Classification::from_code(&c).ok_or_else(|| {
                    anyhow::anyhow!(
                        "no clearance '{c}'; levels are public, internal, confidential, secret"
                    )
                })?),
                None => None,
            };
            let change = users::UserChange {
                role,
                clearance,
                unit: unit.map(|u| Some(u.trim().to_string()).filter(|u| !u.is_empty())),
                districts,
            };
            users::set(client, &username, &change, actor).await?;
            println!("user {username} changed");
        }
        UserAction::Passwd { username } => {
            let password = read_password(&username)?;
            users::set_password(client, &username, &password, actor).await?;
            println!("password of {username} changed; their sessions ended");
        }
        UserAction::Disable { username } => {
            users::disable(client, &username, actor).await?;
            println!("user {username} disabled; their sessions ended");
        }
        UserAction::Enable { username } => {
            users::enable(client, &username, actor).await?;
            println!("user {username} enabled");
        }
        UserAction::List => {
            for u in users::list(client).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    u.username,
                    u.display_name,
                    u.role,
                    u.clearance,
                    u.districts.join(","),
                    if u.disabled { "\tdisabled" } else { "" }
                );
            }
        }
    }
    Ok(())
}
