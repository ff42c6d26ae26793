//! Reading the audit trail: listing, verifying each tenant's hash chain, and exporting it.
//! (Writing happens where each change is made: the repositories append the entry the domain
//! built, in the change's own transaction.)

pub mod actions;
mod verify;

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt as _};
use usvc_core::permissions;
use usvc_core::ports::{AuditLog, Authorizer};
use usvc_core::{
    AuditFilter, AuditRecord, ChainReport, CoreError, Page, PageRequest, Principal, ResourceRef,
    TenantId,
};

pub use verify::ChainVerifier;

/// Rows read per round trip by verification and export: large enough to amortise the query,
/// small enough to keep memory flat on a chain of millions.
pub const CHAIN_BATCH: u32 = 1000;

/// The audit use cases; each needs `audit:read`.
pub struct AuditService {
    log: Arc<dyn AuditLog>,
    authorizer: Arc<dyn Authorizer>,
}

impl AuditService {
    /// A service over the trail and the authorizer.
    pub fn new(log: Arc<dyn AuditLog>, authorizer: Arc<dyn Authorizer>) -> Self {
        Self { log, authorizer }
    }

    async fn may_read(&self, principal: &Principal) -> Result<(), CoreError> {
        self.authorizer
            .authorize(
                principal,
                &permissions::AUDIT_READ,
                &ResourceRef::any("audit"),
            )
            .await
    }

    /// The caller's tenant's rows matching `filter`, newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, CoreError> {
        self.may_read(principal).await?;
        self.log.list(principal.tenant, filter, page).await
    }

    /// Re-computes the caller's tenant's whole chain and compares it with the stored hashes
    /// and the chain head: an edited, removed or re-ordered row makes it invalid and names
    /// the first row that does not fit.
    pub async fn verify(&self, principal: &Principal) -> Result<ChainReport, CoreError> {
        self.may_read(principal).await?;
        verify_tenant(self.log.as_ref(), principal.tenant).await
    }

    /// The caller's tenant's whole chain in order, hashes included, read in batches as the
    /// consumer pulls, so an export of any size streams in constant memory. Anyone holding
    /// an export can re-verify it offline with [`ChainVerifier`].
    pub async fn export(
        &self,
        principal: &Principal,
    ) -> Result<BoxStream<'static, Result<AuditRecord, CoreError>>, CoreError> {
        self.may_read(principal).await?;
        let (log, tenant) = (self.log.clone(), principal.tenant);
        let batches = stream::unfold(Some(0_i64), move |after| {
            let log = log.clone();
            async move {
                let after = after?;
                match log.chain(tenant, after, CHAIN_BATCH).await {
                    Ok(rows) if rows.is_empty() => None,
                    Ok(rows) => {
                        let next = rows.last().map(|r| r.seq);
                        Some((stream::iter(rows.into_iter().map(Ok)).boxed(), next))
                    }
                    Err(e) => Some((stream::iter([Err(e)]).boxed(), None)),
                }
            }
        });
        Ok(batches.flatten().boxed())
    }
}

/// Walks one tenant's chain batch by batch and checks its head.
async fn verify_tenant(log: &dyn AuditLog, tenant: TenantId) -> Result<ChainReport, CoreError> {
    let mut verifier = ChainVerifier::new(tenant);
    loop {
        let rows = log.chain(tenant, verifier.position(), CHAIN_BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Err(report) = verifier.check(row) {
                return Ok(report);
            }
        }
    }
    Ok(verifier.finish(log.head(tenant).await?.as_ref()))
}
