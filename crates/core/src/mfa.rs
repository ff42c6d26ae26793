//! Second factors: a TOTP credential, recovery codes and the short-lived challenge between a
//! password check and a code check.

use chrono::{DateTime, Utc};

use crate::{TenantId, UserId};

/// A user's TOTP credential as stored (the secret sealed by the `SecretBox`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// The owner.
    pub user_id: UserId,
    /// The owner's tenant.
    pub tenant_id: TenantId,
    /// The shared secret, sealed with context `totp:<user id>`.
    pub sealed_secret: Vec<u8>,
    /// Set once the user proved their authenticator works; until then MFA is not on.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for: a code is good once (RFC 6238 section 5.2).
    pub last_used_step: i64,
    /// When enrolment started.
    pub created_at: DateTime<Utc>,
}

/// What an MFA challenge lets its holder do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// Prove a second factor (`POST /auth/mfa/verify`).
    Verify,
    /// Enrol TOTP first: the tenant requires MFA and the user has none yet.
    Enroll,
}

impl ChallengePurpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Enroll => "enroll",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify" => Some(Self::Verify),
            "enroll" => Some(Self::Enroll),
            _ => None,
        }
    }
}

/// The state between a correct password and a correct second factor, named by an opaque
/// `mfa_token` stored only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// SHA-256 of the `mfa_token`.
    pub hash: String,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user who passed the password check.
    pub user_id: UserId,
    /// What the holder may do.
    pub purpose: ChallengePurpose,
    /// When the password check passed.
    pub created_at: DateTime<Utc>,
    /// After this the token is worthless (five minutes).
    pub expires_at: DateTime<Utc>,
    /// Wrong codes presented so far; at the limit the challenge is dead.
    pub attempts: u32,
    /// Client address at login (kept on the session it opens).
    pub ip: Option<String>,
    /// Client software at login.
    pub user_agent: Option<String>,
}
