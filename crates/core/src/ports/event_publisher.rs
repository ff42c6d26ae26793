use async_trait::async_trait;

use crate::{CoreError, DomainEvent};

/// Announces what happened (`user.created`, `session.revoked`, …) to whoever listens: the audit
/// log, webhooks and workflow triggers. Publishing happens after the change is stored; a
/// publisher must not fail the use case for a slow listener.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Hands one event to the listeners.
    async fn publish(&self, event: DomainEvent) -> Result<(), CoreError>;
}
