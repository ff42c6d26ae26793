use async_trait::async_trait;

use crate::{AuditEntry, CoreError, Role, RoleId, TenantId};

/// Storage of custom roles, scoped by tenant.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RoleRepository: Send + Sync {
    /// Stores a new role; a name taken in the tenant is `Conflict`.
    async fn create(&self, role: &Role, audit: &AuditEntry) -> Result<(), CoreError>;

    /// Every custom role of the tenant, by name.
    async fn list(&self, tenant: TenantId) -> Result<Vec<Role>, CoreError>;

    /// One role of the tenant.
    async fn get(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, CoreError>;

    /// Replaces name, description and permissions; `NotFound` if absent, `Conflict` if the
    /// new name is taken.
    async fn update(&self, role: &Role, audit: &AuditEntry) -> Result<(), CoreError>;

    /// Deletes a role no user holds; `Conflict` while someone does, `NotFound` if absent.
    async fn delete(
        &self,
        tenant: TenantId,
        id: RoleId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;
}
