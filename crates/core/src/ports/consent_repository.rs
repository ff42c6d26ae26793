use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, ClientId, CoreError, OAuthConsent, SessionId, TenantId, UserId};

/// Users' standing consents to applications (docs/oidc.md).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ConsentRepository: Send + Sync {
    /// The user's consent to `client`, if any.
    async fn find(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<OAuthConsent>, CoreError>;

    /// Stores `consent` (replacing the user's earlier one to that client) and appends `audit`.
    async fn remember(&self, consent: &OAuthConsent, audit: &AuditEntry) -> Result<(), CoreError>;

    /// The user's consents, newest first.
    async fn list(&self, tenant: TenantId, user: UserId) -> Result<Vec<OAuthConsent>, CoreError>;

    /// Withdraws the user's consent to `client` and, in the same transaction, revokes that
    /// client's live grants of the user (their sessions) and spends its unredeemed codes,
    /// appending `audit`. `None` if there was neither a consent nor a live grant; else the
    /// sessions revoked.
    async fn forget(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError>;
}
