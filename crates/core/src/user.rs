//! Users and their login identity.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ClientId, CoreError, TenantId, UserId};

/// An email address: trimmed, 3–254 characters, one `@` with text on both sides and a dot in
/// the domain. Uniqueness is per tenant and case-insensitive ([`Email::normalized`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// The domain of service accounts' addresses (docs/oidc.md). `.invalid` is reserved (RFC
/// 2606, RFC 6761): no mail is ever delivered there, so [`Email::parse`] refuses it and no
/// person's address can take a service account's.
pub const SERVICE_ACCOUNT_DOMAIN: &str = "service-accounts.invalid";

impl Email {
    /// Validates an address as a user typed it: well formed and deliverable (not under the
    /// reserved `.invalid` domain).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let email = Self::stored(raw)?;
        let reserved = email
            .0
            .rsplit_once('.')
            .is_some_and(|(_, tld)| tld.eq_ignore_ascii_case("invalid"));
        if reserved {
            return Err(CoreError::invalid(
                "email",
                "is under the reserved .invalid domain, where no mail is delivered",
            ));
        }
        Ok(email)
    }

    /// The address of the service account of an OAuth client (`client-{id}@`
    /// [`SERVICE_ACCOUNT_DOMAIN`]): nobody can sign up with it, nothing is sent to it.
    pub fn service_account(client: ClientId) -> Self {
        Self(format!("client-{client}@{SERVICE_ACCOUNT_DOMAIN}"))
    }

    /// Reads an address back from storage: well formed, reserved domains allowed (service
    /// accounts live there).
    pub fn stored(raw: &str) -> Result<Self, CoreError> {
        let email = raw.trim();
        let invalid = || CoreError::invalid("email", "is not a valid email address");
        // 254 characters as sent, as `/openapi.json` states, and as trimmed.
        if raw.chars().count() > 254
            || !(3..=254).contains(&email.chars().count())
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || local.chars().count() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(email.to_owned()))
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and look-ups use: lowercase.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = CoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// Whether a user may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// May log in.
    Active,
    /// Turned off by an administrator.
    Disabled,
    /// Locked (too many failures, or by an administrator).
    Locked,
}

impl UserStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Locked => "locked",
        }
    }

    /// Parses the stored form.
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            "locked" => Ok(Self::Locked),
            other => Err(CoreError::Internal(format!(
                "unknown user status {other:?}"
            ))),
        }
    }
}

/// The built-in tenant roles, strongest first.
pub const BUILT_IN_ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

/// A user's profile as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// The tenant the user belongs to.
    pub tenant_id: TenantId,
    /// Login email.
    pub email: Email,
    /// Whether the address was proven.
    pub email_verified: bool,
    /// Name to show.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// BCP 47 locale.
    pub locale: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Free-form JSON object.
    pub metadata: serde_json::Value,
    /// Tenant-level role names.
    pub roles: Vec<String>,
    /// Active, disabled or locked.
    pub status: UserStatus,
    /// Whether TOTP is on.
    pub mfa_enabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether this is an OAuth client's service account (its address under
    /// [`SERVICE_ACCOUNT_DOMAIN`], which no person's can be): its address and roles are its
    /// client's, not the users API's.
    pub fn is_service_account(&self) -> bool {
        self.email
            .normalized()
            .ends_with(&format!("@{SERVICE_ACCOUNT_DOMAIN}"))
    }

    /// A new active user with no profile details yet, stamped with `now` (to the
    /// microsecond, the precision both stores keep).
    pub fn new(tenant_id: TenantId, email: Email, roles: Vec<String>, now: DateTime<Utc>) -> Self {
        let now = chrono::SubsecRound::trunc_subsecs(now, 6);
        Self {
            id: UserId::new(),
            tenant_id,
            email,
            email_verified: false,
            display_name: None,
            given_name: None,
            family_name: None,
            locale: None,
            timezone: None,
            avatar_url: None,
            metadata: serde_json::Value::Object(serde_json::Map::new()),
            roles,
            status: UserStatus::Active,
            mfa_enabled: false,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        }
    }
}

/// Which of a tenant's users a listing returns. Every given condition must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only users in this state.
    pub status: Option<UserStatus>,
    /// Only users holding this role.
    pub role: Option<String>,
    /// Only users whose email, display name, given or family name starts with this text
    /// (case-insensitive).
    pub prefix: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_validated_and_normalised_for_uniqueness() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(email.normalized(), "ada.lovelace@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "ada@example.",
            "a@b@c.com",
            "ada\u{0}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reserved_addresses_belong_to_service_accounts_only() {
        let client = ClientId::new();
        let account = Email::service_account(client);
        assert!(Email::parse(account.as_str()).is_err());
        assert!(Email::parse("someone@example.INVALID").is_err());
        assert_eq!(Email::stored(account.as_str()).expect("stored"), account);
        assert!(Email::parse("ada@invalid.example.com").is_ok());
    }
}
