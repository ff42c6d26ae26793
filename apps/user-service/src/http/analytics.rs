//! `GET /api/v1/analytics/users`: a tenant's user figures, from the database.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// A count for one UTC day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayCountView {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// How many.
    pub count: u64,
}

/// Active users over three horizons.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveUsers {
    /// Logged in within the last day.
    #[serde(rename = "1d")]
    pub day: u64,
    /// …7 days.
    #[serde(rename = "7d")]
    pub week: u64,
    /// …30 days.
    #[serde(rename = "30d")]
    pub month: u64,
}

/// MFA adoption.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaAdoption {
    /// Users with TOTP on.
    pub enabled: u64,
    /// `enabled / total` (0 with no users).
    pub ratio: f64,
}

/// The tenant's user figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserAnalyticsView {
    /// Users (erased ones excluded).
    pub total: u64,
    /// Users per status.
    #[schema(value_type = Object)]
    pub by_status: std::collections::BTreeMap<String, u64>,
    /// Users who logged in recently.
    pub active: ActiveUsers,
    /// TOTP adoption.
    pub mfa: MfaAdoption,
    /// New users per day, last 30 days, oldest first.
    pub signups_per_day: Vec<DayCountView>,
    /// Successful logins per day.
    pub logins_per_day: Vec<DayCountView>,
    /// Failed logins (wrong password or code) per day.
    pub failed_logins_per_day: Vec<DayCountView>,
    /// Failed logins over the 30 days.
    pub failed_logins_30d: u64,
}

fn days(series: Vec<usvc_core::DayCount>) -> Vec<DayCountView> {
    series
        .into_iter()
        .map(|d| DayCountView {
            day: d.day.format("%Y-%m-%d").to_string(),
            count: d.count,
        })
        .collect()
}

/// The caller's tenant's user figures (`analytics:read`).
#[utoipa::path(get, path = "/api/v1/analytics/users", tag = "analytics", security(("bearer" = [])),
    responses(
        (status = 200, body = UserAnalyticsView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn users(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = state.users.analytics(&caller.0).await?;
    #[allow(clippy::cast_precision_loss)] // user counts are far below 2^52
    let ratio = if s.total == 0 {
        0.0
    } else {
        s.mfa_enabled as f64 / s.total as f64
    };
    let failed_logins_30d = s.failed_logins_per_day.iter().map(|d| d.count).sum();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(UserAnalyticsView {
            total: s.total,
            by_status: s.by_status,
            active: ActiveUsers {
                day: s.active_1d,
                week: s.active_7d,
                month: s.active_30d,
            },
            mfa: MfaAdoption {
                enabled: s.mfa_enabled,
                ratio,
            },
            signups_per_day: days(s.signups_per_day),
            logins_per_day: days(s.logins_per_day),
            failed_logins_per_day: days(s.failed_logins_per_day),
            failed_logins_30d,
        }))
}

/// A project that changed often.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectActivityView {
    /// The project.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its version (1 + the number of changes).
    pub version: i64,
    /// Its last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Members per project.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberFigures {
    /// On average (0 with no projects).
    pub average: f64,
    /// The most any one project has.
    pub largest: u64,
}

/// The tenant's project figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectAnalyticsView {
    /// Live projects (deleted ones excluded).
    pub total: u64,
    /// Per status (`active`, `archived`).
    #[schema(value_type = Object)]
    pub by_status: std::collections::BTreeMap<String, u64>,
    /// Per visibility (`private`, `tenant`).
    #[schema(value_type = Object)]
    pub by_visibility: std::collections::BTreeMap<String, u64>,
    /// New projects per day, last 30 days, oldest first.
    pub created_per_day: Vec<DayCountView>,
    /// The most changed projects you can see (at most 10), most changes first.
    pub most_changed: Vec<ProjectActivityView>,
    /// Members per project.
    pub members: MemberFigures,
}

/// The caller's tenant's project figures (`analytics:read`).
#[utoipa::path(get, path = "/api/v1/analytics/projects", tag = "analytics", security(("bearer" = [])),
    responses(
        (status = 200, body = ProjectAnalyticsView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn projects(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let s = state.projects.analytics(&caller.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ProjectAnalyticsView {
            total: s.total,
            by_status: s.by_status,
            by_visibility: s.by_visibility,
            created_per_day: days(s.created_per_day),
            most_changed: s
                .most_changed
                .into_iter()
                .map(|p| ProjectActivityView {
                    id: p.id.to_string(),
                    name: p.name,
                    version: p.version,
                    updated_at: p.updated_at,
                })
                .collect(),
            members: MemberFigures {
                average: s.average_members,
                largest: s.largest_members,
            },
        }))
}

/// The caller's tenant's workflow figures over the last 30 days (`analytics:read`):
/// executions by status and by workflow, success rate and p50/p95 duration per workflow, and
/// the ten slowest steps (by p95).
#[utoipa::path(get, path = "/api/v1/analytics/workflows", tag = "analytics", security(("bearer" = [])),
    responses(
        (status = 200, description = "`{since, by_status, workflows: [{workflow_id, name, by_status, success_rate, p50_ms, p95_ms}], slowest_steps: [{workflow_id, workflow, step_id, kind, runs, p50_ms, p95_ms, max_ms}], open_tasks: {open, overdue}}`", body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn workflows(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let figures = state.executions.analytics(&caller.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(figures))
}
