use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, Passkey, PasskeyId, TenantId, UserId};

/// Storage of users' passkeys. Calls naming a tenant and user see only that user's.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasskeyRepository: Send + Sync {
    /// Stores a new passkey and appends `audit`, in one transaction; `Conflict` if its
    /// credential id is already registered (by anyone).
    async fn create(&self, passkey: &Passkey, audit: &AuditEntry) -> Result<(), CoreError>;

    /// The user's passkeys, oldest first.
    async fn list(&self, tenant: TenantId, user: UserId) -> Result<Vec<Passkey>, CoreError>;

    /// The passkey with this credential id, whoever's (a passwordless sign-in names only the
    /// credential; the caller checks the tenant and user).
    async fn find_by_credential(&self, credential_id: String)
        -> Result<Option<Passkey>, CoreError>;

    /// Renames one of the user's passkeys, appending `audit`; `false` if it has none of this
    /// id.
    async fn rename(
        &self,
        tenant: TenantId,
        user: UserId,
        id: PasskeyId,
        name: String,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Removes one of the user's passkeys, appending `audit`; `false` if it has none of this
    /// id.
    async fn delete(
        &self,
        tenant: TenantId,
        user: UserId,
        id: PasskeyId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Records a sign-in with the passkey: its credential as updated (counter) and when, if
    /// it is still stored as `previous` (the credential the answer was verified against).
    /// `false` when it is not: removed since, or used by another sign-in at the same moment
    /// (whose newer counter must not be overwritten with an older one).
    async fn record_use(
        &self,
        id: PasskeyId,
        previous: serde_json::Value,
        credential: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<bool, CoreError>;
}
