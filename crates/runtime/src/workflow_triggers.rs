//! The trigger loop: runs the workflow triggers (`usvc_workflow::TriggerService`) whenever
//! an event goes through this process's bus (the outbox relay hands every staged event to
//! it, and a saved workflow announces itself there too), when the next schedule tick is due,
//! and otherwise every [`SAFETY_NET`] (events another replica's loop has not yet run, for
//! instance because that replica died). Any replica may run any trigger: starts are keyed,
//! ticks are compare-and-set, so running everywhere is safe.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use usvc_workflow::TriggerService;

use crate::event_bus::EventBus;

/// The longest sleep between passes: a pass costs three queries, so this bounds what an idle
/// loop costs the database (issue 17: ≤ 1 transaction/s per idle replica).
pub const SAFETY_NET: Duration = Duration::from_secs(30);
/// The pause after a failed pass (the database is away) before the next.
const AFTER_FAILURE: Duration = Duration::from_secs(5);
/// The shortest sleep between passes that were not woken by an event.
const MIN_SLEEP: Duration = Duration::from_millis(200);

/// The running loop; [`TriggerLoop::stop`] ends it (a graceful shutdown).
pub struct TriggerLoop {
    stopping: Arc<AtomicBool>,
    wake: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl TriggerLoop {
    /// Starts the loop on the current runtime.
    pub fn start(service: Arc<TriggerService>, bus: &EventBus) -> Arc<Self> {
        let stopping = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let mut events = bus.subscribe();
        let task = tokio::spawn({
            let (stopping, wake) = (stopping.clone(), wake.clone());
            async move {
                while !stopping.load(Ordering::Acquire) {
                    let pass = usvc_logger::caught("workflow triggers", service.run_once())
                        .await
                        .unwrap_or_else(|panic| Err(usvc_core::CoreError::Internal(panic)));
                    let found_work = pass.as_ref().is_ok_and(|p| p.events > 0 || p.ticks > 0);
                    let more = pass.as_ref().is_ok_and(|p| p.more);
                    let sleep = match pass {
                        Err(e) => {
                            tracing::warn!(error = %e, "workflow triggers: a pass failed; retrying");
                            AFTER_FAILURE
                        }
                        // Until the next tick; a tick still past after a pass is one that
                        // could not fire (logged): look again in a second, not in a loop.
                        Ok(_) => match service.next_tick().await {
                            Ok(Some(tick)) => (tick - service.now())
                                .to_std()
                                .unwrap_or(MIN_SLEEP)
                                .clamp(MIN_SLEEP, SAFETY_NET),
                            _ => SAFETY_NET,
                        },
                    };
                    // Under load, let the next pass take what gathers meanwhile.
                    crate::gather::after_pass(found_work).await;
                    if more {
                        // A backlog longer than one pass: the events that woke us are
                        // drained, so nothing else would bring the next pass soon.
                        continue;
                    }
                    tokio::select! {
                        got = events.recv() => {
                            if matches!(got, Err(RecvError::Closed)) {
                                tokio::time::sleep(SAFETY_NET).await;
                            }
                        }
                        () = tokio::time::sleep(sleep) => {}
                        () = wake.notified() => {}
                    }
                    // One pass covers every event that arrived so far: without this drain,
                    // each event still in the channel would wake a pass of its own.
                    while !matches!(
                        events.try_recv(),
                        Err(TryRecvError::Empty | TryRecvError::Closed)
                    ) {}
                }
            }
        });
        Arc::new(Self {
            stopping,
            wake,
            task: Mutex::new(Some(task)),
        })
    }

    /// Stops starting executions from triggers and waits for the pass in progress to end.
    pub async fn stop(&self) {
        crate::stop::stop_loop(&self.stopping, &self.wake, &self.task).await;
    }
}
