use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, AuthorizationCode, CoreError, OAuthGrant, Session, SessionId, TenantId};

/// Storage of authorization codes and the grants they open.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait OAuthGrantRepository: Send + Sync {
    /// Stores a new code, auditing its issue in the same transaction; codes that expired a
    /// day or more before it was made are deleted on the way.
    async fn issue_code(
        &self,
        code: &AuthorizationCode,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// The code with this hash, redeemed or not (a redeemed one tells which grant to revoke
    /// when it comes again).
    async fn find_code(&self, hash: String) -> Result<Option<AuthorizationCode>, CoreError>;

    /// Redeems a code, atomically: if it is unredeemed and unexpired at `now`, it is marked
    /// redeemed by `grant`, and the grant's session (with its first refresh token), the grant
    /// and `audit` are stored. `false` (nothing written) if the code was already redeemed or
    /// has expired. The session opens only while its tenant and user are active
    /// (`Unauthenticated` otherwise), as [`crate::ports::SessionRepository::create`].
    async fn redeem_code(
        &self,
        hash: String,
        now: DateTime<Utc>,
        session: &Session,
        refresh_hash: String,
        grant: &OAuthGrant,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Opens a client's own grant (`client_credentials`: its service account's session,
    /// without a refresh token) and appends `audit`, in one transaction; `Unauthenticated`
    /// if the tenant or the account is not active.
    async fn open_grant(
        &self,
        session: &Session,
        grant: &OAuthGrant,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// Spends a code without opening anything (a token request that failed its PKCE check:
    /// the code is not offered a second guess). `false` if it was no longer redeemable.
    async fn burn_code(&self, hash: String, now: DateTime<Utc>) -> Result<bool, CoreError>;

    /// The grant a refresh token (by its hash, spent or not) belongs to, read before the
    /// token is presented: what it may be refreshed for is checked before it is spent.
    async fn grant_of_refresh(&self, refresh_hash: String)
        -> Result<Option<OAuthGrant>, CoreError>;

    /// Ends a browser's sign-in and every grant opened from it (RP-initiated logout): each
    /// live session among them is revoked with `reason`, `audit` appended if any was; returns
    /// the sessions revoked.
    async fn end_sign_in(
        &self,
        tenant: TenantId,
        browser_session: SessionId,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError>;

    /// The grant whose session this is, if it is one.
    async fn grant(&self, session: SessionId) -> Result<Option<OAuthGrant>, CoreError>;
}
