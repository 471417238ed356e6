//! Migrations and the rules the schema enforces, each refused by its named constraint.

use crate::common::{assert_refused_by, count, TestDb};
use kvpt::db::migrate::{migrate, MIGRATIONS};
use kvpt::domain::SiteKind;
use tokio_postgres::Client;

/// A point well inside Huyện Tân Biên, from PostGIS itself.
async fn point_in_district(client: &Client, code: &str) -> String {
    client
        .query_one(
            "SELECT ST_AsEWKT(ST_PointOnSurface(geom)) FROM admin_unit WHERE level = 'district' AND code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0)
}

async fn insert_site(
    client: &Client,
    code: &str,
    kind: &str,
    ewkt: &str,
) -> Result<i64, tokio_postgres::Error> {
    client
        .query_one(
            "INSERT INTO site (code, name, kind, geom, programme)
             VALUES ($1, 'Công trình thử', $2, ST_GeomFromEWKT($3), 'kvpt_2021_2025') RETURNING id",
            &[&code, &kind, &ewkt],
        )
        .await
        .map(|row| row.get(0))
}

const SQUARE: &str =
    "SRID=4326;POLYGON((106.1 11.5,106.11 11.5,106.11 11.51,106.1 11.51,106.1 11.5))";

/// (version, applied_at) of every applied migration.
async fn applied(client: &Client) -> Vec<(i32, chrono::DateTime<chrono::Utc>)> {
    let rows = client
        .query(
            "SELECT version, applied_at FROM schema_migration ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[tokio::test]
async fn migrations_apply_from_empty_and_rerun_is_a_no_op() {
    let db = TestDb::empty().await;
    let mut client = db.client().await;
    assert_eq!(migrate(&mut client).await.unwrap(), MIGRATIONS.len());
    let first = applied(&client).await;
    assert_eq!(first.len(), MIGRATIONS.len());
    assert_eq!(
        migrate(&mut client).await.unwrap(),
        0,
        "second run applies nothing"
    );
    let second = applied(&client).await;
    assert_eq!(first, second);
    assert_eq!(kvpt::db::migrate::pending(&client).await.unwrap(), 0);
}

#[tokio::test]
async fn an_edited_migration_is_refused() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    client
        .execute(
            "UPDATE schema_migration SET checksum = 'x' WHERE version = 3",
            &[],
        )
        .await
        .unwrap();
    let err = migrate(&mut client).await.unwrap_err();
    assert!(
        matches!(err, kvpt::db::DbError::MigrationEdited { version: 3, .. }),
        "{err}"
    );
}

#[test]
fn migration_list_matches_the_folder() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sql/migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let listed: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{}.sql", m.name))
        .collect();
    assert_eq!(files, listed);
    for m in MIGRATIONS {
        assert!(
            m.name.starts_with(&format!("{:04}_", m.version)),
            "{} is not numbered {}",
            m.name,
            m.version
        );
    }
}

#[test]
fn postgis_older_than_3_is_refused() {
    assert!(kvpt::db::migrate::require_postgis("3.3.2").is_ok());
    assert!(kvpt::db::migrate::require_postgis("3.0.0dev").is_ok());
    let err = kvpt::db::migrate::require_postgis("2.5.5").unwrap_err();
    assert_eq!(
        err.to_string(),
        "PostGIS 2.5.5 is older than the required 3.0"
    );
}

#[tokio::test]
async fn kinds_in_the_database_match_the_domain() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for kind in SiteKind::ALL {
        let row = client
            .query_one(
                "SELECT code_prefix,
                        coalesce(array_agg(g.family ORDER BY g.family) FILTER (WHERE g.family IS NOT NULL), '{}')
                   FROM site_kind k LEFT JOIN site_kind_geometry g ON g.kind = k.code
                  WHERE k.code = $1 GROUP BY code_prefix",
                &[&kind.code()],
            )
            .await
            .unwrap_or_else(|e| panic!("{kind:?} missing from site_kind: {e}"));
        assert_eq!(row.get::<_, String>(0), kind.code_prefix());
        let mut families: Vec<&str> = kind.families().iter().map(|f| f.code()).collect();
        families.sort();
        assert_eq!(row.get::<_, Vec<String>>(1), families, "{kind:?}");
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM site_kind", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count as usize, SiteKind::ALL.len());
}

const POINT: &str = "SRID=4326;POINT(106.1 11.5)";

#[tokio::test]
async fn geometry_type_must_suit_the_kind() {
    let db = TestDb::new().await;
    let client = db.client().await;
    for (code, kind, ewkt) in [
        ("CHOT-T-1", "militia_post_combat_work", SQUARE),
        ("DCD-T-1", "mobility_road", POINT),
        (
            "MOC-T-1",
            "border_marker",
            "SRID=4326;MULTIPOINT((106.1 11.5),(106.2 11.5))",
        ),
    ] {
        assert_refused_by(
            insert_site(&client, code, kind, ewkt).await,
            "site_geometry_matches_kind",
        );
    }
    insert_site(&client, "CDT-T-1", "strongpoint_cluster", SQUARE)
        .await
        .expect("a polygon suits a cluster");
    insert_site(&client, "SCH-T-1", "district_command_post", POINT)
        .await
        .expect("a point suits a command post");
}

#[tokio::test]
async fn invalid_and_empty_geometry_are_refused() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let bowtie = "SRID=4326;POLYGON((106.1 11.5,106.11 11.51,106.11 11.5,106.1 11.51,106.1 11.5))";
    assert_refused_by(
        insert_site(&client, "CDT-T-1", "strongpoint_cluster", bowtie).await,
        "site_geometry_valid",
    );
    assert_refused_by(
        insert_site(
            &client,
            "CDT-T-2",
            "strongpoint_cluster",
            "SRID=4326;POLYGON EMPTY",
        )
        .await,
        "site_geometry_not_empty",
    );
}

#[tokio::test]
async fn duplicate_codes_and_bad_percentages_are_refused() {
    let db = TestDb::new().await;
    let client = db.client().await;
    insert_site(&client, "KHO-T-1", "warehouse", POINT)
        .await
        .unwrap();
    let err = insert_site(&client, "KHO-T-1", "warehouse", POINT)
        .await
        .unwrap_err();
    // The service sees the constraint by name, with a message a user can act on.
    match kvpt::db::DbError::from(err) {
        kvpt::db::DbError::Constraint {
            constraint,
            message,
        } => {
            assert_eq!(constraint, "site_code_key");
            assert_eq!(message, "a site with this code already exists");
        }
        other => panic!("not a constraint error: {other:?}"),
    }
    assert_refused_by(
        insert_site(&client, "kho t 1", "warehouse", POINT).await,
        "site_code_format",
    );
    for (sql, constraint) in [
        (
            "UPDATE site SET progress_pct = 101",
            "site_progress_pct_range",
        ),
        (
            "UPDATE site SET progress_pct = -1",
            "site_progress_pct_range",
        ),
        (
            "UPDATE site SET status = 'completed', progress_pct = 90",
            "site_done_at_full_progress",
        ),
        (
            "UPDATE site SET planned_start = '2024-01-01', planned_finish = '2023-01-01'",
            "site_planned_dates_order",
        ),
    ] {
        assert_refused_by(client.execute(sql, &[]).await, constraint);
    }
    client
        .execute(
            "UPDATE site SET status = 'completed', progress_pct = 100",
            &[],
        )
        .await
        .expect("done at 100%");
}

#[tokio::test]
async fn disbursed_cannot_exceed_allocated() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let id = insert_site(&client, "KHO-T-1", "warehouse", POINT)
        .await
        .unwrap();
    let insert = "INSERT INTO budget_line (site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd)
                  VALUES ($1, $2, 'provincial', 1000000000, $3, $4)";
    let line = |year: i16, allocated: i64, disbursed: i64| {
        let client = &client;
        async move {
            client
                .execute(insert, &[&id, &year, &allocated, &disbursed])
                .await
        }
    };
    assert_refused_by(
        line(2023, 500_000_000, 600_000_000).await,
        "budget_line_disbursed_within_allocated",
    );
    assert_refused_by(line(2016, 1, 0).await, "budget_line_year_range");
    assert_refused_by(line(2023, -1, 0).await, "budget_line_amounts_not_negative");
    line(2023, 500_000_000, 500_000_000)
        .await
        .expect("equal is fine");
    assert_refused_by(line(2023, 1, 0).await, "budget_line_pkey");
}

#[tokio::test]
async fn progress_history_is_append_only() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let id = insert_site(&client, "KHO-T-1", "warehouse", POINT)
        .await
        .unwrap();
    let insert = "INSERT INTO progress_history (site_id, actor, new_status, new_pct) VALUES ($1, 'test', 'design', $2)";
    client.execute(insert, &[&id, &0i16]).await.unwrap();
    for sql in [
        "UPDATE progress_history SET new_pct = 50",
        "DELETE FROM progress_history",
    ] {
        assert_refused_by(
            client.batch_execute(sql).await,
            "progress_history_append_only",
        );
    }
    // Photos refer to history rows, so PostgreSQL refuses TRUNCATE even before the trigger.
    assert!(client
        .batch_execute("TRUNCATE progress_history")
        .await
        .is_err());
    assert!(client
        .batch_execute("TRUNCATE progress_history CASCADE")
        .await
        .is_err());
    assert_refused_by(
        client.execute(insert, &[&id, &140i16]).await,
        "progress_history_pct_range",
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM progress_history").await,
        1
    );
}

#[tokio::test]
async fn only_search_zones_carry_search_data() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let land = insert_site(&client, "DQP-T-1", "defence_land", SQUARE)
        .await
        .unwrap();
    assert_refused_by(
        client
            .execute("INSERT INTO search_zone (site_id) VALUES ($1)", &[&land])
            .await,
        "search_zone_site_is_zone",
    );
    let zone = insert_site(&client, "TKQT-T-1", "remains_search_zone", SQUARE)
        .await
        .unwrap();
    assert_refused_by(
        client
            .execute(
                "INSERT INTO search_zone (site_id, remains_expected) VALUES ($1, -3)",
                &[&zone],
            )
            .await,
        "search_zone_counts_not_negative",
    );
}

#[tokio::test]
async fn district_is_derived_from_geometry_and_follows_moves() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let in_tan_bien = point_in_district(&client, "705").await;
    let in_go_dau = point_in_district(&client, "710").await;
    let id = insert_site(&client, "KHO-T-1", "warehouse", &in_tan_bien)
        .await
        .unwrap();
    let district = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT d.code, s.foreign_area_id FROM site s LEFT JOIN admin_unit d ON d.id = s.district_id
                      WHERE s.id = $1",
                    &[&id],
                )
                .await
                .map(|r| (r.get::<_, Option<String>>(0), r.get::<_, Option<i32>>(1)))
                .unwrap()
        }
    };
    assert_eq!(district(id).await, (Some("705".into()), None));
    client
        .execute(
            "UPDATE site SET geom = ST_GeomFromEWKT($2) WHERE id = $1",
            &[&id, &in_go_dau],
        )
        .await
        .unwrap();
    assert_eq!(
        district(id).await.0.as_deref(),
        Some("710"),
        "moving the site moves its district"
    );

    // Inside Svay Rieng, across the border: no district, the Cambodian province instead.
    let abroad: String = client
        .query_one(
            "SELECT ST_AsEWKT(ST_PointOnSurface(geom)) FROM adjacent_area WHERE code = 'KHM-1801'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let zone = insert_site(
        &client,
        "TKQT-T-1",
        "remains_search_zone",
        &format!(
            "SRID=4326;POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))",
            x0 = coord(&abroad, 0) - 0.005,
            x1 = coord(&abroad, 0) + 0.005,
            y0 = coord(&abroad, 1) - 0.005,
            y1 = coord(&abroad, 1) + 0.005
        ),
    )
    .await
    .unwrap();
    let (code, foreign) = district(zone).await;
    assert_eq!(code, None);
    let svay_rieng: i32 = client
        .query_one("SELECT id FROM adjacent_area WHERE code = 'KHM-1801'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(foreign, Some(svay_rieng));
}

/// The n-th coordinate of an EWKT point.
fn coord(ewkt: &str, n: usize) -> f64 {
    ewkt.trim_start_matches("SRID=4326;POINT(")
        .trim_end_matches(')')
        .split(' ')
        .nth(n)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn geodata_loads_once() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    assert!(
        !kvpt::geodata::load(&mut client).await.unwrap(),
        "already loaded in the template"
    );
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM admin_unit WHERE level = 'province'),
                    (SELECT count(*) FROM admin_unit WHERE level = 'district'),
                    (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
                    (SELECT count(*) FROM border_line WHERE is_primary),
                    (SELECT count(*) FROM adjacent_area WHERE country = 'KH'),
                    (SELECT count(*) FROM river)",
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<i64> = (0..6).map(|i| row.get(i)).collect();
    assert_eq!(counts, vec![1, 9, 94, 1, 3, 2]);
}

async fn version(client: &Client, layer: &str) -> i64 {
    client
        .query_one(
            "SELECT version FROM layer_version WHERE layer = $1",
            &[&layer],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_layer_version_moves_once_per_transaction_at_commit() {
    let db = TestDb::new().await;
    let mut client = db.client().await;
    let before = version(&client, "logistics").await;
    let other = db.client().await;
    let tx = client.transaction().await.unwrap();
    for n in 1..=3 {
        tx.execute(
            "INSERT INTO site (code, name, kind, geom, programme)
             VALUES ($1, 'Kho thử', 'warehouse', ST_GeomFromEWKT($2), 'kvpt_2021_2025')",
            &[&format!("KHO-T-{n}"), &POINT],
        )
        .await
        .unwrap();
    }
    // Nothing moves (and nothing is locked) while the transaction runs.
    assert_eq!(version(&other, "logistics").await, before);
    other
        .execute(
            "UPDATE layer_version SET changed_at = now() WHERE layer = 'logistics'",
            &[],
        )
        .await
        .expect("the layer's row is not held by a running write");
    tx.commit().await.unwrap();
    assert_eq!(
        version(&client, "logistics").await,
        before + 1,
        "once for three sites"
    );
    // A rolled-back write moves nothing; moving a work to another layer moves both.
    let tx = client.transaction().await.unwrap();
    tx.execute("UPDATE site SET name = 'x' WHERE code = 'KHO-T-1'", &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(version(&client, "logistics").await, before + 1);
    let militia = version(&client, "border_militia").await;
    client
        .execute(
            "UPDATE site SET kind = 'militia_post_combat_work' WHERE code = 'KHO-T-1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(version(&client, "logistics").await, before + 2);
    assert_eq!(version(&client, "border_militia").await, militia + 1);
}
