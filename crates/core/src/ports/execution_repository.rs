use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{
    AuditEntry, ClaimedStep, CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState,
    ExecutionStatus, ExecutionSummary, ExecutionTiming, IdempotencyRecord, Page, PageRequest,
    QueueStats, StepTiming, TenantId, TimelineEntry, WorkflowId,
};

/// Storage of executions, their step runs and timelines. State changes go through
/// [`ExecutionRepository::change`], which runs the domain's [`ExecutionChange`] on the
/// execution's current state inside one transaction.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ExecutionRepository: Send + Sync {
    /// Stores a new execution with its step runs and its first timeline entries and, for a
    /// start with an `Idempotency-Key`, the key's record, in one transaction. A key recorded
    /// meanwhile by a concurrent start is `Conflict` and writes nothing. An execution whose
    /// concurrency group is full is stored `queued` (the execution it returns says so); the
    /// end of one of its group releases the oldest queued. `then`, when given, is applied to
    /// the stored execution in the same transaction, as [`change`](Self::change) applies a
    /// change (the starting worker taking the first steps).
    async fn start(
        &self,
        state: &ExecutionState,
        key: Option<IdempotencyRecord>,
        then: Option<Arc<dyn ExecutionChange>>,
    ) -> Result<ExecutionState, CoreError>;

    /// Up to `limit` live executions whose deadline passed at `now`, for the engine to time
    /// out.
    async fn overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, ExecutionId)>, CoreError>;

    /// An execution of the tenant with all its steps.
    async fn get(
        &self,
        tenant: TenantId,
        id: ExecutionId,
    ) -> Result<Option<ExecutionState>, CoreError>;

    /// A workflow's executions, newest first, optionally of one status, a page at a time.
    async fn list(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, CoreError>;

    /// Counts of a workflow's executions by outcome, and the latest one.
    async fn summary(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
    ) -> Result<ExecutionSummary, CoreError>;

    /// Every state change of an execution, in order.
    async fn timeline(
        &self,
        tenant: TenantId,
        id: ExecutionId,
    ) -> Result<Vec<TimelineEntry>, CoreError>;

    /// Takes up to `limit` steps that are due — ready from `ready_at` on, parked on a timer
    /// that has run out, or running under a lease that expired (a dead worker's) — and leases
    /// them to `owner` until `now + lease` under one lease token (`<owner>/<claim id>`),
    /// counting an attempt for each. Steps another
    /// worker is taking at the same moment are skipped (`SKIP LOCKED` on Postgres), so each
    /// attempt has one owner. Tenants are served in turn — every tenant's oldest due step
    /// before any tenant's second — and a tenant with as many steps running as its
    /// `steps_in_flight` quota (`default_in_flight` when the platform set none) gets none, so
    /// one tenant's backlog never holds another's step back by more than one claim.
    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
        default_in_flight: u32,
    ) -> Result<Vec<ClaimedStep>, CoreError>;

    /// How many of the tenant's executions have not ended (pending, running, waiting).
    async fn live_count(&self, tenant: TenantId) -> Result<u64, CoreError>;

    /// Applies `change` to the execution's current state in one transaction (the execution
    /// row locked, so changes to one execution serialise) and writes what differs — steps,
    /// tasks, a timeline entry per status change and, when the change wrote something and a
    /// person made it, `audit` with its event in the outbox. The state after, or `None` if
    /// there is no such execution.
    async fn change(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        change: Arc<dyn ExecutionChange>,
        audit: Option<AuditEntry>,
        now: DateTime<Utc>,
    ) -> Result<Option<ExecutionState>, CoreError>;

    /// Extends the leases of attempts still running (`(execution, step, lease token)`) to
    /// `until`: a worker's heartbeat for its long steps. How many it still held.
    async fn renew(
        &self,
        leases: Vec<(ExecutionId, String, String)>,
        until: DateTime<Utc>,
    ) -> Result<u64, CoreError>;

    /// Hands back every lease `owner` holds (a graceful shutdown): its running steps become
    /// ready again at once, their unfinished attempt not counted. How many.
    async fn release(&self, owner: &str) -> Result<u64, CoreError>;

    /// The tenant's executions started since `since` (the newest 20 000) and the succeeded
    /// steps of the newest 5 000 of them that ended, for analytics.
    async fn timings(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<(Vec<ExecutionTiming>, Vec<StepTiming>), CoreError>;

    /// The backlog across tenants at `now`, for monitoring.
    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, CoreError>;

    /// When the next step becomes due (the earliest `ready_at` of a ready or parked step,
    /// lease expiry of a running one, or a live execution's deadline), so an idle worker can
    /// sleep exactly until then.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, CoreError>;
}
