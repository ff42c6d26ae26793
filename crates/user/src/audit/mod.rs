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
    ///
    /// It covers every entry chained when it starts (reading the trail chains what its
    /// tenant had queued) and reports how many entries were queued, not yet chained, when it
    /// ended: changes that committed while it ran.
    pub async fn verify(&self, principal: &Principal) -> Result<ChainReport, CoreError> {
        self.may_read(principal).await?;
        let mut report = verify_tenant(self.log.as_ref(), principal.tenant).await?;
        report.queued = self.log.queued(principal.tenant).await?;
        Ok(report)
    }

    /// The caller's tenant's whole chain in order, hashes included, up to the head as the
    /// export starts (reading it chains what the tenant had queued), read in batches as the
    /// consumer pulls, so an export of any size streams in constant memory. Anyone holding
    /// an export can re-verify it offline with [`ChainVerifier`].
    pub async fn export(&self, principal: &Principal) -> Result<AuditExport, CoreError> {
        self.may_read(principal).await?;
        let (log, tenant) = (self.log.clone(), principal.tenant);
        let end = log.head(tenant).await?.map_or(0, |h| h.seq);
        let queued = log.queued(tenant).await?;
        let batches = stream::unfold(Some(0_i64), move |after| {
            let log = log.clone();
            async move {
                let after = after.filter(|a| *a < end)?;
                let wanted = u32::try_from(end - after).map_or(CHAIN_BATCH, |n| n.min(CHAIN_BATCH));
                match log.chain(tenant, after, wanted).await {
                    Ok(rows) if rows.is_empty() => None,
                    Ok(rows) => {
                        let next = rows.last().map(|r| r.seq);
                        Some((stream::iter(rows.into_iter().map(Ok)).boxed(), next))
                    }
                    Err(e) => Some((stream::iter([Err(e)]).boxed(), None)),
                }
            }
        });
        Ok(AuditExport {
            queued,
            rows: batches.flatten().boxed(),
        })
    }
}

/// An export: the chain as it stood when the export started, and what was still queued.
pub struct AuditExport {
    /// Entries recorded but not yet chained as the export started (changes committing
    /// meanwhile): the next export covers them.
    pub queued: u64,
    /// The chained rows, oldest first.
    pub rows: BoxStream<'static, Result<AuditRecord, CoreError>>,
}

/// Walks one tenant's chain batch by batch up to the head read first, so rows appended while
/// it walks (a busy tenant keeps writing) are left for the next check rather than mistaken
/// for a head that ran ahead of its rows.
async fn verify_tenant(log: &dyn AuditLog, tenant: TenantId) -> Result<ChainReport, CoreError> {
    let head = log.head(tenant).await?;
    let end = head.as_ref().map_or(0, |h| h.seq);
    let mut verifier = ChainVerifier::new(tenant);
    while verifier.position() < end {
        let wanted =
            u32::try_from(end - verifier.position()).map_or(CHAIN_BATCH, |n| n.min(CHAIN_BATCH));
        let rows = log.chain(tenant, verifier.position(), wanted).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if let Err(report) = verifier.check(row) {
                return Ok(report);
            }
        }
    }
    Ok(verifier.finish(head.as_ref()))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use usvc_core::ports::MockAuditLog;
    use usvc_core::{AuditEntry, AuditId, ChainHead};

    use super::*;

    fn chain(tenant: TenantId, n: i64) -> Vec<AuditRecord> {
        let mut prev = String::new();
        (1..=n)
            .map(|seq| {
                let entry = AuditEntry::system(tenant, "user.read", Utc::now());
                let row = AuditRecord::chained(AuditId::new(), seq, entry, prev.clone());
                prev.clone_from(&row.hash);
                row
            })
            .collect()
    }

    #[tokio::test]
    async fn rows_appended_while_verifying_are_not_mistaken_for_damage() {
        let tenant = TenantId::new();
        let rows = chain(tenant, 4);
        // The head was read at row 3; row 4 arrived before the rows were read.
        let head = ChainHead {
            seq: 3,
            hash: rows[2].hash.clone(),
        };
        let mut log = MockAuditLog::new();
        log.expect_head().returning(move |_| Ok(Some(head.clone())));
        log.expect_chain().returning(move |_, after, limit| {
            Ok(rows
                .iter()
                .filter(|r| r.seq > after)
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect())
        });
        let report = verify_tenant(&log, tenant).await.expect("report");
        assert!(report.valid, "{report:?}");
        assert_eq!(report.checked, 3);
    }
}
