//! The rows of executions, step runs and the timeline, and the timeline rows a change writes.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use usvc_core::{
    CoreError, Execution, ExecutionId, ExecutionState, ExecutionStatus, StepRun, StepStatus,
    TenantId, UserId, WorkflowId,
};
use uuid::Uuid;

use crate::backend::{Connection, DbId};
use crate::schema::{workflow_executions, workflow_step_runs, workflow_timeline};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
// `None` as NULL in an insert too (see `StepRow`).
#[diesel(
    table_name = workflow_executions,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct ExecutionRow {
    pub(crate) id: DbId,
    pub(crate) tenant_id: DbId,
    pub(crate) workflow_id: DbId,
    pub(crate) version: i64,
    pub(crate) status: String,
    pub(crate) inputs: serde_json::Value,
    pub(crate) output: Option<serde_json::Value>,
    pub(crate) error: Option<String>,
    pub(crate) trigger: String,
    pub(crate) started_by: Option<DbId>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) concurrency_key: Option<String>,
    pub(crate) concurrency_limit: Option<i32>,
    pub(crate) queued: bool,
    pub(crate) projects: serde_json::Value,
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
// `None` as NULL in an insert too (not DEFAULT, which is NULL anyway): the text of a few rows'
// insert then depends only on their number, so it stays prepared (`write_change_rows`).
#[diesel(
    table_name = workflow_step_runs,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct StepRow {
    pub(crate) execution_id: DbId,
    pub(crate) step_id: String,
    pub(crate) position: i32,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) output: Option<serde_json::Value>,
    pub(crate) error: Option<String>,
    pub(crate) skip: Option<String>,
    pub(crate) state: Option<serde_json::Value>,
    pub(crate) ready_at: Option<DateTime<Utc>>,
    pub(crate) lease_owner: Option<String>,
    pub(crate) lease_until: Option<DateTime<Utc>>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
// `None` as NULL (see `StepRow`).
#[diesel(table_name = workflow_timeline, treat_none_as_default_value = false)]
pub(crate) struct TimelineRow {
    pub(crate) id: DbId,
    pub(crate) execution_id: DbId,
    pub(crate) at: DateTime<Utc>,
    pub(crate) step_id: Option<String>,
    pub(crate) status: String,
    pub(crate) attempt: Option<i32>,
    pub(crate) detail: Option<String>,
}

pub(crate) fn stored(what: &str) -> CoreError {
    CoreError::Internal(format!("stored {what}"))
}

impl ExecutionRow {
    pub(crate) fn of(e: &Execution) -> Self {
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

    pub(crate) fn into_execution(self) -> Result<Execution, CoreError> {
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
    pub(crate) fn of(execution: ExecutionId, position: usize, s: &StepRun) -> Self {
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

    pub(crate) fn into_step(self) -> Result<StepRun, CoreError> {
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

pub(crate) fn entry(
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
pub(crate) fn step_detail(step: &StepRun) -> Option<String> {
    match step.status {
        StepStatus::Skipped => step.skip.clone(),
        StepStatus::Failed | StepStatus::Ready => step.error.clone(),
        _ => None,
    }
}

/// The timeline rows of the changes from `before` to `after`.
pub(crate) fn changes(
    before: &ExecutionState,
    after: &ExecutionState,
    at: DateTime<Utc>,
) -> Vec<TimelineRow> {
    let id = after.execution.id;
    let mut rows = Vec::new();
    let mut any_taken = false;
    let old: HashMap<&str, &StepRun> = before
        .steps
        .iter()
        .map(|s| (s.step_id.as_str(), s))
        .collect();
    for step in &after.steps {
        let was = old.get(step.step_id.as_str());
        let moved = was.is_none_or(|o| o.status != step.status || o.attempts != step.attempts);
        // Taken in this change (one more attempt than it had waiting): by the recording
        // worker as it was unlocked, and maybe run and ended too (a pure step run at once).
        // The timeline shows what a claim and a recording of their own would: ready, running,
        // then how the attempt ended.
        let taken = was.is_some_and(|o| {
            matches!(o.status, StepStatus::Pending | StepStatus::Ready)
                && step.attempts > o.attempts
        });
        if taken && was.is_some_and(|o| o.status == StepStatus::Pending) {
            let mut ready = entry(id, at, Some(step), StepStatus::Ready.as_str(), None);
            ready.attempt = Some(step.attempts - 1);
            rows.push(ready);
        }
        any_taken |= taken;
        if taken && step.status != StepStatus::Running {
            rows.push(entry(
                id,
                at,
                Some(step),
                StepStatus::Running.as_str(),
                None,
            ));
        }
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
        // Begun and ended in this one change (its steps pure, run at once): it ran first,
        // as the timeline of an execution begun and ended in changes of their own shows.
        let began = !matches!(before.execution.status, ExecutionStatus::Running);
        if any_taken && began && after.execution.status.is_final() {
            rows.insert(
                0,
                entry(id, at, None, ExecutionStatus::Running.as_str(), None),
            );
        }
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

/// The rows of a new execution: itself, its steps and its first timeline entries.
pub(crate) struct NewExecution {
    pub(crate) execution: ExecutionRow,
    pub(crate) steps: Vec<StepRow>,
    pub(crate) timeline: Vec<TimelineRow>,
}

impl NewExecution {
    /// The rows of `state`, a new execution.
    pub(crate) fn of(state: &ExecutionState) -> Self {
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

    /// The rows of `after`, a new execution `state` as a change at `now` left it before it
    /// was written: the timeline has what the change did after the new execution's entries.
    pub(crate) fn changed(
        state: &ExecutionState,
        after: &ExecutionState,
        now: DateTime<Utc>,
    ) -> Self {
        let mut rows = Self::of(state);
        let id = after.execution.id;
        rows.execution = ExecutionRow::of(&after.execution);
        rows.steps = (after.steps.iter().enumerate())
            .map(|(i, s)| StepRow::of(id, i, s))
            .collect();
        rows.timeline.extend(changes(state, after, now));
        rows
    }

    /// Inserts the rows, inside the caller's transaction (one statement on Postgres for the
    /// usual few steps: `insert_execution_rows`).
    pub(crate) async fn insert(&self, conn: &mut Connection) -> Result<(), diesel::result::Error> {
        crate::backend::insert_execution_rows(conn, &self.execution, &self.steps, &self.timeline)
            .await
    }
}
