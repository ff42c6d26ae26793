//! The in-process event bus behind the `EventPublisher` port: every domain event is logged
//! (type, tenant, id; never the payload, which may name people) and fanned out to in-process
//! subscribers. Project events arrive here through the transactional outbox and its relay
//! (`outbox_relay.rs`); the identity domain's events are published directly.

use async_trait::async_trait;
use tokio::sync::broadcast;
use usvc_core::ports::EventPublisher;
use usvc_core::{CoreError, DomainEvent};

/// Events a slow subscriber may fall behind by before it starts missing some (it is told how
/// many it missed).
const BUFFER: usize = 4096;

/// Fan-out of domain events inside this process.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<DomainEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
        }
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DomainEvent> {
        self.sender.subscribe()
    }
}

/// The `type` label of `usvc_domain_events_total`: the service's own types (a fixed set, from
/// its code) by name; every type a workflow emits (`order.shipped`, chosen by tenants, without
/// bound) as `custom`, so tenants cannot grow the metrics without end.
fn type_label(kind: &str) -> String {
    if usvc_workflow::SERVICE_EVENT_PREFIXES
        .iter()
        .any(|p| kind.starts_with(p))
    {
        kind.to_owned()
    } else {
        "custom".to_owned()
    }
}

#[async_trait]
impl EventPublisher for EventBus {
    async fn publish(&self, event: DomainEvent) -> Result<(), CoreError> {
        tracing::info!(
            event = %event.kind,
            event_id = %event.id,
            tenant = %event.tenant,
            actor = ?event.actor.map(|a| a.to_string()),
            "domain event"
        );
        metrics::counter!("usvc_domain_events_total", "type" => type_label(&event.kind))
            .increment(1);
        // No subscriber is not an error: the event was logged and counted.
        let _ = self.sender.send(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_receive_what_is_published_after_they_subscribe() {
        let bus = EventBus::new();
        let tenant = usvc_core::TenantId::new();
        bus.publish(DomainEvent::new(
            tenant,
            "user.created",
            chrono::Utc::now(),
            None,
            serde_json::json!({}),
        ))
        .await
        .expect("no subscriber is fine");
        let mut events = bus.subscribe();
        bus.publish(DomainEvent::new(
            tenant,
            "user.deleted",
            chrono::Utc::now(),
            None,
            serde_json::json!({}),
        ))
        .await
        .expect("publish");
        assert_eq!(events.recv().await.expect("event").kind, "user.deleted");
    }

    #[test]
    fn tenant_chosen_event_types_share_one_label() {
        assert_eq!(type_label("project.created"), "project.created");
        assert_eq!(type_label("order.shipped"), "custom");
        assert_eq!(type_label("a.b.c.d.e.f"), "custom");
    }
}
