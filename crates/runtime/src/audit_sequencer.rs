//! The audit sequencer: chains the audit entries changes have queued (`AuditLog::sequence`:
//! positions and hashes, in batches, each all or nothing). It runs when woken — the store
//! tells it each time a transaction that queued entries commits — and keeps going while it
//! finds work, so under load each pass chains everything several changes queued meanwhile in
//! one transaction per tenant. Idle, it looks only every [`SAFETY_NET`] (entries another
//! replica queued just before it died). Reads of the trail chain their tenant's queue
//! themselves, so nothing waits for this loop to be seen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use usvc_core::ports::AuditLog;

/// How often an idle sequencer looks without being woken.
pub const SAFETY_NET: Duration = Duration::from_secs(30);
/// Tenants chained per pass (each in batches until its queue is empty or the batch is
/// short); a pass that moved anything is followed at once by another.
const TENANTS_PER_PASS: u32 = 100;
/// The pause after a failed pass (the database is away), so a failure does not spin.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The running sequencer; [`AuditSequencer::stop`] ends it after the pass in progress.
pub struct AuditSequencer {
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl AuditSequencer {
    /// Starts the sequencer over `log` on the current runtime; `queued` is what the store
    /// notifies when entries were queued (a first pass runs at start in any case).
    pub fn start(log: Arc<dyn AuditLog>, queued: Arc<Notify>) -> Arc<Self> {
        let stopping = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let (stopping, wake) = (stopping.clone(), queued.clone());
            async move {
                while !stopping.load(Ordering::Acquire) {
                    let pass =
                        usvc_logger::caught("audit sequencer", log.sequence(TENANTS_PER_PASS))
                            .await
                            .unwrap_or_else(|panic| Err(usvc_core::CoreError::Internal(panic)));
                    match pass {
                        // More may be waiting (a long queue, or entries queued meanwhile):
                        // look again once more has gathered (`gather`).
                        Ok(moved) if moved > 0 => {
                            metrics::counter!("usvc_audit_sequenced_total").increment(moved);
                            crate::gather::after_pass(true).await;
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "audit sequencer: a pass failed; retrying");
                            tokio::time::sleep(AFTER_FAILURE).await;
                            continue;
                        }
                    }
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(SAFETY_NET) => {}
                    }
                }
            }
        });
        Arc::new(Self {
            stopping,
            wake: queued,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops after the pass in progress (what is still queued stays queued, for the next
    /// sequencer or the next read).
    pub async fn stop(&self) {
        crate::stop::stop_loop(&self.stopping, &self.wake, &self.task).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use usvc_core::ports::MockAuditLog;

    use super::*;

    /// Woken, it chains until nothing is left; idle, it does not poll the store.
    #[tokio::test(start_paused = true)]
    async fn a_wake_chains_until_the_queue_is_empty_and_idle_costs_nothing() {
        let passes = Arc::new(AtomicU32::new(0));
        let mut log = MockAuditLog::new();
        let counted = passes.clone();
        // Queue: empty at start; then a wake finds 3 then 2 entries, then none.
        let answers = Arc::new(Mutex::new(vec![0_u64, 3, 2, 0]));
        log.expect_sequence().returning(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut answers = answers.lock().expect("answers");
            Ok(if answers.is_empty() {
                0
            } else {
                answers.remove(0)
            })
        });
        let queued = Arc::new(Notify::new());
        let sequencer = AuditSequencer::start(Arc::new(log), queued.clone());
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(passes.load(Ordering::SeqCst), 1, "one pass at start");
        tokio::time::sleep(SAFETY_NET.saturating_sub(Duration::from_secs(1))).await;
        assert_eq!(passes.load(Ordering::SeqCst), 1, "no polling while idle");
        queued.notify_one();
        // Passes that found work are GATHER apart.
        tokio::time::sleep(crate::gather::GATHER * 3).await;
        assert_eq!(
            passes.load(Ordering::SeqCst),
            4,
            "a wake chains (3, then 2) until a pass finds nothing"
        );
        sequencer.stop().await;
    }
}
