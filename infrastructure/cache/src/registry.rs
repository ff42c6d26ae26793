use std::fmt::Display;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use usvc_core::ports::{Cache, CacheStats, Invalidation};

use crate::{CacheSpec, NamedCache};

/// Something whose counters `/metrics` and `/health/detailed` report.
trait StatsSource: Send + Sync {
    fn stats(&self) -> CacheStats;
}

impl<K, V> StatsSource for NamedCache<K, V>
where
    K: Eq + Hash + Clone + Display + FromStr + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn stats(&self) -> CacheStats {
        Cache::stats(self)
    }
}

/// Creates the named caches on one invalidation bus and lists their stats, so reporting does
/// not need to know each cache's key and value types.
pub struct CacheRegistry {
    invalidation: Arc<dyn Invalidation>,
    caches: RwLock<Vec<Arc<dyn StatsSource>>>,
}

impl CacheRegistry {
    /// A registry whose caches invalidate through `invalidation`.
    pub fn new(invalidation: Arc<dyn Invalidation>) -> Self {
        Self {
            invalidation,
            caches: RwLock::new(Vec::new()),
        }
    }

    /// Creates (and registers for reporting) one named cache.
    pub fn create<K, V>(&self, spec: CacheSpec) -> Arc<NamedCache<K, V>>
    where
        K: Eq + Hash + Clone + Display + FromStr + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let cache = NamedCache::new(spec, Arc::clone(&self.invalidation));
        let source: Arc<dyn StatsSource> = cache.clone();
        match self.caches.write() {
            Ok(mut guard) => guard.push(source),
            Err(poisoned) => poisoned.into_inner().push(source),
        }
        cache
    }

    /// The counters of every registered cache, in creation order.
    pub fn stats(&self) -> Vec<CacheStats> {
        let caches = match self.caches.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        caches.iter().map(|c| c.stats()).collect()
    }
}
