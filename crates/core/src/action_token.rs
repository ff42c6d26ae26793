//! Single-use tokens sent by email: "reset your password", "confirm your address".

use chrono::{DateTime, Utc};

use crate::{TenantId, UserId};

/// What a mailed token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionPurpose {
    /// Set a new password (30 minutes).
    PasswordReset,
    /// Prove the address (24 hours).
    EmailVerification,
}

impl ActionPurpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "password_reset" => Some(Self::PasswordReset),
            "email_verification" => Some(Self::EmailVerification),
            _ => None,
        }
    }
}

/// A mailed token as stored (its SHA-256 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionToken {
    /// SHA-256 of the token.
    pub hash: String,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user it was sent to.
    pub user_id: UserId,
    /// What it is for.
    pub purpose: ActionPurpose,
    /// The address it was sent to (a verification proves this address, not a later one).
    pub email: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}
