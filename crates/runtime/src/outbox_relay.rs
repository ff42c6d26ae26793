//! The outbox relay: takes the domain events that changes staged in the outbox (in their own
//! transactions) and hands them to the in-process [`EventBus`] — at once when woken after a
//! commit (every change that stages an event wakes its own replica's relay: the domain
//! services through the `EventRelay` port, workflow `event` steps through
//! [`AnnouncedOutbox`](crate::AnnouncedOutbox)), and otherwise only every
//! [`SAFETY_NET`] for what a crash left behind, so an idle relay costs the database nothing
//! worth counting (issue 17: ≤ 1 transaction/s per idle replica, docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use usvc_core::ports::{Clock, EventPublisher, EventRelay, Outbox};

use crate::event_bus::EventBus;

/// How often the relay looks without being woken: only events whose replica died between
/// their commit and its relay's claim are found this way (each replica relays its own).
pub const SAFETY_NET: Duration = Duration::from_secs(30);
/// The pause after a failed round before the next.
const AFTER_FAILURE: Duration = Duration::from_secs(1);
/// Events taken per claim.
const BATCH: u32 = 200;

/// The handle changes wake; the relay task ends at [`OutboxRelay::stop`] or once the last
/// handle is gone.
pub struct OutboxRelay {
    wake: Arc<Notify>,
    stopping: Arc<AtomicBool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl OutboxRelay {
    /// Starts the relay task on the current runtime; claims are stamped with `clock`'s time.
    pub fn start(outbox: Arc<dyn Outbox>, bus: EventBus, clock: Arc<dyn Clock>) -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let relay = Arc::new(Self {
            wake: wake.clone(),
            stopping: stopping.clone(),
            task: Mutex::new(None),
        });
        let alive = Arc::downgrade(&relay);
        let task = tokio::spawn(async move {
            // A first round at start: what this replica left staged when it last stopped.
            while alive.strong_count() > 0 && !stopping.load(Ordering::Acquire) {
                let done = usvc_logger::caught(
                    "outbox relay",
                    relay_pending(outbox.as_ref(), &bus, clock.as_ref(), &stopping),
                )
                .await;
                let Ok(Some(relayed)) = done else {
                    // The store failed (or a bug did): look again soon, not at the safety net.
                    tokio::time::sleep(AFTER_FAILURE).await;
                    continue;
                };
                // Under load, let the next wake's claim take what gathers meanwhile.
                crate::gather::after_pass(relayed > 0).await;
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(SAFETY_NET) => {}
                }
            }
        });
        if let Ok(mut slot) = relay.task.lock() {
            *slot = Some(task);
        }
        relay
    }

    /// Stops relaying once the round in progress has ended; what is still staged stays in
    /// the outbox for the next relay (here after a restart, or another replica's).
    pub async fn stop(&self) {
        crate::stop::stop_loop(&self.stopping, &self.wake, &self.task).await;
    }
}

impl EventRelay for OutboxRelay {
    fn wake(&self) {
        // A permit is kept if the task is busy, so a wake is never lost.
        self.wake.notify_one();
    }
}

/// Relays until the outbox is empty or the relay is stopping (what is left stays staged for
/// the next relay); how many events it relayed, `None` when the store failed (the caller
/// retries shortly).
async fn relay_pending(
    outbox: &dyn Outbox,
    bus: &EventBus,
    clock: &dyn Clock,
    stopping: &AtomicBool,
) -> Option<usize> {
    let mut relayed = 0;
    while !stopping.load(Ordering::Acquire) {
        match outbox.claim(BATCH, clock.now()).await {
            Ok(events) if events.is_empty() => break,
            Ok(events) => {
                let short = events.len() < usize::try_from(BATCH).unwrap_or(usize::MAX);
                relayed += events.len();
                for event in events {
                    // The bus only logs, counts and fans out in memory: it does not fail.
                    let _ = bus.publish(event).await;
                }
                // A short batch took everything there was: no second claim to find nothing
                // (what committed meanwhile woke the relay, which looks again).
                if short {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay: claiming events failed; retrying");
                return None;
            }
        }
    }
    Some(relayed)
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::MockOutbox;
    use usvc_core::{DomainEvent, TenantId};

    use super::*;

    /// An idle relay looks once at start, then only when woken or after its safety net: not
    /// every second (an idle replica should cost the database nothing worth counting).
    #[tokio::test(start_paused = true)]
    async fn an_idle_relay_looks_only_at_start_when_woken_and_at_its_safety_net() {
        let looks = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mut outbox = MockOutbox::new();
        let counted = looks.clone();
        outbox.expect_claim().returning(move |_, _| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(vec![])
        });
        let relay = OutboxRelay::start(
            Arc::new(outbox),
            EventBus::new(),
            Arc::new(usvc_core::ports::SystemClock),
        );
        let looked = |after: Duration| {
            let looks = looks.clone();
            async move {
                tokio::time::sleep(after).await;
                looks.load(Ordering::SeqCst)
            }
        };
        assert_eq!(
            looked(Duration::from_millis(1)).await,
            1,
            "one look at start"
        );
        assert_eq!(
            looked(SAFETY_NET.saturating_sub(Duration::from_secs(2))).await,
            1,
            "no polling while nothing happens"
        );
        relay.wake();
        assert_eq!(
            looked(Duration::from_millis(1)).await,
            2,
            "a wake looks at once"
        );
        assert_eq!(
            looked(SAFETY_NET).await,
            3,
            "the safety net looks for what a crash left"
        );
        relay.stop().await;
    }

    #[tokio::test]
    async fn a_wake_relays_what_the_outbox_holds_to_the_bus() {
        let tenant = TenantId::new();
        let mut outbox = MockOutbox::new();
        let mut rounds = 0;
        outbox.expect_claim().returning(move |_, at| {
            rounds += 1;
            Ok(if rounds == 1 {
                vec![DomainEvent::new(
                    tenant,
                    "project.created",
                    at,
                    None,
                    serde_json::json!({}),
                )]
            } else {
                vec![]
            })
        });
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let relay = OutboxRelay::start(
            Arc::new(outbox),
            bus,
            Arc::new(usvc_core::ports::SystemClock),
        );
        relay.wake();
        let got = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("relayed in time")
            .expect("an event");
        assert_eq!((got.kind.as_str(), got.tenant), ("project.created", tenant));
        tokio::time::timeout(Duration::from_secs(5), relay.stop())
            .await
            .expect("the relay stops when asked");
    }
}
