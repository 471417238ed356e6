//! One connection that LISTENs for what other processes change: the works the tiles show
//! and layer versions (for the tile cache), sessions or accounts (for the session cache),
//! and this process's own sync notices (`AppState::caught_up`). While it is down, both
//! caches step aside and requests ask the database, so nothing stale is ever served.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, NoTls};

use super::caller::SessionCache;
use super::tile_cache::{TileCache, TileChange};

/// Keeps both caches current from `config`'s database until the process ends,
/// reconnecting after a second when the connection drops.
pub async fn run(
    config: tokio_postgres::Config,
    tiles: Arc<TileCache>,
    sessions: Arc<SessionCache>,
) {
    loop {
        match listen_once(&config, &tiles, &sessions).await {
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
    tiles: &TileCache,
    sessions: &SessionCache,
) -> Result<(), crate::db::DbError> {
    let mut config = config.clone();
    config.application_name("kvpt-listener");
    config.connect_timeout(Duration::from_secs(5));
    // A connection that died silently (over TCP) is noticed in about a minute, not hours:
    // until then this process would keep tiles an edit elsewhere has changed.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    let (client, mut connection) = config.connect(NoTls).await?;
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
    // LISTEN before reading, so no change between the two is missed.
    crate::db::tiles::listen_for_changes(&client).await?;
    for (layer, version) in crate::db::tiles::layer_versions(&client).await? {
        tiles.saw_version(&layer, version);
    }
    tiles.reset();
    tiles.set_live(true);
    sessions.set_live(true);
    tracing::info!("listening for layer versions and session changes");
    while let Some((channel, payload)) = rx.recv().await {
        apply(&channel, &payload, tiles, sessions);
    }
    tiles.set_live(false);
    sessions.set_live(false);
    driver.abort();
    Ok(())
}

/// One notice, applied to the cache it is for.
fn apply(channel: &str, payload: &str, tiles: &TileCache, sessions: &SessionCache) {
    match channel {
        "kvpt_sessions" => sessions.clear(),
        "tile_change" => match TileChange::parse(payload) {
            Some(change) => tiles.apply(change),
            // Not understood: every site tile is dropped rather than one kept stale.
            None => tiles.apply(TileChange::All),
        },
        "kvpt_sync" => tiles.synced(payload),
        _ => {
            if let Some((layer, version)) = payload.rsplit_once(':') {
                if let Ok(version) = version.parse() {
                    tiles.saw_version(layer, version);
                }
            }
        }
    }
}
