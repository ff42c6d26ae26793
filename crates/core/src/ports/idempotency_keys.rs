use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, IdempotencyRecord, TenantId, UserId};

/// Looks up what an `Idempotency-Key` already did. Records are written by the repository
/// method that makes the change, in its transaction, so a key never outlives a rolled-back
/// change and a committed change always has its key.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyKeys: Send + Sync {
    /// The caller's record for `key` in `scope`, if made within the 24 hours before `now`.
    async fn find(
        &self,
        tenant: TenantId,
        user: UserId,
        scope: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, CoreError>;
}
