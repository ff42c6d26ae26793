//! Workers' side: claiming due steps under a lease (fairly across tenants, `fair_claims`),
//! renewing leases of long steps, handing them back at shutdown, and when the next is due.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::{ClaimedStep, CoreError, ExecutionId, ExecutionState, StepRun};
use uuid::Uuid;

use crate::backend::{begin_write, claim_lock, insert_timeline, Connection, DbId};
use crate::errors;
use crate::fair_claims;
use crate::prepared::KeepPrepared as _;
use crate::schema::{workflow_executions, workflow_step_runs};
use crate::store::Store;

use super::concurrency_groups::LIVE;
use super::rows::{ExecutionRow, StepRow, TimelineRow};

/// Pending or waiting executions whose steps were just claimed now run. Best effort under
/// contention: an execution another transaction holds is left alone (no waiting, so no
/// deadlock with a change that locks the execution, then its steps); that change sets the
/// status from the steps anyway.
pub(super) async fn mark_running(
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
        crate::backend::list_prepared!(diesel::update(
            workflow_executions::table
                .filter(workflow_executions::id.eq_any(starting.clone()))
                .filter(workflow_executions::started_at.is_null()),
        )
        .set(workflow_executions::started_at.eq(Some(now))))
        .execute(conn)
        .await?;
        crate::backend::list_prepared!(diesel::update(
            workflow_executions::table.filter(workflow_executions::id.eq_any(starting.clone())),
        )
        .set(workflow_executions::status.eq("running")))
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

pub(super) async fn claim(
    store: &Store,
    owner: &str,
    limit: u32,
    lease: chrono::Duration,
    now: DateTime<Utc>,
    default_in_flight: u32,
) -> Result<Vec<ClaimedStep>, CoreError> {
    let token = format!("{owner}/{}", Uuid::now_v7().simple());
    let clock = store.clock();
    store
        .write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mut rows = fair_claims::take(conn, now, default_in_flight, limit).await?;
                    if rows.is_empty() {
                        return Ok(Vec::new());
                    }
                    // Read under the locks, like `change` (timeline times in commit order).
                    let now = now.max(clock.now().trunc_subsecs(6));
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
                        crate::backend::list_prepared!(diesel::update(mine.clone()).set((
                            workflow_step_runs::status.eq("running"),
                            workflow_step_runs::attempts.eq(workflow_step_runs::attempts + 1),
                            workflow_step_runs::lease_owner.eq(Some(&token)),
                            workflow_step_runs::lease_until.eq(Some(until)),
                        )))
                        .execute(conn)
                        .await?;
                        crate::backend::list_prepared!(diesel::update(
                            mine.filter(workflow_step_runs::started_at.is_null())
                        )
                        .set(workflow_step_runs::started_at.eq(Some(now))))
                        .execute(conn)
                        .await?;
                    }
                    let mut ids: Vec<DbId> = rows.iter().map(|r| r.execution_id).collect();
                    ids.sort_by_key(|id| Uuid::from(*id));
                    ids.dedup_by_key(|id| Uuid::from(*id));
                    mark_running(conn, ids.clone(), now, &mut timeline).await?;
                    insert_timeline(conn, &timeline).await?;
                    // Each claim carries its execution as the claim left it (one read for
                    // the whole batch), so running a step needs no read of its own.
                    let executions: Vec<ExecutionRow> = workflow_executions::table
                        .filter(workflow_executions::id.eq_any(ids.clone()))
                        .select(ExecutionRow::as_select())
                        .load(conn)
                        .await?;
                    let steps: Vec<StepRow> = workflow_step_runs::table
                        .filter(workflow_step_runs::execution_id.eq_any(ids))
                        .order((
                            workflow_step_runs::execution_id.asc(),
                            workflow_step_runs::position.asc(),
                        ))
                        .select(StepRow::as_select())
                        .load(conn)
                        .await?;
                    let snapshots = snapshots(executions, steps)
                        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
                    Ok::<_, diesel::result::Error>(
                        rows.iter()
                            .filter_map(|r| {
                                let snapshot = snapshots.get(&Uuid::from(r.execution_id))?;
                                let e = &snapshot.execution;
                                Some(ClaimedStep {
                                    tenant_id: e.tenant_id,
                                    execution_id: e.id,
                                    workflow_id: e.workflow_id,
                                    version: e.version,
                                    step_id: r.step_id.clone(),
                                    attempt: r.attempts,
                                    lease: token.clone(),
                                    state: r.state.clone(),
                                    snapshot: Some(snapshot.clone()),
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

/// The claimed executions with their steps (tasks are not read: running a step does not
/// look at them), by id.
fn snapshots(
    executions: Vec<ExecutionRow>,
    steps: Vec<StepRow>,
) -> Result<HashMap<Uuid, Arc<ExecutionState>>, CoreError> {
    let mut by_execution: HashMap<Uuid, Vec<StepRun>> = HashMap::new();
    for row in steps {
        by_execution
            .entry(Uuid::from(row.execution_id))
            .or_default()
            .push(row.into_step()?);
    }
    executions
        .into_iter()
        .map(|row| {
            let id = Uuid::from(row.id);
            let state = ExecutionState {
                execution: row.into_execution()?,
                steps: by_execution.remove(&id).unwrap_or_default(),
                tasks: Vec::new(),
            };
            Ok((id, Arc::new(state)))
        })
        .collect()
}

pub(super) async fn renew(
    store: &Store,
    leases: Vec<(ExecutionId, String, String)>,
    until: DateTime<Utc>,
) -> Result<u64, CoreError> {
    if leases.is_empty() {
        return Ok(0);
    }
    store
        .write(move |conn| {
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
                        .prepared()
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
pub(super) async fn release(store: &Store, owner: &str) -> Result<u64, CoreError> {
    let owner = format!("{owner}/%");
    let now = store.clock().now();
    store
        .write(move |conn| {
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
                    insert_timeline(conn, &timeline).await?;
                    Ok::<_, diesel::result::Error>(held.len() as u64)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
}
pub(super) async fn next_due(store: &Store) -> Result<Option<DateTime<Utc>>, CoreError> {
    // The three reads in one transaction: an idle worker asks this every few seconds, and
    // each statement on its own would be a transaction of its own (issue 17: idle load).
    store
        .run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    // Earliest first by index order (no MIN: SQLite's timestamps are text).
                    let due: Option<DateTime<Utc>> = workflow_step_runs::table
                        .filter(workflow_step_runs::status.eq_any(["ready", "waiting"]))
                        .filter(workflow_step_runs::ready_at.is_not_null())
                        .order(workflow_step_runs::ready_at.asc())
                        .select(workflow_step_runs::ready_at)
                        .first::<Option<DateTime<Utc>>>(conn)
                        .await
                        .optional()?
                        .flatten();
                    let expiry: Option<DateTime<Utc>> = workflow_step_runs::table
                        .filter(workflow_step_runs::status.eq("running"))
                        .order(workflow_step_runs::lease_until.asc())
                        .select(workflow_step_runs::lease_until)
                        .first::<Option<DateTime<Utc>>>(conn)
                        .await
                        .optional()?
                        .flatten();
                    let deadline: Option<DateTime<Utc>> = workflow_executions::table
                        .filter(workflow_executions::status.eq_any(LIVE))
                        .filter(workflow_executions::deadline.is_not_null())
                        .order(workflow_executions::deadline.asc())
                        .select(workflow_executions::deadline)
                        .first::<Option<DateTime<Utc>>>(conn)
                        .await
                        .optional()?
                        .flatten();
                    let soonest = [due, expiry, deadline].into_iter().flatten().min();
                    Ok::<_, diesel::result::Error>(soonest)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
}
