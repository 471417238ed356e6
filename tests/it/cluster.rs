//! The embedded cluster: starts, keeps its data across restarts, stops, and
//! explains in one line why it cannot.

use crate::common::cluster_config;
use kvpt::cluster::{Cluster, ClusterError, ClusterStatus};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvpt-cluster-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn scalar(cluster: &Cluster, sql: &str) -> i64 {
    let client = kvpt::db::connect(&cluster.database_url()).await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn cluster_starts_restarts_with_its_data_and_stops() {
    let dir = scratch("lifecycle");
    let cluster = Cluster::new(cluster_config(&dir)).unwrap();
    assert_eq!(cluster.status().unwrap(), ClusterStatus::NotInitialised);
    assert!(cluster.start().unwrap(), "first start starts");
    assert!(matches!(cluster.status().unwrap(), ClusterStatus::Running { pid } if pid > 0));
    assert!(
        !cluster.start().unwrap(),
        "starting a running cluster is a no-op"
    );
    assert!(
        cluster.socket_dir().starts_with(&dir),
        "socket under the data directory"
    );

    let client = kvpt::db::connect(&cluster.database_url()).await.unwrap();
    client
        .batch_execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (41), (1)")
        .await
        .unwrap();
    drop(client);
    assert!(cluster.stop().unwrap());
    assert_eq!(cluster.status().unwrap(), ClusterStatus::Stopped);
    assert!(
        !cluster.stop().unwrap(),
        "stopping a stopped cluster is a no-op"
    );

    assert!(cluster.start().unwrap());
    assert_eq!(
        scalar(&cluster, "SELECT sum(n)::bigint FROM kept").await,
        42,
        "data kept across restarts"
    );
    assert_eq!(
        scalar(
            &cluster,
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"
        )
        .await,
        1,
        "PostGIS is available to the embedded cluster"
    );
    assert!(cluster.stop().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_binaries_are_named() {
    let mut config = cluster_config(&scratch("nobin"));
    config.pg_bin = "/nonexistent/postgresql/bin".into();
    let err = Cluster::new(config).unwrap_err();
    assert!(matches!(err, ClusterError::BinariesMissing { .. }));
    let message = err.to_string();
    assert!(
        message.contains("/nonexistent/postgresql/bin") && message.contains("initdb"),
        "{message}"
    );
    assert!(!message.contains('\n'));
}

#[test]
fn a_taken_port_is_refused_before_anything_is_created() {
    let dir = scratch("port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = cluster_config(&dir);
    config.tcp = true;
    config.port = taken.local_addr().unwrap().port();
    let err = Cluster::new(config).unwrap().start().unwrap_err();
    assert!(matches!(err, ClusterError::PortTaken { .. }), "{err}");
    assert!(err
        .to_string()
        .contains(&taken.local_addr().unwrap().port().to_string()));
    assert!(!dir.join("pg").exists(), "nothing initialised");
}

#[test]
fn a_data_directory_of_another_owner_is_refused() {
    // pg → /usr, which belongs to root: neither root nor an ordinary user may run a cluster there.
    let dir = scratch("owner");
    std::os::unix::fs::symlink("/usr", dir.join("pg")).unwrap();
    let err = Cluster::new(cluster_config(&dir))
        .unwrap()
        .start()
        .unwrap_err();
    assert!(matches!(err, ClusterError::DataDirOwner { .. }), "{err}");
    assert!(err.to_string().contains("belongs to root"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Polls `sql` on `url` until it returns `want` (5 s at most).
async fn eventually(url: &str, sql: &str, want: i64) {
    let since = std::time::Instant::now();
    loop {
        let client = kvpt::db::connect(url).await.unwrap();
        let got: i64 = client.query_one(sql, &[]).await.unwrap().get(0);
        if got == want {
            return;
        }
        assert!(
            since.elapsed() < std::time::Duration::from_secs(5),
            "{sql}: {got}, not {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_streaming_standby_follows_the_cluster_read_only() {
    let dir = scratch("standby");
    let cluster = Cluster::new(cluster_config(&dir)).unwrap();
    let refused = cluster.start_standby().unwrap_err();
    assert!(
        refused.to_string().contains("the primary is not running"),
        "{refused}"
    );
    cluster.start().unwrap();
    let primary = kvpt::db::connect(&cluster.database_url()).await.unwrap();
    primary
        .batch_execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)")
        .await
        .unwrap();
    assert!(cluster.start_standby().unwrap(), "made and started");
    assert!(!cluster.start_standby().unwrap(), "already running");
    let standby = cluster.standby().unwrap();
    assert!(standby.socket_dir().starts_with(&dir));
    let url = standby.database_url();
    assert_eq!(
        scalar(&standby, "SELECT pg_is_in_recovery()::int::bigint").await,
        1
    );
    eventually(&url, "SELECT count(*) FROM kept", 1).await;
    // A write on the primary streams to the standby; the standby refuses writes.
    primary
        .batch_execute("INSERT INTO kept VALUES (2)")
        .await
        .unwrap();
    eventually(&url, "SELECT count(*) FROM kept", 2).await;
    let read_only = kvpt::db::connect(&url)
        .await
        .unwrap()
        .batch_execute("INSERT INTO kept VALUES (3)")
        .await
        .unwrap_err();
    assert!(
        format!("{read_only:?}").contains("read-only transaction"),
        "{read_only:?}"
    );
    // Stopped, it misses nothing: started again it catches up.
    assert!(standby.stop().unwrap());
    assert_eq!(standby.status().unwrap(), ClusterStatus::Stopped);
    primary
        .batch_execute("INSERT INTO kept VALUES (4)")
        .await
        .unwrap();
    assert!(cluster.start_standby().unwrap());
    eventually(&url, "SELECT count(*) FROM kept", 3).await;
    // The command line says the same.
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kvpt"))
        .args(["db", "standby", "status"])
        .env_remove("DATABASE_URL")
        .env("KVPT_DATA_DIR", &dir)
        .env("KVPT_PG_PORT", "5432")
        .env("KVPT_PG_BIN", &cluster_config(&dir).pg_bin)
        .env("KVPT_PG_USER", &cluster_config(&dir).run_as)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success()
            && said.starts_with("running, pid ")
            && said.contains("/standby/run"),
        "{status:?}"
    );
    drop(primary);
    assert!(standby.stop().unwrap());
    assert!(cluster.stop().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
