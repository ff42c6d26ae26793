//! `GET /api/v1/auth/sessions`, `DELETE /api/v1/auth/sessions/{id}`,
//! `POST /api/v1/auth/logout-all`: a user's view of where they are logged in.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use usvc_core::{Session, SessionId};
use utoipa::ToSchema;

use crate::http::authenticated::Authenticated;
use crate::http::problem::{ApiError, Problem};
use crate::http::state::AppState;

/// One session as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// When the login happened.
    pub created_at: DateTime<Utc>,
    /// Last refresh (or the login).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends unless refreshed (never after the absolute lifetime).
    pub expires_at: DateTime<Utc>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client software at login.
    pub user_agent: Option<String>,
    /// Whether this is the session of the token making the request.
    pub current: bool,
}

/// The list, in the API's list shape (all live sessions fit one page).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The sessions, most recently used first.
    pub items: Vec<SessionView>,
    /// Always `null`: there is no further page.
    pub next_cursor: Option<String>,
}

fn view(session: Session, current: SessionId) -> SessionView {
    SessionView {
        id: session.id.to_string(),
        created_at: session.created_at,
        last_seen_at: session.last_seen_at,
        expires_at: session.idle_expires_at.min(session.absolute_expires_at),
        ip: session.ip,
        user_agent: session.user_agent,
        current: session.id == current,
    }
}

/// My live sessions.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = SessionList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let current = caller.0.session;
    let items = state
        .auth
        .sessions(&caller.0)
        .await?
        .into_iter()
        .map(|s| view(s, current))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SessionList {
            items,
            next_cursor: None,
        }))
}

/// Ends one of my sessions (e.g. a lost device); its tokens stop working everywhere.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{session_id}", tag = "auth", security(("bearer" = [])),
    params(("session_id" = String, Path, description = "A session id from the list")),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of mine", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .revoke_session(&caller.0, SessionId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends all my sessions, this one included.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_all(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    state.auth.logout_all(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
