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
