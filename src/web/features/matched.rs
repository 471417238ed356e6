//! The ids matching an items query, kept in memory between its pages.
//!
//! Counting a query (`numberMatched`) and ordering its matches costs most of a page; a
//! client paging with `next` links (GDAL, QGIS) or a map asking the same box again
//! repeats that work for nothing. The ids are kept per query and per data version of the
//! site layers: any write bumps a version (NOTIFY, see `tile_cache`), so a changed table
//! never serves old ids. Without a live listener nothing is cached.

use std::sync::Arc;

use crate::db::features::SiteFilter;
use crate::domain::{Classification, LayerGroup};
use crate::web::tile_cache::{seen_versions, TileCache};

#[derive(Clone)]
struct IdsWeight;

impl quick_cache::Weighter<String, Arc<Vec<i64>>> for IdsWeight {
    fn weight(&self, key: &String, ids: &Arc<Vec<i64>>) -> u64 {
        (key.len() + ids.len() * 8 + 64) as u64
    }
}

pub struct MatchedIds {
    cache: quick_cache::sync::Cache<String, Arc<Vec<i64>>, IdsWeight>,
}

impl MatchedIds {
    pub fn new(bytes: u64) -> Self {
        Self {
            cache: quick_cache::sync::Cache::with_weighter(1024, bytes.max(1), IdsWeight),
        }
    }

    /// The key of `filter` at the current data versions, or `None` when the versions are
    /// not known (no listener) and nothing may be cached.
    pub fn key(&self, versions: &TileCache, filter: &SiteFilter) -> Option<String> {
        let mut key = format!("{filter:?}");
        // The versions of what the filter's clearance sees: a change above it is no miss.
        let clearance = filter.clearance.unwrap_or(Classification::Secret);
        for group in LayerGroup::ALL {
            let seen = seen_versions(Some(*group), clearance);
            key.push_str(&format!("|{}", versions.version_sum(seen)?));
        }
        Some(key)
    }

    pub fn get(&self, key: &str) -> Option<Arc<Vec<i64>>> {
        self.cache.get(key)
    }

    pub fn insert(&self, key: String, ids: Arc<Vec<i64>>) {
        self.cache.insert(key, ids);
    }
}
