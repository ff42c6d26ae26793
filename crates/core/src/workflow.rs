//! Workflows as the stores keep them: a row per workflow and one per saved version. The
//! definition travels as its JSON document; `usvc-workflow` parses and validates it, so the
//! stores need no knowledge of the format.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::project::text_enum;
use crate::{CoreError, TenantId, UserId, WorkflowId};

/// Whether a workflow starts new executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowStatus {
    /// Starts executions (manual, event and schedule triggers alike).
    Active,
    /// Refuses new executions; running ones go on.
    Paused,
}

text_enum!(
    WorkflowStatus,
    "status",
    Active = "active",
    Paused = "paused"
);

/// A workflow at its current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Stable id across versions.
    pub id: WorkflowId,
    /// Its tenant; every query is scoped by it.
    pub tenant_id: TenantId,
    /// The current version's name (kept on the row for listings).
    pub name: String,
    /// Active or paused.
    pub status: WorkflowStatus,
    /// The current version (1 for the first save); the `ETag` of the workflow.
    pub version: i64,
    /// The current version's definition document.
    pub definition: serde_json::Value,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last save or status change.
    pub updated_at: DateTime<Utc>,
}

/// One saved version of a workflow: what executions started on it run, forever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowVersion {
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Its number (1 for the first save).
    pub version: i64,
    /// The definition document as saved.
    pub definition: serde_json::Value,
    /// Who saved it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}
