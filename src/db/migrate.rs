//! Schema migrations: the numbered files of `sql/migrations`, embedded in the
//! binary, each applied in its own transaction under an advisory lock and
//! recorded with its checksum in `schema_migration`.
//!
//! Hand-written rather than a library: the ones for tokio-postgres take no
//! advisory lock, and the whole runner is the function below.

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient};

use super::{DbError, MIN_POSTGIS};

/// One numbered migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    /// The file's stem: `0003_sites`.
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $file,
            sql: include_str!(concat!("../../sql/migrations/", $file, ".sql")),
        }
    };
}

/// Every migration, in order. A test checks this list matches the folder.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_postgis"),
    migration!(2, "0002_context"),
    migration!(3, "0003_sites"),
    migration!(4, "0004_progress_budget"),
    migration!(5, "0005_accounts_audit"),
    migration!(6, "0006_layer_version"),
    migration!(7, "0007_crs_search"),
    migration!(8, "0008_layer_version_notify"),
    migration!(9, "0009_updates_sessions"),
    migration!(10, "0010_layer_version_at_commit"),
    migration!(11, "0011_history_lookups"),
    migration!(12, "0012_bulk_loads"),
    migration!(13, "0013_exchange"),
    migration!(14, "0014_imports"),
    migration!(15, "0015_audit_chain"),
    migration!(16, "0016_restorable_functions"),
    migration!(17, "0017_site_budget_total"),
    migration!(18, "0018_zone_area"),
    migration!(19, "0019_budget_plan_total"),
    migration!(20, "0020_site_budget_total_history"),
    migration!(21, "0021_security_review"),
    migration!(22, "0022_layer_version_by_classification"),
    migration!(23, "0023_field_sync"),
    migration!(24, "0024_photo_exif"),
    migration!(25, "0025_search_history"),
    migration!(26, "0026_idempotency_cap"),
    migration!(27, "0027_search_conflict"),
    migration!(28, "0028_api_token"),
    migration!(29, "0029_site_deleted"),
    migration!(30, "0030_tile_changes"),
    migration!(31, "0031_tile_columns"),
    migration!(32, "0032_import_job"),
    migration!(33, "0033_import_upload"),
    migration!(34, "0034_budget_years_2017"),
    migration!(35, "0035_budget_ceiling"),
    migration!(36, "0036_commune_of_border_works"),
    migration!(37, "0037_report_log"),
    migration!(38, "0038_land_parcel"),
    migration!(39, "0039_tiles_programme_ceiling_history"),
    migration!(40, "0040_investments"),
    migration!(41, "0041_review"),
    migration!(42, "0042_search_review"),
    migration!(43, "0043_upload_purpose"),
];

/// Serialises migration runs across processes: any fixed 64-bit key ("kvpt").
const LOCK_KEY: i64 = 0x6b76_7074;

impl Migration {
    pub fn checksum(&self) -> String {
        let digest = Sha256::digest(self.sql.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Connects, migrates and disconnects.
pub async fn migrate_url(url: &str) -> Result<usize, DbError> {
    let mut client = super::connect(url).await?;
    migrate(&mut client).await
}

/// Applies every pending migration; returns how many were applied. Re-running is
/// a no-op; an applied migration whose text changed is refused.
pub async fn migrate(client: &mut Client) -> Result<usize, DbError> {
    check_postgis_available(client).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    // Unlock whatever happened; a failed unlock only matters if the session lives on.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let applied = result?;
    check_postgis_version(client).await?;
    Ok(applied)
}

async fn apply_pending(client: &mut Client) -> Result<usize, DbError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migration (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let rows = client
        .query("SELECT version, checksum FROM schema_migration", &[])
        .await?;
    let applied: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut count = 0;
    for migration in MIGRATIONS {
        if let Some((_, checksum)) = applied.iter().find(|(v, _)| *v == migration.version) {
            if *checksum != migration.checksum() {
                return Err(DbError::MigrationEdited {
                    version: migration.version,
                    name: migration.name.to_string(),
                });
            }
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)",
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration.version, migration.name, "migration applied");
        count += 1;
    }
    Ok(count)
}

/// How many embedded migrations the database lacks (all of them when it has none).
pub async fn pending(client: &impl GenericClient) -> Result<usize, DbError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migration') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(MIGRATIONS.len());
    }
    let rows = client
        .query("SELECT version FROM schema_migration", &[])
        .await?;
    let applied: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count())
}

async fn check_postgis_available(client: &impl GenericClient) -> Result<(), DbError> {
    let row = client
        .query_opt(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'",
            &[],
        )
        .await?;
    let version: String = row.ok_or(DbError::PostgisMissing)?.get(0);
    require_postgis(&version)
}

async fn check_postgis_version(client: &impl GenericClient) -> Result<(), DbError> {
    let version: String = client
        .query_one("SELECT postgis_lib_version()", &[])
        .await?
        .get(0);
    require_postgis(&version)
}

/// Refuses a PostGIS older than [`MIN_POSTGIS`]; `version` is like "3.3.2".
pub fn require_postgis(version: &str) -> Result<(), DbError> {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    let major: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if (major, minor) < MIN_POSTGIS {
        return Err(DbError::PostgisTooOld {
            found: version.to_string(),
        });
    }
    Ok(())
}
