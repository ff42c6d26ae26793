use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, RefreshOutcome, Session, SessionId, TenantId, UserId};

/// Storage of sessions and their refresh tokens (kept only as SHA-256 hashes).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session and its first refresh token, in one transaction.
    ///
    /// The session opens only while its tenant is active and its user live and active, checked
    /// in the same transaction (a disable or erase that won the race leaves no session behind:
    /// `Unauthenticated`); `audit` (the login) is appended in it too.
    async fn create(
        &self,
        session: &Session,
        refresh_hash: String,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// The session with this id in this tenant.
    async fn get(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, CoreError>;

    /// Presents a refresh token, atomically: if it is current and its session live, it is spent,
    /// `new_hash` becomes current and the session's idle expiry moves on by the session's own
    /// idle window (fixed at login from the tenant's setting, never past the absolute expiry);
    /// if it was already spent, the session is revoked (`refresh_reuse`).
    async fn rotate_refresh(
        &self,
        presented_hash: String,
        new_hash: String,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, CoreError>;

    /// Revokes a session (idempotent: an already revoked session keeps its first reason).
    /// Returns whether this call revoked it.
    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// The user's sessions that are live at `now`, most recently used first.
    async fn list_live(
        &self,
        tenant: TenantId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, CoreError>;

    /// Revokes every live session of the user (but `except`, if given); returns the ids it
    /// revoked so their cache entries can be invalidated.
    async fn revoke_all(
        &self,
        tenant: TenantId,
        user: UserId,
        except: Option<SessionId>,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError>;
}
