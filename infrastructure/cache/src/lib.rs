//! `usvc-cache` (CoreCache): the named caches of docs/design.md section 6.
//!
//! [`NamedCache`] implements the core `Cache` port on quick_cache, adding what quick_cache
//! leaves out: a TTL per entry (stored beside the value), hit/miss/eviction/expiry counters and
//! invalidation that reaches other replicas through the `Invalidation` port.
//! [`LocalInvalidation`] is that port for a single process (the SQLite deployment).

mod local_invalidation;
mod named_cache;
mod registry;
mod specs;

pub use local_invalidation::LocalInvalidation;
pub use named_cache::NamedCache;
pub use registry::CacheRegistry;
pub use specs::CacheSpec;
