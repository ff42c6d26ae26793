//! The trigger loop: runs the workflow triggers (`usvc_workflow::TriggerService`) whenever
//! an event goes through this process's bus (the outbox relay hands every staged event to
//! it), when the next schedule tick is due, and at least every few seconds for what other
//! replicas' relays announced. Any replica may run any trigger: starts are keyed, ticks are
//! compare-and-set, so running everywhere is safe.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use usvc_workflow::TriggerService;

use crate::events::EventBus;

/// The longest sleep between passes.
const POLL: Duration = Duration::from_secs(5);

/// Keeps the loop running; the task ends once the last handle is gone.
pub struct TriggerLoop {
    _private: (),
}

impl TriggerLoop {
    /// Starts the loop on the current runtime.
    pub fn start(service: Arc<TriggerService>, bus: &EventBus) -> Arc<Self> {
        let handle = Arc::new(Self { _private: () });
        let alive = Arc::downgrade(&handle);
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            loop {
                if alive.strong_count() == 0 {
                    break;
                }
                if let Err(e) = service.run_once().await {
                    tracing::warn!(error = %e, "workflow triggers: a pass failed; retrying");
                }
                let sleep = match service.next_tick().await {
                    Ok(Some(tick)) => (tick - chrono::Utc::now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(POLL),
                    _ => POLL,
                };
                tokio::select! {
                    got = events.recv() => {
                        if matches!(got, Err(RecvError::Closed)) {
                            tokio::time::sleep(POLL).await;
                        }
                    }
                    () = tokio::time::sleep(sleep) => {}
                }
            }
        });
        handle
    }
}
