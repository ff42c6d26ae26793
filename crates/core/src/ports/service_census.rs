use async_trait::async_trait;

use crate::{CoreError, ServiceCounts};

/// Counts what the service manages across tenants, for operators (`/health/detailed`): one
/// round trip, cached briefly by the caller.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ServiceCensus: Send + Sync {
    /// Tenants, active users, active projects and executions not ended, counted now.
    async fn counts(&self) -> Result<ServiceCounts, CoreError>;
}
