//! Login sessions and the outcome of presenting a refresh token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{SessionId, TenantId, User, UserId};

/// A login session: what access and refresh tokens hang off, and what a logout revokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Stable id (the `sid` claim).
    pub id: SessionId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// When it was created (the login).
    pub created_at: DateTime<Utc>,
    /// Last refresh (or the login).
    pub last_seen_at: DateTime<Utc>,
    /// Ends here unless refreshed before (idle lifetime, `SESSION_TTL`).
    pub idle_expires_at: DateTime<Utc>,
    /// Ends here whatever happens (the tenant's absolute lifetime).
    pub absolute_expires_at: DateTime<Utc>,
    /// Set when logged out or revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked (`logout`, `refresh_reuse`, `password_change`, …).
    pub revoked_reason: Option<String>,
    /// Client address at login.
    pub ip: Option<String>,
    /// Client software at login.
    pub user_agent: Option<String>,
}

impl Session {
    /// Whether tokens of this session may be used at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.idle_expires_at && now < self.absolute_expires_at
    }
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current: it is now spent, the new one replaces it, the session is
    /// extended. With it, the session's user as stored right after the rotation (`None`:
    /// erased), read in the same unit of store work: the new access token carries the user's
    /// roles and must see a disable that committed before it, and one store call instead of
    /// two is what a refresh costs (docs/benchmarks.md).
    Rotated(Session, Option<Box<User>>),
    /// The token had already been spent: someone replayed it, so the whole session has been
    /// revoked (RFC 9700 reuse detection).
    Reused(Session),
    /// Unknown token, or its session is over.
    Invalid,
}
