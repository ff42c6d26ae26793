//! Figures about a tenant's users and projects, computed from the database (never from counters that a
//! restart would reset).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// A count for one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day (UTC).
    pub day: NaiveDate,
    /// How many.
    pub count: u64,
}

/// What the service manages, across tenants: the business figures operators read on
/// `/health/detailed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCounts {
    /// Tenants, active or disabled.
    pub tenants: u64,
    /// Users not deleted and not disabled.
    pub active_users: u64,
    /// Projects not deleted and not archived.
    pub active_projects: u64,
    /// Workflow executions pending, running or waiting.
    pub running_workflows: u64,
}

/// The user figures of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserStats {
    /// Users (erased ones excluded).
    pub total: u64,
    /// Users per status (`active`, `disabled`, `locked`; every status present).
    pub by_status: BTreeMap<String, u64>,
    /// Users who logged in within the last day.
    pub active_1d: u64,
    /// …the last 7 days.
    pub active_7d: u64,
    /// …the last 30 days.
    pub active_30d: u64,
    /// Users with TOTP on.
    pub mfa_enabled: u64,
    /// New users per day, the last 30 days oldest first (today included).
    pub signups_per_day: Vec<DayCount>,
    /// Successful logins (sessions opened) per day, same days.
    pub logins_per_day: Vec<DayCount>,
    /// Failed logins (wrong password or second factor) per day, same days.
    pub failed_logins_per_day: Vec<DayCount>,
}

/// A project that changed often, for the analytics view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectActivity {
    /// The project.
    pub id: crate::ProjectId,
    /// Its name.
    pub name: String,
    /// Its version (1 + the number of changes).
    pub version: i64,
    /// Its last change.
    pub updated_at: DateTime<Utc>,
}

/// The project figures of one tenant (live projects; deleted ones excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectStats {
    /// Projects.
    pub total: u64,
    /// Projects per status (`active`, `archived`; every status present).
    pub by_status: BTreeMap<String, u64>,
    /// Projects per visibility (`private`, `tenant`; every visibility present).
    pub by_visibility: BTreeMap<String, u64>,
    /// New projects per day, the last 30 days oldest first (today included).
    pub created_per_day: Vec<DayCount>,
    /// The most changed projects the caller can see, most changes first (at most 10).
    pub most_changed: Vec<ProjectActivity>,
    /// Members per project, on average (0 with no projects).
    pub average_members: f64,
    /// The most members any one project has.
    pub largest_members: u64,
}
