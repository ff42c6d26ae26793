//! The execution use cases: start (once per `Idempotency-Key`), read, list, cancel, retry
//! and the timeline. Starting writes rows and wakes the workers; the workers do the rest.

use std::sync::Arc;

use serde_json::json;
use usvc_core::ports::{
    offload, Authorizer, EventRelay, ExecutionRepository, IdempotencyKeys, StepOffer,
    TaskRepository, WorkSignal,
};
use usvc_core::{
    permissions, AuditEntry, CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState,
    ExecutionStatus, ExecutionSummary, IdempotencyKey, IdempotencyRecord, Page, PageRequest,
    Principal, ResourceRef, StepStatus, TimelineEntry, WorkflowId, WorkflowStatus,
};

use crate::analytics::{self, OpenTasks, WorkflowStats};
use crate::engine::Engine;
use crate::plan::{initial, new_execution, CancelExecution, RetryExecution, Starter, TakeReady};
use crate::subject;
use crate::workflows::WorkflowService;

/// Event and audit names of what people do to executions and tasks.
pub mod events {
    /// A person cancelled an execution.
    pub const CANCELLED: &str = "execution.cancelled";
    /// A person retried a failed execution.
    pub const RETRIED: &str = "execution.retried";
    /// A person answered a human task.
    pub const TASK_COMPLETED: &str = "task.completed";
}

/// The ports [`ExecutionService`] needs.
pub struct ExecutionPorts {
    /// Executions and step runs.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Human tasks (open ones, for analytics).
    pub tasks: Arc<dyn TaskRepository>,
    /// Workflows (status, current version), through their cache.
    pub workflows: Arc<WorkflowService>,
    /// Pinned definitions.
    pub engine: Arc<Engine>,
    /// Tenant roles.
    pub authorizer: Arc<dyn Authorizer>,
    /// What earlier starts with an `Idempotency-Key` did.
    pub idempotency: Arc<dyn IdempotencyKeys>,
    /// Wakes the workers after a start or a retry.
    pub signal: Arc<dyn WorkSignal>,
    /// Woken after an audited change, whose event the store staged in the outbox.
    pub relay: Arc<dyn EventRelay>,
    /// The tenant's quotas (executions not ended, starts per minute).
    pub quotas: Arc<crate::quotas::Quotas>,
}

/// The execution use cases.
pub struct ExecutionService {
    ports: ExecutionPorts,
}

fn not_found() -> CoreError {
    CoreError::NotFound("execution".into())
}

/// The answer to a worker's offer of slots ([`WorkSignal::taken`]), given once: with what the
/// start stored, or, when the start failed or its request was dropped before it answered,
/// with nothing (the slots are freed; steps a committed start took then run after their
/// lease, taken over like a dead worker's).
struct OfferAnswer<'a> {
    signal: &'a dyn WorkSignal,
    lease: String,
    answered: bool,
}

impl OfferAnswer<'_> {
    fn give(&mut self, stored: Option<&ExecutionState>) {
        self.answered = true;
        self.signal
            .taken(&self.lease, stored.map(|s| Arc::new(s.clone())));
    }
}

impl Drop for OfferAnswer<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.signal.taken(&self.lease, None);
        }
    }
}

/// The `Idempotency-Key` scope of starting one workflow's executions.
fn start_scope(workflow: WorkflowId) -> String {
    format!("workflows.execute:{workflow}")
}

impl ExecutionService {
    /// A service over `ports`.
    pub fn new(ports: ExecutionPorts) -> Self {
        Self { ports }
    }

    /// Starts an execution of the workflow's current version (`workflows:execute`) with
    /// `inputs` (a JSON object). A paused workflow starts nothing (`Conflict`). With a key,
    /// a repeat within 24 hours answers the execution the first start made (`true`: replayed)
    /// — even a repeat racing the first — and the same key with other inputs is refused.
    #[tracing::instrument(name = "workflow.start", skip_all)]
    pub async fn start(
        &self,
        principal: &Principal,
        workflow_id: WorkflowId,
        inputs: serde_json::Value,
        key: Option<IdempotencyKey>,
    ) -> Result<(ExecutionState, bool), CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_EXECUTE)
            .await?;
        if let Some(key) = &key {
            if let Some(done) = self.replay(principal, workflow_id, key).await? {
                return Ok((done, true));
            }
        }
        let workflow = self.ports.workflows.get(principal, workflow_id).await?;
        if workflow.status == WorkflowStatus::Paused {
            return Err(CoreError::Conflict(
                "the workflow is paused; resume it to start executions".into(),
            ));
        }
        let inputs = match inputs {
            serde_json::Value::Null => json!({}),
            serde_json::Value::Object(_) => inputs,
            _ => return Err(CoreError::invalid("inputs", "must be a JSON object")),
        };
        let definition = self
            .ports
            .engine
            .definition(principal.tenant, workflow.id, workflow.version)
            .await?;
        let now = self.ports.engine.now();
        // The inputs against the schema and the concurrency key: CPU work, off the request
        // threads ([`Offload`]).
        let execution = {
            let definition = definition.clone();
            let ids = (principal.tenant, workflow.id, workflow.version);
            let starter = Starter {
                trigger: "manual",
                user: Some(principal.user),
            };
            offload(self.ports.workflows.offload(), move || {
                definition.check_inputs(&inputs)?;
                new_execution(&definition, ids, inputs, &starter, now)
            })
            .await?
        };
        self.ports.quotas.admit_start(principal.tenant, now).await?;
        let state = initial(&definition, execution, now);
        let record = key.clone().map(|key| IdempotencyRecord {
            tenant: principal.tenant,
            user: principal.user,
            scope: start_scope(workflow_id),
            key,
            resource_id: state.execution.id.as_uuid(),
            created_at: now,
        });
        // This process's worker takes the first steps in the start's own transaction when it
        // has free slots: they run the moment it commits, with no claim (issue 17).
        let first = state
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Ready)
            .count();
        let started = match self.ports.signal.offer(first) {
            Some(offer) => {
                // Answered however this ends, a request dropped meanwhile included (its
                // client gone): the slots are never kept held.
                let mut answer = OfferAnswer {
                    signal: self.ports.signal.as_ref(),
                    lease: offer.lease.clone(),
                    answered: false,
                };
                let then = self.first_steps(&state, &offer).await?;
                let started = self
                    .ports
                    .executions
                    .start(&state, record, Some(then))
                    .await;
                answer.give(started.as_ref().ok());
                started
            }
            None => self.ports.executions.start(&state, record, None).await,
        };
        let state = match started {
            Ok(stored) => stored,
            // A concurrent start with the same key won the race: answer what it started.
            Err(CoreError::Conflict(reason)) => {
                if let Some(key) = &key {
                    if let Some(done) = self.replay(principal, workflow_id, key).await? {
                        return Ok((done, true));
                    }
                }
                return Err(CoreError::Conflict(reason));
            }
            Err(e) => return Err(e),
        };
        // Steps left for a claim (no free slot here, no room for the tenant, more than one
        // first step than slots): the workers are told.
        // A queued start too: storing it may have released it (a slot a missed release left).
        if state.execution.queued
            || state
                .steps
                .iter()
                .any(|s| s.status == StepStatus::Ready && s.ready_at.is_some())
        {
            self.ports.signal.wake();
        }
        Ok((state, false))
    }

    /// What a start with `offer` does in its transaction: takes its first steps, and, when
    /// they are pure (outside a concurrency group, where a slot decides whether it runs at
    /// all), records them run here and now, and what they unlock, round after round (ADR
    /// 0033): a workflow of transforms ends in its start's transaction.
    async fn first_steps(
        &self,
        state: &ExecutionState,
        offer: &StepOffer,
    ) -> Result<Arc<dyn ExecutionChange>, CoreError> {
        let engine = &self.ports.engine;
        if state.execution.concurrency_key.is_none() {
            let rounds = engine.start_rounds(state, offer).await;
            if rounds.len() > 1 {
                return engine.start_change(state, rounds, offer).await;
            }
        }
        Ok(Arc::new(TakeReady {
            lease: offer.lease.clone(),
            until: offer.until,
            take: offer.at_most,
            default_in_flight: usvc_core::TenantQuotas::DEFAULT.steps_in_flight,
        }))
    }

    async fn replay(
        &self,
        principal: &Principal,
        workflow_id: WorkflowId,
        key: &IdempotencyKey,
    ) -> Result<Option<ExecutionState>, CoreError> {
        let Some(done) = self
            .ports
            .idempotency
            .find(
                principal.tenant,
                principal.user,
                &start_scope(workflow_id),
                &key.key,
                self.ports.engine.now(),
            )
            .await?
        else {
            return Ok(None);
        };
        if done.key.fingerprint != key.fingerprint {
            return Err(CoreError::invalid(
                "Idempotency-Key",
                "was used to start an execution with other inputs; use a new key",
            ));
        }
        let Some(state) = self
            .ports
            .executions
            .get(principal.tenant, ExecutionId::from_uuid(done.resource_id))
            .await?
        else {
            return Ok(None);
        };
        // The run may since have touched what the caller may not read (a retry by a member
        // of a private project; a membership taken away): answered as any read of it is.
        if subject::may_open(self.ports.authorizer.as_ref(), principal, &state.execution).await? {
            Ok(Some(state))
        } else {
            Err(not_found())
        }
    }

    /// One execution with its steps (`workflows:read`, and reading what it is about:
    /// [`subject::may_see`]).
    pub async fn get(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<ExecutionState, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_READ)
            .await?;
        let state = self
            .ports
            .executions
            .get(principal.tenant, id)
            .await?
            .ok_or_else(not_found)?;
        self.opened(principal, state).await
    }

    /// `state` if the caller may read what it is about: one about what they may not read (an
    /// event's subject, a project its steps touched) does not exist for them; the refusal is
    /// audited ([`subject::may_open`]).
    async fn opened(
        &self,
        principal: &Principal,
        state: ExecutionState,
    ) -> Result<ExecutionState, CoreError> {
        if subject::may_open(self.ports.authorizer.as_ref(), principal, &state.execution).await? {
            Ok(state)
        } else {
            Err(not_found())
        }
    }

    /// `state`, an execution as a worker of this process just left it, answered as [`get`]
    /// would answer it (`workflows:read`, the tenant, [`subject::may_open`]), without reading
    /// it again: how a start that waits answers when the execution ended here.
    ///
    /// [`get`]: Self::get
    pub async fn as_seen_by(
        &self,
        principal: &Principal,
        state: ExecutionState,
    ) -> Result<ExecutionState, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_READ)
            .await?;
        if state.execution.tenant_id != principal.tenant {
            return Err(not_found());
        }
        self.opened(principal, state).await
    }

    /// Whether the caller may read `execution` ([`subject::may_see`]).
    async fn may_see(
        &self,
        principal: &Principal,
        execution: &Execution,
    ) -> Result<bool, CoreError> {
        subject::may_see(self.ports.authorizer.as_ref(), principal, execution).await
    }

    /// A workflow's executions, newest first, optionally of one status (`workflows:read`).
    pub async fn list(
        &self,
        principal: &Principal,
        workflow_id: WorkflowId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, CoreError> {
        // Reading the workflow authorises and keeps other tenants' ids unknown.
        self.ports.workflows.get(principal, workflow_id).await?;
        let mut page = self
            .ports
            .executions
            .list(principal.tenant, workflow_id, status, page)
            .await?;
        let mut kept = Vec::with_capacity(page.items.len());
        for execution in std::mem::take(&mut page.items) {
            if self.may_see(principal, &execution).await? {
                kept.push(execution);
            }
        }
        page.items = kept;
        Ok(page)
    }

    /// How a workflow's executions stand (`workflows:read`): the counts, and the latest
    /// execution the caller may see (of the latest page), shown as [`Self::list`] shows it.
    pub async fn summary(
        &self,
        principal: &Principal,
        workflow_id: WorkflowId,
    ) -> Result<ExecutionSummary, CoreError> {
        self.ports.workflows.get(principal, workflow_id).await?;
        let mut summary = self
            .ports
            .executions
            .summary(principal.tenant, workflow_id)
            .await?;
        summary.last = match summary.last {
            None => None,
            Some(_) => self
                .list(principal, workflow_id, None, PageRequest::first())
                .await?
                .items
                .into_iter()
                .next(),
        };
        Ok(summary)
    }

    /// The tenant's figures over the last 30 days (`analytics:read`).
    pub async fn analytics(&self, principal: &Principal) -> Result<WorkflowStats, CoreError> {
        self.authorize(principal, &permissions::ANALYTICS_READ)
            .await?;
        let since = self.ports.engine.now() - chrono::Duration::days(30);
        let (executions, steps) = self
            .ports
            .executions
            .timings(principal.tenant, since)
            .await?;
        let (open, overdue) = self
            .ports
            .tasks
            .open_counts(principal.tenant, self.ports.engine.now())
            .await?;
        Ok(WorkflowStats {
            open_tasks: OpenTasks { open, overdue },
            ..analytics::compute(since, &executions, &steps)
        })
    }

    /// Every state change of an execution, in order (`workflows:read`).
    pub async fn timeline(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<Vec<TimelineEntry>, CoreError> {
        self.get(principal, id).await?;
        self.ports.executions.timeline(principal.tenant, id).await
    }

    /// Cancels a running execution (`workflows:execute`); one that ended is a `Conflict`.
    pub async fn cancel(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<ExecutionState, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_EXECUTE)
            .await?;
        self.get(principal, id).await?;
        let state = self
            .change(principal, id, Arc::new(CancelExecution), events::CANCELLED)
            .await?;
        // Its end may have released a queued execution of its concurrency group.
        self.ports.signal.wake();
        Ok(state)
    }

    /// Retries a failed execution from where it failed (`workflows:execute`): failed steps
    /// and those skipped or cancelled because of them run again; succeeded ones are kept.
    /// The steps run again act as the caller (who becomes the run's `started_by`), never as
    /// whoever started it first or saved the workflow.
    pub async fn retry(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<ExecutionState, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_EXECUTE)
            .await?;
        let current = self.get(principal, id).await?;
        let definition = self
            .ports
            .engine
            .definition(
                principal.tenant,
                current.execution.workflow_id,
                current.execution.version,
            )
            .await?;
        let state = self
            .change(
                principal,
                id,
                Arc::new(RetryExecution {
                    definition,
                    by: principal.user,
                }),
                events::RETRIED,
            )
            .await?;
        self.ports.signal.wake();
        Ok(state)
    }

    async fn change(
        &self,
        principal: &Principal,
        id: ExecutionId,
        change: Arc<dyn ExecutionChange>,
        action: &str,
    ) -> Result<ExecutionState, CoreError> {
        let now = self.ports.engine.now();
        let audit = AuditEntry::by(principal, action, now).on(ResourceRef::one("execution", id));
        let state = self
            .ports
            .executions
            .change(principal.tenant, id, change, Some(audit), now)
            .await?
            .ok_or_else(not_found)?;
        self.ports.relay.wake();
        Ok(state)
    }

    async fn authorize(
        &self,
        principal: &Principal,
        action: &usvc_core::Action,
    ) -> Result<(), CoreError> {
        self.ports
            .authorizer
            .authorize(principal, action, &ResourceRef::any("workflow"))
            .await
    }
}
