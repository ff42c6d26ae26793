//! What a worker does with a claimed step, minus the runtime: [`Engine::prepare`] reads the
//! pinned definition and the execution, evaluates `if`, renders `with` and hands back the
//! kind to run; [`Engine::finish_all`] records how the attempt ended (the state machine in
//! `plan`, inside the store's transaction). The worker loop, timeouts and the bounded pool
//! are `usvc_runtime::WorkflowWorker`, which owns the tokio side.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use serde_json::json;
use usvc_core::ports::{
    offload, Cache, Clock, ExecutionRepository, Offload, StepOffer, WorkflowRepository,
};
use usvc_core::{ClaimedStep, CoreError, Execution, ExecutionState, TenantId, WorkflowId};

use crate::definition::{parse_duration, Definition};
use crate::kinds::{Kinds, StepCall, StepEnv, StepKind, StepOutcome};
use crate::plan::{
    Finish, FinishAndTake, FinishChain, FinishStep, FinishSteps, TakeReady, TimeOutExecution,
};
use crate::template;

/// How many times a step whose worker stopped mid-attempt is taken over beyond its retries.
pub const TAKEOVERS: u32 = 2;

/// A step's attempt may run this long when the step sets no `timeout`.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One version of one workflow: the key of the parsed-definition cache (versions never
/// change, so entries are never invalidated, only evicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionKey {
    /// The workflow.
    pub workflow: WorkflowId,
    /// The version.
    pub version: i64,
}

impl fmt::Display for VersionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.workflow, self.version)
    }
}

impl FromStr for VersionKey {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CoreError::Internal(format!("not a version key: {s}"));
        let (workflow, version) = s.split_once('@').ok_or_else(bad)?;
        Ok(Self {
            workflow: workflow.parse().map_err(|_| bad())?,
            version: version.parse().map_err(|_| bad())?,
        })
    }
}

/// The ports [`Engine`] needs.
pub struct EnginePorts {
    /// Executions and step runs.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Pinned versions' definitions.
    pub workflows: Arc<dyn WorkflowRepository>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// `workflow-versions`: parsed definitions by version.
    pub versions: Arc<dyn Cache<VersionKey, Arc<Definition>>>,
    /// The step kinds.
    pub kinds: Kinds,
    /// What the kinds reach outside through.
    pub env: StepEnv,
    /// Where steps' templates are evaluated (off the runtime threads).
    pub offload: Arc<dyn Offload>,
}

/// What to do with a claimed step.
pub enum Prepared {
    /// Run `kind` with `call`, for at most `timeout`.
    Run {
        /// The kind.
        kind: Arc<dyn StepKind>,
        /// Its input.
        call: StepCall,
        /// How long the attempt may take.
        timeout: Duration,
        /// The ports the kind reaches outside through.
        env: StepEnv,
    },
    /// Nothing to run: record this (a false `if`, a template that does not render).
    Finish(Finish),
    /// The execution is gone or over: drop the claim.
    Gone,
}

/// Prepares and records step attempts.
pub struct Engine {
    ports: EnginePorts,
}

impl Engine {
    /// An engine over `ports`.
    pub fn new(ports: EnginePorts) -> Self {
        Self { ports }
    }

    /// Where tenant templates are evaluated (off the runtime threads).
    pub fn offload(&self) -> &dyn Offload {
        self.ports.offload.as_ref()
    }

    /// Now, to the microsecond (what both stores keep).
    pub fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now().trunc_subsecs(6)
    }

    /// The step kinds.
    pub fn kinds(&self) -> &Kinds {
        &self.ports.kinds
    }

    /// A pinned version's definition, parsed once per process.
    pub async fn definition(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        version: i64,
    ) -> Result<Arc<Definition>, CoreError> {
        let workflows = self.ports.workflows.clone();
        self.ports
            .versions
            .get_or_load(
                VersionKey { workflow, version },
                Box::pin(async move {
                    let stored = workflows
                        .version(tenant, workflow, version)
                        .await?
                        .ok_or_else(|| CoreError::NotFound("workflow version".into()))?;
                    let mut definition: Definition = serde_json::from_value(stored.definition)
                        .map_err(|e| CoreError::Internal(format!("stored definition: {e}")))?;
                    definition.saved_by = stored.created_by;
                    Ok(Arc::new(definition))
                }),
            )
            .await
    }

    /// Reads what the claimed step needs and decides what to do with it.
    pub async fn prepare(&self, claimed: &ClaimedStep) -> Result<Prepared, CoreError> {
        let definition = self
            .definition(claimed.tenant_id, claimed.workflow_id, claimed.version)
            .await?;
        // The claim's snapshot when it carries one: what a read now would show of what the
        // step uses (its dependencies' outputs are final); a change since (a cancel, a retry)
        // takes the lease away, and the result is not recorded.
        let state = match &claimed.snapshot {
            Some(snapshot) => snapshot.clone(),
            None => match self
                .ports
                .executions
                .get(claimed.tenant_id, claimed.execution_id)
                .await?
            {
                Some(state) => Arc::new(state),
                None => return Ok(Prepared::Gone),
            },
        };
        if state.execution.status.is_final() {
            return Ok(Prepared::Gone);
        }
        let Some(step) = definition.steps.iter().find(|s| s.id == claimed.step_id) else {
            return Ok(Prepared::Gone);
        };
        let failed =
            |message: String| Ok(Prepared::Finish(Finish::Ran(StepOutcome::Failed(message))));
        // Attempts beyond the retries come from leases that expired mid-run (a worker that
        // died or a task that crashed): a few are taken over, then the step fails instead
        // of crashing workers forever.
        let allowed = step.retry.as_ref().map_or(1, |r| r.max_attempts);
        if i64::from(claimed.attempt) > i64::from(allowed) + i64::from(TAKEOVERS) {
            return failed(format!(
                "attempt {} was never recorded: its worker stopped or crashed {} times",
                claimed.attempt - 1,
                TAKEOVERS + 1
            ));
        }
        let context = context(&definition, &state);
        let kind = self.ports.kinds.get(&step.kind).cloned();
        // The step's `if` and `with` are tenant templates (up to 250 ms of CPU): evaluated off
        // the runtime threads that also carry every request's store queries.
        let evaluated = offload(self.ports.offload.as_ref(), {
            let (step, kind) = (step.clone(), kind.clone());
            move || Ok(evaluate_step(&step, kind.as_deref(), context))
        })
        .await?;
        let (kind, context, with) = match (evaluated, kind) {
            (Evaluated::Skipped, _) => return Ok(Prepared::Finish(Finish::SkippedByIf)),
            (Evaluated::Failed(message), _) => return failed(message),
            (Evaluated::Ready { context, with }, Some(kind)) => (kind, context, with),
            (Evaluated::Ready { .. }, None) => {
                return failed(format!("the step kind `{}` is not available", step.kind))
            }
        };
        let timeout = step
            .timeout
            .as_deref()
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_STEP_TIMEOUT);
        Ok(Prepared::Run {
            kind,
            call: StepCall {
                with,
                context,
                state: claimed.state.clone(),
                attempt: claimed.attempt,
                idempotency_key: format!("{}:{}", claimed.execution_id, claimed.step_id),
                stable_id: stable_id(&state.execution, &claimed.step_id),
                tenant: claimed.tenant_id,
                actor: acting_person(&state.execution, &definition),
                now: self.now(),
            },
            timeout,
            env: self.ports.env.clone(),
        })
    }

    /// Records how attempts of one execution ended and moves what they unlock, in one
    /// transaction (sibling steps that end together cost one lock and one commit); `None` if
    /// the execution is gone. An attempt whose lease was lost (its token no longer on the
    /// step) changes nothing.
    ///
    /// With `take`, the same transaction also claims up to `take.at_most` of the steps that
    /// are ready then (what the attempts unlocked) under `take.lease`: the worker runs them
    /// next without a claim of its own ([`ClaimedStep::held_by`] on the state answered).
    /// Each round after the first holds the pure steps the worker already ran on what the
    /// round before took ([`Engine::take_pure`]): recorded in the same transaction, each
    /// round taking what it unlocks in turn.
    pub async fn finish_all(
        &self,
        rounds: Vec<Vec<(ClaimedStep, Finish)>>,
        take: Option<StepOffer>,
    ) -> Result<Option<ExecutionState>, CoreError> {
        let Some((first, _)) = rounds.first().and_then(|round| round.first()) else {
            return Ok(None);
        };
        let (tenant, execution) = (first.tenant_id, first.execution_id);
        let definition = self
            .definition(first.tenant_id, first.workflow_id, first.version)
            .await?;
        let change: Arc<dyn usvc_core::ExecutionChange> = match take {
            Some(take) if take.at_most > 0 => {
                Arc::new(chain(&definition, execution, rounds, &take))
            }
            _ => Arc::new(finishing(
                &definition,
                execution,
                rounds.into_iter().flatten(),
            )),
        };
        self.ports
            .executions
            .change(tenant, execution, change, None, self.now())
            .await
    }

    /// What recording `attempts` under `take` will hand the worker, worked out on `state`
    /// (the execution as the worker last saw it) as the store will work it out: the state
    /// after, and the steps taken, when there are some and every one is of a pure kind
    /// ([`StepKind::pure`]); the worker may then run them at once and record them with the
    /// attempts, one more round of [`Engine::finish_all`]. `None` otherwise: the steps are
    /// taken by the recording and run as usual. No attempts: what a start takes.
    pub async fn take_pure(
        &self,
        state: &ExecutionState,
        attempts: &[(ClaimedStep, Finish)],
        take: &StepOffer,
    ) -> Result<Option<(Arc<ExecutionState>, Vec<ClaimedStep>)>, CoreError> {
        let e = &state.execution;
        let definition = self
            .definition(e.tenant_id, e.workflow_id, e.version)
            .await?;
        let link = taking(&definition, e.id, attempts.to_vec(), take);
        let mut after = state.clone();
        if !usvc_core::ExecutionChange::apply(&link, &mut after, self.now())? {
            return Ok(None);
        }
        let after = Arc::new(after);
        let taken = ClaimedStep::held_by(&after, &take.lease);
        let pure = |claimed: &ClaimedStep| {
            definition
                .steps
                .iter()
                .find(|s| s.id == claimed.step_id)
                .and_then(|s| self.ports.kinds.get(&s.kind))
                .is_some_and(|kind| kind.pure())
        };
        if taken.is_empty() || !taken.iter().all(pure) {
            return Ok(None);
        }
        Ok(Some((after, taken)))
    }

    /// `first` (attempts to record, or none for a start), then round after round the pure
    /// steps the round before will take under `take` on `seen` (the execution as the caller
    /// last saw it), each round run by `run` (`None`: no more, the budget is spent): the
    /// rounds of one [`Engine::finish_all`] (or, from a start, [`Engine::start_change`]).
    /// A round stops where it would take a step of another kind; the store checks every
    /// round's leases again (ADR 0033).
    pub async fn pure_rounds<F, R>(
        &self,
        seen: Arc<ExecutionState>,
        first: Vec<(ClaimedStep, Finish)>,
        take: &StepOffer,
        mut run: F,
    ) -> Vec<Vec<(ClaimedStep, Finish)>>
    where
        F: FnMut(Vec<ClaimedStep>) -> R,
        R: std::future::Future<Output = Option<Vec<(ClaimedStep, Finish)>>>,
    {
        let mut state = Some(seen);
        let mut rounds = vec![first];
        while let (Some(seen), Some(last)) = (state.take(), rounds.last()) {
            let Ok(Some((after, taken))) = self.take_pure(&seen, last, take).await else {
                break;
            };
            let Some(round) = run(taken).await.filter(|round| !round.is_empty()) else {
                break;
            };
            state = Some(after);
            rounds.push(round);
        }
        rounds
    }

    /// The pure steps a start with `offer` takes first, and what they unlock, run here and
    /// now (within the offer's budget, checked between rounds), to be written with the new
    /// execution ([`Engine::start_change`]): a workflow of transforms ends in its start's
    /// transaction. The first round is empty (the start records nothing, it takes).
    pub async fn start_rounds(
        &self,
        state: &ExecutionState,
        offer: &StepOffer,
    ) -> Vec<Vec<(ClaimedStep, Finish)>> {
        if offer.pure_budget.is_zero() {
            return vec![Vec::new()];
        }
        let until = std::time::Instant::now() + offer.pure_budget;
        let seen = Arc::new(state.clone());
        self.pure_rounds(
            seen,
            Vec::new(),
            offer,
            |taken: Vec<ClaimedStep>| async move {
                if std::time::Instant::now() > until {
                    return None;
                }
                let runs = taken.iter().map(|step| self.run_pure(step));
                let finished = futures::future::join_all(runs).await;
                Some(
                    taken
                        .into_iter()
                        .zip(finished)
                        .filter_map(|(step, finish)| Some((step, finish?)))
                        .collect(),
                )
            },
        )
        .await
    }

    /// One attempt of a pure step, here (a start's request): its `if` and `with` evaluated
    /// off the request threads (as for any step), then its kind ([`Engine::run`]). `None`
    /// when there is nothing to record.
    async fn run_pure(&self, step: &ClaimedStep) -> Option<Finish> {
        match self.prepare(step).await {
            Ok(Prepared::Run {
                kind, call, env, ..
            }) => Some(Finish::Ran(self.run(kind, call, env).await)),
            Ok(Prepared::Finish(finish)) => Some(finish),
            Ok(Prepared::Gone) | Err(_) => None,
        }
    }

    /// Runs `kind` on `call`. A kind that evaluates an expression itself (a `condition`:
    /// up to 250 ms of CPU, ADR 0021) runs on the blocking pool, as templates do, not on the
    /// threads that carry requests and recordings; a pure kind computes nothing else, so it
    /// is driven to its end there.
    pub async fn run(&self, kind: Arc<dyn StepKind>, call: StepCall, env: StepEnv) -> StepOutcome {
        if kind.expression_fields().is_empty() || !kind.pure() {
            return kind.run(call, &env).await;
        }
        let run = move || Ok(futures::executor::block_on(kind.run(call, &env)));
        offload(self.ports.offload.as_ref(), run)
            .await
            .unwrap_or_else(|e| StepOutcome::Failed(format!("the step could not run: {e}")))
    }

    /// What a start with `offer` applies in its transaction: it takes its first steps, and
    /// records `rounds` ([`Engine::start_rounds`]) after that take.
    pub async fn start_change(
        &self,
        state: &ExecutionState,
        rounds: Vec<Vec<(ClaimedStep, Finish)>>,
        offer: &StepOffer,
    ) -> Result<Arc<dyn usvc_core::ExecutionChange>, CoreError> {
        let e = &state.execution;
        let definition = self
            .definition(e.tenant_id, e.workflow_id, e.version)
            .await?;
        Ok(Arc::new(chain(&definition, e.id, rounds, offer)))
    }
}

/// The attempts of `execution` in `attempts` as one recording.
fn finishing(
    definition: &Arc<Definition>,
    execution: usvc_core::ExecutionId,
    attempts: impl IntoIterator<Item = (ClaimedStep, Finish)>,
) -> FinishSteps {
    FinishSteps(
        attempts
            .into_iter()
            .filter(|(c, _)| c.execution_id == execution)
            .map(|(claimed, finish)| FinishStep {
                definition: definition.clone(),
                step_id: claimed.step_id,
                owner: claimed.lease,
                attempt: claimed.attempt,
                finish,
            })
            .collect(),
    )
}

/// `rounds` of attempts of `execution` as one change, each round a recording that takes
/// under `take` ([`taking`]).
fn chain(
    definition: &Arc<Definition>,
    execution: usvc_core::ExecutionId,
    rounds: Vec<Vec<(ClaimedStep, Finish)>>,
    take: &StepOffer,
) -> FinishChain {
    FinishChain(
        (rounds.into_iter())
            .map(|round| taking(definition, execution, round, take))
            .collect(),
    )
}

/// The attempts of `execution` in `attempts` as one recording that takes what is ready
/// after it under `take`.
fn taking(
    definition: &Arc<Definition>,
    execution: usvc_core::ExecutionId,
    attempts: Vec<(ClaimedStep, Finish)>,
    take: &StepOffer,
) -> FinishAndTake {
    FinishAndTake {
        finished: finishing(definition, execution, attempts),
        take: TakeReady {
            lease: take.lease.clone(),
            until: take.until,
            take: take.at_most,
            default_in_flight: usvc_core::TenantQuotas::DEFAULT.steps_in_flight,
        },
    }
}

impl Engine {
    /// Times out live executions past their deadline (up to 100 a call): each fails, what is
    /// open is cancelled. How many it ended.
    pub async fn expire_overdue(&self) -> Result<usize, CoreError> {
        let now = self.now();
        let mut ended = 0;
        for (tenant, id) in self.ports.executions.overdue(now, 100).await? {
            // One execution that cannot be changed does not hold back the others.
            match self
                .ports
                .executions
                .change(tenant, id, Arc::new(TimeOutExecution), None, now)
                .await
            {
                Ok(Some(state)) => ended += usize::from(state.execution.status.is_final()),
                Ok(None) => {}
                Err(e) => tracing::warn!(execution = %id, error = %e, "timing out failed"),
            }
        }
        Ok(ended)
    }
}

/// Whom an execution's steps act as: who started it; for a triggered one (an event, a
/// schedule), who saved the workflow version — the person who chose to automate, with their
/// current roles — never the person who caused the event (their id is data, in
/// `inputs.event.actor`: causing an event does not lend one's rights to someone's workflow).
fn acting_person(execution: &Execution, definition: &Definition) -> Option<usvc_core::UserId> {
    execution.started_by.or(definition.saved_by)
}

/// An id the same for every attempt of `step` of `execution`: v7-shaped at the execution's
/// start (so it sorts among its time's ids), its random bits from a hash of both ids.
fn stable_id(execution: &Execution, step: &str) -> uuid::Uuid {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{}:{step}", execution.id));
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(execution.created_at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// What a step's `if` and `with` made of its context.
enum Evaluated {
    /// `if` was false.
    Skipped,
    /// A template failed (or the kind is missing), with the step's error message.
    Failed(String),
    /// The step's arguments, and the context they were rendered in.
    Ready {
        context: serde_json::Value,
        with: serde_json::Map<String, serde_json::Value>,
    },
}

/// Evaluates `step`'s `if` and renders its `with` (fields `kind` reads as written are left
/// as they are), within the template limits.
fn evaluate_step(
    step: &crate::definition::Step,
    kind: Option<&dyn StepKind>,
    context: serde_json::Value,
) -> Evaluated {
    if let Some(condition) = &step.condition {
        match template::holds(condition, &context) {
            Ok(true) => {}
            Ok(false) => return Evaluated::Skipped,
            Err(e) => return Evaluated::Failed(format!("`if`: {e}")),
        }
    }
    let Some(kind) = kind else {
        return Evaluated::Failed(format!("the step kind `{}` is not available", step.kind));
    };
    let mut with = serde_json::Map::new();
    for (field, value) in &step.with {
        let as_written = kind.expression_fields().contains(&field.as_str())
            || kind.literal_fields().contains(&field.as_str());
        let value = if as_written {
            value.clone()
        } else {
            match template::render(value, &context) {
                Ok(v) => v,
                Err(e) => return Evaluated::Failed(format!("`with.{field}`: {e}")),
            }
        };
        with.insert(field.clone(), value);
    }
    Evaluated::Ready { context, with }
}

/// What templates see: `inputs`, `steps.<id>.output` (and `.status`), `execution`,
/// `workflow`.
pub fn context(definition: &Definition, state: &ExecutionState) -> serde_json::Value {
    let steps: serde_json::Map<String, serde_json::Value> = state
        .steps
        .iter()
        .filter(|s| s.status.is_final())
        .map(|s| {
            (
                s.step_id.clone(),
                json!({"output": s.output.clone().unwrap_or(serde_json::Value::Null),
                       "status": s.status.as_str()}),
            )
        })
        .collect();
    let e = &state.execution;
    json!({
        "inputs": e.inputs,
        "steps": steps,
        "execution": {"id": e.id.to_string(), "trigger": e.trigger,
                      "created_at": e.created_at.to_rfc3339(),
                      "started_by": e.started_by.map(|u| u.to_string())},
        "workflow": {"id": e.workflow_id.to_string(), "name": definition.name, "version": e.version},
    })
}
