//! Tiles dropped where a work changed, not layer-wide (issue 22 §1): after an edit exactly
//! the tiles covering the work (per zoom, with the tile buffer) are made again, for the
//! clearances that could see it; every other tile is still answered from memory. Random
//! edits and reads never give a tile (of works, or of clusters) different from one made
//! afresh.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use kvpt::domain::{Classification, LayerGroup, UserRole};
use kvpt::spatial::tile::TileCoord;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;

use crate::common::{with_cookie, TestDb};

/// What the tile buffer is, as a share of the tile's width (tile_sites.sql's 64 of 4096).
const BUFFER: f64 = 64.0 / 4096.0;

struct Tile {
    status: StatusCode,
    etag: String,
    cache: String,
    body: Vec<u8>,
}

async fn fetch(app: &axum::Router, layer: &str, t: TileCoord) -> Tile {
    let uri = format!("/tiles/{layer}/{}/{}/{}.mvt", t.z, t.x, t.y);
    let response = app
        .clone()
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (etag, cache) = (header(header::ETAG.as_str()), header("x-cache"));
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Tile {
        status,
        etag,
        cache,
        body: body.to_vec(),
    }
}

/// A listening app and a router for each clearance (public: an anonymous visitor), once
/// the listener is connected.
async fn viewers(db: &TestDb) -> (kvpt::web::AppState, Vec<(Classification, axum::Router)>) {
    let state = kvpt::web::AppState::new(db.pool()).listening(db.config());
    let mut apps = vec![(Classification::Public, kvpt::web::router(state.clone()))];
    for (name, clearance) in [
        ("xem.noibo", Classification::Internal),
        ("xem.mat", Classification::Confidential),
        ("xem.toimat", Classification::Secret),
    ] {
        let cookie = db.sign_in(name, UserRole::Viewer, clearance, &[]).await;
        apps.push((
            clearance,
            with_cookie(kvpt::web::router(state.clone()), &cookie),
        ));
    }
    for _ in 0..100 {
        if state.tiles.is_live() {
            return (state, apps);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the listener did not connect");
}

/// A point work of `classification`: its code, layer and position in EPSG:4326 and 3857.
async fn point_work(
    client: &tokio_postgres::Client,
    classification: &str,
) -> (String, LayerGroup, (f64, f64), (f64, f64)) {
    let row = client
        .query_one(
            "SELECT s.code, k.layer_group, ST_X(s.geom), ST_Y(s.geom),
                    ST_X(ST_Transform(s.geom, 3857)), ST_Y(ST_Transform(s.geom, 3857))
               FROM site s JOIN site_kind k ON k.code = s.kind
              WHERE s.geom_family = 'point' AND s.classification = $1::text::classification
                AND k.layer_group IN ('defence_works', 'logistics', 'border_militia')
              ORDER BY s.id LIMIT 1",
            &[&classification],
        )
        .await
        .unwrap();
    let layer = LayerGroup::from_code(row.get(1)).unwrap();
    (
        row.get(0),
        layer,
        (row.get(2), row.get(3)),
        (row.get(4), row.get(5)),
    )
}

fn covers(t: TileCoord, (x, y): (f64, f64)) -> bool {
    let b = t.bounds_3857(BUFFER);
    b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3]
}

/// The 3×3 tiles around the one holding `lon`/`lat` at `z`.
fn around(lon: f64, lat: f64, z: u8) -> Vec<TileCoord> {
    let c = TileCoord::containing(lon, lat, z);
    let mut tiles = Vec::new();
    for dy in -1i64..=1 {
        for dx in -1i64..=1 {
            tiles.push(TileCoord {
                z,
                x: (i64::from(c.x) + dx) as u32,
                y: (i64::from(c.y) + dy) as u32,
            });
        }
    }
    tiles
}

fn codes(body: &[u8]) -> Vec<String> {
    if body.is_empty() {
        return Vec::new();
    }
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    reader
        .get_features(0)
        .unwrap()
        .into_iter()
        .filter_map(|f| match f.properties?.get("code")? {
            mvt_reader::feature::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_drops_exactly_the_tiles_covering_the_work() {
    let db = TestDb::with_demo(300, 41).await;
    let (state, apps) = viewers(&db).await;
    let secret = &apps[3].1;
    let client = db.client().await;
    let (code, layer, (lon, lat), mercator) = point_work(&client, "internal").await;
    let tiles: Vec<TileCoord> = (10..=14).flat_map(|z| around(lon, lat, z)).collect();
    let mut before = Vec::new();
    for t in &tiles {
        fetch(secret, layer.code(), *t).await;
        let warm = fetch(secret, layer.code(), *t).await;
        assert_eq!(warm.cache, "hit", "{t:?} kept");
        before.push(warm.etag);
    }
    client
        .execute(
            "UPDATE site SET name = name || ' (đã sửa)' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    state.caught_up().await;
    let mut dropped = 0;
    for (t, etag) in tiles.iter().zip(&before) {
        let now = fetch(secret, layer.code(), *t).await;
        if covers(*t, mercator) {
            dropped += 1;
            assert_eq!(now.cache, "miss", "{t:?} covers the work: made again");
            // A cluster's counts do not change with a name; a work's tile shows it.
            if t.z > kvpt::db::tiles::CLUSTER_MAX_ZOOM {
                assert_ne!(&now.etag, etag, "{t:?} shows the new name");
            } else {
                assert_eq!(&now.etag, etag, "{t:?}: the same counts, the same tag");
            }
        } else {
            assert_eq!(now.cache, "hit", "{t:?} does not cover the work: kept");
            assert_eq!(&now.etag, etag);
        }
    }
    assert!(dropped >= 5, "one tile per zoom at least");
    // A tile that does not cover it is answered from memory with the database gone.
    let far = tiles.iter().find(|t| !covers(**t, mercator)).unwrap();
    state.pool.close();
    let kept = fetch(secret, layer.code(), *far).await;
    assert!(
        matches!(kept.status, StatusCode::OK | StatusCode::NO_CONTENT),
        "from memory: {}",
        kept.status
    );
    assert_eq!(kept.cache, "hit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_work_drops_its_old_and_its_new_tiles() {
    let db = TestDb::with_demo(300, 42).await;
    let (state, apps) = viewers(&db).await;
    let secret = &apps[3].1;
    let client = db.client().await;
    let (code, layer, (lon, lat), _) = point_work(&client, "internal").await;
    let (new_lon, new_lat) = (lon + 0.08, lat - 0.05);
    let old = TileCoord::containing(lon, lat, 13);
    let new = TileCoord::containing(new_lon, new_lat, 13);
    assert_ne!(old, new);
    for t in [old, new, old, new] {
        fetch(secret, layer.code(), t).await;
    }
    assert!(codes(&fetch(secret, layer.code(), old).await.body).contains(&code));
    client
        .execute(
            "UPDATE site SET geom = ST_SetSRID(ST_MakePoint($2, $3), 4326) WHERE code = $1",
            &[&code, &new_lon, &new_lat],
        )
        .await
        .unwrap();
    state.caught_up().await;
    let (at_old, at_new) = (
        fetch(secret, layer.code(), old).await,
        fetch(secret, layer.code(), new).await,
    );
    assert_eq!(
        (at_old.cache.as_str(), at_new.cache.as_str()),
        ("miss", "miss")
    );
    assert!(
        !codes(&at_old.body).contains(&code),
        "gone from where it was"
    );
    assert!(codes(&at_new.body).contains(&code), "shown where it is");
}

/// The map filters by programme, which the works' tiles carry: a programme changed drops
/// the work's tile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_programme_change_drops_the_works_tiles() {
    let db = TestDb::with_demo(300, 44).await;
    let (state, apps) = viewers(&db).await;
    let secret = &apps[3].1;
    let client = db.client().await;
    let (code, layer, (lon, lat), _) = point_work(&client, "internal").await;
    let t = TileCoord::containing(lon, lat, 13);
    fetch(secret, layer.code(), t).await;
    assert_eq!(fetch(secret, layer.code(), t).await.cache, "hit");
    client
        .execute(
            "UPDATE site SET programme = CASE WHEN programme = 'mr7_roadmap' THEN 'kvpt_2021_2025'
                                              ELSE 'mr7_roadmap' END::programme WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    state.caught_up().await;
    assert_eq!(fetch(secret, layer.code(), t).await.cache, "miss");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classification_change_drops_tiles_only_for_the_clearances_that_see_it() {
    let db = TestDb::with_demo(300, 43).await;
    let (state, apps) = viewers(&db).await;
    let client = db.client().await;
    let (code, layer, (lon, lat), _) = point_work(&client, "internal").await;
    let t = TileCoord::containing(lon, lat, 12);
    for (_, app) in &apps {
        fetch(app, layer.code(), t).await;
    }
    client
        .execute(
            "UPDATE site SET classification = 'secret' WHERE code = $1",
            &[&code],
        )
        .await
        .unwrap();
    state.caught_up().await;
    // No database from here: a tile still good comes from memory, a dropped one cannot.
    state.pool.close();
    let mut from_memory = Vec::new();
    for (_, app) in &apps {
        from_memory
            .push(fetch(app, layer.code(), t).await.status != StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        from_memory,
        [true, false, false, false],
        "public never saw it: kept; internal and above: dropped"
    );
}

/// The tile as the app answers it now, and as PostgreSQL makes it afresh.
async fn served_and_fresh(
    app: &axum::Router,
    client: &deadpool_postgres::Object,
    layer: LayerGroup,
    t: TileCoord,
    clearance: Classification,
) -> (Tile, Vec<u8>) {
    let served = fetch(app, layer.code(), t).await;
    assert!(
        served.status == StatusCode::OK || served.status == StatusCode::NO_CONTENT,
        "{}",
        served.status
    );
    let fresh = if t.z <= kvpt::db::tiles::CLUSTER_MAX_ZOOM {
        let any = kvpt::params::tiles::TileFilter::default();
        kvpt::db::tiles::cluster_tile(client, layer, t, clearance, None, &any).await
    } else {
        kvpt::db::tiles::site_tile(client, layer, t, clearance, None).await
    }
    .unwrap();
    (served, fresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_works_at_once_a_bulk_load_and_a_reconnection_leave_no_stale_tile() {
    let db = TestDb::with_demo(400, 44).await;
    let (state, apps) = viewers(&db).await;
    let (clearance, secret) = (apps[3].0, &apps[3].1);
    let client = db.client().await;
    let fresh_pool = db.pool();
    let reader = fresh_pool.get().await.unwrap();
    let layer = LayerGroup::Logistics;
    let t = TileCoord::containing(106.1, 11.3, 9);
    let check = |what: &'static str| {
        let (secret, reader) = (secret.clone(), &reader);
        async move {
            let (served, fresh) = served_and_fresh(&secret, reader, layer, t, clearance).await;
            assert!(served.body == fresh, "{what}: the tile is the fresh one");
        }
    };
    check("warm").await;
    // More than 200 works in one transaction: the layer as a whole.
    client
        .execute(
            "UPDATE site SET name = name || '·' WHERE kind IN (SELECT code FROM site_kind WHERE layer_group = 'logistics')",
            &[],
        )
        .await
        .unwrap();
    state.caught_up().await;
    check("many works").await;
    // A bulk load (the demo's and a large import's way): every site layer.
    client
        .batch_execute(
            "BEGIN; SET LOCAL kvpt.bulk = 'on';
             UPDATE site SET progress_pct = 99 - progress_pct
              WHERE kind IN (SELECT code FROM site_kind WHERE layer_group = 'logistics')
                AND status NOT IN ('completed', 'handed_over') AND progress_pct < 100;
             SELECT bulk_load_done(); COMMIT",
        )
        .await
        .unwrap();
    state.caught_up().await;
    check("bulk load").await;
    // The listener loses its connection; an edit is made meanwhile; it connects again.
    client
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name = 'kvpt-listener' AND datname = current_database()",
        )
        .await
        .unwrap();
    for _ in 0..100 {
        if !state.tiles.is_live() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    client
        .execute(
            "UPDATE site SET name = 'Kho đổi khi không nghe' WHERE id = (
               SELECT s.id FROM site s JOIN site_kind k ON k.code = s.kind
                WHERE k.layer_group = 'logistics'
                  AND ST_Intersects(ST_Transform(s.geom, 3857), ST_TileEnvelope($1, $2, $3))
                ORDER BY s.id LIMIT 1)",
            &[&i32::from(t.z), &(t.x as i32), &(t.y as i32)],
        )
        .await
        .unwrap();
    check("while the listener is away").await;
    for _ in 0..100 {
        if state.tiles.is_live() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(state.tiles.is_live(), "the listener connected again");
    check("after it connected again").await;
}

/// Random edits (names, percents, moves, classifications, deletions) made as another
/// process would, and random reads of tiles near them by every clearance: each tile read
/// is byte for byte the one PostgreSQL makes afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_never_leave_a_tile_different_from_a_fresh_one() {
    let db = TestDb::with_demo(250, 45).await;
    let (state, apps) = viewers(&db).await;
    let client = db.client().await;
    let fresh_pool = db.pool();
    let reader = fresh_pool.get().await.unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(22);
    // The works of one area, and the tiles over it at zooms 10 to 14.
    let works: Vec<(i64, LayerGroup, f64, f64)> = client
        .query(
            "SELECT s.id, k.layer_group, ST_X(p), ST_Y(p)
               FROM site s JOIN site_kind k ON k.code = s.kind,
                    ST_PointOnSurface(s.geom) p
              WHERE ST_DWithin(p, ST_SetSRID(ST_MakePoint(106.1, 11.3), 4326), 0.15)
              ORDER BY s.id LIMIT 40",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                LayerGroup::from_code(r.get(1)).unwrap(),
                r.get(2),
                r.get(3),
            )
        })
        .collect();
    assert!(works.len() >= 20, "enough works near the city");
    // Few enough tiles that reads come back to them: the cache is what is tested.
    let mut tiles = Vec::new();
    for (_, layer, lon, lat) in works.iter().take(12) {
        // Clusters (9, 10) and works (11 to 13).
        for z in layer.min_zoom().max(9)..=13 {
            tiles.push((*layer, TileCoord::containing(*lon, *lat, z)));
        }
        // Where moves take it (empty at first, perhaps): answered from the occupancy.
        for z in layer.min_zoom().max(11)..=13 {
            tiles.push((*layer, TileCoord::containing(lon + 0.03, lat - 0.024, z)));
        }
    }
    let (mut reads, mut edits, mut hits) = (0, 0, 0);
    for _ in 0..800 {
        if rng.random_bool(0.25) {
            let (id, ..) = works[rng.random_range(0..works.len())];
            let sql = match rng.random_range(0..5) {
                0 => "UPDATE site_all SET name = name || '*' WHERE id = $1",
                1 => "UPDATE site_all SET progress_pct = (progress_pct + 7) % 100
                      WHERE id = $1 AND status NOT IN ('completed', 'handed_over')",
                2 => "UPDATE site_all SET geom = ST_Translate(geom, 0.01, -0.008) WHERE id = $1",
                3 => "UPDATE site_all SET classification = CASE classification
                        WHEN 'public' THEN 'secret' WHEN 'secret' THEN 'internal'
                        WHEN 'internal' THEN 'confidential' ELSE 'public' END::classification
                      WHERE id = $1",
                _ => "UPDATE site_all SET deleted_at = CASE WHEN deleted_at IS NULL THEN now() END WHERE id = $1",
            };
            client.execute(sql, &[&id]).await.unwrap();
            state.caught_up().await;
            edits += 1;
        } else {
            let (layer, t) = tiles[rng.random_range(0..tiles.len())];
            let (clearance, app) = &apps[rng.random_range(0..apps.len())];
            let (served, fresh) = served_and_fresh(app, &reader, layer, t, *clearance).await;
            assert!(
                served.body == fresh,
                "{layer:?} {t:?} at {clearance:?} after {edits} edits: not the fresh tile"
            );
            reads += 1;
            if served.cache == "hit" {
                hits += 1;
            }
        }
    }
    // Secret callers are told hits: some reads came from memory, so the check is real.
    assert!(
        reads > 500 && edits > 140 && hits > 20,
        "{reads} reads ({hits} hits told), {edits} edits"
    );
}

/// Waits until the listener knows where `layer`'s works are (it reads them once connected):
/// `far` (a tile no work is near) is then known empty.
async fn occupancy_known(state: &kvpt::web::AppState, layer: LayerGroup, far: TileCoord) {
    for _ in 0..200 {
        if state.tiles.is_empty_site(layer, far) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the listener did not read where {layer:?}'s works are");
}

/// A tile no work of its layer comes near is answered empty from memory (the listener
/// keeps where each layer has works, issue 22 §3), for every clearance; a work that comes
/// near, alone or with hundreds of others in one transaction, is on the next tile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_tiles_are_answered_from_memory_until_a_work_comes_near() {
    let db = TestDb::with_demo(2000, 46).await;
    let (state, apps) = viewers(&db).await;
    let client = db.client().await;
    let (code, layer, _, _) = point_work(&client, "secret").await;
    // In Bình Dương, east of the province: no demo work is there (asserted below).
    let (lon, lat) = (106.75, 10.95);
    let target = TileCoord::containing(lon, lat, 14);
    occupancy_known(&state, layer, target).await;
    for (clearance, app) in &apps {
        let tile = fetch(app, layer.code(), target).await;
        assert_eq!(tile.status, StatusCode::NO_CONTENT, "{clearance:?}: empty");
    }
    // One secret work moved there: its tile shows it to those cleared, nothing to the rest.
    client
        .execute(
            "UPDATE site SET geom = ST_SetSRID(ST_MakePoint($2, $3), 4326) WHERE code = $1",
            &[&code, &lon, &lat],
        )
        .await
        .unwrap();
    state.caught_up().await;
    assert!(
        !state.tiles.is_empty_site(layer, target),
        "marked by the notice"
    );
    for (clearance, app) in &apps {
        let tile = fetch(app, layer.code(), target).await;
        let seen = codes(&tile.body).contains(&code);
        assert_eq!(seen, *clearance == Classification::Secret, "{clearance:?}");
    }
    // 250 works of the layer moved beside it in one transaction (a whole-layer notice):
    // the next tile has them, whether the occupancy is being read again or is read.
    let next = TileCoord {
        x: target.x + 2,
        ..target
    };
    let b = next.bounds_3857(0.0);
    let (x, y) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    assert_eq!(
        fetch(&apps[3].1, layer.code(), next).await.status,
        StatusCode::NO_CONTENT
    );
    let moved = client
        .execute(
            "UPDATE site SET geom = ST_Transform(ST_SetSRID(ST_MakePoint($1::float8 + id % 17, $2::float8 + id % 13), 3857), 4326),
                             classification = 'public'
              WHERE id IN (SELECT s.id FROM site s JOIN site_kind k ON k.code = s.kind
                            WHERE k.layer_group = $3 AND s.geom_family = 'point'
                            ORDER BY s.id LIMIT 250)",
            &[&x, &y, &layer.code()],
        )
        .await
        .unwrap();
    assert!(
        moved > 200,
        "{moved} works moved: more than one notice each can carry"
    );
    state.caught_up().await;
    for (clearance, app) in &apps {
        let tile = fetch(app, layer.code(), next).await;
        assert_eq!(codes(&tile.body).len() as u64, moved, "{clearance:?}");
    }
    // Read again, the occupancy answers the tiles far from everything from memory: with the
    // database gone, an empty tile is still a 204 for everyone.
    let far = TileCoord {
        y: target.y + 40,
        ..target
    };
    occupancy_known(&state, layer, far).await;
    state.pool.close();
    for (clearance, app) in &apps {
        let tile = fetch(app, layer.code(), far).await;
        assert_eq!(
            tile.status,
            StatusCode::NO_CONTENT,
            "{clearance:?}, from memory"
        );
    }
}
