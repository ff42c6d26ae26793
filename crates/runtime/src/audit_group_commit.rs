//! Group commit for the audit rows that are written on their own (refusals, reads of other
//! users, failed attempts): each caller still waits until its row is committed, but the rows
//! of all callers waiting at the same moment share one transaction. Without it every such
//! request paid a commit of its own, serialised on its tenant's chain head (measured in
//! docs/benchmarks.md: `lookup` fell to a quarter of its throughput).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use usvc_core::ports::AuditLog;
use usvc_core::{
    AuditEntry, AuditFilter, AuditRecord, ChainHead, CoreError, Page, PageRequest, TenantId,
};
use usvc_logger::caught;

/// Most rows in one transaction: bounds a batch's latency and its transaction's size.
const MAX_BATCH: usize = 256;
/// Rows waiting for a batch before callers wait for room (back-pressure, not loss).
const QUEUE: usize = 4096;

type Pending = (AuditEntry, oneshot::Sender<Result<(), CoreError>>);

/// An `AuditLog` whose `append` goes through group commit; everything else goes straight to
/// the store.
pub struct GroupCommitAuditLog {
    store: Arc<dyn AuditLog>,
    queue: mpsc::Sender<Pending>,
}

impl GroupCommitAuditLog {
    /// Wraps `store` and starts the writer on the current tokio runtime; the writer ends when
    /// the last handle is dropped.
    pub fn start(store: Arc<dyn AuditLog>) -> Arc<Self> {
        let (queue, pending) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store.clone(), pending));
        Arc::new(Self { store, queue })
    }
}

/// Takes whatever is waiting (at least one row), writes it in one transaction, answers
/// every caller. A failed batch is retried row by row, so one bad row fails only its caller.
/// (Should a commit succeed but its answer be lost with the connection, the retry writes those
/// rows twice: a duplicate, never a gap, and the chain stays valid.)
async fn write_batches(store: Arc<dyn AuditLog>, mut pending: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let entries = batch.iter().map(|(entry, _)| entry.clone()).collect();
        if matches!(
            caught("audit group commit", store.append_many(entries)).await,
            Ok(Ok(()))
        ) {
            for (_, reply) in batch.drain(..) {
                let _ = reply.send(Ok(()));
            }
        } else {
            for (entry, reply) in batch.drain(..) {
                let one = caught("audit group commit", store.append(entry))
                    .await
                    .unwrap_or_else(|panic| Err(CoreError::Internal(panic)));
                let _ = reply.send(one);
            }
        }
    }
}

#[async_trait]
impl AuditLog for GroupCommitAuditLog {
    async fn append(&self, entry: AuditEntry) -> Result<(), CoreError> {
        let stopped = || CoreError::Unavailable("the audit writer has stopped".into());
        let (reply, committed) = oneshot::channel();
        self.queue
            .send((entry, reply))
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }

    async fn append_many(&self, entries: Vec<AuditEntry>) -> Result<(), CoreError> {
        self.store.append_many(entries).await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, CoreError> {
        self.store.list(tenant, filter, page).await
    }

    async fn chain(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, CoreError> {
        self.store.chain(tenant, after_seq, limit).await
    }

    async fn head(&self, tenant: TenantId) -> Result<Option<ChainHead>, CoreError> {
        self.store.head(tenant).await
    }

    async fn sequence(&self, tenants: u32) -> Result<u64, CoreError> {
        self.store.sequence(tenants).await
    }

    async fn queued(&self, tenant: TenantId) -> Result<u64, CoreError> {
        self.store.queued(tenant).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use usvc_core::ports::MockAuditLog;

    use super::*;

    fn entry(tenant: TenantId, n: u64) -> AuditEntry {
        AuditEntry::system(tenant, "user.read", chrono::Utc::now())
            .details(serde_json::json!({ "n": n }))
    }

    #[tokio::test]
    async fn concurrent_rows_share_transactions_and_every_caller_hears_back() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let seen = batches.clone();
        let mut store = MockAuditLog::new();
        store.expect_append_many().returning(move |entries| {
            seen.lock().expect("lock").push(entries.len());
            Ok(())
        });
        store.expect_append().never();
        let log = GroupCommitAuditLog::start(Arc::new(store));
        let tenant = TenantId::new();
        let calls: Vec<_> = (0..50)
            .map(|n| {
                let log = log.clone();
                tokio::spawn(async move { log.append(entry(tenant, n)).await })
            })
            .collect();
        for call in calls {
            call.await.expect("join").expect("committed");
        }
        let sizes = batches.lock().expect("lock").clone();
        assert_eq!(
            sizes.iter().sum::<usize>(),
            50,
            "every row written once: {sizes:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_is_retried_row_by_row() {
        let good = TenantId::new();
        let bad = TenantId::new();
        let mut store = MockAuditLog::new();
        store
            .expect_append_many()
            .returning(|_| Err(CoreError::Internal("foreign key".into())));
        store.expect_append().returning(move |e| {
            if e.tenant == bad {
                Err(CoreError::Internal("foreign key".into()))
            } else {
                Ok(())
            }
        });
        let log = GroupCommitAuditLog::start(Arc::new(store));
        let (ok, failed) = tokio::join!(log.append(entry(good, 1)), log.append(entry(bad, 2)));
        assert_eq!(ok, Ok(()));
        assert!(failed.is_err());
    }
}
