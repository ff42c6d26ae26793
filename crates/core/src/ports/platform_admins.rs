use async_trait::async_trait;

use crate::{AuditEntry, CoreError, TenantId, UserId};

/// Who holds the platform grant (`tenants:manage`): a few operators, across tenants. Kept
/// apart from tenant roles so no tenant owner can hand it out.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PlatformAdmins: Send + Sync {
    /// Whether `user` holds the grant.
    async fn is_platform_admin(&self, user: UserId) -> Result<bool, CoreError>;

    /// Whether a live holder of the grant in `tenant` holds the tenant role `role`:
    /// redefining that role changes a holder's powers, which only holders may do.
    async fn holder_has_role(&self, tenant: TenantId, role: String) -> Result<bool, CoreError>;

    /// Gives the grant to a live user of `tenant` (idempotent), with `audit` in the same
    /// transaction; `NotFound` if there is no such user.
    async fn grant(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// Takes the grant back; `false` if the user did not hold it.
    async fn revoke(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;
}
