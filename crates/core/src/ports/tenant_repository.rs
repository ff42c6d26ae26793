use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, Page, PageRequest, SessionId, Slug, Tenant, TenantId, User};

/// Storage of tenants.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Stores a new tenant. A taken slug is `Conflict` and writes nothing.
    async fn create(&self, tenant: &Tenant, audit: &AuditEntry) -> Result<(), CoreError>;

    /// The tenant with this id, if any.
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, CoreError>;

    /// The tenant with this slug, if any (login resolves `tenant` this way).
    async fn get_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, CoreError>;

    /// Stores a new tenant and its first owner (with a password hash) in one transaction,
    /// with every entry of `audit`: both or neither. A taken slug is `Conflict`.
    async fn create_with_owner(
        &self,
        tenant: &Tenant,
        owner: &User,
        password_hash: String,
        audit: &[AuditEntry],
    ) -> Result<(), CoreError>;

    /// Saves the tenant's name, status and settings if it is still the version read
    /// (`expected_updated_at`). Saving it `Disabled` revokes every live session of the tenant
    /// in the same transaction; those sessions are returned. `None`: the tenant changed since
    /// it was read, or is gone (read again).
    async fn update(
        &self,
        tenant: &Tenant,
        expected_updated_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError>;

    /// Tenants in creation order, one page at a time.
    async fn list(&self, page: PageRequest) -> Result<Page<Tenant>, CoreError>;

    /// How many tenants exist (a business metric on `/health/detailed`).
    async fn count(&self) -> Result<u64, CoreError>;
}
