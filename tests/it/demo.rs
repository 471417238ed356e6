//! The synthetic dataset: deterministic, and placed where each kind belongs.

use crate::common::{count, TestDb};
use kvpt::demo::{generate, Context};
use tokio_postgres::Client;

/// A digest of everything the demo wrote, to compare two databases.
async fn fingerprint(client: &Client) -> String {
    client
        .query_one(
            "SELECT md5(
                (SELECT string_agg(concat_ws('|', code, name, kind, ST_AsEWKT(geom), status, progress_pct,
                                             planned_start, actual_finish, classification), ',' ORDER BY code) FROM site)
             || (SELECT string_agg(concat_ws('|', s.code, h.recorded_at, h.new_status, h.new_pct), ','
                                   ORDER BY s.code, h.id) FROM progress_history h JOIN site s ON s.id = h.site_id)
             || (SELECT string_agg(concat_ws('|', s.code, b.year, b.source, b.allocated_vnd, b.disbursed_vnd), ','
                                   ORDER BY s.code, b.year, b.source) FROM budget_line b JOIN site s ON s.id = b.site_id))",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn same_seed_gives_the_same_data_and_another_seed_does_not() {
    let a = TestDb::with_demo(300, 7).await;
    let b = TestDb::with_demo(300, 7).await;
    let c = TestDb::with_demo(300, 8).await;
    let (fa, fb, fc) = (
        fingerprint(&a.client().await).await,
        fingerprint(&b.client().await).await,
        fingerprint(&c.client().await).await,
    );
    assert_eq!(fa, fb);
    assert_ne!(fa, fc);
}

#[tokio::test]
async fn generation_is_pure_given_the_context() {
    let db = TestDb::new().await;
    let client = db.client().await;
    let ctx = Context::load(&client).await.unwrap();
    let first = generate(&ctx, 200, 42);
    assert_eq!(first.len(), 200);
    assert_eq!(first, generate(&ctx, 200, 42));
    assert_ne!(first, generate(&ctx, 200, 43));
}

#[tokio::test]
async fn demo_places_every_kind_where_it_belongs() {
    let db = TestDb::with_demo(600, 2020).await;
    let client = db.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM site").await, 600);
    assert_eq!(
        count(&client, "SELECT count(DISTINCT kind) FROM site").await,
        17,
        "every kind present, the two kinds of investment without a place among them"
    );

    // Militia posts and Border Guard works: on the Vietnamese side, within 5 km of the line.
    assert!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE kind = 'militia_post_combat_work'"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s, admin_unit p, border_line b
              WHERE p.level = 'province' AND b.is_primary
                AND s.kind IN ('militia_post_combat_work', 'border_guard_combat_work')
                AND (NOT ST_Within(s.geom, p.geom)
                     OR ST_Distance(s.geom::geography, b.geom::geography) > 5000)"
        )
        .await,
        0,
        "border works outside the province or too far from the border"
    );
    // Residential points sit beside a post.
    assert_eq!(
        count(&client, "SELECT count(*) FROM site r WHERE r.kind = 'militia_residential_point' AND NOT EXISTS (
               SELECT 1 FROM site p WHERE p.kind = 'militia_post_combat_work'
                  AND ST_DWithin(p.geom::geography, r.geom::geography, 1500))")
        .await,
        0
    );
    // Markers on the line.
    assert_eq!(
        count(&client, "SELECT count(*) FROM site s, border_line b WHERE b.is_primary AND s.kind = 'border_marker'
              AND ST_Distance(s.geom::geography, b.geom::geography) > 1")
        .await,
        0
    );
    // Every work but the search zones abroad lies in a district; those abroad lie in
    // Cambodia. (Investments have no place: theirs is their command post's, if any.)
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE district_id IS NULL AND kind <> 'remains_search_zone'
                AND geom IS NOT NULL"
        )
        .await,
        0
    );
    assert!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE kind = 'remains_search_zone' AND district_id IS NULL"
        )
        .await
            > 0
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM site s LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id, admin_unit p
              WHERE p.level = 'province' AND s.district_id IS NULL AND s.geom IS NOT NULL
                AND (a.country IS DISTINCT FROM 'KH' OR ST_Intersects(s.geom, p.geom))")
        .await,
        0
    );
    // Command posts and depots near district centres: inside their district.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s JOIN admin_unit d ON d.id = s.district_id
              WHERE s.kind IN ('district_command_post', 'warehouse', 'workshop')
                AND NOT ST_Within(s.geom, d.geom)"
        )
        .await,
        0
    );
    // Names carry Vietnamese diacritics.
    assert!(
        count(
            &client,
            "SELECT count(*) FROM site WHERE name LIKE 'Chốt dân quân%'"
        )
        .await
            > 0
    );
}

#[tokio::test]
async fn demo_histories_end_where_the_site_stands() {
    let db = TestDb::with_demo(400, 11).await;
    let client = db.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM site s WHERE NOT EXISTS (SELECT 1 FROM progress_history h WHERE h.site_id = s.id)")
            .await,
        0,
        "every site has a history"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM site s JOIN LATERAL (
               SELECT new_status, new_pct FROM progress_history h WHERE h.site_id = s.id
                ORDER BY recorded_at DESC, id DESC LIMIT 1) last ON true
              WHERE last.new_status <> s.status OR last.new_pct <> s.progress_pct"
        )
        .await,
        0,
        "the last history row is the site's state"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM (SELECT new_pct < lag(new_pct) OVER w AS down,
                                          old_pct IS DISTINCT FROM lag(new_pct) OVER w AS broken
                                     FROM progress_history WINDOW w AS (PARTITION BY site_id ORDER BY recorded_at, id)) x
              WHERE down OR broken")
        .await,
        0,
        "percent never goes down and each row starts where the last ended"
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM progress_history
              WHERE recorded_at < '2020-07-17' OR recorded_at > '2026-01-01'"
        )
        .await,
        0,
        "histories lie in 2020–2025"
    );
    assert!(
        count(&client, "SELECT count(DISTINCT status) FROM site").await >= 5,
        "a spread of statuses"
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM budget_line WHERE year NOT BETWEEN 2017 AND 2025 OR disbursed_vnd > allocated_vnd
                OR (year < 2021 AND site_id IN (SELECT id FROM site WHERE programme <> 'kvpt_2017_2020'))
                OR (settled_vnd > 0 AND site_id IN (SELECT id FROM site WHERE status NOT IN ('completed', 'handed_over')))")
        .await,
        0
    );
    // The 2017–2020 scheme's early years were paid for as its works went (before tracking
    // began, as planned): a done work's money of those years is disbursed in the share its
    // planned progress had reached by each year's end, not left at nothing.
    let early: (i64, i64) = {
        let r = client
            .query_one(
                "SELECT coalesce(sum(b.disbursed_vnd), 0)::int8, coalesce(sum(b.allocated_vnd), 0)::int8
                   FROM budget_line b JOIN site s ON s.id = b.site_id
                  WHERE b.year < 2021 AND s.status IN ('completed', 'handed_over')",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert!(
        early.1 > 0 && early.0 * 3 > early.1,
        "disbursed {} of {}",
        early.0,
        early.1
    );
    assert!(count(&client, "SELECT count(*) FROM search_zone").await > 0);
}

#[tokio::test]
async fn demo_refuses_a_database_that_has_sites_unless_told_to_skip() {
    let db = TestDb::with_demo(50, 1).await;
    let mut client = db.client().await;
    let err = kvpt::demo::load(&mut client, 50, 1, false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already holds 50 sites"), "{err}");
    let report = kvpt::demo::load(&mut client, 50, 1, true).await.unwrap();
    assert_eq!(report, kvpt::demo::DemoReport::Skipped { existing: 50 });
}

#[tokio::test]
async fn a_demo_load_moves_each_layer_version_once() {
    let db = crate::common::TestDb::new().await;
    let mut client = db.client().await;
    let versions = |rows: Vec<tokio_postgres::Row>| {
        rows.iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let sql = "SELECT layer, version FROM layer_version ORDER BY layer";
    let before = versions(client.query(sql, &[]).await.unwrap());
    kvpt::demo::load(&mut client, 60, 4, false).await.unwrap();
    let after = versions(client.query(sql, &[]).await.unwrap());
    for layer in [
        "defence_works",
        "border_militia",
        "logistics",
        "search_zones",
        "border_markers",
        "land",
        "budget",
    ] {
        assert_eq!(after[layer], before[layer] + 1, "{layer}");
    }
    assert_eq!(
        after["districts"], before["districts"],
        "context layers untouched"
    );
}

/// The indexes and foreign keys of the schema, as PostgreSQL would write them again.
async fn indexes_and_keys(db: &TestDb) -> Vec<String> {
    db.client()
        .await
        .query(
            "SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes
              WHERE schemaname = current_schema()
             UNION ALL
             SELECT 'constraint ' || conrelid::regclass || '.' || conname || ': ' || pg_get_constraintdef(oid)
               FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND convalidated
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The load sets the big tables' secondary indexes and foreign keys aside and builds them
/// again at the end: the schema after it is the migrated one, every key checked.
#[tokio::test]
async fn a_demo_load_leaves_every_index_and_foreign_key_as_migrated() {
    let migrated = indexes_and_keys(&TestDb::new().await).await;
    let loaded = TestDb::with_demo(300, 5).await;
    assert_eq!(indexes_and_keys(&loaded).await, migrated);
    assert!(migrated
        .iter()
        .any(|l| l.contains("progress_history_site_id_fkey")));
    assert!(migrated.iter().any(|l| l.contains("site_search_key_idx")));
    // And the keys hold: a history row of no work is refused.
    let err = loaded
        .client()
        .await
        .execute(
            "INSERT INTO progress_history (site_id, actor, new_status, new_pct) VALUES (-1, 't', 'planned', 0)",
            &[],
        )
        .await
        .unwrap_err();
    let why = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(why.contains("foreign key"), "{err:?}");
}
