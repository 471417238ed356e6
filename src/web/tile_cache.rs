//! Tiles kept in memory, keyed by their layer's data version, so a repeated tile (or a
//! 304) is answered without touching the database.
//!
//! Every write to a layer bumps its row in `layer_version`, whose trigger notifies
//! `layer_version` with `layer:version`; the listener (`listener.rs`) applies each
//! notification, so an edit makes the old tiles unreachable at once (they age out of the
//! cache). While the listener is down, versions are read from the database on each
//! request, as without a cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use bytes::Bytes;

use crate::domain::{Classification, LayerGroup};

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
    pub version: i64,
    pub clearance: &'static str,
    /// Days since 1970 of the as-of date; 0 for the current state.
    pub as_of: i32,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A tile as PostgreSQL made it and gzipped once, so no request compresses it again,
/// with its `ETag`, made once from its bytes: the tag changes only when what the caller
/// can see in the tile does (a counter of the layer's writes would also move with works
/// above their clearance, and show anonymous visitors how often those change).
#[derive(Debug, Clone)]
pub struct CachedTile {
    pub raw: Bytes,
    pub gzip: Bytes,
    pub etag: axum::http::HeaderValue,
}

impl CachedTile {
    pub fn new(raw: Bytes) -> Self {
        use sha2::Digest;
        use std::io::Write;
        // Weak: the gzip and identity encodings of one tile share it. 128 bits of SHA-256.
        let digest = sha2::Sha256::digest(&raw);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = axum::http::HeaderValue::from_str(&format!("W/\"{hex}\""))
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("W/\"0\""));
        let gzip = if raw.is_empty() {
            Bytes::new()
        } else {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(raw.len() / 2),
                flate2::Compression::new(6),
            );
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(&raw);
            Bytes::from(encoder.finish().unwrap_or_default())
        };
        Self { raw, gzip, etag }
    }
}

#[derive(Clone)]
struct ByteWeight;

impl quick_cache::Weighter<TileKey, CachedTile> for ByteWeight {
    fn weight(&self, _key: &TileKey, tile: &CachedTile) -> u64 {
        // Empty tiles still cost their key.
        (tile.raw.len() + tile.gzip.len()) as u64 + 64
    }
}

pub struct TileCache {
    tiles: quick_cache::sync::Cache<TileKey, CachedTile, ByteWeight>,
    versions: RwLock<HashMap<String, i64>>,
    live: AtomicBool,
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
    fn tiles_are_keyed_by_version() {
        let cache = TileCache::new(1 << 20);
        let key = |version| TileKey {
            layer: "land",
            version,
            clearance: "internal",
            as_of: 0,
            z: 8,
            x: 1,
            y: 2,
        };
        cache.insert(key(1), CachedTile::new(Bytes::from_static(b"old")));
        assert_eq!(cache.get(&key(1)).unwrap().raw.as_ref(), b"old");
        let mut plain = Vec::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(cache.get(&key(1)).unwrap().gzip.as_ref())
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, b"old");
        assert!(cache.get(&key(2)).is_none());
    }
}
