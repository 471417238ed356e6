//! Read replicas (issue 23 §3): a primary, its streaming standby (`kvpt db standby`), and
//! two kvpt instances over them as behind a load balancer (A reads the primary, B reads
//! through the standby). B reads from the standby when nothing fresher is asked; an update
//! through A is on B's next item and tile even while the standby has not replayed it; a
//! write through B is on B's next read; the standby stopped, B serves from the primary
//! with no 5xx and /readyz says so; back, it is read from again.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use kvpt::db::replicas::{ReplicaHealth, Replicas};
use kvpt::spatial::tile::TileCoord;
use kvpt::web::AppState;

use crate::common::{call, call_bytes, request};
use crate::faults::{loaded_cluster, scratch};

/// Waits (10 s at most) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn reads(state: &AppState) -> u64 {
    state.replicas.list()[0].reads()
}

fn health(state: &AppState) -> ReplicaHealth {
    state.replicas.list()[0].health().0
}

/// A work's percent as an items page shows it through `app`.
async fn item_percent(app: &axum::Router, cookie: &str, layer: &str, code: &str) -> i64 {
    let uri = format!("/collections/{layer}/items/{code}?f=json");
    let (status, _, body) = request(app, &uri, &[("cookie", cookie)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let feature: serde_json::Value = serde_json::from_str(&body).unwrap();
    feature["properties"]["percent"]
        .as_i64()
        .expect("a percent")
}

/// A work's percent as a z14 tile shows it through `app` (`None`: not in the tile).
async fn tile_percent(
    app: &axum::Router,
    cookie: &str,
    layer: &str,
    code: &str,
    t: TileCoord,
) -> Option<i64> {
    let uri = format!("/tiles/{layer}/{}/{}/{}.mvt", t.z, t.x, t.y);
    let (status, _, body) = call_bytes(app, "GET", &uri, &[("cookie", cookie)], "").await;
    assert_eq!(status, StatusCode::OK);
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    reader.get_features(0).unwrap().into_iter().find_map(|f| {
        let properties = f.properties?;
        match properties.get("code")? {
            mvt_reader::feature::Value::String(s) if s == code => {}
            _ => return None,
        }
        match properties.get("percent")? {
            mvt_reader::feature::Value::Int(n) | mvt_reader::feature::Value::SInt(n) => Some(*n),
            mvt_reader::feature::Value::UInt(n) => Some(*n as i64),
            other => panic!("percent {other:?}"),
        }
    })
}

/// Raises a work's percent by one through `app`: the new percent and the WAL position the
/// reply names (header and cookie alike).
async fn raise(app: &axum::Router, session: &str, csrf: &str, code: &str) -> (i64, String) {
    let path = format!("/api/sites/{code}/progress");
    let (_, _, body) = request(app, &path, &[("cookie", session)]).await;
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    let percent = state["percent"].as_i64().unwrap() + 1;
    let body = serde_json::json!({"version": state["version"], "percent": percent}).to_string();
    let headers = [
        ("cookie", session),
        ("x-csrf-token", csrf),
        ("content-type", "application/json"),
    ];
    let (status, headers, answer) = call(app, "PATCH", &path, &headers, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let lsn = headers["kvpt-lsn"].to_str().unwrap().to_string();
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("kvpt_lsn="))
        .expect("the position's cookie");
    assert!(cookie.starts_with(&format!("kvpt_lsn={lsn};")), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Max-Age=65"),
        "{cookie}"
    );
    (percent, lsn)
}

async fn standby_percent(standby: &tokio_postgres::Client, code: &str) -> i64 {
    standby
        .query_one(
            "SELECT progress_pct::int8 FROM site WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0)
}

async fn readyz(app: &axum::Router) -> (StatusCode, serde_json::Value) {
    let (status, _, body) = request(app, "/readyz", &[]).await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_read_through_a_standby_and_never_see_less_than_was_written() {
    let dir = scratch("replicas");
    let (cluster, url, token, codes, _) = loaded_cluster(&dir).await;
    assert!(cluster.start_standby().unwrap());
    let standby = cluster.standby().unwrap();
    let standby_url = standby.database_url();
    let config: tokio_postgres::Config = url.parse().unwrap();
    let pool = kvpt::db::pool(&url).unwrap();
    let a_state = AppState::new(pool.clone()).listening(config.clone());
    let replicas = Replicas::from_urls(&standby_url, Duration::from_secs(5)).unwrap();
    let b_state = AppState::new(pool.clone())
        .replicas(replicas)
        .listening(config);
    let (a, b) = (
        kvpt::web::router(a_state.clone()),
        kvpt::web::router(b_state.clone()),
    );
    until("B's standby ready and both listening", || {
        health(&b_state) == ReplicaHealth::Ready
            && a_state.tiles.is_live()
            && b_state.tiles.is_live()
    })
    .await;
    let session = format!("kvpt_session={token}");
    let (_, _, me) = request(&a, "/api/me", &[("cookie", &session)]).await;
    let csrf = serde_json::from_str::<serde_json::Value>(&me).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let primary = kvpt::db::connect(&url).await.unwrap();
    let row = primary
        .query_one(
            "SELECT code, layer_group, ST_X(geom), ST_Y(geom) FROM site
              WHERE code = ANY($1) AND geom_family = 'point' ORDER BY code LIMIT 1",
            &[&codes],
        )
        .await
        .unwrap();
    let (code, layer): (String, String) = (row.get(0), row.get(1));
    let tile = TileCoord::containing(row.get(2), row.get(3), 14);
    let standby_client = kvpt::db::connect(&standby_url).await.unwrap();

    // Nothing fresher asked: B reads the standby.
    let before = reads(&b_state);
    let start = item_percent(&b, &session, &layer, &code).await;
    assert_eq!(
        tile_percent(&b, &session, &layer, &code, tile).await,
        Some(start)
    );
    assert!(
        reads(&b_state) >= before + 2,
        "item and tile read from the standby"
    );
    assert_eq!(a_state.replicas.list().len(), 0);

    // The standby stops replaying: an update through A is on B's next item and tile for
    // the client that made it (its position travels with it), though not on the standby.
    standby_client
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    let (raised, lsn) = raise(&a, &session, &csrf, &code).await;
    assert_eq!(raised, start + 1);
    assert_eq!(
        standby_percent(&standby_client, &code).await,
        start,
        "not replayed"
    );
    let with_lsn = format!("{session}; kvpt_lsn={lsn}");
    assert_eq!(item_percent(&b, &with_lsn, &layer, &code).await, raised);
    assert_eq!(
        tile_percent(&b, &with_lsn, &layer, &code, tile).await,
        Some(raised)
    );
    // An API client sends the position in a header instead.
    let (status, _, body) = request(
        &b,
        &format!("/collections/{layer}/items/{code}?f=json"),
        &[("cookie", &session), ("kvpt-min-lsn", &lsn)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&format!("\"percent\":{raised}")), "{body}");
    // Anyone else, once B has read the change's notice (and the primary has written past
    // it: a position is confirmed strictly after): B's tiles are never older than
    // what its cache was told of, so nothing is made on a standby that has not replayed it.
    primary
        .batch_execute("SELECT txid_current()")
        .await
        .unwrap();
    until("B's listener confirmed past the update", || {
        b_state
            .freshness
            .covers(kvpt::db::replicas::parse_lsn(&lsn).unwrap())
    })
    .await;
    assert_eq!(
        tile_percent(&b, &session, &layer, &code, tile).await,
        Some(raised)
    );

    // Replaying again, the standby is read from again and shows it.
    standby_client
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    let started = Instant::now();
    while standby_percent(&standby_client, &code).await != raised {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "standby replays"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = reads(&b_state);
    assert_eq!(item_percent(&b, &with_lsn, &layer, &code).await, raised);
    assert_eq!(reads(&b_state), before + 1, "read from the standby again");

    // A write through B is on B's next read, the standby paused again.
    standby_client
        .batch_execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    let (raised, lsn) = raise(&b, &session, &csrf, &code).await;
    let with_lsn = format!("{session}; kvpt_lsn={lsn}");
    assert_eq!(item_percent(&b, &with_lsn, &layer, &code).await, raised);
    assert_eq!(
        tile_percent(&b, &with_lsn, &layer, &code, tile).await,
        Some(raised)
    );
    let dashboard = "/dashboard?lang=en";
    let (status, _, _) = request(&b, dashboard, &[("cookie", &with_lsn)]).await;
    assert_eq!(status, StatusCode::OK);
    standby_client
        .batch_execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    drop(standby_client);

    // The standby stopped: B serves from the primary, no 5xx, and /readyz says so.
    assert!(standby.stop().unwrap());
    let elsewhere = TileCoord {
        x: tile.x + 1,
        ..tile
    };
    for uri in [
        format!("/collections/{layer}/items?f=json&limit=20"),
        format!("/collections/{layer}/items/{code}?f=json"),
        format!(
            "/tiles/{layer}/{}/{}/{}.mvt",
            elsewhere.z, elsewhere.x, elsewhere.y
        ),
        "/dashboard?lang=en".to_string(),
        "/?lang=en".to_string(),
        "/exports/sites.geojson?profile=qk7".to_string(),
    ] {
        let headers = [("cookie", session.as_str()), ("accept", "text/html")];
        let (status, _, _) = call_bytes(&b, "GET", &uri, &headers, "").await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NO_CONTENT,
            "{uri}: {status}"
        );
    }
    until("the stopped standby seen down", || {
        matches!(health(&b_state), ReplicaHealth::Down(_))
    })
    .await;
    let (status, ready) = readyz(&b).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["replicas"][0]["state"], "down", "{ready}");
    assert_eq!(item_percent(&b, &session, &layer, &code).await, raised);

    // Back, it is read from again.
    assert!(cluster.start_standby().unwrap());
    until("the standby ready again", || {
        health(&b_state) == ReplicaHealth::Ready
    })
    .await;
    let (_, ready) = readyz(&b).await;
    assert_eq!(ready["replicas"][0]["state"], "ready", "{ready}");
    let before = reads(&b_state);
    assert_eq!(item_percent(&b, &session, &layer, &code).await, raised);
    assert_eq!(reads(&b_state), before + 1, "read from the standby again");

    drop(primary);
    pool.close();
    assert!(standby.stop().unwrap());
    assert!(cluster.stop().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}
