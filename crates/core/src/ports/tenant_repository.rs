use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, Page, PageRequest, Slug, Tenant, TenantId, TenantSettings};

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

    /// Replaces the tenant's settings; the updated tenant, or `None` if it does not exist.
    async fn update_settings(
        &self,
        id: TenantId,
        settings: TenantSettings,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Tenant>, CoreError>;

    /// Tenants in creation order, one page at a time.
    async fn list(&self, page: PageRequest) -> Result<Page<Tenant>, CoreError>;

    /// How many tenants exist (a business metric on `/health/detailed`).
    async fn count(&self) -> Result<u64, CoreError>;
}
