//! [`OAuthConsent`]: what a user allowed an application (docs/oidc.md). Remembered so that the
//! consent page is not shown again for what it already covers; the user lists and withdraws
//! consents, which also ends the application's access.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ClientId, TenantId, UserId};

/// A user's standing consent to one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthConsent {
    /// The user's tenant.
    pub tenant_id: TenantId,
    /// Who allowed.
    pub user_id: UserId,
    /// The application allowed.
    pub client_id: ClientId,
    /// The scopes allowed (each consent adds to them).
    pub scope: Vec<String>,
    /// When last allowed.
    pub granted_at: DateTime<Utc>,
}

impl OAuthConsent {
    /// Whether it covers every scope of `requested`.
    pub fn covers(&self, requested: &[String]) -> bool {
        requested.iter().all(|s| self.scope.contains(s))
    }

    /// This consent with `more` scopes added (kept in order, without repeats), allowed `at`.
    #[must_use]
    pub fn widened(mut self, more: &[String], at: DateTime<Utc>) -> Self {
        for s in more {
            if !self.scope.contains(s) {
                self.scope.push(s.clone());
            }
        }
        self.granted_at = at;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_covers_what_was_allowed_and_grows() {
        let scope = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let consent = OAuthConsent {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            client_id: ClientId::new(),
            scope: scope(&["openid", "email"]),
            granted_at: Utc::now(),
        };
        assert!(consent.covers(&scope(&["openid"])));
        assert!(!consent.covers(&scope(&["openid", "profile"])));
        let wider = consent.widened(&scope(&["profile", "openid"]), Utc::now());
        assert_eq!(wider.scope, scope(&["openid", "email", "profile"]));
        assert!(wider.covers(&scope(&["openid", "profile"])));
    }
}
