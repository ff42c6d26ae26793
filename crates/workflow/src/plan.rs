//! The execution state machine, as pure functions over an `ExecutionState`: the first state
//! of an execution, what a finished step unlocks, cancel and retry. The store runs them
//! (as `ExecutionChange`s) inside the transaction that holds the execution, so each
//! transition happens exactly once however many workers race.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use usvc_core::{
    CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState, ExecutionStatus, StepRun,
    StepStatus, Task, TaskDecision, TaskId, TaskStatus, TenantId, UserId, WorkflowId,
};

use crate::definition::{parse_duration, Definition, OnFailure, Retry};
use crate::kinds::{Kinds, StepOutcome};
use crate::template;

pub use crate::skip;

/// The first wait before a retry when the step names none.
const DEFAULT_INITIAL: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest wait between retries when the step names none.
const DEFAULT_MAX: std::time::Duration = std::time::Duration::from_secs(300);

fn step_run(id: &str, kind: &str) -> StepRun {
    StepRun {
        step_id: id.to_owned(),
        kind: kind.to_owned(),
        status: StepStatus::Pending,
        attempts: 0,
        output: None,
        error: None,
        skip: None,
        state: None,
        ready_at: None,
        lease_owner: None,
        lease_until: None,
        started_at: None,
        finished_at: None,
    }
}

/// Who or what starts an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starter {
    /// `manual`, `event` or `schedule`.
    pub trigger: &'static str,
    /// The person, for manual starts.
    pub user: Option<UserId>,
}

/// A new execution of `definition` (pinned at `version`) with `inputs`: its deadline from
/// the definition's `timeout`, its concurrency group from `concurrency` (the `key`
/// evaluated over the inputs; a key that cannot be evaluated is a `Validation` error).
pub fn new_execution(
    definition: &Definition,
    (tenant, workflow, version): (TenantId, WorkflowId, i64),
    inputs: serde_json::Value,
    starter: &Starter,
    now: DateTime<Utc>,
) -> Result<Execution, CoreError> {
    let deadline = deadline(definition, now);
    let (concurrency_key, concurrency_limit) = match &definition.concurrency {
        None => (None, None),
        Some(c) => {
            let key = match &c.key {
                None => String::new(),
                Some(expr) => {
                    let value = template::evaluate(expr, &json!({ "inputs": inputs }))
                        .map_err(|e| CoreError::invalid("concurrency.key", e))?;
                    let key = match value {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    group_key(key)
                }
            };
            (Some(key), Some(i32::try_from(c.limit).unwrap_or(i32::MAX)))
        }
    };
    Ok(Execution {
        id: ExecutionId::new(),
        tenant_id: tenant,
        workflow_id: workflow,
        version,
        status: ExecutionStatus::Pending,
        inputs,
        output: None,
        error: None,
        trigger: starter.trigger.to_owned(),
        started_by: starter.user,
        created_at: now,
        started_at: None,
        finished_at: None,
        deadline,
        concurrency_key,
        concurrency_limit,
        queued: false,
        projects: Vec::new(),
    })
}

/// The deadline of an execution started (or retried) at `now`, under the definition's
/// `timeout`.
fn deadline(definition: &Definition, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    definition
        .timeout
        .as_deref()
        .and_then(parse_duration)
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| now + d)
}

/// A concurrency group's stored key: the value itself up to 200 characters (readable), a
/// hash of longer ones (an input can be any size; the key is indexed).
fn group_key(key: String) -> String {
    use sha2::Digest as _;
    if key.chars().count() <= 200 {
        return key;
    }
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex = digest.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("sha256:{hex}")
}

/// A new execution's state: steps without dependencies ready now, the rest pending.
pub fn initial(
    definition: &Definition,
    execution: Execution,
    now: DateTime<Utc>,
) -> ExecutionState {
    let steps = definition
        .steps
        .iter()
        .map(|s| {
            let mut run = step_run(&s.id, &s.kind);
            if s.depends_on.is_empty() {
                run.status = StepStatus::Ready;
                run.ready_at = Some(now);
            }
            run
        })
        .collect();
    ExecutionState {
        execution,
        steps,
        tasks: Vec::new(),
    }
}

/// The wait before attempt `attempt + 1`: `initial` doubled per attempt, capped at `max`,
/// less up to a fifth drawn from `seed` (jitter, so retries of many executions do not
/// arrive together).
pub fn backoff(retry: &Retry, attempt: i32, seed: u128) -> chrono::Duration {
    let initial = retry
        .initial
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(DEFAULT_INITIAL);
    let max = retry
        .max
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(DEFAULT_MAX)
        .max(initial);
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let wait = initial.saturating_mul(1 << doublings).min(max);
    let fifth = wait / 5;
    let jitter_ms = u64::try_from(fifth.as_millis()).unwrap_or(0);
    let jitter = if jitter_ms == 0 {
        std::time::Duration::ZERO
    } else {
        let mixed = (seed ^ (seed >> 64)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 64;
        std::time::Duration::from_millis(u64::try_from(mixed % u128::from(jitter_ms)).unwrap_or(0))
    };
    chrono::Duration::from_std(wait.saturating_sub(jitter)).unwrap_or(chrono::Duration::MAX)
}

/// Whether the kind of `dep` (succeeded, or skipped by its own `if`) lets `dependent` run:
/// gating is the kind's to declare ([`crate::kinds::StepKind::lets_through`]).
fn gate_open(definition: &Definition, dep: &StepRun, dependent: &str) -> bool {
    let Some(step) = definition.steps.iter().find(|s| s.id == dep.step_id) else {
        return true;
    };
    Kinds::registry()
        .get(&step.kind)
        .is_none_or(|kind| kind.lets_through(&step.with, dep, dependent))
}

/// What one dependency's end means for the step `dependent` waiting on it.
fn blocks(
    definition: &Definition,
    dep: &StepRun,
    dependent: &str,
) -> Option<(StepStatus, &'static str)> {
    match dep.status {
        StepStatus::Failed => Some((StepStatus::Skipped, skip::FAILURE)),
        StepStatus::Skipped if dep.skip.as_deref() == Some(skip::FAILURE) => {
            Some((StepStatus::Skipped, skip::FAILURE))
        }
        StepStatus::Cancelled => Some((StepStatus::Cancelled, "")),
        StepStatus::Skipped if dep.skip.as_deref() == Some(skip::CONDITION) => {
            Some((StepStatus::Skipped, skip::CONDITION))
        }
        StepStatus::Succeeded | StepStatus::Skipped if !gate_open(definition, dep, dependent) => {
            Some((StepStatus::Skipped, skip::CONDITION))
        }
        _ => None,
    }
}

/// Moves every pending step whose dependencies have all ended (ready, or skipped or
/// cancelled along with its branch), then sets the execution's status from its steps'.
pub fn settle(definition: &Definition, state: &mut ExecutionState, now: DateTime<Utc>) {
    loop {
        let mut moved = false;
        for (i, step) in definition.steps.iter().enumerate() {
            if state
                .steps
                .get(i)
                .is_none_or(|s| s.status != StepStatus::Pending)
            {
                continue;
            }
            let deps: Vec<&StepRun> = step
                .depends_on
                .iter()
                .filter_map(|d| state.step(d))
                .collect();
            if deps.iter().any(|d| !d.status.is_final()) {
                continue;
            }
            // The strongest reason wins: failure, then cancellation, then a false condition.
            let verdict = deps
                .iter()
                .filter_map(|d| blocks(definition, d, &step.id))
                .min_by_key(|(status, why)| match (*status, *why) {
                    (_, skip::FAILURE) => 0,
                    (StepStatus::Cancelled, _) => 1,
                    _ => 2,
                });
            let run = &mut state.steps[i];
            if let Some((status, why)) = verdict {
                run.status = status;
                run.skip = (!why.is_empty()).then(|| why.to_owned());
                run.finished_at = Some(now);
            } else {
                run.status = StepStatus::Ready;
                run.ready_at = Some(now);
            }
            moved = true;
        }
        if !moved {
            break;
        }
    }
    settle_execution(definition, state, now);
}

fn settle_execution(definition: &Definition, state: &mut ExecutionState, now: DateTime<Utc>) {
    if state.execution.status.is_final() {
        return;
    }
    let failed: Vec<&StepRun> = state
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .collect();
    let failure = failed.first().map(|s| {
        format!(
            "step `{}` failed: {}",
            s.step_id,
            s.error.as_deref().unwrap_or("no reason given")
        )
    });
    if let (Some(error), OnFailure::FailFast) = (&failure, definition.on_failure) {
        let error = error.clone();
        cancel_open_steps(state, now);
        end(state, ExecutionStatus::Failed, Some(error), now);
        return;
    }
    if state.steps.iter().all(|s| s.status.is_final()) {
        if let Some(error) = failure {
            end(state, ExecutionStatus::Failed, Some(error), now);
        } else {
            let output = leaf_outputs(definition, state);
            state.execution.output = Some(output);
            end(state, ExecutionStatus::Succeeded, None, now);
        }
        return;
    }
    let active = state
        .steps
        .iter()
        .any(|s| matches!(s.status, StepStatus::Ready | StepStatus::Running));
    let begun = state.steps.iter().any(|s| s.started_at.is_some());
    state.execution.status = if active {
        if begun {
            ExecutionStatus::Running
        } else {
            state.execution.status
        }
    } else {
        ExecutionStatus::Waiting
    };
}

/// The outputs of the steps nothing depends on, by id: what the execution produced.
fn leaf_outputs(definition: &Definition, state: &ExecutionState) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for step in &definition.steps {
        let is_leaf = !definition
            .steps
            .iter()
            .any(|s| s.depends_on.iter().any(|d| d == &step.id));
        if let Some(run) = state.step(&step.id) {
            if is_leaf && run.status == StepStatus::Succeeded {
                out.insert(step.id.clone(), run.output.clone().unwrap_or(json!({})));
            }
        }
    }
    serde_json::Value::Object(out)
}

fn cancel_open_steps(state: &mut ExecutionState, now: DateTime<Utc>) {
    for task in &mut state.tasks {
        if task.status == TaskStatus::Open {
            task.status = TaskStatus::Cancelled;
            task.completed_at = Some(now);
        }
    }
    for step in &mut state.steps {
        if !step.status.is_final() {
            step.status = StepStatus::Cancelled;
            step.lease_owner = None;
            step.lease_until = None;
            step.ready_at = None;
            step.finished_at = Some(now);
        }
    }
}

fn end(
    state: &mut ExecutionState,
    status: ExecutionStatus,
    error: Option<String>,
    now: DateTime<Utc>,
) {
    state.execution.status = status;
    state.execution.error = error;
    state.execution.finished_at = Some(now);
    // An execution that ends, queued or not, holds no concurrency slot.
    state.execution.queued = false;
}

/// How a worker's attempt at a step ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// The kind ran (or could not: a template that failed to render is a `Failed`).
    Ran(StepOutcome),
    /// The step's `if` was false.
    SkippedByIf,
}

/// A worker's attempt at a step ended: record it if the worker still holds the step (its
/// lease, this attempt), retry or fail it, and move what it unlocks.
pub struct FinishStep {
    /// The pinned version's definition.
    pub definition: Arc<Definition>,
    /// The step.
    pub step_id: String,
    /// The worker that ran it.
    pub owner: String,
    /// The attempt it ran.
    pub attempt: i32,
    /// How it ended.
    pub finish: Finish,
}

impl ExecutionChange for FinishStep {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        if state.execution.status.is_final() {
            return Ok(false);
        }
        let seed = state.execution.id.as_uuid().as_u128();
        let retry = self
            .definition
            .steps
            .iter()
            .find(|s| s.id == self.step_id)
            .and_then(|s| s.retry.clone());
        let (tenant, execution, workflow) = (
            state.execution.tenant_id,
            state.execution.id,
            state.execution.workflow_id,
        );
        // A project step's project: reading the run takes reading it from now on.
        if let Finish::Ran(StepOutcome::Succeeded(output)) = &self.finish {
            let kind = self.definition.steps.iter().find(|s| s.id == self.step_id);
            if let Some(project) = kind.and_then(|s| crate::subject::project_of(&s.kind, output)) {
                if !state.execution.projects.contains(&project) {
                    state.execution.projects.push(project);
                }
            }
        }
        let Some(run) = state.step_mut(&self.step_id) else {
            return Ok(false);
        };
        let mut asked = None;
        // A lease that expired and was taken by another worker, or a step cancelled
        // meanwhile: this attempt's result no longer counts.
        if !self.holds(run) {
            return Ok(false);
        }
        run.lease_owner = None;
        run.lease_until = None;
        match &self.finish {
            Finish::SkippedByIf => {
                run.status = StepStatus::Skipped;
                run.skip = Some(skip::IF.into());
                run.finished_at = Some(now);
            }
            Finish::Ran(StepOutcome::Succeeded(output)) => {
                run.status = StepStatus::Succeeded;
                run.output = Some(output.clone());
                run.error = None;
                run.state = None;
                run.ready_at = None;
                run.finished_at = Some(now);
            }
            Finish::Ran(StepOutcome::Failed(error)) => {
                run.error = Some(error.clone());
                if let Some(retry) =
                    retry.filter(|r| i64::from(run.attempts) < i64::from(r.max_attempts))
                {
                    run.status = StepStatus::Ready;
                    run.ready_at = Some(now + backoff(&retry, run.attempts, seed));
                } else {
                    run.status = StepStatus::Failed;
                    run.ready_at = None;
                    run.finished_at = Some(now);
                }
            }
            Finish::Ran(StepOutcome::Park { until, state: kept }) => {
                run.status = StepStatus::Waiting;
                run.ready_at = *until;
                run.state = Some(kept.clone());
                // Parking is not a try: the attempt resumes when the step does.
                run.attempts -= 1;
            }
            Finish::Ran(StepOutcome::Ask(request)) => {
                let task = Task {
                    id: TaskId::new(),
                    tenant_id: tenant,
                    execution_id: execution,
                    workflow_id: workflow,
                    step_id: run.step_id.clone(),
                    attempt: run.attempts,
                    status: TaskStatus::Open,
                    assignee_user: request.assignee_user,
                    assignee_role: request.assignee_role.clone(),
                    title: request.title.clone(),
                    description: request.description.clone(),
                    form: request.form.clone(),
                    due_at: request.due_at,
                    data: None,
                    completed_by: None,
                    completed_at: None,
                    created_at: now,
                };
                run.status = StepStatus::Waiting;
                run.ready_at = None;
                run.state = Some(json!({ "task_id": task.id }));
                asked = Some(task);
            }
        }
        state.tasks.extend(asked);
        settle(&self.definition, state, now);
        Ok(true)
    }
}

impl FinishStep {
    /// Whether this attempt still holds `run`: running under its lease, at its attempt.
    fn holds(&self, run: &StepRun) -> bool {
        run.status == StepStatus::Running
            && run.lease_owner.as_deref() == Some(self.owner.as_str())
            && run.attempts == self.attempt
    }
}

/// Several attempts of one execution ended: each applied as a [`FinishStep`], in order, in
/// one transaction.
pub struct FinishSteps(pub Vec<FinishStep>);

impl ExecutionChange for FinishSteps {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let mut changed = false;
        for step in &self.0 {
            changed |= step.apply(state, now)?;
        }
        Ok(changed)
    }
}

/// Attempts ended and the worker that ran them takes what they unlocked, in the same
/// transaction: each [`FinishStep`] applied, then [`TakeReady`] (the room of the attempts just
/// recorded added to the tenant's). What is not taken stays ready for any worker's claim.
/// With no attempts it is a [`TakeReady`]: what a start takes ahead of the pure steps it
/// runs at once ([`FinishChain`]).
pub struct FinishAndTake {
    /// The attempts that ended.
    pub finished: FinishSteps,
    /// What the worker takes of the steps ready then.
    pub take: TakeReady,
}

impl ExecutionChange for FinishAndTake {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        self.apply_within(state, now, u32::MAX)
    }

    fn claims_steps(&self) -> Option<u32> {
        self.take.claims_steps()
    }

    /// The attempts just recorded no longer run, so they are room too.
    fn apply_within(
        &self,
        state: &mut ExecutionState,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<bool, CoreError> {
        let recorded = self
            .finished
            .0
            .iter()
            .filter(|f| {
                state.step(&f.step_id).is_some_and(|s| {
                    s.status == StepStatus::Running
                        && s.lease_owner.as_deref() == Some(f.owner.as_str())
                        // An expired lease is no longer in the tenant's count.
                        && s.lease_until.is_none_or(|until| until >= now)
                })
            })
            .count();
        // With nothing to record it is a take (a start's, ahead of the pure steps it runs).
        let taking_only = self.finished.0.is_empty();
        if !self.finished.apply(state, now)? && !taking_only {
            return Ok(false);
        }
        let recorded = u32::try_from(recorded).unwrap_or(u32::MAX);
        let took = self
            .take
            .apply_within(state, now, room.saturating_add(recorded))?;
        Ok(took || !taking_only)
    }
}

/// A recording followed by the pure steps (`StepKind::pure`) the recording worker ran at once
/// on what it unlocked, all in one transaction: each link is a [`FinishAndTake`] whose
/// `finished` are the attempts the previous link took (under its `take.lease`), the first
/// link's the attempts the worker ran as usual. Each link is checked like any recording: an
/// attempt counts only if the step is still running under its lease and attempt, so where
/// the store's state differs from the one the worker ran them on (another worker took a step
/// first), what does not match changes nothing and stays for a claim. The chain ends at the
/// first link that records nothing.
///
/// The tenant's `steps_in_flight` room bounds what the chain leaves running when it commits
/// (what its last link takes), not what the links before take: those steps were run and
/// are recorded by the next link in the same transaction, so no one ever sees them running.
/// Counting the room costs a read of every live lease; a chain that ends the execution, or
/// leaves no step ready, needs none.
pub struct FinishChain(pub Vec<FinishAndTake>);

impl ExecutionChange for FinishChain {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        self.apply_within(state, now, u32::MAX)
    }

    fn claims_steps(&self) -> Option<u32> {
        self.0.first().and_then(FinishAndTake::claims_steps)
    }

    /// A link is followed by the next only while the store agrees with what the worker ran
    /// the next on: every attempt of the link is still held as the worker held it, and the
    /// steps the link takes are exactly the next link's attempts. Otherwise (an attempt's
    /// lease was lost and its step recorded elsewhere, another step was ready here, a round
    /// was cut short) that link is the last: it is recorded as a recording of its own would
    /// be, and what it takes runs as usual. Links followed by another take what they find
    /// ready (each up to its `take`); the last one takes within `room`.
    fn apply_within(
        &self,
        state: &mut ExecutionState,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<bool, CoreError> {
        let live = live_leases(state, now);
        let mut applied = false;
        for (i, link) in self.0.iter().enumerate() {
            if let Some(next) = self.0.get(i + 1) {
                if holds_all(state, &link.finished) {
                    let mut ahead = state.clone();
                    if link.apply_within(&mut ahead, now, u32::MAX)?
                        && held_exactly(&ahead, &link.take.lease, &next.finished)
                    {
                        *state = ahead;
                        applied = true;
                        continue;
                    }
                }
            }
            // Less the leases the links before left (none, when the chain held).
            let left = live_leases(state, now) - live;
            let room = (i64::from(room) - left.max(0)).max(0);
            let recorded =
                link.apply_within(state, now, u32::try_from(room).unwrap_or(u32::MAX))?;
            return Ok(recorded || applied);
        }
        Ok(applied)
    }
}

/// Whether every attempt of `finished` still holds its step (running under its lease, at
/// its attempt).
fn holds_all(state: &ExecutionState, finished: &FinishSteps) -> bool {
    (finished.0.iter()).all(|f| state.step(&f.step_id).is_some_and(|run| f.holds(run)))
}

/// Whether the steps `lease` holds in `state` are exactly the attempts of `finished`.
fn held_exactly(state: &ExecutionState, lease: &str, finished: &FinishSteps) -> bool {
    let held: Vec<(&str, i32)> = state
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Running && s.lease_owner.as_deref() == Some(lease))
        .map(|s| (s.step_id.as_str(), s.attempts))
        .collect();
    held.len() == finished.0.len()
        && finished
            .0
            .iter()
            .all(|f| f.owner == lease && held.contains(&(f.step_id.as_str(), f.attempt)))
}

/// The steps of `state` running under a lease that has not run out at `now`: what the
/// tenant's `steps_in_flight` counts of it.
fn live_leases(state: &ExecutionState, now: DateTime<Utc>) -> i64 {
    let live = state
        .steps
        .iter()
        .filter(|s| {
            s.status == StepStatus::Running
                && s.lease_owner.is_some()
                && s.lease_until.is_none_or(|until| until >= now)
        })
        .count();
    i64::try_from(live).unwrap_or(i64::MAX)
}

/// A new execution's first ready steps, taken by the worker of the process that starts it,
/// in the start's transaction: up to `take`, and within the tenant's room.
pub struct TakeReady {
    /// The lease token the taken steps carry.
    pub lease: String,
    /// Until when the lease holds.
    pub until: DateTime<Utc>,
    /// How many ready steps to take at most.
    pub take: usize,
    /// The tenant's `steps_in_flight` where the platform set none.
    pub default_in_flight: u32,
}

impl ExecutionChange for TakeReady {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        self.apply_within(state, now, u32::MAX)
    }

    fn claims_steps(&self) -> Option<u32> {
        Some(self.default_in_flight)
    }

    fn apply_within(
        &self,
        state: &mut ExecutionState,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<bool, CoreError> {
        let most = self.take.min(usize::try_from(room).unwrap_or(usize::MAX));
        Ok(take_ready(state, &self.lease, self.until, most, now) > 0)
    }
}

/// Claims up to `most` steps that are ready now under `lease` until `until`, as a worker's
/// claim does (running, one more attempt; the execution runs); how many. Nothing in an
/// execution that ended or waits in its concurrency group's queue.
fn take_ready(
    state: &mut ExecutionState,
    lease: &str,
    until: DateTime<Utc>,
    most: usize,
    now: DateTime<Utc>,
) -> usize {
    if state.execution.status.is_final() || state.execution.queued {
        return 0;
    }
    let mut taken = 0;
    for run in &mut state.steps {
        if taken == most {
            break;
        }
        if run.status == StepStatus::Ready && run.ready_at.is_some_and(|at| at <= now) {
            run.status = StepStatus::Running;
            run.attempts += 1;
            run.lease_owner = Some(lease.to_owned());
            run.lease_until = Some(until);
            run.started_at.get_or_insert(now);
            taken += 1;
        }
    }
    if taken > 0 {
        state.execution.status = ExecutionStatus::Running;
        state.execution.started_at.get_or_insert(now);
    }
    taken
}

/// A person answers a task: the task records the answer, and its waiting step succeeds
/// with `data` as output (approve, or reject with an `on_reject` branch, which `settle`
/// then follows) or fails (reject without one). Refused when the task is no longer open.
pub struct CompleteTask {
    /// The pinned version's definition.
    pub definition: Arc<Definition>,
    /// The task.
    pub task_id: TaskId,
    /// The answer.
    pub decision: TaskDecision,
    /// The answer's data (already checked against the task's form).
    pub data: serde_json::Value,
    /// Who answered.
    pub by: UserId,
}

impl ExecutionChange for CompleteTask {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let closed = || CoreError::Conflict("the task is no longer open".into());
        if state.execution.status.is_final() {
            return Err(closed());
        }
        let Some(task) = state
            .tasks
            .iter_mut()
            .find(|t| t.id == self.task_id && t.status == TaskStatus::Open)
        else {
            return Err(closed());
        };
        task.status = self.decision.status();
        task.data = Some(self.data.clone());
        task.completed_by = Some(self.by);
        task.completed_at = Some(now);
        let step_id = task.step_id.clone();
        let has_branch = self
            .definition
            .steps
            .iter()
            .find(|s| s.id == step_id)
            .is_some_and(|s| {
                Kinds::registry()
                    .get(&s.kind)
                    .is_some_and(|kind| !kind.branches(&s.with).is_empty())
            });
        let Some(run) = state
            .step_mut(&step_id)
            .filter(|r| r.status == StepStatus::Waiting)
        else {
            return Err(closed());
        };
        run.output = Some(self.data.clone());
        run.state = Some(json!({ "task_id": self.task_id, "decision": self.decision }));
        run.finished_at = Some(now);
        if self.decision == TaskDecision::Reject && !has_branch {
            run.status = StepStatus::Failed;
            run.error = Some(format!("rejected by user {}", self.by));
        } else {
            run.status = StepStatus::Succeeded;
            run.error = None;
        }
        settle(&self.definition, state, now);
        Ok(true)
    }
}

/// An execution ran past its deadline: everything open is cancelled (tasks too) and it
/// fails. Nothing to do if it ended meanwhile.
pub struct TimeOutExecution;

impl ExecutionChange for TimeOutExecution {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let e = &state.execution;
        if e.status.is_final() || e.deadline.is_none_or(|d| d > now) {
            return Ok(false);
        }
        let error = format!(
            "timed out: it ran past its deadline ({})",
            e.deadline.map(|d| d.to_rfc3339()).unwrap_or_default()
        );
        cancel_open_steps(state, now);
        end(state, ExecutionStatus::Failed, Some(error), now);
        Ok(true)
    }
}

/// A person cancels an execution: every step not over is cancelled (a running attempt's
/// result will be ignored), and the execution ends `cancelled`.
pub struct CancelExecution;

impl ExecutionChange for CancelExecution {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        if state.execution.status.is_final() {
            return Err(CoreError::Conflict(format!(
                "the execution already ended ({})",
                state.execution.status
            )));
        }
        cancel_open_steps(state, now);
        end(state, ExecutionStatus::Cancelled, None, now);
        Ok(true)
    }
}

/// A person retries a failed execution: failed steps, the steps cancelled with them and
/// those skipped because of them run again (their attempts counted afresh); succeeded and
/// deliberately skipped steps keep their results.
pub struct RetryExecution {
    /// The pinned version's definition.
    pub definition: Arc<Definition>,
    /// Who asks: the steps run again act as them, with their roles (a retry is a request to
    /// run, and lends nobody else's rights: not the first starter's, not the saver's).
    pub by: usvc_core::UserId,
}

impl ExecutionChange for RetryExecution {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        if state.execution.status != ExecutionStatus::Failed {
            return Err(CoreError::Conflict(format!(
                "only a failed execution can be retried; this one is {}",
                state.execution.status
            )));
        }
        for step in &mut state.steps {
            let again = matches!(step.status, StepStatus::Failed | StepStatus::Cancelled)
                || (step.status == StepStatus::Skipped
                    && step.skip.as_deref() == Some(skip::FAILURE));
            if again {
                *step = StepRun {
                    started_at: None,
                    ..step_run(&step.step_id, &step.kind)
                };
            }
        }
        let definition = &self.definition;
        for (i, step) in definition.steps.iter().enumerate() {
            if state.steps[i].status == StepStatus::Pending && step.depends_on.is_empty() {
                state.steps[i].status = StepStatus::Ready;
                state.steps[i].ready_at = Some(now);
            }
        }
        state.execution.status = ExecutionStatus::Running;
        state.execution.started_by = Some(self.by);
        state.execution.deadline = deadline(definition, now);
        state.execution.error = None;
        state.execution.output = None;
        state.execution.finished_at = None;
        settle(definition, state, now);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn definition(json: serde_json::Value) -> Arc<Definition> {
        Arc::new(Definition::from_document(json).unwrap())
    }

    fn start(def: &Definition) -> ExecutionState {
        let now = Utc::now();
        initial(
            def,
            Execution {
                id: ExecutionId::new(),
                tenant_id: TenantId::new(),
                workflow_id: WorkflowId::new(),
                version: 1,
                status: ExecutionStatus::Pending,
                inputs: json!({}),
                output: None,
                error: None,
                trigger: "manual".into(),
                started_by: None,
                created_at: now,
                started_at: None,
                finished_at: None,
                deadline: None,
                concurrency_key: None,
                concurrency_limit: None,
                queued: false,
                projects: Vec::new(),
            },
            now,
        )
    }

    /// Claims `step` as the test worker would, then finishes it with `finish`.
    fn run(def: &Arc<Definition>, state: &mut ExecutionState, step: &str, finish: Finish) -> bool {
        let run = state.step_mut(step).unwrap();
        assert!(
            matches!(run.status, StepStatus::Ready | StepStatus::Waiting),
            "{step} is {:?}",
            run.status
        );
        run.status = StepStatus::Running;
        run.attempts += 1;
        run.lease_owner = Some("w".into());
        run.started_at = Some(Utc::now());
        let attempt = run.attempts;
        FinishStep {
            definition: def.clone(),
            step_id: step.into(),
            owner: "w".into(),
            attempt,
            finish,
        }
        .apply(state, Utc::now())
        .unwrap()
    }

    fn ok(v: serde_json::Value) -> Finish {
        Finish::Ran(StepOutcome::Succeeded(v))
    }

    fn failed() -> Finish {
        Finish::Ran(StepOutcome::Failed("boom".into()))
    }

    fn status(state: &ExecutionState, id: &str) -> (StepStatus, Option<String>) {
        let s = state.step(id).unwrap();
        (s.status, s.skip.clone())
    }

    /// Claims `step` for the test worker `w` (running, one more attempt).
    fn claim(def: &Arc<Definition>, state: &mut ExecutionState, step: &str) -> FinishStep {
        let run = state.step_mut(step).unwrap();
        run.status = StepStatus::Running;
        run.attempts += 1;
        run.lease_owner = Some("w".into());
        FinishStep {
            definition: def.clone(),
            step_id: step.into(),
            owner: "w".into(),
            attempt: run.attempts,
            finish: ok(json!({})),
        }
    }

    /// `root`, then `a`, `b` and `c` at once, then `join`.
    fn fan_out() -> Arc<Definition> {
        definition(json!({"name": "w", "steps": [
            {"id": "root", "kind": "noop"},
            {"id": "a", "kind": "noop", "depends_on": ["root"]},
            {"id": "b", "kind": "noop", "depends_on": ["root"]},
            {"id": "c", "kind": "noop", "depends_on": ["root"]},
            {"id": "join", "kind": "noop", "depends_on": ["a", "b", "c"]}
        ]}))
    }

    #[test]
    fn recording_takes_unlocked_steps_within_the_tenants_room() {
        let def = fan_out();
        let mut state = start(&def);
        let finished = FinishStep {
            ..claim(&def, &mut state, "root")
        };
        let until = Utc::now() + chrono::Duration::seconds(30);
        let take = FinishAndTake {
            finished: FinishSteps(vec![finished]),
            take: TakeReady {
                lease: "w/next".into(),
                until,
                take: 3,
                default_in_flight: 64,
            },
        };
        // The tenant has no room beyond the attempt just recorded: one step is taken.
        assert!(take.apply_within(&mut state, Utc::now(), 0).unwrap());
        assert_eq!(status(&state, "root").0, StepStatus::Succeeded);
        let a = state.step("a").unwrap();
        assert_eq!(
            (
                a.status,
                a.attempts,
                a.lease_owner.as_deref(),
                a.lease_until
            ),
            (StepStatus::Running, 1, Some("w/next"), Some(until)),
            "the first unlocked step is taken under the new lease"
        );
        assert!(a.started_at.is_some());
        assert_eq!(status(&state, "b").0, StepStatus::Ready, "no room for more");
        assert_eq!(status(&state, "c").0, StepStatus::Ready);
        assert_eq!(status(&state, "join").0, StepStatus::Pending);
        assert_eq!(state.execution.status, ExecutionStatus::Running);

        // A recording that records nothing (the lease was lost) takes nothing.
        let lost_lease = FinishStep {
            owner: "someone else".into(),
            ..claim(&def, &mut state, "b")
        };
        let before = state.clone();
        let take = FinishAndTake {
            finished: FinishSteps(vec![lost_lease]),
            take: TakeReady {
                lease: "w/again".into(),
                until,
                take: 3,
                default_in_flight: 64,
            },
        };
        assert!(!take.apply(&mut state, Utc::now()).unwrap());
        assert_eq!(state, before);
    }

    /// A link of a chain: the steps of `ids`, run under `owner` (attempt 1), ended well;
    /// then what is ready is taken under `lease`.
    fn link(def: &Arc<Definition>, owner: &str, ids: &[&str], lease: &str) -> FinishAndTake {
        FinishAndTake {
            finished: FinishSteps(
                ids.iter()
                    .map(|id| FinishStep {
                        definition: def.clone(),
                        step_id: (*id).into(),
                        owner: owner.into(),
                        attempt: 1,
                        finish: ok(json!({ "id": id })),
                    })
                    .collect(),
            ),
            take: TakeReady {
                lease: lease.into(),
                until: Utc::now() + chrono::Duration::seconds(30),
                take: 3,
                default_in_flight: 64,
            },
        }
    }

    #[test]
    fn a_chain_records_what_its_links_took_and_its_last_link_takes_within_the_room() {
        let def = fan_out();
        let chain = |def: &Arc<Definition>| {
            FinishChain(vec![
                link(def, "w", &["root"], "w/next"),
                link(def, "w/next", &["a", "b", "c"], "w/next"),
                link(def, "w/next", &["join"], "w/next"),
            ])
        };
        // The whole execution is recorded at once, even with no room beyond what it
        // records: nothing of it is left running.
        for room in [64, 0] {
            let mut state = start(&def);
            claim(&def, &mut state, "root");
            assert!(chain(&def)
                .apply_within(&mut state, Utc::now(), room)
                .unwrap());
            assert_eq!(state.execution.status, ExecutionStatus::Succeeded);
            assert_eq!(
                state.step("join").unwrap().output,
                Some(json!({"id": "join"}))
            );
            assert!(state
                .steps
                .iter()
                .all(|s| s.attempts == 1 && s.lease_owner.is_none()));
        }

        // The worker ran `a` and `b` only (say `c` was taken elsewhere in its view): the
        // store's first link would take all three, so it does not agree with the worker and
        // the chain ends there: root's recording is recorded as one of its own, taking within
        // the room (none beyond the attempt it records: one step), to be run as usual.
        let partial = FinishChain(vec![
            link(&def, "w", &["root"], "w/next"),
            link(&def, "w/next", &["a", "b"], "w/next"),
        ]);
        let mut state = start(&def);
        claim(&def, &mut state, "root");
        assert!(partial.apply_within(&mut state, Utc::now(), 0).unwrap());
        assert_eq!(status(&state, "root").0, StepStatus::Succeeded);
        let a = state.step("a").unwrap();
        assert_eq!(
            (a.status, a.lease_owner.as_deref(), a.output.clone()),
            (StepStatus::Running, Some("w/next"), None),
            "taken, not recorded with the worker's result"
        );
        assert_eq!(status(&state, "b").0, StepStatus::Ready);
        assert_eq!(status(&state, "c").0, StepStatus::Ready);
        assert_eq!(state.execution.status, ExecutionStatus::Running);

        // The same when the first attempt lost its lease meanwhile to a worker that recorded
        // it (its output, not this worker's, decides what runs next): nothing is recorded.
        let mut state = start(&def);
        claim(&def, &mut state, "root");
        state.step_mut("root").unwrap().attempts = 2;
        assert!(!chain(&def)
            .apply_within(&mut state, Utc::now(), 64)
            .unwrap());
        assert_eq!(status(&state, "a").0, StepStatus::Pending);

        // The last link takes within the room: root's recording alone takes one step with
        // no room beyond it (the attempt it records), as a recording of its own would.
        let mut state = start(&def);
        claim(&def, &mut state, "root");
        let alone = FinishChain(vec![link(&def, "w", &["root"], "w/next")]);
        assert!(alone.apply_within(&mut state, Utc::now(), 0).unwrap());
        assert_eq!(status(&state, "a").0, StepStatus::Running);
        assert_eq!(status(&state, "b").0, StepStatus::Ready);
        assert_eq!(status(&state, "c").0, StepStatus::Ready);

        // A chain whose first attempt lost its lease changes nothing at all.
        let mut state = start(&def);
        claim(&def, &mut state, "root");
        state.step_mut("root").unwrap().lease_owner = Some("someone else".into());
        let before = state.clone();
        assert!(!chain(&def)
            .apply_within(&mut state, Utc::now(), 64)
            .unwrap());
        assert_eq!(state, before);
    }

    #[test]
    fn recording_leaves_a_retry_waiting_out_its_backoff_and_an_ended_run_alone() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "flaky", "kind": "noop", "retry": {"max_attempts": 3, "initial": "10s"}},
            {"id": "after", "kind": "noop", "depends_on": ["flaky"]}
        ]}));
        let mut state = start(&def);
        let failing = FinishStep {
            finish: failed(),
            ..claim(&def, &mut state, "flaky")
        };
        let until = Utc::now() + chrono::Duration::seconds(30);
        let take = FinishAndTake {
            finished: FinishSteps(vec![failing]),
            take: TakeReady {
                lease: "w/next".into(),
                until,
                take: 1,
                default_in_flight: 64,
            },
        };
        assert!(take.apply(&mut state, Utc::now()).unwrap());
        let flaky = state.step("flaky").unwrap();
        assert_eq!(
            (flaky.status, flaky.lease_owner.as_deref()),
            (StepStatus::Ready, None),
            "due in 10 s, not now: left for a claim then"
        );

        let def = definition(json!({"name": "w", "steps": [{"id": "only", "kind": "noop"}]}));
        let mut state = start(&def);
        let last = FinishStep {
            ..claim(&def, &mut state, "only")
        };
        let take = FinishAndTake {
            finished: FinishSteps(vec![last]),
            take: TakeReady {
                lease: "w/next".into(),
                until,
                take: 1,
                default_in_flight: 64,
            },
        };
        assert!(take.apply(&mut state, Utc::now()).unwrap());
        assert_eq!(state.execution.status, ExecutionStatus::Succeeded);
    }

    #[test]
    fn a_false_condition_skips_exactly_its_branch() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "start", "kind": "noop"},
            {"id": "gate", "kind": "condition", "depends_on": ["start"], "with": {"expr": "false"}},
            {"id": "big", "kind": "noop", "depends_on": ["gate"]},
            {"id": "bigger", "kind": "noop", "depends_on": ["big"]},
            {"id": "other", "kind": "noop", "depends_on": ["start"]}
        ]}));
        let mut state = start(&def);
        assert_eq!(status(&state, "start").0, StepStatus::Ready);
        assert_eq!(status(&state, "gate").0, StepStatus::Pending);
        run(&def, &mut state, "start", ok(json!({})));
        assert_eq!(state.execution.status, ExecutionStatus::Running);
        run(&def, &mut state, "gate", ok(json!({"result": false})));
        assert_eq!(
            status(&state, "big"),
            (StepStatus::Skipped, Some("condition".into()))
        );
        assert_eq!(
            status(&state, "bigger"),
            (StepStatus::Skipped, Some("condition".into()))
        );
        assert_eq!(status(&state, "other").0, StepStatus::Ready);
        run(&def, &mut state, "other", ok(json!({"x": 1})));
        assert_eq!(state.execution.status, ExecutionStatus::Succeeded);
        assert_eq!(state.execution.output, Some(json!({"other": {"x": 1}})));
    }

    #[test]
    fn an_if_skip_lets_dependents_run() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "a", "kind": "noop", "if": "false"},
            {"id": "b", "kind": "noop", "depends_on": ["a"]}
        ]}));
        let mut state = start(&def);
        run(&def, &mut state, "a", Finish::SkippedByIf);
        assert_eq!(
            status(&state, "a"),
            (StepStatus::Skipped, Some("if".into()))
        );
        assert_eq!(status(&state, "b").0, StepStatus::Ready);
    }

    #[test]
    fn fail_fast_cancels_the_rest_and_continue_runs_every_branch_it_can() {
        let steps = json!([
            {"id": "a", "kind": "noop"},
            {"id": "b", "kind": "noop"},
            {"id": "after_a", "kind": "noop", "depends_on": ["a"]},
            {"id": "after_b", "kind": "noop", "depends_on": ["b"]}
        ]);
        let def = definition(json!({"name": "w", "steps": steps}));
        let mut state = start(&def);
        run(&def, &mut state, "a", failed());
        assert_eq!(state.execution.status, ExecutionStatus::Failed);
        assert_eq!(status(&state, "b").0, StepStatus::Cancelled);
        assert_eq!(status(&state, "after_b").0, StepStatus::Cancelled);
        assert!(state
            .execution
            .error
            .as_deref()
            .unwrap()
            .contains("step `a` failed: boom"));

        let def = definition(json!({"name": "w", "steps": steps, "on_failure": "continue"}));
        let mut state = start(&def);
        run(&def, &mut state, "a", failed());
        assert_eq!(state.execution.status, ExecutionStatus::Running);
        assert_eq!(
            status(&state, "after_a"),
            (StepStatus::Skipped, Some("failure".into()))
        );
        run(&def, &mut state, "b", ok(json!({})));
        run(&def, &mut state, "after_b", ok(json!({})));
        assert_eq!(state.execution.status, ExecutionStatus::Failed);

        // Retry: the failed step and what it skipped run again; the rest keep their results.
        let retrier = usvc_core::UserId::new();
        RetryExecution {
            definition: def.clone(),
            by: retrier,
        }
        .apply(&mut state, Utc::now())
        .unwrap();
        assert_eq!(state.execution.status, ExecutionStatus::Running);
        assert_eq!(
            state.execution.started_by,
            Some(retrier),
            "the steps run again act as the retrier"
        );
        assert_eq!(status(&state, "a").0, StepStatus::Ready);
        assert_eq!(status(&state, "after_a").0, StepStatus::Pending);
        assert_eq!(status(&state, "after_b").0, StepStatus::Succeeded);
        run(&def, &mut state, "a", ok(json!({})));
        run(&def, &mut state, "after_a", ok(json!({})));
        assert_eq!(state.execution.status, ExecutionStatus::Succeeded);
    }

    #[test]
    fn retries_back_off_and_a_stale_worker_cannot_finish() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "a", "kind": "noop", "retry": {"max_attempts": 3, "initial": "2s"}}
        ]}));
        let mut state = start(&def);
        let before = Utc::now();
        run(&def, &mut state, "a", failed());
        let a = state.step("a").unwrap();
        assert_eq!(a.status, StepStatus::Ready);
        let wait = a.ready_at.unwrap() - before;
        assert!(
            wait > chrono::Duration::milliseconds(1500) && wait <= chrono::Duration::seconds(3),
            "{wait}"
        );
        run(&def, &mut state, "a", failed());
        let wait = state.step("a").unwrap().ready_at.unwrap() - before;
        assert!(
            wait > chrono::Duration::milliseconds(3100),
            "doubled: {wait}"
        );
        // Another worker's result for an attempt it no longer holds changes nothing.
        let late = FinishStep {
            definition: def.clone(),
            step_id: "a".into(),
            owner: "someone-else".into(),
            attempt: 2,
            finish: ok(json!({})),
        };
        assert!(!late.apply(&mut state, Utc::now()).unwrap());
        run(&def, &mut state, "a", failed());
        assert_eq!(status(&state, "a").0, StepStatus::Failed);
        assert_eq!(state.execution.status, ExecutionStatus::Failed);
        assert!(matches!(
            CancelExecution.apply(&mut state, Utc::now()),
            Err(CoreError::Conflict(_))
        ));
    }

    #[test]
    fn a_parked_step_waits_and_cancel_ends_everything() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "wait", "kind": "delay", "with": {"duration": "1h"}},
            {"id": "then", "kind": "noop", "depends_on": ["wait"]}
        ]}));
        let mut state = start(&def);
        let until = Utc::now() + chrono::Duration::hours(1);
        run(
            &def,
            &mut state,
            "wait",
            Finish::Ran(StepOutcome::Park {
                until: Some(until),
                state: json!({"until": until.to_rfc3339()}),
            }),
        );
        let wait = state.step("wait").unwrap();
        assert_eq!(
            (wait.status, wait.ready_at, wait.attempts),
            (StepStatus::Waiting, Some(until), 0)
        );
        assert_eq!(state.execution.status, ExecutionStatus::Waiting);
        CancelExecution.apply(&mut state, Utc::now()).unwrap();
        assert_eq!(state.execution.status, ExecutionStatus::Cancelled);
        assert!(state
            .steps
            .iter()
            .all(|s| s.status == StepStatus::Cancelled));
    }

    fn ask(role: &str) -> Finish {
        Finish::Ran(StepOutcome::Ask(crate::kinds::TaskRequest {
            assignee_user: None,
            assignee_role: Some(role.into()),
            title: "ok?".into(),
            description: None,
            form: None,
            due_at: None,
        }))
    }

    fn answer(
        def: &Arc<Definition>,
        state: &mut ExecutionState,
        decision: TaskDecision,
    ) -> Result<bool, CoreError> {
        let task_id = state.tasks.last().unwrap().id;
        CompleteTask {
            definition: def.clone(),
            task_id,
            decision,
            data: json!({"note": "seen"}),
            by: UserId::new(),
        }
        .apply(state, Utc::now())
    }

    #[test]
    fn an_approval_waits_for_its_task_and_an_approve_goes_on_with_the_data() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval", "with": {"title": "ok?", "assignee_role": "admin"}},
            {"id": "then", "kind": "noop", "depends_on": ["approve"]}
        ]}));
        let mut state = start(&def);
        run(&def, &mut state, "approve", ask("admin"));
        let step = state.step("approve").unwrap();
        assert_eq!((step.status, step.ready_at), (StepStatus::Waiting, None));
        assert_eq!(state.execution.status, ExecutionStatus::Waiting);
        let task = state.tasks[0].clone();
        assert_eq!(
            (task.status, task.step_id.as_str(), task.attempt),
            (TaskStatus::Open, "approve", 1)
        );
        assert_eq!(task.execution_id, state.execution.id);
        answer(&def, &mut state, TaskDecision::Approve).unwrap();
        let step = state.step("approve").unwrap();
        assert_eq!(step.status, StepStatus::Succeeded);
        assert_eq!(step.output, Some(json!({"note": "seen"})));
        assert_eq!(state.tasks[0].status, TaskStatus::Approved);
        assert_eq!(status(&state, "then").0, StepStatus::Ready);
        assert!(
            matches!(
                answer(&def, &mut state, TaskDecision::Reject),
                Err(CoreError::Conflict(_))
            ),
            "a task is answered once"
        );
    }

    #[test]
    fn a_reject_fails_the_step_or_takes_its_on_reject_branch() {
        let plain = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval", "with": {"title": "ok?", "assignee_role": "admin"}},
            {"id": "then", "kind": "noop", "depends_on": ["approve"]}
        ]}));
        let mut state = start(&plain);
        run(&plain, &mut state, "approve", ask("admin"));
        answer(&plain, &mut state, TaskDecision::Reject).unwrap();
        assert_eq!(status(&state, "approve").0, StepStatus::Failed);
        assert_eq!(state.tasks[0].status, TaskStatus::Rejected);
        assert_eq!(state.execution.status, ExecutionStatus::Failed);

        let branched = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval",
             "with": {"title": "ok?", "assignee_role": "admin", "on_reject": ["undo"]}},
            {"id": "ship", "kind": "noop", "depends_on": ["approve"]},
            {"id": "undo", "kind": "noop", "depends_on": ["approve"]}
        ]}));
        let mut rejected = start(&branched);
        run(&branched, &mut rejected, "approve", ask("admin"));
        let mut approved = rejected.clone();
        answer(&branched, &mut rejected, TaskDecision::Reject).unwrap();
        assert_eq!(status(&rejected, "approve").0, StepStatus::Succeeded);
        assert_eq!(
            status(&rejected, "ship"),
            (StepStatus::Skipped, Some("condition".into()))
        );
        assert_eq!(status(&rejected, "undo").0, StepStatus::Ready);
        answer(&branched, &mut approved, TaskDecision::Approve).unwrap();
        assert_eq!(status(&approved, "ship").0, StepStatus::Ready);
        assert_eq!(
            status(&approved, "undo"),
            (StepStatus::Skipped, Some("condition".into()))
        );
    }

    #[test]
    fn an_approval_skipped_by_its_if_takes_the_approve_branch() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval", "if": "inputs.big",
             "with": {"title": "ok?", "assignee_role": "admin", "on_reject": ["undo"]}},
            {"id": "ship", "kind": "noop", "depends_on": ["approve"]},
            {"id": "undo", "kind": "noop", "depends_on": ["approve"]}
        ]}));
        let mut state = start(&def);
        run(&def, &mut state, "approve", Finish::SkippedByIf);
        assert_eq!(status(&state, "ship").0, StepStatus::Ready);
        assert_eq!(
            status(&state, "undo"),
            (StepStatus::Skipped, Some("condition".into())),
            "nobody rejected"
        );
    }

    #[test]
    fn cancelling_an_execution_cancels_its_open_tasks() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval", "with": {"title": "ok?", "assignee_role": "admin"}}
        ]}));
        let mut state = start(&def);
        run(&def, &mut state, "approve", ask("admin"));
        CancelExecution.apply(&mut state, Utc::now()).unwrap();
        assert_eq!(state.tasks[0].status, TaskStatus::Cancelled);
        assert!(matches!(
            answer(&def, &mut state, TaskDecision::Approve),
            Err(CoreError::Conflict(_))
        ));
    }

    #[test]
    fn a_new_execution_carries_its_deadline_and_concurrency_group() {
        let def = definition(json!({"name": "w", "timeout": "2h",
            "concurrency": {"limit": 3, "key": "inputs.customer.id"},
            "steps": [{"id": "a", "kind": "noop"}]}));
        let now = Utc::now();
        let starter = Starter {
            trigger: "manual",
            user: None,
        };
        let ids = (TenantId::new(), WorkflowId::new(), 1);
        let e = new_execution(&def, ids, json!({"customer": {"id": 7}}), &starter, now).unwrap();
        assert_eq!(e.deadline, Some(now + chrono::Duration::hours(2)));
        assert_eq!(
            (e.concurrency_key.as_deref(), e.concurrency_limit),
            (Some("7"), Some(3))
        );
        let whole = definition(json!({"name": "w", "concurrency": {"limit": 1},
            "steps": [{"id": "a", "kind": "noop"}]}));
        let e = new_execution(&whole, ids, json!({}), &starter, now).unwrap();
        assert_eq!(
            e.concurrency_key.as_deref(),
            Some(""),
            "one group: the workflow"
        );
        assert_eq!(e.deadline, None);
        let long = "x".repeat(300);
        let e = new_execution(&def, ids, json!({"customer": {"id": long}}), &starter, now).unwrap();
        let key = e.concurrency_key.unwrap();
        assert!(key.starts_with("sha256:") && key.len() < 80, "{key}");
    }

    #[test]
    fn a_timeout_fails_the_execution_and_cancels_what_is_open() {
        let def = definition(json!({"name": "w", "steps": [
            {"id": "approve", "kind": "approval", "with": {"title": "ok?", "assignee_role": "admin"}}
        ]}));
        let mut state = start(&def);
        run(&def, &mut state, "approve", ask("admin"));
        let now = Utc::now();
        state.execution.deadline = Some(now + chrono::Duration::seconds(5));
        assert!(!TimeOutExecution.apply(&mut state, now).unwrap(), "not yet");
        state.execution.deadline = Some(now - chrono::Duration::seconds(1));
        assert!(TimeOutExecution.apply(&mut state, now).unwrap());
        assert_eq!(state.execution.status, ExecutionStatus::Failed);
        assert_eq!(status(&state, "approve").0, StepStatus::Cancelled);
        assert_eq!(state.tasks[0].status, TaskStatus::Cancelled);
        assert!(!TimeOutExecution.apply(&mut state, now).unwrap(), "once");
    }
}
