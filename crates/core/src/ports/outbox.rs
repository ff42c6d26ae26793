use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{CoreError, DomainEvent};

/// The transactional outbox. Events are staged by the repository methods that make the
/// changes, in the same transaction; a relay takes them from here and hands them on.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Stages an event that is its own change (a workflow's `event` step), once per id: a
    /// repeat with the same id (a retried attempt) stages nothing (`false`).
    async fn emit(&self, event: DomainEvent) -> Result<bool, CoreError>;

    /// Takes up to `limit` events not relayed yet, oldest first, and marks them relayed at
    /// `at`, atomically. Of two relays (replicas) choosing the same events, each event goes
    /// to one: the other finds it relayed and gets fewer (possibly none), so each event is
    /// taken once.
    async fn claim(&self, limit: u32, at: DateTime<Utc>) -> Result<Vec<DomainEvent>, CoreError>;
}

/// Tells the relay that a change with events committed, so they go out now instead of at the
/// relay's next poll.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait EventRelay: Send + Sync {
    /// Wakes the relay; cheap and never blocks.
    fn wake(&self);
}
