use async_trait::async_trait;

use crate::{AuditEntry, ClientId, CoreError, OAuthClient, TenantId};

/// Storage of OAuth clients, scoped by tenant.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OAuthClientRepository: Send + Sync {
    /// Stores a new client, auditing it in the same transaction.
    async fn create(&self, client: &OAuthClient, audit: &AuditEntry) -> Result<(), CoreError>;

    /// Every client of the tenant, oldest first.
    async fn list(&self, tenant: TenantId) -> Result<Vec<OAuthClient>, CoreError>;

    /// One client, whatever its tenant: the token endpoint knows only the `client_id` (the
    /// caller compares the tenant with the issuer's).
    async fn get(&self, id: ClientId) -> Result<Option<OAuthClient>, CoreError>;

    /// Replaces everything but the id, tenant, kind and creation time (a rotated secret is a
    /// new `secret_hash`); `NotFound` if the tenant has no such client.
    async fn update(&self, client: &OAuthClient, audit: &AuditEntry) -> Result<(), CoreError>;

    /// Deletes a client; `NotFound` if the tenant has no such client.
    async fn delete(
        &self,
        tenant: TenantId,
        id: ClientId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;
}
