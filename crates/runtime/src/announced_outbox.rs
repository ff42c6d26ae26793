//! An [`Outbox`] that wakes the relay after each event it stages on its own (a workflow
//! `event` step's `emit`). The domain services wake the relay themselves after their changes;
//! a step's emit has no service around it, and without this its event would wait for the
//! relay's safety net instead of going out at once.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use usvc_core::ports::{EventRelay, Outbox};
use usvc_core::{CoreError, DomainEvent};

/// `outbox`, with every staged emit announced to `relay`.
pub struct AnnouncedOutbox {
    outbox: Arc<dyn Outbox>,
    relay: Arc<dyn EventRelay>,
}

impl AnnouncedOutbox {
    /// Wraps `outbox`; `relay` is woken after each emit that staged an event.
    pub fn new(outbox: Arc<dyn Outbox>, relay: Arc<dyn EventRelay>) -> Self {
        Self { outbox, relay }
    }
}

#[async_trait]
impl Outbox for AnnouncedOutbox {
    async fn emit(&self, event: DomainEvent) -> Result<bool, CoreError> {
        let staged = self.outbox.emit(event).await?;
        if staged {
            self.relay.wake();
        }
        Ok(staged)
    }

    async fn claim(&self, limit: u32, at: DateTime<Utc>) -> Result<Vec<DomainEvent>, CoreError> {
        self.outbox.claim(limit, at).await
    }
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::{MockEventRelay, MockOutbox};
    use usvc_core::TenantId;

    use super::*;

    fn event() -> DomainEvent {
        DomainEvent::new(
            TenantId::new(),
            "order.shipped",
            Utc::now(),
            None,
            serde_json::json!({}),
        )
    }

    #[tokio::test]
    async fn a_staged_event_wakes_the_relay_and_a_repeat_does_not() {
        let mut outbox = MockOutbox::new();
        let mut first = true;
        outbox.expect_emit().times(2).returning(move |_| {
            let staged = first;
            first = false;
            Ok(staged)
        });
        let mut relay = MockEventRelay::new();
        relay.expect_wake().times(1).return_const(());
        let announced = AnnouncedOutbox::new(Arc::new(outbox), Arc::new(relay));
        assert_eq!(announced.emit(event()).await, Ok(true));
        assert_eq!(
            announced.emit(event()).await,
            Ok(false),
            "a retried attempt's repeat stages nothing"
        );
    }
}
