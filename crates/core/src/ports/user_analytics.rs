use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, TenantId, UserStats};

/// Aggregates over a tenant's users, sessions and failed logins.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserAnalytics: Send + Sync {
    /// The tenant's figures as of `now` (days are UTC days ending with `now`'s).
    async fn user_stats(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<UserStats, CoreError>;
}
