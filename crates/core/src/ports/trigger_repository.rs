use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{ActiveTrigger, CoreError, DomainEvent, TenantId, TriggeredStart};

/// What event and schedule triggers read and write. Starts are keyed per workflow, so a
/// start repeated by a crash or by another replica starts nothing.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TriggerRepository: Send + Sync {
    /// Up to `limit` outbox events the triggers have not looked at yet, oldest first.
    async fn pending_events(&self, limit: u32) -> Result<Vec<DomainEvent>, CoreError>;

    /// The event triggers of active workflows of `tenants` for the event types `kinds`.
    async fn event_triggers(
        &self,
        tenants: Vec<TenantId>,
        kinds: Vec<String>,
    ) -> Result<Vec<ActiveTrigger>, CoreError>;

    /// In one transaction: starts each execution whose key its workflow has not seen — if
    /// the workflow is still active, live and at the version the start pins (a pause or a
    /// save racing the pass wins) — and marks `events` looked at. How many started.
    async fn start_for_events(
        &self,
        starts: Vec<TriggeredStart>,
        events: Vec<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, CoreError>;

    /// Schedule triggers of active workflows due at `now` or not planned yet, up to `limit`.
    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ActiveTrigger>, CoreError>;

    /// Moves a schedule from its `next_fire_at` (as `trigger` read it) to `next`, and starts
    /// `start` if given, in one transaction — only if no one moved it meanwhile and the
    /// workflow is still active at `trigger.version`: of several replicas firing the same
    /// tick, one does. Whether it moved the tick, and whether it started an execution.
    async fn fire(
        &self,
        trigger: ActiveTrigger,
        next: Option<DateTime<Utc>>,
        start: Option<TriggeredStart>,
    ) -> Result<(bool, bool), CoreError>;

    /// When the next planned schedule tick is, so the trigger loop can sleep until then.
    async fn next_tick(&self) -> Result<Option<DateTime<Utc>>, CoreError>;
}
