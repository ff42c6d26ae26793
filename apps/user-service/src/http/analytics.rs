//! `GET /api/v1/analytics/users`: a tenant's user figures, from the database.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::state::AppState;

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
