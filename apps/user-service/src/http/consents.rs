//! `/api/v1/auth/consents`: the applications I allowed (remembered consent, docs/oidc.md),
//! and withdrawing one, which ends its access to my account at once.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use usvc_core::{ClientId, CoreError};
use usvc_user::oauth::ConsentView as Consent;
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// An application I allowed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentItem {
    /// The application's client id.
    pub client_id: String,
    /// Its name.
    pub client_name: String,
    /// What I allowed it.
    pub scope: Vec<String>,
    /// When I last allowed it.
    pub granted_at: DateTime<Utc>,
}

impl From<Consent> for ConsentItem {
    fn from(view: Consent) -> Self {
        Self {
            client_id: view.consent.client_id.to_string(),
            client_name: view.client_name,
            scope: view.consent.scope,
            granted_at: view.consent.granted_at,
        }
    }
}

/// My consents.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentList {
    /// Newest first.
    pub items: Vec<ConsentItem>,
    /// Always `null`.
    pub next_cursor: Option<String>,
}

/// The applications I allowed (those marked `trusted` never ask, and are not listed).
#[utoipa::path(get, path = "/api/v1/auth/consents", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = ConsentList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let items = state.oidc.consents(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ConsentList {
        items: items.into_iter().map(ConsentItem::from).collect(),
        next_cursor: None,
    }))
}

/// Withdraws my consent to an application: it asks again next time, and its tokens for me
/// (refresh tokens included) stop working now.
#[utoipa::path(delete, path = "/api/v1/auth/consents/{client_id}", tag = "auth", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "A client id from the list")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No consent of mine to that application", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: Authenticated,
    client: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = client
        .parse::<uuid::Uuid>()
        .map(ClientId::from_uuid)
        .map_err(|_| CoreError::NotFound("consent".into()))?;
    state.oidc.withdraw_consent(&caller.0, client).await?;
    Ok(HttpResponse::NoContent().finish())
}
