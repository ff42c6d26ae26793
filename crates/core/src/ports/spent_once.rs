//! [`SpentOnce`]: proofs a caller may present only once, remembered service-wide while they
//! could still be presented. Two kinds share it: a client's signed assertion (`private_key_jwt`,
//! its `jti`) and a passkey sign-in challenge (a sign-in names no user when it begins, so its
//! challenge cannot live with a user's row). One table and one query serve both, so every
//! replica refuses a replay the same way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::CoreError;

/// What was spent: keys of different kinds never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingleUse {
    /// A client assertion, keyed by a hash of its client and `jti` (RFC 7523 section 3).
    ClientAssertion,
    /// A passkey sign-in challenge, keyed by the challenge itself (docs/passkeys.md).
    PasskeyChallenge,
}

impl SingleUse {
    /// The kind's name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientAssertion => "client_assertion",
            Self::PasskeyChallenge => "passkey_challenge",
        }
    }
}

/// Spends single-use proofs.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SpentOnce: Send + Sync {
    /// Spends `key` of `kind`, remembered until `expires_at` (when the proof stops being
    /// accepted anyway): `true` the first time, `false` for a replay. Keys expired at `now`
    /// are forgotten on the way.
    async fn spend(
        &self,
        kind: SingleUse,
        key: String,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError>;
}
