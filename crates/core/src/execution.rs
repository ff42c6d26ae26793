//! Executions and their step runs as the stores keep them: rows whose state changes are
//! computed by the workflow domain (`ExecutionChange`) inside the store's transaction, so
//! every transition happens once, whoever races for it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::project::text_enum;
use crate::{CoreError, ExecutionId, ProjectId, Task, TenantId, UserId, WorkflowId};

/// Where an execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Started; no step has run yet.
    Pending,
    /// At least one step is ready or running.
    Running,
    /// Nothing can run until a timer fires or a person answers.
    Waiting,
    /// Every step succeeded or was skipped.
    Succeeded,
    /// A step failed for good.
    Failed,
    /// Cancelled by a person.
    Cancelled,
}

text_enum!(
    ExecutionStatus,
    "status",
    Pending = "pending",
    Running = "running",
    Waiting = "waiting",
    Succeeded = "succeeded",
    Failed = "failed",
    Cancelled = "cancelled"
);

impl ExecutionStatus {
    /// Whether the execution is over (nothing will change it but a retry).
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// Where one step of an execution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Waiting for its dependencies.
    Pending,
    /// May be claimed by a worker (from `ready_at` on).
    Ready,
    /// A worker holds its lease.
    Running,
    /// Parked: a durable timer (`ready_at`) or a human task.
    Waiting,
    /// Done, with its output.
    Succeeded,
    /// Failed for good (retries spent).
    Failed,
    /// Will not run (`skip` says why).
    Skipped,
    /// Stopped by a cancel or by a sibling's failure under `fail_fast`.
    Cancelled,
}

text_enum!(
    StepStatus,
    "status",
    Pending = "pending",
    Ready = "ready",
    Running = "running",
    Waiting = "waiting",
    Succeeded = "succeeded",
    Failed = "failed",
    Skipped = "skipped",
    Cancelled = "cancelled"
);

impl StepStatus {
    /// Whether the step is over.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Skipped | Self::Cancelled
        )
    }
}

/// An execution's own row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Stable id.
    pub id: ExecutionId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The version it pinned at start.
    pub version: i64,
    /// Where it is.
    pub status: ExecutionStatus,
    /// What it was started with.
    pub inputs: serde_json::Value,
    /// The outputs of its final steps, once it succeeded.
    pub output: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// `manual`, `event` or `schedule`.
    pub trigger: String,
    /// Who started it (manual starts).
    pub started_by: Option<UserId>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When its first step ran.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The latest time it may run to (the definition's `timeout`), if any: past it, it
    /// fails and whatever is open is cancelled.
    pub deadline: Option<DateTime<Utc>>,
    /// Its group under the definition's `concurrency` (the evaluated `key`, `""` for the
    /// whole workflow), if the workflow limits concurrency.
    pub concurrency_key: Option<String>,
    /// How many executions of its group may run at once.
    pub concurrency_limit: Option<i32>,
    /// Waiting for a concurrency slot: its ready steps are held (no `ready_at`) until an
    /// execution of its group ends.
    pub queued: bool,
    /// The projects its `project.*` steps created or changed, in the order they did: their
    /// data is in its outputs, so reading it takes reading each of them.
    #[serde(default)]
    pub projects: Vec<ProjectId>,
}

/// One step of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    /// The step's id in the definition.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// Where it is.
    pub status: StepStatus,
    /// Attempts started so far.
    pub attempts: i32,
    /// What it produced.
    pub output: Option<serde_json::Value>,
    /// Why its last attempt failed.
    pub error: Option<String>,
    /// Why it was skipped: `if` (its own condition), `condition` (a false condition
    /// upstream), `failure` (a failed step upstream, under `continue`).
    pub skip: Option<String>,
    /// What a parked step keeps between its attempts (a timer's deadline).
    pub state: Option<serde_json::Value>,
    /// When it may be claimed (ready, or parked on a timer).
    pub ready_at: Option<DateTime<Utc>>,
    /// The worker holding it, while running.
    pub lease_owner: Option<String>,
    /// Until when the lease holds; past it another worker may take the step.
    pub lease_until: Option<DateTime<Utc>>,
    /// When its first attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// An execution with all its steps: what a transition reads and rewrites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    /// The execution row.
    pub execution: Execution,
    /// Its steps, in definition order.
    pub steps: Vec<StepRun>,
    /// Its open human tasks, loaded when a step waits (a person's answer or a cancel
    /// changes them), and any task a change adds.
    #[serde(default)]
    pub tasks: Vec<Task>,
}

impl ExecutionState {
    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.step_id == id)
    }

    /// The step with this id, to change it.
    pub fn step_mut(&mut self, id: &str) -> Option<&mut StepRun> {
        self.steps.iter_mut().find(|s| s.step_id == id)
    }

    /// Whether a store must load the open tasks along with the steps: only a waiting step
    /// can have one.
    pub fn may_have_tasks(&self) -> bool {
        self.steps.iter().any(|s| s.status == StepStatus::Waiting)
    }
}

/// How a workflow's executions stand, for its `GET`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionSummary {
    /// Pending, running or waiting.
    pub running: u64,
    /// Ended well.
    pub succeeded: u64,
    /// Ended failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// The most recently started.
    pub last: Option<Execution>,
}

/// The engine's backlog across tenants, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Steps ready and due now.
    pub ready: u64,
    /// When the longest-waiting of them became due.
    pub oldest_ready_at: Option<DateTime<Utc>>,
    /// Steps running under a lease.
    pub running: u64,
    /// Steps parked on a timer or a person.
    pub waiting: u64,
    /// Executions by status.
    pub executions: Vec<(ExecutionStatus, u64)>,
}

/// One execution as analytics sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionTiming {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Its name now.
    pub workflow_name: String,
    /// Where the execution is.
    pub status: ExecutionStatus,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Ended, if it did.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One succeeded step run as analytics sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepTiming {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// The step's id.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// From its first attempt's start to its end, in milliseconds.
    pub duration_ms: i64,
}

/// One state change, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The step, or `None` for the execution itself.
    pub step_id: Option<String>,
    /// The status entered.
    pub status: String,
    /// The attempt, for steps.
    pub attempt: Option<i32>,
    /// An error or a reason, when there is one.
    pub detail: Option<String>,
}

/// A step a worker claimed: enough to run it without another read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedStep {
    /// The execution's tenant.
    pub tenant_id: TenantId,
    /// The execution.
    pub execution_id: ExecutionId,
    /// Its workflow and pinned version.
    pub workflow_id: WorkflowId,
    /// The pinned version.
    pub version: i64,
    /// The step.
    pub step_id: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// The lease token of this claim (`<worker>/<claim id>`): only a result carrying it is
    /// recorded, so an attempt that lost its lease — to another worker, to a cancel and a
    /// retry — changes nothing however late it ends.
    pub lease: String,
    /// What the step kept from an earlier attempt (a timer's deadline).
    pub state: Option<serde_json::Value>,
    /// The execution as the claim left it: its inputs and the outputs of the steps this one
    /// depends on (final before it became ready, so they cannot change under it). Handed over
    /// with the claim so running the step needs no read of its own; `None` where the claimer
    /// did not load it (the engine then reads it).
    #[serde(skip)]
    pub snapshot: Option<std::sync::Arc<ExecutionState>>,
}

impl ClaimedStep {
    /// The attempts of `state` that `lease` holds (claimed in the change that produced
    /// `state`), each carrying `state` as its snapshot.
    pub fn held_by(state: &std::sync::Arc<ExecutionState>, lease: &str) -> Vec<Self> {
        let e = &state.execution;
        state
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Running && s.lease_owner.as_deref() == Some(lease))
            .map(|s| Self {
                tenant_id: e.tenant_id,
                execution_id: e.id,
                workflow_id: e.workflow_id,
                version: e.version,
                step_id: s.step_id.clone(),
                attempt: s.attempts,
                lease: lease.to_owned(),
                state: s.state.clone(),
                snapshot: Some(state.clone()),
            })
            .collect()
    }
}

/// A change to one execution, computed by the workflow domain over its current state inside
/// the store's transaction (the execution row locked), so concurrent changes to one execution
/// apply one after the other and each sees the last.
pub trait ExecutionChange: Send + Sync {
    /// Changes `state` in place; `Ok(false)` means nothing to do (written: nothing). The
    /// store writes what differs, with a timeline entry per status change.
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError>;

    /// For a change that claims ready steps for the worker making it: the `steps_in_flight`
    /// quota of a tenant the platform set none for. The store then reads, in the change's
    /// transaction, how many more of the tenant's steps may run now (its quota less the live
    /// leases) and calls [`apply_within`](Self::apply_within) instead of `apply`.
    fn claims_steps(&self) -> Option<u32> {
        None
    }

    /// [`apply`](Self::apply), claiming at most `room` steps.
    fn apply_within(
        &self,
        state: &mut ExecutionState,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<bool, CoreError> {
        let _ = room;
        self.apply(state, now)
    }
}
