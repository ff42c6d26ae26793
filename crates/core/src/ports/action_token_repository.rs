use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{ActionPurpose, ActionToken, AuditEntry, CoreError, SessionId};

/// Storage of mailed single-use tokens. Redeeming is one transaction with what the token does.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ActionTokenRepository: Send + Sync {
    /// Stores a token. Earlier unused tokens of the same user and purpose stop working: only
    /// the latest mail counts.
    async fn issue(&self, token: &ActionToken) -> Result<(), CoreError>;

    /// The unused, unexpired token with this hash and purpose, without spending it.
    async fn find(
        &self,
        hash: String,
        purpose: ActionPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<ActionToken>, CoreError>;

    /// Spends a password-reset token, sets the new password hash, removes the user's passkeys
    /// (a way in without the password) and revokes every session of the user, atomically.
    /// `None` if the token is not (or no longer) valid; otherwise the
    /// revoked sessions.
    async fn redeem_password_reset(
        &self,
        hash: String,
        password_hash: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError>;

    /// Spends an email-verification token and marks the user's email verified, if it is still
    /// the address the token was sent to. `false` if the token is not valid or the address
    /// changed since.
    async fn redeem_email_verification(
        &self,
        hash: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;
}
