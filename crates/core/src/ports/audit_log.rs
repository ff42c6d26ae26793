use async_trait::async_trait;

use crate::audit::{AuditEntry, AuditFilter, AuditRecord, ChainHead};
use crate::{CoreError, Page, PageRequest, TenantId};

/// The append-only audit trail, one hash chain per tenant.
///
/// Changes record their entry through the repository that makes them (same transaction);
/// `append` is for what changes nothing else: a refused request, a read of someone else's
/// profile, a failed login. Nothing here updates or deletes a row.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one entry to its tenant's chain.
    async fn append(&self, entry: AuditEntry) -> Result<(), CoreError>;

    /// Appends several entries in one transaction (each to its tenant's chain, in order):
    /// all of them or none. Group commit uses it to write many requests' rows at once.
    async fn append_many(&self, entries: Vec<AuditEntry>) -> Result<(), CoreError>;

    /// The tenant's rows matching `filter`, newest first.
    async fn list(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, CoreError>;

    /// Up to `limit` rows of the chain after position `after_seq`, in chain order, for
    /// verification and export.
    async fn chain(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, CoreError>;

    /// The chain's last link (`None` before the first row).
    async fn head(&self, tenant: TenantId) -> Result<Option<ChainHead>, CoreError>;
}
