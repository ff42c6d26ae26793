use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{AuditEntry, CoreError, MfaChallenge, TenantId, TotpCredential, UserId};

/// Storage of second factors. Every call is scoped by tenant. Each method that must be atomic
/// (a code used once, a challenge consumed once) is one statement or one transaction.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait MfaRepository: Send + Sync {
    /// Starts (or restarts) TOTP enrolment with a new sealed secret. A confirmed credential is
    /// `Conflict`: turn MFA off first.
    async fn begin_totp(&self, credential: &TotpCredential) -> Result<(), CoreError>;

    /// The user's TOTP credential, confirmed or pending.
    async fn totp(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<TotpCredential>, CoreError>;

    /// Confirms the pending credential, stores the recovery code hashes (replacing any) and
    /// marks the user `mfa_enabled`, in one transaction; `step` is the step the confirming
    /// code was for. `NotFound` without a pending credential.
    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
        recovery_hashes: Vec<String>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// Records that a code for `step` was accepted, if no code for this or a later step was:
    /// `false` means the code was already used (a replay).
    async fn use_totp_step(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> Result<bool, CoreError>;

    /// Spends an unused recovery code; `false` if no such unused code.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: String,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError>;

    /// Replaces every recovery code of the user.
    async fn replace_recovery_codes(
        &self,
        tenant: TenantId,
        user: UserId,
        hashes: Vec<String>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError>;

    /// How many unused recovery codes the user has left.
    async fn recovery_codes_left(&self, tenant: TenantId, user: UserId) -> Result<u32, CoreError>;

    /// Removes the TOTP credential and recovery codes and clears `mfa_enabled`, in one
    /// transaction. Returns whether there was anything to remove.
    async fn disable(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError>;

    /// Stores a new challenge.
    async fn create_challenge(&self, challenge: &MfaChallenge) -> Result<(), CoreError>;

    /// Takes one attempt on the live challenge with this hash (not expired, not consumed,
    /// fewer than `max_attempts` taken), atomically, and returns it with the attempt counted;
    /// `None` if there is no such challenge. Taking the attempt before the code is checked
    /// means parallel guesses cannot exceed the limit.
    async fn take_attempt(
        &self,
        hash: String,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<Option<MfaChallenge>, CoreError>;

    /// Consumes the challenge; `false` if it was already consumed (two concurrent
    /// verifications: exactly one wins).
    async fn consume_challenge(&self, hash: String, now: DateTime<Utc>) -> Result<bool, CoreError>;
}
