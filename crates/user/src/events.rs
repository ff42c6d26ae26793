//! The identity domain's events and the one way it publishes them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use usvc_core::ports::EventPublisher;
use usvc_core::{DomainEvent, TenantId, UserId};

/// A user was created (by an admin, by registration or by an import).
pub const USER_CREATED: &str = "user.created";
/// A user's profile, roles or status changed.
pub const USER_UPDATED: &str = "user.updated";
/// A user was erased.
pub const USER_DELETED: &str = "user.deleted";
/// A user logged in (a session was opened).
pub const USER_LOGGED_IN: &str = "user.logged_in";
/// A session ended before its time (logout, revocation, password change, …).
pub const SESSION_REVOKED: &str = "session.revoked";
/// A spent refresh token was presented again; its session was revoked.
pub const REFRESH_REUSE_DETECTED: &str = "auth.refresh_reuse_detected";
/// An account name was locked after repeated login failures.
pub const LOCKED_OUT: &str = "auth.locked_out";

/// Publishes an event after the change it reports was stored. A publisher failure is logged,
/// not returned: the change happened, and the caller must hear so.
pub(crate) async fn emit(
    events: &Arc<dyn EventPublisher>,
    tenant: TenantId,
    kind: &str,
    at: DateTime<Utc>,
    actor: Option<UserId>,
    payload: serde_json::Value,
) {
    let event = DomainEvent::new(tenant, kind, at, actor, payload);
    if let Err(e) = events.publish(event).await {
        tracing::warn!(error = %e, kind, "event not published");
    }
}
