use async_trait::async_trait;

use crate::{AuditEntry, CoreError, QuotaOverrides, TenantId};

/// The quotas the platform set per tenant (`tenant_quotas`).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait QuotaRepository: Send + Sync {
    /// What is set for `tenant` (all `None` when nothing is).
    async fn get(&self, tenant: TenantId) -> Result<QuotaOverrides, CoreError>;

    /// Replaces what is set for `tenant`, with `audit` in the same transaction. A tenant that
    /// does not exist is `NotFound`.
    async fn set(
        &self,
        tenant: TenantId,
        quotas: QuotaOverrides,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;
}
