use std::fmt::Display;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quick_cache::sync::Cache as QuickCache;
use quick_cache::{DefaultHashBuilder, Lifecycle, UnitWeighter};
use tokio::time::Instant;
use usvc_core::ports::{Cache, CacheLoad, CacheStats, Invalidation, InvalidationMessage};
use usvc_core::CoreError;

use crate::CacheSpec;

/// A value with the instant it stops being served.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    expires_at: Instant,
}

/// Counts evictions; quick_cache calls it when it pushes an entry out for room.
#[derive(Clone, Default)]
struct CountEvictions(Arc<AtomicU64>);

impl<K, V> Lifecycle<K, V> for CountEvictions {
    type RequestState = ();

    fn begin_request(&self) -> Self::RequestState {}

    fn on_evict(&self, (): &mut Self::RequestState, _key: K, _val: V) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

type Inner<K, V> = QuickCache<K, Entry<V>, UnitWeighter, DefaultHashBuilder, CountEvictions>;

/// One named cache. Cheap to share behind an `Arc`; every method is non-blocking except the
/// loader of [`Cache::get_or_load`], which is the caller's future.
pub struct NamedCache<K, V> {
    spec: CacheSpec,
    inner: Inner<K, V>,
    hits: AtomicU64,
    misses: AtomicU64,
    expirations: AtomicU64,
    evictions: Arc<AtomicU64>,
    /// Bumped by every invalidation; a load that saw it change does not cache its result.
    epoch: AtomicU64,
    invalidation: Arc<dyn Invalidation>,
}

impl<K, V> NamedCache<K, V>
where
    K: Eq + Hash + Clone + Display + FromStr + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache per `spec` whose invalidations go through `invalidation` (and which applies
    /// invalidations it receives from there, including other replicas').
    pub fn new(spec: CacheSpec, invalidation: Arc<dyn Invalidation>) -> Arc<Self> {
        let evictions = CountEvictions::default();
        let capacity = usize::try_from(spec.capacity).unwrap_or(usize::MAX);
        let cache = Arc::new(Self {
            spec,
            inner: QuickCache::with(
                capacity,
                spec.capacity,
                UnitWeighter,
                DefaultHashBuilder::default(),
                evictions.clone(),
            ),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            expirations: AtomicU64::new(0),
            evictions: evictions.0,
            epoch: AtomicU64::new(0),
            invalidation,
        });
        let weak = Arc::downgrade(&cache);
        cache
            .invalidation
            .subscribe(Arc::new(move |message: &InvalidationMessage| {
                if let Some(cache) = weak.upgrade() {
                    cache.apply(message);
                }
            }));
        cache
    }

    fn apply(&self, message: &InvalidationMessage) {
        // `*` means every cache: a replica that may have missed messages starts afresh.
        if message.cache != self.spec.name && message.cache != "*" {
            return;
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match &message.key {
            None => self.inner.clear(),
            Some(raw) => {
                if let Ok(key) = raw.parse::<K>() {
                    self.inner.remove(&key);
                } else {
                    tracing::warn!(cache = self.spec.name, "unparseable invalidation key");
                }
            }
        }
    }

    fn fresh(&self, key: &K) -> Option<V> {
        let now = Instant::now();
        match self.inner.get(key) {
            Some(entry) if entry.expires_at > now => Some(entry.value),
            Some(_) => {
                // Only the expired entry: another task may have stored a fresh one meanwhile.
                if self.inner.remove_if(key, |e| e.expires_at <= now).is_some() {
                    self.expirations.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
            None => None,
        }
    }
}

#[async_trait]
impl<K, V> Cache<K, V> for NamedCache<K, V>
where
    K: Eq + Hash + Clone + Display + FromStr + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.spec.name
    }

    fn get(&self, key: &K) -> Option<V> {
        let found = self.fresh(key);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    async fn get_or_load<'a>(&self, key: K, load: CacheLoad<'a, V>) -> Result<V, CoreError> {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        // Read the epoch before the source is read: if any invalidation of this cache lands
        // while the load runs, what was loaded may predate the change and is not cached.
        // (quick_cache also drops a pending placeholder on `remove` today; the epoch keeps this
        // guarantee independent of that detail, and covers `clear` and remote messages.)
        let epoch = self.epoch.load(Ordering::SeqCst);
        match self.inner.get_value_or_guard_async(&key).await {
            // Another task loaded it while this one waited (single flight).
            Ok(entry) => Ok(entry.value),
            Err(guard) => {
                let value = load.await?;
                if self.epoch.load(Ordering::SeqCst) == epoch {
                    let _ = guard.insert(Entry {
                        value: value.clone(),
                        expires_at: Instant::now() + self.spec.ttl,
                    });
                }
                Ok(value)
            }
        }
    }

    fn insert(&self, key: K, value: V) {
        self.insert_for(key, value, self.spec.ttl);
    }

    fn insert_for(&self, key: K, value: V, ttl: Duration) {
        let expires_at = Instant::now() + ttl.min(self.spec.ttl);
        self.inner.insert(key, Entry { value, expires_at });
    }

    fn generation(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn insert_if_unchanged(&self, key: K, value: V, generation: u64) -> bool {
        if self.epoch.load(Ordering::SeqCst) != generation {
            return false;
        }
        self.insert(key.clone(), value);
        // An invalidation between the check and the insert may have run its `remove` before
        // the insert landed: look again, and take the entry back out if so.
        if self.epoch.load(Ordering::SeqCst) != generation {
            self.inner.remove(&key);
            return false;
        }
        true
    }

    async fn invalidate(&self, key: &K) -> Result<(), CoreError> {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.inner.remove(key);
        self.invalidation
            .publish(InvalidationMessage {
                cache: self.spec.name.to_owned(),
                key: Some(key.to_string()),
            })
            .await
    }

    async fn invalidate_all(&self) -> Result<(), CoreError> {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.inner.clear();
        self.invalidation
            .publish(InvalidationMessage {
                cache: self.spec.name.to_owned(),
                key: None,
            })
            .await
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            name: self.spec.name.to_owned(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            size: self.inner.len() as u64,
            capacity: self.spec.capacity,
            evictions: self.evictions.load(Ordering::Relaxed),
            expirations: self.expirations.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::LocalInvalidation;

    fn cache(capacity: u64, ttl_secs: u64) -> (Arc<NamedCache<u64, String>>, LocalInvalidation) {
        let bus = LocalInvalidation::new();
        let spec = CacheSpec {
            name: "test",
            capacity,
            ttl: Duration::from_secs(ttl_secs),
        };
        (NamedCache::new(spec, Arc::new(bus.clone())), bus)
    }

    #[tokio::test]
    async fn a_batch_load_read_before_an_invalidation_is_not_cached() {
        let (cache, _) = cache(10, 60);
        let generation = cache.generation();
        assert!(cache.insert_if_unchanged(1, "fresh".into(), generation));
        assert_eq!(cache.get(&1).as_deref(), Some("fresh"));

        let before_write = cache.generation();
        cache.invalidate(&2).await.expect("invalidate");
        assert!(
            !cache.insert_if_unchanged(2, "stale".into(), before_write),
            "read before the invalidation: must not be served"
        );
        assert_eq!(cache.get(&2), None);
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_their_ttl() {
        let (cache, _) = cache(10, 60);
        cache.insert(1, "one".into());
        assert_eq!(cache.get(&1).as_deref(), Some("one"));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(cache.get(&1), None, "an expired entry must not be served");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.expirations), (1, 1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_ttl_per_entry_wins_but_never_extends_the_cache_ttl() {
        let (cache, _) = cache(10, 60);
        cache.insert_for(1, "short".into(), Duration::from_secs(5));
        cache.insert_for(2, "long".into(), Duration::from_secs(600));
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(cache.get(&1), None);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(cache.get(&2), None, "capped at the cache's 60 s");
    }

    #[tokio::test]
    async fn concurrent_misses_load_once() {
        let (cache, _) = cache(10, 60);
        let loads = Arc::new(AtomicUsize::new(0));
        let tasks = (0..8).map(|_| {
            let cache = Arc::clone(&cache);
            let loads = Arc::clone(&loads);
            tokio::spawn(async move {
                cache
                    .get_or_load(
                        7,
                        Box::pin(async move {
                            loads.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok("seven".to_owned())
                        }),
                    )
                    .await
            })
        });
        for task in tasks {
            assert_eq!(task.await.expect("join").expect("load").as_str(), "seven");
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1, "single flight");
    }

    #[tokio::test]
    async fn failed_loads_are_not_cached() {
        let (cache, _) = cache(10, 60);
        let err = cache
            .get_or_load(
                1,
                Box::pin(async { Err(CoreError::Unavailable("db".into())) }),
            )
            .await;
        assert!(err.is_err());
        let ok = cache
            .get_or_load(1, Box::pin(async { Ok("one".to_owned()) }))
            .await;
        assert_eq!(ok.ok().as_deref(), Some("one"));
    }

    /// A logout that lands while a session is being loaded must not leave the pre-logout
    /// value cached: the load's result is returned to its caller but not stored.
    #[tokio::test]
    async fn a_load_overlapping_an_invalidation_is_not_cached() {
        let (cache, _) = cache(10, 60);
        let (loaded_tx, loaded_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let loader = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .get_or_load(
                        1,
                        Box::pin(async move {
                            let _ = loaded_tx.send(()); // the source was read: "alive"
                            let _ = release_rx.await;
                            Ok("alive".to_owned())
                        }),
                    )
                    .await
            })
        };
        loaded_rx.await.expect("loader started");
        cache.invalidate(&1).await.expect("invalidate"); // the logout
        release_tx.send(()).expect("release");
        assert_eq!(loader.await.expect("join").ok().as_deref(), Some("alive"));
        assert_eq!(
            cache.get(&1),
            None,
            "the stale value must not be served later"
        );
        let reloaded = cache
            .get_or_load(1, Box::pin(async { Ok("revoked".to_owned()) }))
            .await;
        assert_eq!(reloaded.ok().as_deref(), Some("revoked"));
        assert_eq!(
            cache.get(&1).as_deref(),
            Some("revoked"),
            "quiet loads are cached"
        );
    }

    #[tokio::test]
    async fn evictions_are_counted_when_capacity_is_exceeded() {
        let (cache, _) = cache(10, 60);
        for i in 0..100 {
            cache.insert(i, i.to_string());
        }
        let stats = cache.stats();
        assert!(stats.size <= 10, "size {} over capacity", stats.size);
        assert!(stats.evictions >= 90, "evictions {}", stats.evictions);
    }

    #[tokio::test]
    async fn invalidation_reaches_every_cache_of_that_name_on_the_bus() {
        let bus = LocalInvalidation::new();
        let spec = CacheSpec {
            name: "shared",
            capacity: 10,
            ttl: Duration::from_secs(60),
        };
        // Two caches on one bus stand for the same cache on two replicas.
        let here: Arc<NamedCache<u64, String>> = NamedCache::new(spec, Arc::new(bus.clone()));
        let there: Arc<NamedCache<u64, String>> = NamedCache::new(spec, Arc::new(bus.clone()));
        let other: Arc<NamedCache<u64, String>> = NamedCache::new(
            CacheSpec {
                name: "other",
                ..spec
            },
            Arc::new(bus.clone()),
        );
        for c in [&here, &there, &other] {
            c.insert(1, "one".into());
            c.insert(2, "two".into());
        }
        here.invalidate(&1).await.expect("publish");
        assert_eq!(there.get(&1), None, "the other replica dropped the key");
        assert_eq!(there.get(&2).as_deref(), Some("two"), "other keys stay");
        assert_eq!(other.get(&1).as_deref(), Some("one"), "other caches stay");
        here.invalidate_all().await.expect("publish");
        assert_eq!(there.get(&2), None);
    }
}
