//! Concurrency groups: an execution whose key's slots are all taken is stored queued (its
//! ready steps held); when one of the group ends, the oldest queued take the free slots.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::{Execution, ExecutionState, StepStatus};
use uuid::Uuid;

use crate::backend::{claim_lock, insert_timeline, row_lock, Connection, DbId};
use crate::schema::{workflow_executions, workflow_step_runs, workflows};

use super::rows::{NewExecution, TimelineRow};

/// The statuses of executions that hold (or wait for) a concurrency slot.
pub(crate) const LIVE: [&str; 3] = ["pending", "running", "waiting"];

/// Locks the workflow's row: starts and releases of one workflow's concurrency groups take
/// their turn (SQLite writes one at a time anyway).
#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
pub(crate) async fn lock_workflow(
    conn: &mut Connection,
    workflow: DbId,
) -> Result<(), diesel::result::Error> {
    row_lock!(workflows::table
        .filter(workflows::id.eq(workflow))
        .select(workflows::id))
    .first::<DbId>(conn)
    .await
    .optional()?;
    Ok(())
}

/// How many executions of a concurrency group hold a slot.
pub(crate) async fn running_in_group(
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
pub(crate) struct Group {
    workflow: DbId,
    key: String,
    limit: i32,
}

impl Group {
    pub(crate) fn of(e: &Execution) -> Option<Self> {
        Some(Self {
            workflow: DbId::from(e.workflow_id.as_uuid()),
            key: e.concurrency_key.clone()?,
            limit: e.concurrency_limit?,
        })
    }
}

/// Whether a concurrency group has executions waiting for a slot.
pub(crate) async fn queued_in_group(
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
pub(crate) async fn release(
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
    insert_timeline(conn, &timeline).await?;
    Ok(())
}
