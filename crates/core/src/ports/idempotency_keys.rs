use async_trait::async_trait;

use crate::{CoreError, IdempotencyRecord, TenantId, UserId};

/// Looks up what an `Idempotency-Key` already did. Records are written by the repository
/// method that makes the change, in its transaction, so a key never outlives a rolled-back
/// change and a committed change always has its key.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait IdempotencyKeys: Send + Sync {
    /// The caller's record for `key` in `scope`, if made within the last 24 hours.
    async fn find(
        &self,
        tenant: TenantId,
        user: UserId,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, CoreError>;
}
