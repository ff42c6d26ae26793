use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, ProjectStats, TenantId, UserId};

/// Aggregates over a tenant's projects and their members.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectAnalytics: Send + Sync {
    /// The tenant's figures as of `now` (days are UTC days ending with `now`'s). Counts cover
    /// every live project; the named ones (`most_changed`) only those `viewer` can see, so
    /// a private project's name does not leak through analytics.
    async fn project_stats(
        &self,
        tenant: TenantId,
        viewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<ProjectStats, CoreError>;
}
