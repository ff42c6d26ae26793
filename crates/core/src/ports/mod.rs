//! Ports: the traits domains call and adapters implement. All are object-safe and used as
//! `Arc<dyn Port>`; with the `mock` feature each has a `mockall` double.

mod cache;
mod clock;
mod health;
mod invalidation;
mod tenant_repository;

pub use cache::{Cache, CacheLoad, CacheStats};
pub use clock::{Clock, SystemClock};
pub use health::{ComponentHealth, HealthCheck, HealthStatus, PoolStats};
pub use invalidation::{
    Invalidation, InvalidationHandler, InvalidationMessage, InvalidationSubscribers,
};
pub use tenant_repository::TenantRepository;

#[cfg(feature = "mock")]
pub use cache::MockCache;
#[cfg(feature = "mock")]
pub use clock::MockClock;
#[cfg(feature = "mock")]
pub use health::MockHealthCheck;
#[cfg(feature = "mock")]
pub use invalidation::MockInvalidation;
#[cfg(feature = "mock")]
pub use tenant_repository::MockTenantRepository;
