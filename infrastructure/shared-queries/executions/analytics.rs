//! Figures over executions: the tenant's summary and timings, the backlog across tenants,
//! live executions per tenant (quotas).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::{
    CoreError, ExecutionSummary, ExecutionTiming, QueueStats, StepTiming, TenantId, WorkflowId,
};
use uuid::Uuid;

use crate::backend::DbId;
use crate::errors;
use crate::schema::{workflow_executions, workflow_step_runs, workflows};
use crate::store::Store;

use super::rows::ExecutionRow;

pub(super) async fn summary(
    store: &Store,
    tenant: TenantId,
    workflow: WorkflowId,
) -> Result<ExecutionSummary, CoreError> {
    let (tenant, workflow) = (DbId::from(tenant.as_uuid()), DbId::from(workflow.as_uuid()));
    let (counts, last) = store
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
pub(super) async fn timings(
    store: &Store,
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
    let (executions, names, steps) = store
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
pub(super) async fn queue_stats(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<QueueStats, CoreError> {
    let (ready, oldest, steps, executions) = store
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
pub(super) async fn live_count(store: &Store, tenant: TenantId) -> Result<u64, CoreError> {
    let tenant = DbId::from(tenant.as_uuid());
    let n: i64 = store
        .run(move |conn| {
            Box::pin(async move {
                workflow_executions::table
                    .filter(workflow_executions::tenant_id.eq(tenant))
                    .filter(workflow_executions::status.eq_any(["pending", "running", "waiting"]))
                    .count()
                    .get_result(conn)
                    .await
                    .map_err(errors::query)
            })
        })
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
