use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use serde::Serialize;

use crate::CoreError;

/// A loader future run on a cache miss.
pub type CacheLoad<'a, V> = Pin<Box<dyn Future<Output = Result<V, CoreError>> + Send + 'a>>;

/// Past this many keys [`Cache::invalidate_many`] drops the whole cache instead.
pub const INVALIDATE_KEY_BY_KEY: usize = 64;

/// A named, bounded, expiring cache in front of a slower source.
///
/// Keys have a text form (`Display` + `FromStr`) so invalidations can cross replicas.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Cache<K, V>: Send + Sync
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// The cache's name, as shown on `/metrics`.
    fn name(&self) -> &str;

    /// A live (not expired) value.
    fn get(&self, key: &K) -> Option<V>;

    /// The cached value, or the loader's result, which is then cached. Concurrent misses on
    /// one key run the loader once (single flight); an error is returned and not cached.
    async fn get_or_load<'a>(&self, key: K, load: CacheLoad<'a, V>) -> Result<V, CoreError>;

    /// Stores a value with the cache's TTL.
    fn insert(&self, key: K, value: V);

    /// Stores a value that must not be served after `ttl` (nor after the cache's own TTL):
    /// a verified token is cached until its `exp`, never longer.
    fn insert_for(&self, key: K, value: V, ttl: std::time::Duration);

    /// A number that changes with every invalidation of this cache (local or remote). Read it
    /// before reading the source, then store with [`Cache::insert_if_unchanged`].
    fn generation(&self) -> u64;

    /// Stores a value read from the source after [`Cache::generation`] returned `generation`,
    /// unless an invalidation happened since (then the value may be stale and is dropped).
    /// Returns whether it was kept. Batch loads use this where `get_or_load` does not fit.
    fn insert_if_unchanged(&self, key: K, value: V, generation: u64) -> bool;

    /// Drops one key here and on every other replica.
    async fn invalidate(&self, key: &K) -> Result<(), CoreError>;

    /// Drops every key here and on every other replica.
    async fn invalidate_all(&self) -> Result<(), CoreError>;

    /// Drops `keys` here and on every other replica: one message per key for a few, one
    /// "drop everything" past [`INVALIDATE_KEY_BY_KEY`], so a bulk change costs a bounded
    /// number of messages (database round trips on Postgres) however many rows it touched.
    async fn invalidate_many(&self, keys: &[K]) -> Result<(), CoreError> {
        if keys.len() > INVALIDATE_KEY_BY_KEY {
            return self.invalidate_all().await;
        }
        for key in keys {
            self.invalidate(key).await?;
        }
        Ok(())
    }

    /// Hit, miss, size and eviction counters.
    fn stats(&self) -> CacheStats;
}

/// Counters of one cache since start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// The cache's name.
    pub name: String,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to load (or found an expired entry).
    pub misses: u64,
    /// Entries held now (expired ones not yet swept included).
    pub size: u64,
    /// The most entries it holds.
    pub capacity: u64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Entries found past their TTL.
    pub expirations: u64,
}

impl CacheStats {
    /// Hits over lookups, 0 when nothing was looked up yet.
    #[allow(clippy::cast_precision_loss)]
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}
