//! `GET /api/v1/tenant`, `PATCH /api/v1/tenant/settings`: the caller's tenant and its identity
//! settings.

use super::body;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{Branding, Tenant, TenantSettings};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// How the hosted sign-in pages look (docs/oidc.md); every field optional.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct BrandingView {
    /// Shown as the pages' heading instead of the tenant's name.
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    /// An `https://` URL of the logo, shown above the heading.
    #[schema(max_length = 2048, pattern = "^https://")]
    pub logo_url: Option<String>,
    /// The accent: buttons, links, the focus ring (`#rrggbb`). Text on it is black or
    /// white, whichever reads better.
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub primary_color: Option<String>,
    /// The page background (`#rrggbb`).
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$")]
    pub background_color: Option<String>,
}

impl From<Branding> for BrandingView {
    fn from(b: Branding) -> Self {
        Self {
            display_name: b.display_name,
            logo_url: b.logo_url,
            primary_color: b.primary_color,
            background_color: b.background_color,
        }
    }
}

/// Identity settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// Whether `POST /api/v1/auth/register` is open.
    pub self_registration: bool,
    /// Whether every login needs a TOTP code.
    pub mfa_required: bool,
    /// Idle lifetime of new sessions (s); `null`: the service's `SESSION_TTL`.
    pub session_idle_secs: Option<u64>,
    /// Absolute lifetime of new sessions (s).
    pub session_absolute_secs: u64,
    /// How the hosted sign-in pages look.
    pub branding: BrandingView,
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Stable id.
    pub id: String,
    /// Login handle.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Identity settings.
    pub settings: SettingsView,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.to_string(),
            slug: t.slug.as_str().to_owned(),
            name: t.name,
            status: t.status.as_str().to_owned(),
            settings: SettingsView {
                self_registration: t.settings.self_registration,
                mfa_required: t.settings.mfa_required,
                session_idle_secs: t.settings.session_idle_secs,
                session_absolute_secs: t.settings.session_absolute_secs,
                branding: t.settings.branding.into(),
            },
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The caller's tenant (`tenant:read`).
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenant", security(("bearer" = [])),
    responses(
        (status = 200, body = TenantView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let tenant = state
        .tenants
        .current(state.authorizer.as_ref(), &caller.0)
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}

/// A partial settings change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// Open or close self-registration.
    pub self_registration: Option<bool>,
    /// Require TOTP at every login.
    pub mfa_required: Option<bool>,
    /// Idle lifetime of new sessions, 60 s to 90 days; `null` returns to `SESSION_TTL`.
    #[serde(default, deserialize_with = "crate::http::numbers::nullable_whole")]
    #[schema(value_type = Option<u64>, minimum = 60, maximum = 7_776_000)]
    pub session_idle_secs: Option<Option<u64>>,
    /// Absolute lifetime of new sessions, 60 s to 90 days.
    #[serde(default, deserialize_with = "crate::http::numbers::whole")]
    #[schema(minimum = 60, maximum = 7_776_000)]
    pub session_absolute_secs: Option<u64>,
    /// The pages' look, replaced as a whole (`{}` returns to the service's).
    #[schema(value_type = Option<BrandingView>)]
    pub branding: Option<Branding>,
}

impl SettingsUpdate {
    /// `current` with the fields this update sets.
    pub fn apply(self, current: TenantSettings) -> TenantSettings {
        TenantSettings {
            self_registration: self.self_registration.unwrap_or(current.self_registration),
            mfa_required: self.mfa_required.unwrap_or(current.mfa_required),
            session_idle_secs: self.session_idle_secs.unwrap_or(current.session_idle_secs),
            session_absolute_secs: self
                .session_absolute_secs
                .unwrap_or(current.session_absolute_secs),
            branding: self.branding.unwrap_or(current.branding),
        }
    }
}

/// Changes the caller's tenant's identity settings (`tenant:write`); new lifetimes apply to
/// sessions opened afterwards.
#[utoipa::path(patch, path = "/api/v1/tenant/settings", tag = "tenant", request_body = SettingsUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, body = TenantView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_settings(
    state: web::Data<AppState>,
    caller: Authenticated,
    body: body::Json<SettingsUpdate>,
) -> Result<HttpResponse, ApiError> {
    let current = state
        .tenants
        .current(state.authorizer.as_ref(), &caller.0)
        .await?;
    let settings = body.into_inner().apply(current.settings);
    let tenant = state
        .tenants
        .update_settings(state.authorizer.as_ref(), &caller.0, settings)
        .await?;
    Ok(HttpResponse::Ok().json(TenantView::from(tenant)))
}
