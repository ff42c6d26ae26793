//! Human tasks: what an `approval` step asks of a person. A task is a row beside its step
//! run, created and decided inside the execution's transaction (through `ExecutionState`),
//! so a decision and what it unlocks happen together, once.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::project::text_enum;
use crate::{CoreError, ExecutionId, TaskId, TenantId, UserId, WorkflowId};

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for its assignee.
    Open,
    /// Approved: the step succeeded with the task's data.
    Approved,
    /// Rejected: the step failed, or its `on_reject` branch runs.
    Rejected,
    /// Its execution was cancelled or failed first.
    Cancelled,
}

text_enum!(
    TaskStatus,
    "status",
    Open = "open",
    Approved = "approved",
    Rejected = "rejected",
    Cancelled = "cancelled"
);

/// A person's answer to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskDecision {
    /// Go on.
    Approve,
    /// Stop, or take the reject branch.
    Reject,
}

impl TaskDecision {
    /// The status a task takes with this decision.
    pub const fn status(self) -> TaskStatus {
        match self {
            Self::Approve => TaskStatus::Approved,
            Self::Reject => TaskStatus::Rejected,
        }
    }
}

/// One human task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Stable id.
    pub id: TaskId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The execution waiting on it.
    pub execution_id: ExecutionId,
    /// The execution's workflow.
    pub workflow_id: WorkflowId,
    /// The approval step.
    pub step_id: String,
    /// The step's attempt that asked (a retried execution asks again, in a new task).
    pub attempt: i32,
    /// Where it is.
    pub status: TaskStatus,
    /// The user who should answer, if assigned to a person.
    pub assignee_user: Option<UserId>,
    /// The tenant role whose holders may answer, if assigned to a role.
    pub assignee_role: Option<String>,
    /// What to decide, rendered from the step's template.
    pub title: String,
    /// More words for the person, rendered.
    pub description: Option<String>,
    /// A JSON Schema the answer's `data` must match.
    pub form: Option<serde_json::Value>,
    /// When an answer is expected (shown; it does not end the task).
    pub due_at: Option<DateTime<Utc>>,
    /// What the person answered with (the step's output on approve).
    pub data: Option<serde_json::Value>,
    /// Who answered.
    pub completed_by: Option<UserId>,
    /// When it was answered or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the step asked.
    pub created_at: DateTime<Utc>,
}

impl Task {
    /// Whether `user` holding tenant `roles` is who the task asks.
    pub fn is_for(&self, user: UserId, roles: &[String]) -> bool {
        self.assignee_user == Some(user)
            || self
                .assignee_role
                .as_ref()
                .is_some_and(|role| roles.iter().any(|r| r == role))
    }

    /// Whether its due date has passed while it is still open.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == TaskStatus::Open && self.due_at.is_some_and(|due| due < now)
    }
}

/// Whom a task listing is for: tasks assigned to the user or to one of their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAudience {
    /// The user.
    pub user: UserId,
    /// Their tenant roles.
    pub roles: Vec<String>,
}
