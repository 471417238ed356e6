//! Operating kvpt: the audit chain finds tampering, and a backup restored into an empty
//! data directory holds the same works, histories, budgets, photos and audit chain.

use std::process::Command;

use crate::common::{cluster_config, TestDb};
use kvpt::cluster::Cluster;
use kvpt::domain::{Classification, UserRole};
use kvpt::ops::audit::{verify, Break};

fn kvpt(args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kvpt"));
    cmd.args(args).env_remove("DATABASE_URL");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-ops-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A few audited changes: accounts created and changed.
async fn audited(db: &TestDb) {
    for name in [
        "kiem.toan.1",
        "kiem.toan.2",
        "kiem.toan.3",
        "kiem.toan.4",
        "kiem.toan.5",
    ] {
        db.sign_in(name, UserRole::Viewer, Classification::Internal, &[])
            .await;
    }
    let (ok, out) = kvpt(
        &["user", "set", "kiem.toan.2", "--clearance", "secret"],
        &[("DATABASE_URL", &db.url())],
    );
    assert!(ok, "{out}");
}

/// Runs `sql` with the append-only guard lifted, as someone with database access would.
async fn tamper(db: &TestDb, sql: &str) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
             {sql};
             ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_audit_chain_finds_rows_edited_removed_or_cut_off() {
    let db = TestDb::with_demo(50, 31).await;
    audited(&db).await;
    let client = db.client().await;
    let verdict = verify(&client).await.unwrap();
    assert!(verdict.intact(), "{:?}", verdict.breaks);
    assert!(verdict.rows >= 4, "{}", verdict.rows);
    let (ok, out) = kvpt(&["audit", "verify"], &[("DATABASE_URL", &db.url())]);
    assert!(ok && out.contains("audit log intact"), "{out}");

    // The guard: kvpt itself cannot change or remove audit rows.
    let err = client
        .execute("UPDATE audit_log SET actor = 'x' WHERE chain_seq = 1", &[])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"),
        "{err:?}"
    );
    assert!(client.execute("DELETE FROM audit_log", &[]).await.is_err());

    // An edited row.
    let actor: String = client
        .query_one("SELECT actor FROM audit_log WHERE chain_seq = 2", &[])
        .await
        .unwrap()
        .get(0);
    tamper(
        &db,
        "UPDATE audit_log SET actor = 'người khác' WHERE chain_seq = 2",
    )
    .await;
    let verdict = verify(&client).await.unwrap();
    assert!(
        matches!(
            verdict.breaks.as_slice(),
            [Break::Edited { position: 2, .. }]
        ),
        "{:?}",
        verdict.breaks
    );
    let (ok, out) = kvpt(&["audit", "verify"], &[("DATABASE_URL", &db.url())]);
    assert!(!ok, "verify fails on tampering: {out}");
    assert!(
        out.contains("position 2") && out.contains("changed"),
        "{out}"
    );
    // Put back exactly, the chain is whole again: the check is on content.
    tamper(
        &db,
        &format!("UPDATE audit_log SET actor = '{actor}' WHERE chain_seq = 2"),
    )
    .await;
    assert!(verify(&client).await.unwrap().intact());

    // A changed JSON value is found too.
    tamper(
        &db,
        "UPDATE audit_log SET after = after || '{\"clearance\": \"public\"}' WHERE chain_seq = 4",
    )
    .await;
    assert!(matches!(
        verify(&client).await.unwrap().breaks.as_slice(),
        [Break::Edited { position: 4, .. }]
    ));
    tamper(
        &db,
        "UPDATE audit_log SET after = after || '{\"clearance\": \"secret\"}' WHERE chain_seq = 4",
    )
    .await;

    // A removed row in the middle.
    tamper(&db, "DELETE FROM audit_log WHERE chain_seq = 3").await;
    let breaks = verify(&client).await.unwrap().breaks;
    assert!(
        breaks.contains(&Break::Removed { from: 3, to: 3 }),
        "{breaks:?}"
    );

    // The newest row removed: the head gives it away.
    let last: i64 = client
        .query_one("SELECT max(chain_seq) FROM audit_log", &[])
        .await
        .unwrap()
        .get(0);
    tamper(
        &db,
        &format!("DELETE FROM audit_log WHERE chain_seq = {last}"),
    )
    .await;
    let breaks = verify(&client).await.unwrap().breaks;
    assert!(
        breaks.contains(&Break::TailRemoved {
            head: last,
            last: last - 1
        }),
        "{breaks:?}"
    );
    let (ok, out) = kvpt(&["audit", "verify"], &[("DATABASE_URL", &db.url())]);
    assert!(!ok && out.contains("newest rows were removed"), "{out}");
}

/// The same rows in both databases, table by table (times in UTC).
async fn fingerprint(client: &tokio_postgres::Client) -> Vec<(String, Option<String>)> {
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let mut out = Vec::new();
    for table in [
        "site",
        "progress_history",
        "budget_line",
        "budget_history",
        "site_photo",
        "audit_log",
        "app_user",
        "admin_unit",
    ] {
        let sum: Option<String> = client
            .query_one(
                &format!("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        out.push((table.to_string(), sum));
    }
    out
}

#[tokio::test]
async fn a_backup_restored_into_an_empty_data_directory_is_identical() {
    let db = TestDb::with_demo(300, 32).await;
    audited(&db).await;
    let client = db.client().await;
    // A photo, so that photos are shown to travel with the backup.
    client
        .execute(
            "INSERT INTO site_photo (site_id, content_type, image, thumbnail, width, height, sha256)
             SELECT id, 'image/jpeg', '\\xffd8ffe0'::bytea, '\\xffd8ffe1'::bytea, 4, 3, sha256('\\xffd8ffe0'::bytea)
               FROM site ORDER BY id LIMIT 2",
            &[],
        )
        .await
        .unwrap();
    let before = fingerprint(&client).await;
    let summary_before = kvpt::ops::backup::summary(&client).await.unwrap();

    let dir = scratch("backup");
    let file = dir.join("kvpt.dump");
    let (ok, out) = kvpt(
        &["backup", file.to_str().unwrap()],
        &[("DATABASE_URL", &db.url())],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("backup written") && out.contains("sha256"),
        "{out}"
    );
    assert!(file.metadata().unwrap().len() > 10_000);

    // Into a new, empty data directory: kvpt starts its own cluster there.
    let data = dir.join("restored");
    let config = cluster_config(&data);
    let env = [
        ("KVPT_DATA_DIR", data.to_str().unwrap()),
        ("KVPT_PG_FAST", "1"),
        ("KVPT_PG_BIN", config.pg_bin.to_str().unwrap()),
        ("KVPT_PG_USER", config.run_as.as_str()),
    ];
    let (ok, out) = kvpt(&["restore", file.to_str().unwrap()], &env);
    assert!(ok, "{out}");
    assert!(out.contains("audit chain intact"), "{out}");
    for (label, n) in &summary_before.counts {
        assert!(
            out.contains(&format!("{label}: {n}")),
            "{label}: {n} in\n{out}"
        );
    }

    let cluster = Cluster::new(cluster_config(&data)).unwrap();
    cluster.start().unwrap();
    let restored = kvpt::db::connect(&cluster.database_url()).await.unwrap();
    assert_eq!(fingerprint(&restored).await, before);
    assert_eq!(
        kvpt::ops::backup::summary(&restored).await.unwrap(),
        summary_before
    );
    assert!(verify(&restored).await.unwrap().intact());
    drop(restored);
    cluster.stop().unwrap();

    // Restoring over data is refused, and a damaged file restores nothing.
    let (ok, out) = kvpt(&["restore", file.to_str().unwrap()], &env);
    assert!(!ok && out.contains("not empty"), "{out}");
    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.join("cut.dump");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let empty = TestDb::empty().await;
    let (ok, out) = kvpt(
        &["restore", cut.to_str().unwrap()],
        &[("DATABASE_URL", &empty.url())],
    );
    assert!(!ok && out.contains("nothing was restored"), "{out}");
    let tables: i64 = empty
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "a failed restore leaves nothing behind");
    let _ = std::fs::remove_dir_all(&dir);
}
