//! Workflow triggers as the stores index them: which workflows an event type starts, and
//! when each schedule fires next. The definition (with filters and cron expressions) stays
//! the workflow domain's; the store keeps just enough to find what is due.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::project::text_enum;
use crate::{CoreError, ExecutionState, TenantId, WorkflowId};

/// What starts executions besides a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A domain event of a type.
    Event,
    /// A cron schedule.
    Schedule,
}

text_enum!(TriggerKind, "kind", Event = "event", Schedule = "schedule");

/// One trigger of a workflow's current version, saved with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowTrigger {
    /// Its index in the definition's `triggers`.
    pub position: i32,
    /// Event or schedule.
    pub kind: TriggerKind,
    /// The event type, for event triggers.
    pub event: Option<String>,
}

/// A trigger of an active workflow, found for an event or a due schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveTrigger {
    /// The workflow's tenant.
    pub tenant_id: TenantId,
    /// The workflow.
    pub workflow_id: WorkflowId,
    /// Its current version (what a start pins).
    pub version: i64,
    /// The trigger's index in that version's `triggers`.
    pub position: i32,
    /// The event type, for event triggers.
    pub event: Option<String>,
    /// For schedules: the tick due (`None`: not planned yet, since a save or a resume).
    pub next_fire_at: Option<DateTime<Utc>>,
    /// Since when the trigger is live (created, or resumed): earlier events start nothing.
    pub active_since: DateTime<Utc>,
}

/// An execution a trigger starts, with the key that makes it start once
/// (`event:<event id>`, `schedule:<position>:<tick>`) per workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggeredStart {
    /// Unique per workflow: a second start with it starts nothing.
    pub key: String,
    /// The new execution.
    pub state: ExecutionState,
}
