//! One connection that LISTENs for what other processes change: the works the tiles show
//! and layer versions (for the tile cache), sessions or accounts (for the session cache),
//! and this process's own sync notices (`AppState::caught_up`). While it is down, both
//! caches step aside and requests ask the database, so nothing stale is ever served.
//!
//! After applying notices, and five times a second, it reads the primary's WAL position
//! and confirms it (`web::freshness`): every notice sent before then has been applied.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use super::caller::SessionCache;
use super::freshness::Freshness;
use super::tile_cache::{TileCache, TileChange};
use crate::domain::LayerGroup;

/// Keeps both caches current from `config`'s database until the process ends,
/// reconnecting after a second when the connection drops.
pub async fn run(
    config: tokio_postgres::Config,
    tiles: Arc<TileCache>,
    sessions: Arc<SessionCache>,
    freshness: Arc<Freshness>,
) {
    loop {
        match listen_once(&config, &tiles, &sessions, &freshness).await {
            Ok(()) => tracing::warn!("listener: connection closed"),
            Err(err) => tracing::warn!(error = %err, "listener: cannot listen"),
        }
        tiles.set_live(false);
        sessions.set_live(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    tiles: &Arc<TileCache>,
    sessions: &SessionCache,
    freshness: &Freshness,
) -> Result<(), crate::db::DbError> {
    let mut config = config.clone();
    config.application_name("kvpt-listener");
    config.connect_timeout(Duration::from_secs(5));
    // A connection that died silently (over TCP) is noticed in about a minute, not hours:
    // until then this process would keep tiles an edit elsewhere has changed.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    let (client, mut connection) = config.connect(NoTls).await?;
    let client = Arc::new(client);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx
                        .send((n.channel().to_string(), n.payload().to_string()))
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!(error = %err, "listener connection");
                    break;
                }
            }
        }
    });
    freshness.pending();
    // LISTEN before reading, so no change between the two is missed.
    crate::db::tiles::listen_for_changes(&client).await?;
    for (layer, version) in crate::db::tiles::layer_versions(&client).await? {
        tiles.saw_version(&layer, version);
    }
    tiles.reset();
    tiles.set_live(true);
    sessions.set_live(true);
    tracing::info!("listening for layer versions and session changes");
    let rereads = Arc::new(Rereads::default());
    let reader = read_occupancy(client.clone(), tiles.clone(), rereads.clone());
    let reader = tokio::spawn(reader);
    rereads.ask(ALL_LAYERS);
    let result = follow(&mut rx, &client, tiles, sessions, freshness, &rereads).await;
    freshness.pending();
    tiles.set_live(false);
    sessions.set_live(false);
    reader.abort();
    driver.abort();
    result
}

/// Applies notices as they come; after each batch, and five times a second, confirms the
/// primary's position (see `freshness`). Returns when the connection ends.
async fn follow(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    client: &tokio_postgres::Client,
    tiles: &TileCache,
    sessions: &SessionCache,
    freshness: &Freshness,
    rereads: &Rereads,
) -> Result<(), crate::db::DbError> {
    let mut tick = tokio::time::interval(CONFIRM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some((channel, payload)) => {
                    freshness.pending();
                    rereads.ask(apply(&channel, &payload, tiles, sessions));
                }
                None => break Ok(()),
            },
            _ = tick.tick() => {}
        }
        // What the server sent before the position's answer is in `rx` by then (one
        // connection, read in order): applied, then the position confirmed (the floor
        // moves only if no notice came after the position was asked).
        while let Ok((channel, payload)) = rx.try_recv() {
            freshness.pending();
            rereads.ask(apply(&channel, &payload, tiles, sessions));
        }
        let since = freshness.generation();
        let lsn = match crate::db::replicas::current_lsn(client).await {
            Ok(lsn) => lsn,
            Err(err) => break Err(err),
        };
        while let Ok((channel, payload)) = rx.try_recv() {
            freshness.pending();
            rereads.ask(apply(&channel, &payload, tiles, sessions));
        }
        freshness.confirm(lsn, since);
    }
}

/// How often the listener confirms its position when no notice comes.
const CONFIRM_EVERY: Duration = Duration::from_millis(200);

/// The site layers whose occupancy is to be read again, one bit each (`LayerGroup::ALL`'s
/// order), and what wakes the reader.
#[derive(Default)]
struct Rereads {
    layers: AtomicU32,
    wake: tokio::sync::Notify,
}

const ALL_LAYERS: u32 = (1 << LayerGroup::ALL.len()) - 1;

impl Rereads {
    fn ask(&self, layers: u32) {
        if layers != 0 {
            self.layers.fetch_or(layers, Ordering::AcqRel);
            self.wake.notify_one();
        }
    }
}

/// Reads the layers asked for from PostgreSQL into the tile cache's occupancy, on the
/// listener's connection, while the listener goes on applying notices (those that arrive
/// during a read are marked on it). Asks that come while it reads are read next, together.
async fn read_occupancy(
    client: Arc<tokio_postgres::Client>,
    tiles: Arc<TileCache>,
    rereads: Arc<Rereads>,
) {
    loop {
        rereads.wake.notified().await;
        let layers = rereads.layers.swap(0, Ordering::AcqRel);
        for (i, layer) in LayerGroup::ALL.iter().enumerate() {
            if layers & (1 << i) == 0 {
                continue;
            }
            let generation = tiles.occupancy().reading(*layer);
            match crate::db::tiles::work_boxes(&client, *layer).await {
                Ok(boxes) => tiles.occupancy().read(*layer, generation, &boxes),
                // Left unknown: its tiles go to PostgreSQL until the next read.
                Err(err) => {
                    tracing::warn!(error = %err, layer = layer.code(), "listener: cannot read where the works are")
                }
            }
        }
    }
}

/// One notice, applied to the cache it is for; the site layers whose occupancy is to be
/// read again (a bit each).
fn apply(channel: &str, payload: &str, tiles: &TileCache, sessions: &SessionCache) -> u32 {
    match channel {
        "kvpt_sessions" => sessions.clear(),
        "tile_change" => {
            // Not understood: every site tile is dropped rather than one kept stale.
            let change = TileChange::parse(payload).unwrap_or(TileChange::All);
            tiles.apply(change);
            return match change {
                TileChange::All => ALL_LAYERS,
                TileChange::Layer(layer, _) => {
                    1 << LayerGroup::ALL
                        .iter()
                        .position(|g| *g == layer)
                        .unwrap_or_default()
                }
                TileChange::Area { .. } => 0,
            };
        }
        "kvpt_sync" => tiles.synced(payload),
        _ => {
            if let Some((layer, version)) = payload.rsplit_once(':') {
                if let Ok(version) = version.parse() {
                    tiles.saw_version(layer, version);
                }
            }
        }
    }
    0
}
