//! Tiles kept in memory, so a repeated tile (or a 304) is answered without touching the
//! database.
//!
//! Site tiles are dropped where their works change, not layer-wide (issue 22): every change
//! to what a site tile shows is notified on `tile_change` with the work's box before and
//! after (sql/migrations/0030_tile_changes.sql). The listener (`listener.rs`) numbers each
//! change as it applies it; a cached tile remembers up to which change it is known good,
//! and before it is served again the changes since are checked against its area (with the
//! tile's buffer), its layer and its caller's clearance: one that meets it drops it, else
//! it is good up to now. A change to a whole layer (a bulk load, many works in one
//! transaction) moves that layer's epoch, part of every key. Context tiles are keyed by
//! their layer's data version (`layer_version`, notified on `layer_version`).
//!
//! While the listener is down, site tiles are made afresh and not kept; when it connects
//! again every key moves (changes were missed meanwhile).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;

use super::tile_occupancy::Occupancy;
use crate::domain::{Classification, LayerGroup};
use crate::spatial::tile::TileCoord;

/// What a site tile's query reads around the tile, as a share of its width (the 64 of
/// 4096 of tile_sites.sql), and a little more for rounding.
const TILE_BUFFER: f64 = 64.0 / 4096.0 + 1e-6;

/// The changes kept for checking cached tiles; a tile last known good before the oldest
/// is dropped.
const CHANGES_KEPT: usize = 1 << 16;

/// A change to the site tiles, as `tile_change` notifies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TileChange {
    /// Every site layer (a bulk load; the districts or neighbours reloaded).
    All,
    /// One site layer as a whole for callers who see `Classification` (many works of it
    /// changed at once); callers below it keep their tiles.
    Layer(LayerGroup, Classification),
    /// The works of `layer` at `classification` within `bbox` (EPSG:3857, [xmin, ymin,
    /// xmax, ymax]): a work as it was, or as it is.
    Area {
        layer: LayerGroup,
        classification: Classification,
        bbox: [f64; 4],
    },
}

impl TileChange {
    /// From a notice: `*`, `layer|*` (every caller), `layer|classification|*` or
    /// `layer|classification|xmin|ymin|xmax|ymax`.
    pub fn parse(payload: &str) -> Option<Self> {
        if payload == "*" {
            return Some(Self::All);
        }
        let mut parts = payload.split('|');
        let layer = LayerGroup::from_code(parts.next()?)?;
        let second = parts.next()?;
        if second == "*" {
            return Some(Self::Layer(layer, Classification::Public));
        }
        let classification = Classification::from_code(second)?;
        let mut rest = parts.clone();
        if rest.next() == Some("*") && rest.next().is_none() {
            return Some(Self::Layer(layer, classification));
        }
        let mut bbox = [0.0; 4];
        for value in &mut bbox {
            *value = parts.next()?.parse().ok()?;
        }
        Some(Self::Area {
            layer,
            classification,
            bbox,
        })
    }
}

/// A change of an area, numbered in the order this process applied it.
#[derive(Debug, Clone, Copy)]
struct Applied {
    number: u64,
    layer: usize,
    classification: Classification,
    bbox: [f64; 4],
}

/// A site layer's epoch for callers cleared to `clearance`: its place in `TileCache::epochs`.
fn epoch_index(layer: LayerGroup, clearance: Classification) -> usize {
    let c = Classification::ALL
        .iter()
        .position(|x| *x == clearance)
        .unwrap_or_default();
    layer_index(layer) * Classification::ALL.len() + c
}

fn layer_index(layer: LayerGroup) -> usize {
    LayerGroup::ALL
        .iter()
        .position(|g| *g == layer)
        .unwrap_or_default()
}

fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// The versions what a caller cleared to `clearance` sees of a site layer (`Some`) or of
/// the budget (`None`) moves with: one per classification they may see
/// ("defence_works@public", …). A change to a work above their clearance moves none of them.
pub fn seen_versions(layer: Option<LayerGroup>, clearance: Classification) -> &'static [String] {
    // [layer (the site layers, then the budget)][clearance] → names.
    static NAMES: std::sync::LazyLock<Vec<Vec<Vec<String>>>> = std::sync::LazyLock::new(|| {
        let layers = LayerGroup::ALL.iter().map(|g| g.code()).chain(["budget"]);
        layers
            .map(|layer| {
                (0..Classification::ALL.len())
                    .map(|i| {
                        Classification::ALL[..=i]
                            .iter()
                            .map(|below| format!("{layer}@{}", below.code()))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    });
    let l = layer
        .and_then(|g| LayerGroup::ALL.iter().position(|x| *x == g))
        .unwrap_or(LayerGroup::ALL.len());
    let c = Classification::ALL
        .iter()
        .position(|x| *x == clearance)
        .unwrap_or(0);
    &NAMES[l][c]
}

/// What identifies one cached tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub layer: &'static str,
    /// A site layer's epoch ([`TileCache::epoch`]), a context layer's data version.
    pub version: i64,
    pub clearance: &'static str,
    /// Days since 1970 of the as-of date; 0 for the current state.
    pub as_of: i32,
    /// A cluster tile's filter ([`crate::params::tiles::TileFilter::key`]).
    pub filter: Option<Box<str>>,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A tile as PostgreSQL made it (gzipped once, when first asked), so no request compresses it again,
/// with its `ETag`, made once from its bytes: the tag changes only when what the caller
/// can see in the tile does (a counter of the layer's writes would also move with works
/// above their clearance, and show anonymous visitors how often those change).
#[derive(Debug, Clone)]
pub struct CachedTile {
    pub raw: Bytes,
    /// Gzipped the first time a client asks for gzip (many GIS clients never do).
    gzip: Arc<std::sync::OnceLock<Bytes>>,
    pub etag: axum::http::HeaderValue,
    /// The number of the last change this tile is known to be good after.
    good_after: Arc<AtomicU64>,
}

impl CachedTile {
    pub fn new(raw: Bytes) -> Self {
        use sha2::Digest;
        // Weak: the gzip and identity encodings of one tile share it. 128 bits of SHA-256.
        let digest = sha2::Sha256::digest(&raw);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = axum::http::HeaderValue::from_str(&format!("W/\"{hex}\""))
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("W/\"0\""));
        Self {
            raw,
            gzip: Arc::new(std::sync::OnceLock::new()),
            etag,
            good_after: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The tile gzipped, made once (then kept with the tile).
    pub fn gzip(&self) -> Bytes {
        use std::io::Write;
        self.gzip
            .get_or_init(|| {
                if self.raw.is_empty() {
                    return Bytes::new();
                }
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.raw.len() / 2),
                    flate2::Compression::new(6),
                );
                // Writing to a Vec cannot fail.
                let _ = encoder.write_all(&self.raw);
                Bytes::from(encoder.finish().unwrap_or_default())
            })
            .clone()
    }

    /// This tile, made from data read after change `mark` ([`TileCache::mark`], taken
    /// before the query began) was applied.
    pub fn made_after(self, mark: u64) -> Self {
        self.good_after.store(mark, Ordering::Release);
        self
    }
}

#[derive(Clone)]
struct ByteWeight;

impl quick_cache::Weighter<TileKey, CachedTile> for ByteWeight {
    fn weight(&self, _key: &TileKey, tile: &CachedTile) -> u64 {
        // Empty tiles still cost their key; room for the gzipped copy (about a third).
        (tile.raw.len() + tile.raw.len() / 3) as u64 + 64
    }
}

pub struct TileCache {
    tiles: quick_cache::sync::Cache<TileKey, CachedTile, ByteWeight>,
    versions: RwLock<HashMap<String, i64>>,
    live: AtomicBool,
    /// The changes of areas applied, oldest first, at most [`CHANGES_KEPT`].
    changes: RwLock<VecDeque<Applied>>,
    /// The number of the last change applied.
    applied: AtomicU64,
    /// Each site layer's epoch for each clearance (see `epoch_index`).
    epochs: Vec<AtomicU64>,
    /// Who waits for the listener to read their sync notice, by its token.
    waiters: Mutex<HashMap<String, tokio::sync::oneshot::Sender<()>>>,
    /// Where each site layer has works: a tile far from all is empty.
    occupancy: Occupancy,
}

impl TileCache {
    /// A cache holding up to `bytes` of tiles.
    pub fn new(bytes: u64) -> Self {
        Self {
            tiles: quick_cache::sync::Cache::with_weighter(
                (bytes / 4096).max(16) as usize,
                bytes.max(1),
                ByteWeight,
            ),
            versions: RwLock::new(HashMap::new()),
            live: AtomicBool::new(false),
            changes: RwLock::new(VecDeque::new()),
            applied: AtomicU64::new(0),
            epochs: (0..LayerGroup::ALL.len() * Classification::ALL.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            waiters: Mutex::new(HashMap::new()),
            occupancy: Occupancy::default(),
        }
    }

    /// Where each site layer has works (kept by the listener).
    pub fn occupancy(&self) -> &Occupancy {
        &self.occupancy
    }

    /// True when `layer`'s current tile at `coord` is known to be empty for everyone: no
    /// work of the layer lies within it or its buffer (a work tiles (zoom 11 on), current state).
    pub fn is_empty_site(&self, layer: LayerGroup, coord: TileCoord) -> bool {
        self.is_live()
            && self
                .occupancy
                .is_empty(layer, &coord.bounds_3857(TILE_BUFFER))
    }

    /// Whether the listener is connected: site tiles are kept only then.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// A site layer's epoch for callers cleared to `clearance`: it moves when the whole
    /// layer changes at a classification they see.
    pub fn epoch(&self, layer: LayerGroup, clearance: Classification) -> i64 {
        self.epochs[epoch_index(layer, clearance)].load(Ordering::Acquire) as i64
    }

    /// The number of the last change applied: taken before a tile's query begins, so
    /// every change its data may lack comes after it.
    pub fn mark(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Applies a change the listener read (or, in tests, one made up).
    pub fn apply(&self, change: TileChange) {
        match change {
            TileChange::All => {
                for layer in LayerGroup::ALL {
                    self.occupancy.forget_layer(*layer);
                }
                for epoch in &self.epochs {
                    epoch.fetch_add(1, Ordering::AcqRel);
                }
            }
            TileChange::Layer(layer, classification) => {
                self.occupancy.forget_layer(layer);
                for clearance in Classification::ALL.iter().filter(|c| **c >= classification) {
                    self.epochs[epoch_index(layer, *clearance)].fetch_add(1, Ordering::AcqRel);
                }
            }
            TileChange::Area {
                layer,
                classification,
                bbox,
            } => {
                self.occupancy.mark(layer, bbox);
                let Ok(mut changes) = self.changes.write() else {
                    return;
                };
                let number = self.applied.load(Ordering::Acquire) + 1;
                if changes.len() == CHANGES_KEPT {
                    changes.pop_front();
                }
                changes.push_back(Applied {
                    number,
                    layer: layer_index(layer),
                    classification,
                    bbox,
                });
                self.applied.store(number, Ordering::Release);
            }
        }
    }

    /// A cached site tile of `layer` at `coord` for a caller cleared to `clearance`, if it
    /// is still good: no change applied since it was last known good meets it. A tile a
    /// change meets is dropped.
    pub fn get_site(
        &self,
        key: &TileKey,
        layer: LayerGroup,
        clearance: Classification,
        coord: TileCoord,
    ) -> Option<CachedTile> {
        let tile = self.tiles.get(key)?;
        let now = self.applied.load(Ordering::Acquire);
        let good_after = tile.good_after.load(Ordering::Acquire);
        if good_after >= now {
            return Some(tile);
        }
        let stale = {
            let changes = self.changes.read().ok()?;
            let bounds = coord.bounds_3857(TILE_BUFFER);
            let layer = layer_index(layer);
            // Changes forgotten since: it cannot be shown good.
            changes.front().is_none_or(|c| c.number > good_after + 1)
                || changes
                    .iter()
                    .rev()
                    .take_while(|c| c.number > good_after)
                    .any(|c| {
                        c.layer == layer
                            && clearance >= c.classification
                            && overlaps(&c.bbox, &bounds)
                    })
        };
        if stale {
            self.tiles.remove(key);
            return None;
        }
        tile.good_after.fetch_max(now, Ordering::AcqRel);
        Some(tile)
    }

    /// The listener (re)connected: changes may have been missed while it was away, so
    /// every site layer's epoch moves (a tile being made meanwhile is kept under the old
    /// one, out of reach) and the tiles kept are dropped.
    pub fn reset(&self) {
        self.apply(TileChange::All);
        self.tiles.clear();
    }

    /// A token to send on `kvpt_sync`, and what tells when the listener has read it (and
    /// so every notice committed before it).
    pub fn expect_sync(&self) -> (String, tokio::sync::oneshot::Receiver<()>) {
        let token = crate::accounts::sessions::random_token()[..24].to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(token.clone(), tx);
        }
        (token, rx)
    }

    /// The listener read sync notice `token` (another process's: nobody waits).
    pub fn synced(&self, token: &str) {
        let waiter = self.waiters.lock().ok().and_then(|mut w| w.remove(token));
        if let Some(tx) = waiter {
            let _ = tx.send(());
        }
    }

    /// Gives up waiting for `token`.
    pub fn forget_sync(&self, token: &str) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(token);
        }
    }

    /// The layer's version as last notified, if the listener is connected.
    pub fn version(&self, layer: &str) -> Option<i64> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.versions.read().ok()?.get(layer).copied()
    }

    /// The sum of the versions of `layers` as last notified (it grows whenever any of them
    /// does), if the listener is connected and knows them all.
    pub fn version_sum(&self, layers: &[String]) -> Option<i64> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let versions = self.versions.read().ok()?;
        layers
            .iter()
            .map(|l| versions.get(l.as_str()).copied())
            .sum()
    }

    /// Records a version seen (from a notification, a load or a write of our own).
    /// Versions only grow: a late or repeated notification never goes back.
    pub fn saw_version(&self, layer: &str, version: i64) {
        if let Ok(mut versions) = self.versions.write() {
            let entry = versions.entry(layer.to_string()).or_insert(version);
            *entry = (*entry).max(version);
        }
    }

    pub fn get(&self, key: &TileKey) -> Option<CachedTile> {
        self.tiles.get(key)
    }

    pub fn insert(&self, key: TileKey, tile: CachedTile) {
        self.tiles.insert(key, tile);
    }

    pub fn set_live(&self, live: bool) {
        if !live {
            self.occupancy.forget();
        }
        self.live.store(live, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_only_grow_and_need_a_live_listener() {
        let cache = TileCache::new(1 << 20);
        cache.saw_version("logistics", 5);
        assert_eq!(cache.version("logistics"), None, "not live yet");
        cache.set_live(true);
        assert_eq!(cache.version("logistics"), Some(5));
        cache.saw_version("logistics", 4);
        assert_eq!(cache.version("logistics"), Some(5));
        cache.saw_version("logistics", 7);
        assert_eq!(cache.version("logistics"), Some(7));
        cache.set_live(false);
        assert_eq!(cache.version("logistics"), None);
    }

    #[test]
    fn change_notices_parse() {
        assert_eq!(TileChange::parse("*"), Some(TileChange::All));
        assert_eq!(
            TileChange::parse("land|*"),
            Some(TileChange::Layer(LayerGroup::Land, Classification::Public))
        );
        assert_eq!(
            TileChange::parse("land|secret|*"),
            Some(TileChange::Layer(LayerGroup::Land, Classification::Secret))
        );
        assert_eq!(
            TileChange::parse("logistics|internal|1|2.5|3|4e6"),
            Some(TileChange::Area {
                layer: LayerGroup::Logistics,
                classification: Classification::Internal,
                bbox: [1.0, 2.5, 3.0, 4e6]
            })
        );
        for bad in [
            "",
            "roads|*",
            "land|top|1|2|3|4",
            "land|public|1|2|3",
            "land|public|a|2|3|4",
        ] {
            assert_eq!(TileChange::parse(bad), None, "{bad}");
        }
    }

    /// A cached tile of `land` at z12 over Tây Ninh city, for `clearance`.
    fn kept(cache: &TileCache, clearance: Classification) -> (TileKey, TileCoord) {
        let coord = TileCoord::containing(106.1, 11.3, 12);
        let key = TileKey {
            layer: "land",
            version: cache.epoch(LayerGroup::Land, clearance),
            clearance: clearance.code(),
            as_of: 0,
            filter: None,
            z: coord.z,
            x: coord.x,
            y: coord.y,
        };
        let tile = CachedTile::new(Bytes::from_static(b"tile")).made_after(cache.mark());
        cache.insert(key.clone(), tile);
        (key, coord)
    }

    fn area(layer: LayerGroup, classification: Classification, bbox: [f64; 4]) -> TileChange {
        TileChange::Area {
            layer,
            classification,
            bbox,
        }
    }

    #[test]
    fn a_change_drops_the_tiles_it_meets_at_the_clearances_that_see_it() {
        let cache = TileCache::new(1 << 20);
        let get = |key: &TileKey, coord, clearance| {
            cache
                .get_site(key, LayerGroup::Land, clearance, coord)
                .is_some()
        };
        let (key, coord) = kept(&cache, Classification::Internal);
        let b = coord.bounds_3857(0.0);
        let inside = [b[0] + 10.0, b[1] + 10.0, b[0] + 20.0, b[1] + 20.0];
        // Elsewhere, another layer, or above the clearance: kept.
        cache.apply(area(
            LayerGroup::Land,
            Classification::Public,
            [0.0, 0.0, 1.0, 1.0],
        ));
        cache.apply(area(LayerGroup::Logistics, Classification::Public, inside));
        cache.apply(area(LayerGroup::Land, Classification::Secret, inside));
        assert!(get(&key, coord, Classification::Internal));
        // Within the buffer just outside the tile: dropped.
        let width = b[2] - b[0];
        let beyond = b[2] + width * 32.0 / 4096.0;
        cache.apply(area(
            LayerGroup::Land,
            Classification::Internal,
            [beyond, b[1], beyond, b[1]],
        ));
        assert!(!get(&key, coord, Classification::Internal));
        // Made again: kept until the next change meeting it, at a level it sees.
        let (key, coord) = kept(&cache, Classification::Internal);
        assert!(get(&key, coord, Classification::Internal));
        cache.apply(area(LayerGroup::Land, Classification::Public, inside));
        assert!(!get(&key, coord, Classification::Internal));
    }

    #[test]
    fn a_whole_layer_change_or_forgotten_changes_drop_it() {
        let cache = TileCache::new(1 << 20);
        let (key, coord) = kept(&cache, Classification::Secret);
        let public = cache.epoch(LayerGroup::Land, Classification::Public);
        cache.apply(TileChange::Layer(
            LayerGroup::Land,
            Classification::Confidential,
        ));
        assert_eq!(
            cache.epoch(LayerGroup::Land, Classification::Public),
            public,
            "a change to confidential works moves nothing public callers' tiles are kept under"
        );
        let moved = TileKey {
            version: cache.epoch(LayerGroup::Land, Classification::Secret),
            ..key.clone()
        };
        assert_ne!(moved, key, "the epoch is in the key");
        assert!(cache
            .get_site(&moved, LayerGroup::Land, Classification::Secret, coord)
            .is_none());
        let (key, coord) = kept(&cache, Classification::Secret);
        for _ in 0..=CHANGES_KEPT {
            cache.apply(area(
                LayerGroup::Logistics,
                Classification::Public,
                [0.0; 4],
            ));
        }
        assert!(
            cache
                .get_site(&key, LayerGroup::Land, Classification::Secret, coord)
                .is_none(),
            "more changes than are kept: it cannot be shown good"
        );
    }

    #[test]
    fn tiles_are_keyed_by_version() {
        let cache = TileCache::new(1 << 20);
        let key = |version| TileKey {
            layer: "land",
            version,
            clearance: "internal",
            as_of: 0,
            filter: None,
            z: 8,
            x: 1,
            y: 2,
        };
        cache.insert(key(1), CachedTile::new(Bytes::from_static(b"old")));
        assert_eq!(cache.get(&key(1)).unwrap().raw.as_ref(), b"old");
        let mut plain = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(cache.get(&key(1)).unwrap().gzip().as_ref())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"old");
        assert!(cache.get(&key(2)).is_none());
    }
}
