use async_trait::async_trait;

use crate::audit::{AuditEntry, AuditFilter, AuditRecord, ChainHead};
use crate::{CoreError, Page, PageRequest, TenantId};

/// The append-only audit trail, one hash chain per tenant.
///
/// Changes record their entry through the repository that makes them (same transaction);
/// `append` is for what changes nothing else: a refused request, a read of someone else's
/// profile, a failed login. Nothing here updates or deletes a chained row.
///
/// Recording and chaining are separate steps, as in a transparency log: an entry is first
/// *queued* (in its change's transaction, holding no lock its tenant's other changes need),
/// then *sequenced*: given the next position in its tenant's chain and its hash, in batches,
/// by [`AuditLog::sequence`] (a background sequencer) and by every read below for its
/// tenant, so readers always see every committed entry chained. A store whose writers run
/// one at a time anyway (SQLite) may chain in the change's own transaction instead: nothing
/// is then ever left queued.
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

    /// Chains what is queued, for up to `tenants` tenants (each in batches, in queue order,
    /// each batch all or nothing); returns how many entries it moved.
    async fn sequence(&self, tenants: u32) -> Result<u64, CoreError>;

    /// How many of `tenant`'s entries are queued and not yet chained.
    async fn queued(&self, tenant: TenantId) -> Result<u64, CoreError>;
}
