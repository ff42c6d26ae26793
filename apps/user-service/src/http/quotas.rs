//! Tenant quotas over HTTP: the platform sets them per tenant
//! (`GET`/`PUT /api/v1/tenants/{tenant_id}/quotas`); a tenant reads its own
//! (`GET /api/v1/tenant/quotas`, `tenant:read`).

use super::body;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use usvc_core::{QuotaOverrides, TenantId, TenantQuotas};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{path_id, ApiError, Problem};
use crate::http::state::AppState;

/// The quotas in force (`usvc_core::TenantQuotas`; docs/security.md lists the defaults).
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotasView {
    /// Executions not ended at once.
    pub running_executions: u32,
    /// Steps running at once.
    pub steps_in_flight: u32,
    /// Executions started per minute.
    pub starts_per_minute: u32,
    /// Executions one event may start.
    pub starts_per_event: u32,
    /// Steps in one workflow definition.
    pub definition_steps: u32,
    /// The longest step or `http` timeout, in seconds.
    pub step_timeout_secs: u64,
    /// `event` steps in one workflow definition.
    pub event_steps: u32,
}

impl From<TenantQuotas> for QuotasView {
    fn from(q: TenantQuotas) -> Self {
        Self {
            running_executions: q.running_executions,
            steps_in_flight: q.steps_in_flight,
            starts_per_minute: q.starts_per_minute,
            starts_per_event: q.starts_per_event,
            definition_steps: q.definition_steps,
            step_timeout_secs: q.step_timeout_secs,
            event_steps: q.event_steps,
        }
    }
}

/// What the platform set for a tenant: `null` (or absent) keeps the default. A `PUT` replaces
/// the whole set.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// 1-100000.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub running_executions: Option<u32>,
    /// 1-4096.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 4096)]
    pub steps_in_flight: Option<u32>,
    /// 1-100000.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 100_000)]
    pub starts_per_minute: Option<u32>,
    /// 1-1000.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 1000)]
    pub starts_per_event: Option<u32>,
    /// 1-200.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 200)]
    pub definition_steps: Option<u32>,
    /// 1-31622400 (366 days).
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 1, maximum = 31_622_400)]
    pub step_timeout_secs: Option<u64>,
    /// 0-200.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 0, maximum = 200)]
    pub event_steps: Option<u32>,
}

impl From<QuotaSettings> for QuotaOverrides {
    fn from(s: QuotaSettings) -> Self {
        Self {
            running_executions: s.running_executions,
            steps_in_flight: s.steps_in_flight,
            starts_per_minute: s.starts_per_minute,
            starts_per_event: s.starts_per_event,
            definition_steps: s.definition_steps,
            step_timeout_secs: s.step_timeout_secs,
            event_steps: s.event_steps,
        }
    }
}

impl From<QuotaOverrides> for QuotaSettings {
    fn from(o: QuotaOverrides) -> Self {
        Self {
            running_executions: o.running_executions,
            steps_in_flight: o.steps_in_flight,
            starts_per_minute: o.starts_per_minute,
            starts_per_event: o.starts_per_event,
            definition_steps: o.definition_steps,
            step_timeout_secs: o.step_timeout_secs,
            event_steps: o.event_steps,
        }
    }
}

/// A tenant's quotas: what the platform set, and what is in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantQuotasView {
    /// What the platform set (`null`: the default).
    pub set: QuotaSettings,
    /// What is in force.
    pub quotas: QuotasView,
}

fn view((set, quotas): (QuotaOverrides, TenantQuotas)) -> HttpResponse {
    HttpResponse::Ok().json(TenantQuotasView {
        set: set.into(),
        quotas: quotas.into(),
    })
}

/// A tenant's quotas (platform grant).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant_id}/quotas", tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantQuotasView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TenantId>(&path, "tenant")?;
    Ok(view(state.platform.quotas(&caller.0, id).await?))
}

/// Sets a tenant's quotas (platform grant); in force on every replica at once, audited as
/// `tenant.quotas_updated` in the tenant's trail.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant_id}/quotas", tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant id")),
    request_body = QuotaSettings,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantQuotasView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No platform grant", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<String>,
    body: body::Json<QuotaSettings>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id::<TenantId>(&path, "tenant")?;
    let set = state
        .platform
        .set_quotas(&caller.0, id, body.into_inner().into())
        .await?;
    Ok(view(set))
}

/// The caller's tenant's quotas (`tenant:read`).
#[utoipa::path(get, path = "/api/v1/tenant/quotas", tag = "tenant",
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantQuotasView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn own(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let tenant = caller.0.tenant;
    Ok(view(state.platform.quotas(&caller.0, tenant).await?))
}
