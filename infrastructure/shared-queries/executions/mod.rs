//! `ExecutionRepository` (compiled into each adapter against its own schema): executions,
//! step runs and the timeline, claimed by workers and changed by the workflow domain's
//! `ExecutionChange`s inside one transaction each. By concern:
//!
//! - here: starting, reading and changing one execution (`change` applies the domain's
//!   `ExecutionChange` under the execution's lock), deadlines;
//! - [`rows`]: the tables' rows and the timeline rows a change writes;
//! - [`concurrency_groups`]: slots of concurrency keys, queued starts and their release;
//! - [`claims`]: workers claiming due steps under a lease, renewing and handing back leases,
//!   when the next step falls due;
//! - [`analytics`]: summaries, timings and queue figures.
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
    QueueStats, StepRun, StepStatus, StepTiming, TenantId, TimelineEntry, WorkflowId,
};
use uuid::Uuid;

use crate::backend::{
    begin_write, lock_claimable_steps, row_lock, write_change_rows, Connection, DbId,
};
use crate::errors;
use crate::fair_claims;
use crate::idempotency;
use crate::outbox;
use crate::schema::{workflow_executions, workflow_step_runs, workflow_timeline};
use crate::store::Store;
use crate::tasks;

mod analytics;
mod claims;
mod concurrency_groups;
mod rows;

pub(crate) use concurrency_groups::insert_new;
use concurrency_groups::{release, Group, LIVE};
use rows::{changes, NewExecution};
pub(crate) use rows::{ExecutionRow, StepRow, TimelineRow};

#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
pub(crate) async fn load_state(
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
    // When changing, the steps a claim could take are locked first (claims lock step rows,
    // not the execution's): one committing between this read and the change's writes would
    // otherwise be overwritten. Read after the lock, so what is read is what was locked.
    if lock {
        lock_claimable_steps(conn, id).await?;
    }
    let steps: Vec<StepRow> = steps_query.load(conn).await?;
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

#[async_trait]
impl ExecutionRepository for Store {
    async fn start(
        &self,
        state: &ExecutionState,
        key: Option<IdempotencyRecord>,
        then: Option<Arc<dyn ExecutionChange>>,
    ) -> Result<ExecutionState, CoreError> {
        let state = state.clone();
        let clock = self.clock();
        self.write(move |conn| {
            Box::pin(async move {
                let outcome: Result<ExecutionState, ChangeError> = conn
                    .transaction(async move |conn| {
                        begin_write(conn).await?;
                        let mut state = state;
                        if let Some(then) = then
                            .as_ref()
                            .filter(|_| Group::of(&state.execution).is_none())
                        {
                            // Outside a concurrency group nothing decides whether it runs
                            // but the change itself: applied first, so the rows are written
                            // once (one insert, not an insert and an update of the same rows).
                            let tenant = DbId::from(state.execution.tenant_id.as_uuid());
                            let now = state.execution.created_at.max(clock.now().trunc_subsecs(6));
                            let after = applied(conn, tenant, &state, then.as_ref(), now)
                                .await?
                                .unwrap_or_else(|| state.clone());
                            NewExecution::changed(&state, &after, now)
                                .insert(conn)
                                .await?;
                            if let Some(key) = &key {
                                idempotency::remember(conn, key).await?;
                            }
                            return Ok(after);
                        }
                        insert_new(conn, &mut state).await?;
                        if let Some(key) = &key {
                            idempotency::remember(conn, key).await?;
                        }
                        let Some(then) = then else {
                            return Ok(state);
                        };
                        let tenant = DbId::from(state.execution.tenant_id.as_uuid());
                        let now = state.execution.created_at.max(clock.now().trunc_subsecs(6));
                        write_change(conn, tenant, &state, then.as_ref(), None, now).await
                    })
                    .await;
                match outcome {
                    Ok(state) => Ok(state),
                    Err(ChangeError::Refused(e)) => Err(e),
                    Err(ChangeError::Query(e)) => Err(errors::conflict(
                        e,
                        "an execution was started with this key meanwhile",
                    )),
                }
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
        analytics::summary(self, tenant, workflow).await
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
        claims::claim(self, owner, limit, lease, now, default_in_flight).await
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
        let clock = self.clock();
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
                        let now = now.max(clock.now().trunc_subsecs(6));
                        write_change(conn, tenant, &before, change.as_ref(), audit.as_ref(), now)
                            .await
                            .map(Some)
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
        claims::renew(self, leases, until).await
    }

    async fn release(&self, owner: &str) -> Result<u64, CoreError> {
        claims::release(self, owner).await
    }

    async fn timings(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<(Vec<ExecutionTiming>, Vec<StepTiming>), CoreError> {
        analytics::timings(self, tenant, since).await
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> Result<QueueStats, CoreError> {
        analytics::queue_stats(self, now).await
    }

    async fn live_count(&self, tenant: TenantId) -> Result<u64, CoreError> {
        analytics::live_count(self, tenant).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, CoreError> {
        claims::next_due(self).await
    }
}

/// Applies `change` to `before` (the execution as it is stored, locked by the caller's
/// transaction) and writes what differs: the execution, its altered step runs, its tasks,
/// the concurrency slot it frees, `audit`, and a timeline entry per status change.
async fn write_change(
    conn: &mut Connection,
    tenant: DbId,
    before: &ExecutionState,
    change: &dyn ExecutionChange,
    audit: Option<&AuditEntry>,
    now: DateTime<Utc>,
) -> Result<ExecutionState, ChangeError> {
    let Some(after) = applied(conn, tenant, before, change, now).await? else {
        return Ok(before.clone());
    };
    let execution =
        (after.execution != before.execution).then(|| ExecutionRow::of(&after.execution));
    let old: HashMap<&str, &StepRun> = before
        .steps
        .iter()
        .map(|s| (s.step_id.as_str(), s))
        .collect();
    let altered: Vec<StepRow> = after
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| old.get(step.step_id.as_str()).is_none_or(|o| *o != *step))
        .map(|(i, step)| StepRow::of(after.execution.id, i, step))
        .collect();
    // First: the concurrency slot's release below counts the live executions of its group,
    // this one's ended row included.
    let timeline = changes(before, &after, now);
    write_change_rows(conn, execution.as_ref(), &altered, &timeline).await?;
    tasks::write(conn, &before.tasks, &after.tasks).await?;
    if !before.execution.status.is_final() && after.execution.status.is_final() {
        if let Some(group) = Group::of(&after.execution) {
            release(conn, &group, now).await?;
        }
    }
    if let Some(audit) = audit {
        outbox::record(conn, std::slice::from_ref(audit)).await?;
    }
    Ok(after)
}

/// `before` as `change` leaves it, or `None` if there is nothing to do.
async fn applied(
    conn: &mut Connection,
    tenant: DbId,
    before: &ExecutionState,
    change: &dyn ExecutionChange,
    now: DateTime<Utc>,
) -> Result<Option<ExecutionState>, ChangeError> {
    let mut after = before.clone();
    let applied = match change.claims_steps() {
        // First with no room beyond the attempts it records (what a recording usually
        // needs: the next step of a chain); the tenant's room is counted only when that left
        // steps ready (a start, a fan-out), since counting reads every live lease.
        Some(default_in_flight) => match change.apply_within(&mut after, now, 0) {
            Ok(_) if any_ready(&after, now) => {
                let room = fair_claims::room(conn, tenant, default_in_flight, now).await?;
                after = before.clone();
                change.apply_within(&mut after, now, room)
            }
            other => other,
        },
        None => change.apply(&mut after, now),
    };
    Ok(applied.map_err(ChangeError::Refused)?.then_some(after))
}

/// Whether `state` has steps ready to run at `now`.
fn any_ready(state: &ExecutionState, now: DateTime<Utc>) -> bool {
    state
        .steps
        .iter()
        .any(|s| s.status == StepStatus::Ready && s.ready_at.is_some_and(|at| at <= now))
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
