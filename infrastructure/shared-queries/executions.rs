//! `ExecutionRepository` (compiled into each adapter against its own schema): executions,
//! step runs and the timeline, claimed by workers and changed by the workflow domain's
//! `ExecutionChange`s inside one transaction each.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound as _, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::ExecutionRepository;
use usvc_core::{
    AuditEntry, ClaimedStep, CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState,
    ExecutionStatus, ExecutionSummary, ExecutionTiming, IdempotencyRecord, Page, PageRequest,
    QueueStats, StepRun, StepStatus, StepTiming, TenantId, TimelineEntry, UserId, WorkflowId,
};
use uuid::Uuid;

use crate::backend::{begin_write, claim_lock, insert_all, row_lock, Connection, DbId};
use crate::errors;
use crate::fair_claims;
use crate::idempotency;
use crate::outbox;
use crate::schema::{workflow_executions, workflow_step_runs, workflow_timeline, workflows};
use crate::store::Store;
use crate::tasks;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = workflow_executions, treat_none_as_null = true)]
struct ExecutionRow {
    id: DbId,
    tenant_id: DbId,
    workflow_id: DbId,
    version: i64,
    status: String,
    inputs: serde_json::Value,
    output: Option<serde_json::Value>,
    error: Option<String>,
    trigger: String,
    started_by: Option<DbId>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    deadline: Option<DateTime<Utc>>,
    concurrency_key: Option<String>,
    concurrency_limit: Option<i32>,
    queued: bool,
    projects: serde_json::Value,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = workflow_step_runs, treat_none_as_null = true)]
pub(crate) struct StepRow {
    pub(crate) execution_id: DbId,
    pub(crate) step_id: String,
    position: i32,
    kind: String,
    status: String,
    attempts: i32,
    output: Option<serde_json::Value>,
    error: Option<String>,
    skip: Option<String>,
    state: Option<serde_json::Value>,
    ready_at: Option<DateTime<Utc>>,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_timeline)]
struct TimelineRow {
    id: DbId,
    execution_id: DbId,
    at: DateTime<Utc>,
    step_id: Option<String>,
    status: String,
    attempt: Option<i32>,
    detail: Option<String>,
}

fn stored(what: &str) -> CoreError {
    CoreError::Internal(format!("stored {what}"))
}

impl ExecutionRow {
    fn of(e: &Execution) -> Self {
        Self {
            id: DbId::from(e.id.as_uuid()),
            tenant_id: DbId::from(e.tenant_id.as_uuid()),
            workflow_id: DbId::from(e.workflow_id.as_uuid()),
            version: e.version,
            status: e.status.as_str().to_owned(),
            inputs: e.inputs.clone(),
            output: e.output.clone(),
            error: e.error.clone(),
            trigger: e.trigger.clone(),
            started_by: e.started_by.map(|u| DbId::from(u.as_uuid())),
            created_at: e.created_at,
            started_at: e.started_at,
            finished_at: e.finished_at,
            deadline: e.deadline,
            concurrency_key: e.concurrency_key.clone(),
            concurrency_limit: e.concurrency_limit,
            queued: e.queued,
            projects: serde_json::json!(e.projects),
        }
    }

    fn into_execution(self) -> Result<Execution, CoreError> {
        Ok(Execution {
            id: ExecutionId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            workflow_id: WorkflowId::from_uuid(Uuid::from(self.workflow_id)),
            version: self.version,
            status: self
                .status
                .parse()
                .map_err(|_| stored("execution status"))?,
            inputs: self.inputs,
            output: self.output,
            error: self.error,
            trigger: self.trigger,
            started_by: self.started_by.map(|u| UserId::from_uuid(Uuid::from(u))),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            deadline: self.deadline,
            concurrency_key: self.concurrency_key,
            concurrency_limit: self.concurrency_limit,
            queued: self.queued,
            projects: serde_json::from_value(self.projects)
                .map_err(|_| stored("execution projects"))?,
        })
    }
}

impl StepRow {
    fn of(execution: ExecutionId, position: usize, s: &StepRun) -> Self {
        Self {
            execution_id: DbId::from(execution.as_uuid()),
            step_id: s.step_id.clone(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: s.kind.clone(),
            status: s.status.as_str().to_owned(),
            attempts: s.attempts,
            output: s.output.clone(),
            error: s.error.clone(),
            skip: s.skip.clone(),
            state: s.state.clone(),
            ready_at: s.ready_at,
            lease_owner: s.lease_owner.clone(),
            lease_until: s.lease_until,
            started_at: s.started_at,
            finished_at: s.finished_at,
        }
    }

    fn into_step(self) -> Result<StepRun, CoreError> {
        Ok(StepRun {
            step_id: self.step_id,
            kind: self.kind,
            status: self.status.parse().map_err(|_| stored("step status"))?,
            attempts: self.attempts,
            output: self.output,
            error: self.error,
            skip: self.skip,
            state: self.state,
            ready_at: self.ready_at,
            lease_owner: self.lease_owner,
            lease_until: self.lease_until,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

fn entry(
    execution: ExecutionId,
    at: DateTime<Utc>,
    step: Option<&StepRun>,
    status: &str,
    detail: Option<String>,
) -> TimelineRow {
    TimelineRow {
        id: DbId::from(Uuid::now_v7()),
        execution_id: DbId::from(execution.as_uuid()),
        at,
        step_id: step.map(|s| s.step_id.clone()),
        status: status.to_owned(),
        attempt: step.map(|s| s.attempts),
        detail,
    }
}

/// What a step's status change says in the timeline beside the status.
fn step_detail(step: &StepRun) -> Option<String> {
    match step.status {
        StepStatus::Skipped => step.skip.clone(),
        StepStatus::Failed | StepStatus::Ready => step.error.clone(),
        _ => None,
    }
}

/// The timeline rows of the changes from `before` to `after`.
fn changes(before: &ExecutionState, after: &ExecutionState, at: DateTime<Utc>) -> Vec<TimelineRow> {
    let id = after.execution.id;
    let mut rows = Vec::new();
    let old: HashMap<&str, &StepRun> = before
        .steps
        .iter()
        .map(|s| (s.step_id.as_str(), s))
        .collect();
    for step in &after.steps {
        let moved = old
            .get(step.step_id.as_str())
            .is_none_or(|o| o.status != step.status || o.attempts != step.attempts);
        if moved {
            rows.push(entry(
                id,
                at,
                Some(step),
                step.status.as_str(),
                step_detail(step),
            ));
        }
    }
    if before.execution.status != after.execution.status {
        rows.push(entry(
            id,
            at,
            None,
            after.execution.status.as_str(),
            after.execution.error.clone(),
        ));
    }
    rows
}

#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
async fn load_state(
    conn: &mut Connection,
    tenant: DbId,
    id: DbId,
    lock: bool,
) -> Result<Option<ExecutionState>, diesel::result::Error> {
    let query = workflow_executions::table
        .filter(workflow_executions::id.eq(id))
        .filter(workflow_executions::tenant_id.eq(tenant))
        .select(ExecutionRow::as_select());
    let row: Option<ExecutionRow> = if lock {
        row_lock!(query).first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    let Some(row) = row else { return Ok(None) };
    let steps_query = workflow_step_runs::table
        .filter(workflow_step_runs::execution_id.eq(id))
        .order(workflow_step_runs::position.asc())
        .select(StepRow::as_select());
    // Locked too when changing: a claim committing between this read and the change's writes
    // would otherwise be overwritten (claims lock step rows, not the execution's).
    let steps: Vec<StepRow> = if lock {
        row_lock!(steps_query).load(conn).await?
    } else {
        steps_query.load(conn).await?
    };
    let convert = || -> Result<ExecutionState, CoreError> {
        Ok(ExecutionState {
            execution: row.into_execution()?,
            steps: steps
                .into_iter()
                .map(StepRow::into_step)
                .collect::<Result<_, _>>()?,
            tasks: Vec::new(),
        })
    };
    let mut state =
        convert().map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    if state.may_have_tasks() {
        state.tasks = tasks::load_open(conn, id, lock)
            .await?
            .into_iter()
            .map(tasks::TaskRow::into_task)
            .collect::<Result<_, _>>()
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    }
    Ok(Some(state))
}

/// Pending or waiting executions whose steps were just claimed now run. Best effort under
/// contention: an execution another transaction holds is left alone (no waiting, so no
/// deadlock with a change that locks the execution, then its steps); that change sets the
/// status from the steps anyway.
async fn mark_running(
    conn: &mut Connection,
    ids: Vec<DbId>,
    now: DateTime<Utc>,
    timeline: &mut Vec<TimelineRow>,
) -> Result<(), diesel::result::Error> {
    let starting = claim_lock!(workflow_executions::table
        .filter(workflow_executions::id.eq_any(ids))
        .filter(workflow_executions::status.eq_any(["pending", "waiting"]))
        .select(workflow_executions::id))
    .load::<DbId>(conn)
    .await?;
    if !starting.is_empty() {
        diesel::update(
            workflow_executions::table
                .filter(workflow_executions::id.eq_any(starting.clone()))
                .filter(workflow_executions::started_at.is_null()),
        )
        .set(workflow_executions::started_at.eq(Some(now)))
        .execute(conn)
        .await?;
        diesel::update(
            workflow_executions::table.filter(workflow_executions::id.eq_any(starting.clone())),
        )
        .set(workflow_executions::status.eq("running"))
        .execute(conn)
        .await?;
        for id in &starting {
            timeline.push(TimelineRow {
                id: DbId::from(Uuid::now_v7()),
                execution_id: *id,
                at: now,
                step_id: None,
                status: "running".into(),
                attempt: None,
                detail: None,
            });
        }
    }
    Ok(())
}

/// The rows of a new execution: itself, its steps and its first timeline entries.
struct NewExecution {
    execution: ExecutionRow,
    steps: Vec<StepRow>,
    timeline: Vec<TimelineRow>,
}

impl NewExecution {
    /// The rows of `state`, a new execution.
    fn of(state: &ExecutionState) -> Self {
        let id = state.execution.id;
        let steps = state
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepRow::of(id, i, s))
            .collect();
        let empty = ExecutionState {
            execution: Execution {
                status: ExecutionStatus::Pending,
                ..state.execution.clone()
            },
            steps: Vec::new(),
            tasks: Vec::new(),
        };
        let mut timeline = vec![entry(id, state.execution.created_at, None, "pending", None)];
        timeline.extend(
            changes(&empty, state, state.execution.created_at)
                .into_iter()
                .filter(|row| row.step_id.is_some() && row.status != "pending"),
        );
        Self {
            execution: ExecutionRow::of(&state.execution),
            steps,
            timeline,
        }
    }

    /// Inserts the rows, inside the caller's transaction.
    async fn insert(&self, conn: &mut Connection) -> Result<(), diesel::result::Error> {
        diesel::insert_into(workflow_executions::table)
            .values(&self.execution)
            .execute(conn)
            .await?;
        insert_all!(conn, workflow_step_runs::table, self.steps);
        insert_all!(conn, workflow_timeline::table, self.timeline);
        Ok(())
    }
}

/// The statuses of executions that hold (or wait for) a concurrency slot.
const LIVE: [&str; 3] = ["pending", "running", "waiting"];

/// Locks the workflow's row: starts and releases of one workflow's concurrency groups take
/// their turn (SQLite writes one at a time anyway).
#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
async fn lock_workflow(conn: &mut Connection, workflow: DbId) -> Result<(), diesel::result::Error> {
    row_lock!(workflows::table
        .filter(workflows::id.eq(workflow))
        .select(workflows::id))
    .first::<DbId>(conn)
    .await
    .optional()?;
    Ok(())
}

/// How many executions of a concurrency group hold a slot.
async fn running_in_group(
    conn: &mut Connection,
    workflow: DbId,
    key: &str,
) -> Result<i64, diesel::result::Error> {
    workflow_executions::table
        .filter(workflow_executions::workflow_id.eq(workflow))
        .filter(workflow_executions::concurrency_key.eq(key))
        .filter(workflow_executions::queued.eq(false))
        .filter(workflow_executions::status.eq_any(LIVE))
        .count()
        .get_result(conn)
        .await
}

/// Stores a new execution inside the caller's transaction — queued (its ready steps held)
/// when its concurrency group is full, which `state` then says.
pub(crate) async fn insert_new(
    conn: &mut Connection,
    state: &mut ExecutionState,
) -> Result<(), diesel::result::Error> {
    let e = &state.execution;
    let Some(group) = Group::of(e) else {
        return NewExecution::of(state).insert(conn).await;
    };
    lock_workflow(conn, group.workflow).await?;
    // Behind the queue, if there is one: a start never jumps older queued ones.
    let full = running_in_group(conn, group.workflow, &group.key).await? >= i64::from(group.limit)
        || queued_in_group(conn, group.workflow, &group.key).await?;
    if full {
        state.execution.queued = true;
        for step in &mut state.steps {
            if step.status == StepStatus::Ready {
                step.ready_at = None;
            }
        }
    }
    NewExecution::of(state).insert(conn).await?;
    if full {
        // Slots a missed release left free go to the oldest queued now.
        release(conn, &group, state.execution.created_at).await?;
    }
    Ok(())
}

/// An execution's concurrency group.
struct Group {
    workflow: DbId,
    key: String,
    limit: i32,
}

impl Group {
    fn of(e: &Execution) -> Option<Self> {
        Some(Self {
            workflow: DbId::from(e.workflow_id.as_uuid()),
            key: e.concurrency_key.clone()?,
            limit: e.concurrency_limit?,
        })
    }
}

/// Whether a concurrency group has executions waiting for a slot.
async fn queued_in_group(
    conn: &mut Connection,
    workflow: DbId,
    key: &str,
) -> Result<bool, diesel::result::Error> {
    let queued: Option<DbId> = workflow_executions::table
        .filter(workflow_executions::workflow_id.eq(workflow))
        .filter(workflow_executions::concurrency_key.eq(key))
        .filter(workflow_executions::queued.eq(true))
        .filter(workflow_executions::status.eq_any(LIVE))
        .select(workflow_executions::id)
        .first(conn)
        .await
        .optional()?;
    Ok(queued.is_some())
}

/// The oldest queued executions of a group take its free slots (their held steps become due
/// now): when one of the group ends, and when a start finds slots a missed release left.
async fn release(
    conn: &mut Connection,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let (workflow, key, limit) = (group.workflow, group.key.as_str(), group.limit);
    lock_workflow(conn, workflow).await?;
    let free = i64::from(limit) - running_in_group(conn, workflow, key).await?;
    if free <= 0 {
        return Ok(());
    }
    // Skipping a queued execution another transaction holds (a cancel): the next one goes.
    let next: Vec<DbId> = claim_lock!(workflow_executions::table
        .filter(workflow_executions::workflow_id.eq(workflow))
        .filter(workflow_executions::concurrency_key.eq(key))
        .filter(workflow_executions::queued.eq(true))
        .filter(workflow_executions::status.eq_any(LIVE))
        .order(workflow_executions::id.asc())
        .limit(free)
        .select(workflow_executions::id))
    .load(conn)
    .await?;
    if next.is_empty() {
        return Ok(());
    }
    diesel::update(workflow_executions::table.filter(workflow_executions::id.eq_any(next.clone())))
        .set(workflow_executions::queued.eq(false))
        .execute(conn)
        .await?;
    diesel::update(
        workflow_step_runs::table
            .filter(workflow_step_runs::execution_id.eq_any(next.clone()))
            .filter(workflow_step_runs::status.eq("ready"))
            .filter(workflow_step_runs::ready_at.is_null()),
    )
    .set(workflow_step_runs::ready_at.eq(Some(now)))
    .execute(conn)
    .await?;
    let timeline: Vec<TimelineRow> = next
        .into_iter()
        .map(|id| TimelineRow {
            id: DbId::from(Uuid::now_v7()),
            execution_id: id,
            at: now,
            step_id: None,
            status: "pending".into(),
            attempt: None,
            detail: Some("released from the concurrency queue".into()),
        })
        .collect();
    insert_all!(conn, workflow_timeline::table, timeline);
    Ok(())
}

#[async_trait]
impl ExecutionRepository for Store {
    async fn start(
        &self,
        state: &ExecutionState,
        key: Option<IdempotencyRecord>,
    ) -> Result<ExecutionState, CoreError> {
        let state = state.clone();
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mut state = state;
                    insert_new(conn, &mut state).await?;
                    if let Some(key) = &key {
                        idempotency::remember(conn, key).await?;
                    }
                    Ok::<_, diesel::result::Error>(state)
                })
                .await
                .map_err(|e| {
                    errors::conflict(e, "an execution was started with this key meanwhile")
                })
            })
        })
        .await
    }

    async fn overdue(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(TenantId, ExecutionId)>, CoreError> {
        let rows: Vec<(DbId, DbId)> = self
            .run(move |conn| {
                Box::pin(async move {
                    workflow_executions::table
                        .filter(workflow_executions::status.eq_any(LIVE))
                        .filter(workflow_executions::deadline.le(now))
                        .order(workflow_executions::deadline.asc())
                        .limit(i64::from(limit))
                        .select((workflow_executions::tenant_id, workflow_executions::id))
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(t, e)| {
                (
                    TenantId::from_uuid(Uuid::from(t)),
                    ExecutionId::from_uuid(Uuid::from(e)),
                )
            })
            .collect())
    }

    async fn get(
        &self,
        tenant: TenantId,
        id: ExecutionId,
    ) -> Result<Option<ExecutionState>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                load_state(conn, tenant, id, false)
                    .await
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
        status: Option<ExecutionStatus>,
        page: PageRequest,
    ) -> Result<Page<Execution>, CoreError> {
        let before = page.after_position::<Uuid>()?.map(DbId::from);
        let (tenant, workflow) = (DbId::from(tenant.as_uuid()), DbId::from(workflow.as_uuid()));
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<ExecutionRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = workflow_executions::table
                        .filter(workflow_executions::tenant_id.eq(tenant))
                        .filter(workflow_executions::workflow_id.eq(workflow))
                        .order(workflow_executions::id.desc())
                        .limit(limit)
                        .select(ExecutionRow::as_select())
                        .into_boxed();
                    if let Some(status) = status {
                        query = query.filter(workflow_executions::status.eq(status.as_str()));
                    }
                    if let Some(before) = before {
                        query = query.filter(workflow_executions::id.lt(before));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows
            .into_iter()
            .map(ExecutionRow::into_execution)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e: &Execution| {
            e.id.to_string()
        }))
    }

    async fn summary(
        &self,
        tenant: TenantId,
        workflow: WorkflowId,
    ) -> Result<ExecutionSummary, CoreError> {
        let (tenant, workflow) = (DbId::from(tenant.as_uuid()), DbId::from(workflow.as_uuid()));
        let (counts, last) = self
            .run(move |conn| {
                Box::pin(async move {
                    let mine = workflow_executions::table
                        .filter(workflow_executions::tenant_id.eq(tenant))
                        .filter(workflow_executions::workflow_id.eq(workflow));
                    let counts: Vec<(String, i64)> = mine
                        .group_by(workflow_executions::status)
                        .select((workflow_executions::status, diesel::dsl::count_star()))
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    let last: Option<ExecutionRow> = mine
                        .order(workflow_executions::id.desc())
                        .select(ExecutionRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)?;
                    Ok((counts, last))
                })
            })
            .await?;
        let mut summary = ExecutionSummary {
            last: last.map(ExecutionRow::into_execution).transpose()?,
            ..ExecutionSummary::default()
        };
        for (status, n) in counts {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "succeeded" => summary.succeeded += n,
                "failed" => summary.failed += n,
                "cancelled" => summary.cancelled += n,
                _ => summary.running += n,
            }
        }
        Ok(summary)
    }

    async fn timeline(
        &self,
        tenant: TenantId,
        id: ExecutionId,
    ) -> Result<Vec<TimelineEntry>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let rows: Vec<TimelineRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    let owned = workflow_executions::table
                        .filter(workflow_executions::tenant_id.eq(tenant))
                        .filter(workflow_executions::id.eq(id))
                        .select(workflow_executions::id)
                        .first::<DbId>(conn)
                        .await
                        .optional()
                        .map_err(errors::query)?;
                    if owned.is_none() {
                        return Ok(Vec::new());
                    }
                    workflow_timeline::table
                        .filter(workflow_timeline::execution_id.eq(id))
                        // By time, then by id: a claim and a change of one execution may
                        // commit in either order, and each reads the time under its locks.
                        .order((workflow_timeline::at.asc(), workflow_timeline::id.asc()))
                        .select(TimelineRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| TimelineEntry {
                at: r.at,
                step_id: r.step_id,
                status: r.status,
                attempt: r.attempt,
                detail: r.detail,
            })
            .collect())
    }

    async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
        default_in_flight: u32,
    ) -> Result<Vec<ClaimedStep>, CoreError> {
        let token = format!("{owner}/{}", Uuid::now_v7().simple());
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mut rows = fair_claims::take(conn, now, default_in_flight, limit).await?;
                    if rows.is_empty() {
                        return Ok(Vec::new());
                    }
                    // Read under the locks, like `change` (timeline times in commit order).
                    let now = now.max(Utc::now().trunc_subsecs(6));
                    let until = now + lease;
                    let mut timeline = Vec::with_capacity(rows.len() + 1);
                    let mut by_execution: HashMap<Uuid, Vec<String>> = HashMap::new();
                    for row in &mut rows {
                        row.attempts += 1;
                        by_execution
                            .entry(Uuid::from(row.execution_id))
                            .or_default()
                            .push(row.step_id.clone());
                        timeline.push(TimelineRow {
                            id: DbId::from(Uuid::now_v7()),
                            execution_id: row.execution_id,
                            at: now,
                            step_id: Some(row.step_id.clone()),
                            status: "running".into(),
                            attempt: Some(row.attempts),
                            detail: None,
                        });
                    }
                    // Two statements per execution, however many of its steps were taken
                    // (the branches of a fan-out come together).
                    for (execution, steps) in by_execution {
                        let mine = workflow_step_runs::table
                            .filter(workflow_step_runs::execution_id.eq(DbId::from(execution)))
                            .filter(workflow_step_runs::step_id.eq_any(steps));
                        diesel::update(mine.clone())
                            .set((
                                workflow_step_runs::status.eq("running"),
                                workflow_step_runs::attempts.eq(workflow_step_runs::attempts + 1),
                                workflow_step_runs::lease_owner.eq(Some(&token)),
                                workflow_step_runs::lease_until.eq(Some(until)),
                            ))
                            .execute(conn)
                            .await?;
                        diesel::update(mine.filter(workflow_step_runs::started_at.is_null()))
                            .set(workflow_step_runs::started_at.eq(Some(now)))
                            .execute(conn)
                            .await?;
                    }
                    let mut ids: Vec<DbId> = rows.iter().map(|r| r.execution_id).collect();
                    ids.sort_by_key(|id| Uuid::from(*id));
                    ids.dedup_by_key(|id| Uuid::from(*id));
                    let executions: Vec<ExecutionRow> = workflow_executions::table
                        .filter(workflow_executions::id.eq_any(ids.clone()))
                        .select(ExecutionRow::as_select())
                        .load(conn)
                        .await?;
                    mark_running(conn, ids.clone(), now, &mut timeline).await?;
                    insert_all!(conn, workflow_timeline::table, timeline);
                    let by_id: HashMap<DbId, &ExecutionRow> =
                        executions.iter().map(|e| (e.id, e)).collect();
                    Ok::<_, diesel::result::Error>(
                        rows.iter()
                            .filter_map(|r| {
                                let e = by_id.get(&r.execution_id)?;
                                Some(ClaimedStep {
                                    tenant_id: TenantId::from_uuid(Uuid::from(e.tenant_id)),
                                    execution_id: ExecutionId::from_uuid(Uuid::from(e.id)),
                                    workflow_id: WorkflowId::from_uuid(Uuid::from(e.workflow_id)),
                                    version: e.version,
                                    step_id: r.step_id.clone(),
                                    attempt: r.attempts,
                                    lease: token.clone(),
                                    state: r.state.clone(),
                                })
                            })
                            .collect(),
                    )
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn change(
        &self,
        tenant: TenantId,
        id: ExecutionId,
        change: Arc<dyn ExecutionChange>,
        audit: Option<AuditEntry>,
        now: DateTime<Utc>,
    ) -> Result<Option<ExecutionState>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.write(move |conn| {
            Box::pin(async move {
                let outcome: Result<Option<ExecutionState>, ChangeError> = conn
                    .transaction(async move |conn| {
                        begin_write(conn).await?;
                        let Some(before) = load_state(conn, tenant, id, true).await? else {
                            return Ok(None);
                        };
                        // The time is read under the lock, so the timeline's times follow
                        // the order the changes really took (a change that waited for the
                        // lock is later than the one it waited for).
                        let now = now.max(Utc::now().trunc_subsecs(6));
                        let mut after = before.clone();
                        if !change
                            .apply(&mut after, now)
                            .map_err(ChangeError::Refused)?
                        {
                            return Ok(Some(after));
                        }
                        if after.execution != before.execution {
                            diesel::update(
                                workflow_executions::table.filter(workflow_executions::id.eq(id)),
                            )
                            .set(&ExecutionRow::of(&after.execution))
                            .execute(conn)
                            .await?;
                        }
                        let old: HashMap<&str, &StepRun> = before
                            .steps
                            .iter()
                            .map(|s| (s.step_id.as_str(), s))
                            .collect();
                        for (i, step) in after.steps.iter().enumerate() {
                            if old.get(step.step_id.as_str()).is_some_and(|o| *o == step) {
                                continue;
                            }
                            diesel::update(
                                workflow_step_runs::table
                                    .filter(workflow_step_runs::execution_id.eq(id))
                                    .filter(workflow_step_runs::step_id.eq(&step.step_id)),
                            )
                            .set(&StepRow::of(after.execution.id, i, step))
                            .execute(conn)
                            .await?;
                        }
                        tasks::write(conn, &before.tasks, &after.tasks).await?;
                        if !before.execution.status.is_final() && after.execution.status.is_final()
                        {
                            if let Some(group) = Group::of(&after.execution) {
                                release(conn, &group, now).await?;
                            }
                        }
                        if let Some(audit) = &audit {
                            outbox::record(conn, std::slice::from_ref(audit)).await?;
                        }
                        let timeline = changes(&before, &after, now);
                        insert_all!(conn, workflow_timeline::table, timeline);
                        Ok(Some(after))
                    })
                    .await;
                match outcome {
                    Ok(state) => Ok(state),
                    Err(ChangeError::Refused(e)) => Err(e),
                    Err(ChangeError::Query(e)) => Err(errors::query(e)),
                }
            })
        })
        .await
    }

    async fn renew(
        &self,
        leases: Vec<(ExecutionId, String, String)>,
        until: DateTime<Utc>,
    ) -> Result<u64, CoreError> {
        if leases.is_empty() {
            return Ok(0);
        }
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mut held = 0;
                    for (execution, step, lease) in &leases {
                        held += diesel::update(
                            workflow_step_runs::table
                                .filter(
                                    workflow_step_runs::execution_id
                                        .eq(DbId::from(execution.as_uuid())),
                                )
                                .filter(workflow_step_runs::step_id.eq(step))
                                .filter(workflow_step_runs::status.eq("running"))
                                .filter(workflow_step_runs::lease_owner.eq(lease)),
                        )
                        .set(workflow_step_runs::lease_until.eq(Some(until)))
                        .execute(conn)
                        .await?;
                    }
                    Ok::<_, diesel::result::Error>(held as u64)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn release(&self, owner: &str) -> Result<u64, CoreError> {
        let owner = format!("{owner}/%");
        let now = Utc::now();
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let held: Vec<StepRow> = workflow_step_runs::table
                        .filter(workflow_step_runs::status.eq("running"))
                        .filter(workflow_step_runs::lease_owner.like(&owner))
                        .select(StepRow::as_select())
                        .load(conn)
                        .await?;
                    let mut timeline = Vec::with_capacity(held.len());
                    for row in &held {
                        diesel::update(
                            workflow_step_runs::table
                                .filter(workflow_step_runs::execution_id.eq(row.execution_id))
                                .filter(workflow_step_runs::step_id.eq(&row.step_id))
                                .filter(workflow_step_runs::lease_owner.eq(&row.lease_owner)),
                        )
                        .set((
                            workflow_step_runs::status.eq("ready"),
                            workflow_step_runs::attempts.eq(row.attempts - 1),
                            workflow_step_runs::ready_at.eq(Some(now)),
                            workflow_step_runs::lease_owner.eq(None::<String>),
                            workflow_step_runs::lease_until.eq(None::<DateTime<Utc>>),
                        ))
                        .execute(conn)
                        .await?;
                        timeline.push(TimelineRow {
                            id: DbId::from(Uuid::now_v7()),
                            execution_id: row.execution_id,
                            at: now,
                            step_id: Some(row.step_id.clone()),
                            status: "ready".into(),
                            attempt: Some(row.attempts - 1),
                            detail: Some("lease handed back at shutdown".into()),
                        });
                    }
                    insert_all!(conn, workflow_timeline::table, timeline);
                    Ok::<_, diesel::result::Error>(held.len() as u64)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn timings(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<(Vec<ExecutionTiming>, Vec<StepTiming>), CoreError> {
        type ExecutionCols = (DbId, DbId, String, DateTime<Utc>, Option<DateTime<Utc>>);
        type StepCols = (
            DbId,
            String,
            String,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let tenant = DbId::from(tenant.as_uuid());
        let (executions, names, steps) = self
            .run(move |conn| {
                Box::pin(async move {
                    let executions: Vec<ExecutionCols> = workflow_executions::table
                        .filter(workflow_executions::tenant_id.eq(tenant))
                        .filter(workflow_executions::created_at.ge(since))
                        .order(workflow_executions::id.desc())
                        .limit(20_000)
                        .select((
                            workflow_executions::id,
                            workflow_executions::workflow_id,
                            workflow_executions::status,
                            workflow_executions::created_at,
                            workflow_executions::finished_at,
                        ))
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    let names: Vec<(DbId, String)> = workflows::table
                        .filter(workflows::tenant_id.eq(tenant))
                        .select((workflows::id, workflows::name))
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    let ended: Vec<DbId> = executions
                        .iter()
                        .filter(|e| e.4.is_some())
                        .take(5_000)
                        .map(|e| e.0)
                        .collect();
                    let mut steps: Vec<StepCols> = Vec::new();
                    for chunk in ended.chunks(500) {
                        let rows: Vec<StepCols> = workflow_step_runs::table
                            .filter(workflow_step_runs::execution_id.eq_any(chunk.to_vec()))
                            .filter(workflow_step_runs::status.eq("succeeded"))
                            .select((
                                workflow_step_runs::execution_id,
                                workflow_step_runs::step_id,
                                workflow_step_runs::kind,
                                workflow_step_runs::started_at,
                                workflow_step_runs::finished_at,
                            ))
                            .load(conn)
                            .await
                            .map_err(errors::query)?;
                        steps.extend(rows);
                    }
                    Ok((executions, names, steps))
                })
            })
            .await?;
        let names: HashMap<Uuid, String> = names
            .into_iter()
            .map(|(id, name)| (Uuid::from(id), name))
            .collect();
        let workflow_of: HashMap<Uuid, Uuid> = executions
            .iter()
            .map(|e| (Uuid::from(e.0), Uuid::from(e.1)))
            .collect();
        let timings = executions
            .into_iter()
            .filter_map(|(_, workflow, status, created_at, finished_at)| {
                let workflow = Uuid::from(workflow);
                Some(ExecutionTiming {
                    workflow_id: WorkflowId::from_uuid(workflow),
                    workflow_name: names.get(&workflow).cloned().unwrap_or_default(),
                    status: status.parse().ok()?,
                    created_at,
                    finished_at,
                })
            })
            .collect();
        let steps = steps
            .into_iter()
            .filter_map(|(execution, step_id, kind, started, finished)| {
                Some(StepTiming {
                    workflow_id: WorkflowId::from_uuid(*workflow_of.get(&Uuid::from(execution))?),
                    step_id,
                    kind,
                    duration_ms: (finished? - started?).num_milliseconds(),
                })
            })
            .collect();
        Ok((timings, steps))
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, CoreError> {
        let (ready, oldest, steps, executions) = self
            .run(move |conn| {
                Box::pin(async move {
                    let due = workflow_step_runs::table
                        .filter(workflow_step_runs::status.eq("ready"))
                        .filter(workflow_step_runs::ready_at.le(now));
                    let ready: i64 = due.count().get_result(conn).await.map_err(errors::query)?;
                    let oldest: Option<Option<DateTime<Utc>>> = due
                        .order(workflow_step_runs::ready_at.asc())
                        .select(workflow_step_runs::ready_at)
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)?;
                    let steps: Vec<(String, i64)> = workflow_step_runs::table
                        .filter(workflow_step_runs::status.eq_any(["running", "waiting"]))
                        .group_by(workflow_step_runs::status)
                        .select((workflow_step_runs::status, diesel::dsl::count_star()))
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    let executions: Vec<(String, i64)> = workflow_executions::table
                        .group_by(workflow_executions::status)
                        .select((workflow_executions::status, diesel::dsl::count_star()))
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    Ok((ready, oldest.flatten(), steps, executions))
                })
            })
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let of = |status: &str| {
            steps
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| count(*n))
        };
        Ok(QueueStats {
            ready: count(ready),
            oldest_ready_at: oldest,
            running: of("running"),
            waiting: of("waiting"),
            executions: executions
                .into_iter()
                .filter_map(|(s, n)| Some((s.parse().ok()?, count(n))))
                .collect(),
        })
    }

    async fn live_count(&self, tenant: TenantId) -> Result<u64, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let n: i64 = self
            .run(move |conn| {
                Box::pin(async move {
                    workflow_executions::table
                        .filter(workflow_executions::tenant_id.eq(tenant))
                        .filter(
                            workflow_executions::status.eq_any(["pending", "running", "waiting"]),
                        )
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                // Earliest first by index order (no MIN: SQLite's timestamps are text).
                let due: Option<DateTime<Utc>> = workflow_step_runs::table
                    .filter(workflow_step_runs::status.eq_any(["ready", "waiting"]))
                    .filter(workflow_step_runs::ready_at.is_not_null())
                    .order(workflow_step_runs::ready_at.asc())
                    .select(workflow_step_runs::ready_at)
                    .first::<Option<DateTime<Utc>>>(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .flatten();
                let expiry: Option<DateTime<Utc>> = workflow_step_runs::table
                    .filter(workflow_step_runs::status.eq("running"))
                    .order(workflow_step_runs::lease_until.asc())
                    .select(workflow_step_runs::lease_until)
                    .first::<Option<DateTime<Utc>>>(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .flatten();
                let deadline: Option<DateTime<Utc>> = workflow_executions::table
                    .filter(workflow_executions::status.eq_any(LIVE))
                    .filter(workflow_executions::deadline.is_not_null())
                    .order(workflow_executions::deadline.asc())
                    .select(workflow_executions::deadline)
                    .first::<Option<DateTime<Utc>>>(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .flatten();
                Ok([due, expiry, deadline].into_iter().flatten().min())
            })
        })
        .await
    }
}

/// Why a change's transaction rolled back: the domain refused it, or the database failed.
enum ChangeError {
    Refused(CoreError),
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Query(e)
    }
}
