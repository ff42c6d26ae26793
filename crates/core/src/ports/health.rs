use async_trait::async_trait;
use serde::Serialize;

/// A dependency the service needs, checked by `/health` and `/health/ready`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// The component's key in `/health/detailed` (`database_connection`).
    fn name(&self) -> &'static str;

    /// Probes the dependency for real (a round trip), bounded by the adapter's own timeout.
    async fn check(&self) -> ComponentHealth;

    /// Connection pool figures, when the component has a pool. Cheap: no I/O.
    fn pool_stats(&self) -> Option<PoolStats> {
        None
    }
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentHealth {
    /// Healthy, degraded or unhealthy.
    pub status: HealthStatus,
    /// How long the probe took, in milliseconds.
    pub latency_ms: f64,
    /// Why it is not healthy (never contains secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A component's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Works as expected.
    Healthy,
    /// Works, but slowly or partly.
    Degraded,
    /// Does not work; the service cannot serve requests that need it.
    Unhealthy,
}

/// A connection pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    /// The most connections the pool will open.
    pub max_size: u64,
    /// Connections open now.
    pub size: u64,
    /// Open connections not in use.
    pub available: u64,
    /// Callers waiting for a connection.
    pub waiting: u64,
}
