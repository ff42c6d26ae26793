use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, TenantId};

/// Consecutive failed logins per account name, shared by every replica and kept across
/// restarts. Keyed by the normalised email, not the user, so an unknown email is throttled
/// exactly like a real one and the lockout reveals nothing about which accounts exist.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// When the account name is locked until, if it is locked at `now`.
    async fn locked_until(
        &self,
        tenant: TenantId,
        email: String,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, CoreError>;

    /// Counts one more consecutive failure (atomically) and returns the new count; `lock`
    /// maps that count to a lock end, which is stored with it.
    async fn record_failure(
        &self,
        tenant: TenantId,
        email: String,
        now: DateTime<Utc>,
        lock: fn(u32, DateTime<Utc>) -> Option<DateTime<Utc>>,
        audit: &AuditEntry,
    ) -> Result<u32, CoreError>;

    /// Forgets the failures (a successful login).
    async fn reset(&self, tenant: TenantId, email: String) -> Result<(), CoreError>;
}
