//! Tenants: the isolation unit. Every user, project and workflow belongs to exactly one.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::{CoreError, TenantId};

/// A tenant's URL- and login-safe name (`acme`, `team-42`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// 2–63 characters of `a-z`, `0-9` and `-`, starting and ending with a letter or digit
    /// (a DNS label, so a slug can become a subdomain).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        let ok_len = (2..=63).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = !raw.starts_with('-') && !raw.ends_with('-');
        if ok_len && ok_chars && ok_ends {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CoreError::invalid(
                "slug",
                "must be 2-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ))
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Slug {
    type Error = CoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(value: Slug) -> Self {
        value.0
    }
}

/// Whether a tenant's users may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Normal operation.
    Active,
    /// Nobody in the tenant can log in; data is kept.
    Disabled,
}

impl TenantStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the stored form; unknown text is an internal error (the column is constrained).
    pub fn parse(raw: &str) -> Result<Self, CoreError> {
        match raw {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(CoreError::Internal(format!(
                "unknown tenant status {other:?}"
            ))),
        }
    }
}

/// How a tenant runs its identity: who may sign up, whether MFA is mandatory, how long
/// sessions live. Stored as one JSON document so a new setting needs no migration; a missing
/// key takes its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSettings {
    /// Whether `POST /api/v1/auth/register` creates accounts (as `member`).
    pub self_registration: bool,
    /// Whether every user must pass a TOTP check at login; users without TOTP are asked to
    /// enrol before they get tokens.
    pub mfa_required: bool,
    /// Idle lifetime of new sessions in seconds; `None` uses the service's `SESSION_TTL`.
    pub session_idle_secs: Option<u64>,
    /// Absolute lifetime of new sessions in seconds, counted from login.
    pub session_absolute_secs: u64,
    /// How the hosted sign-in pages look.
    pub branding: crate::Branding,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            self_registration: false,
            mfa_required: false,
            session_idle_secs: None,
            session_absolute_secs: Self::DEFAULT_ABSOLUTE_SECS,
            branding: crate::Branding::default(),
        }
    }
}

impl TenantSettings {
    /// Twelve hours: a working day and then some, as Keycloak's SSO session max.
    pub const DEFAULT_ABSOLUTE_SECS: u64 = 12 * 3600;
    /// Session lifetimes must lie in this range (one minute to 90 days).
    pub const LIFETIME_RANGE: std::ops::RangeInclusive<u64> = 60..=90 * 24 * 3600;

    /// Checks the lifetimes and the branding; every problem is reported at once.
    pub fn validate(&self) -> Result<(), CoreError> {
        let mut errors = Vec::new();
        let range = Self::LIFETIME_RANGE;
        let message = format!("must be {}-{} seconds", range.start(), range.end());
        if self.session_idle_secs.is_some_and(|s| !range.contains(&s)) {
            errors.push(crate::FieldError {
                field: "session_idle_secs".into(),
                message: message.clone(),
            });
        }
        if !range.contains(&self.session_absolute_secs) {
            errors.push(crate::FieldError {
                field: "session_absolute_secs".into(),
                message,
            });
        }
        errors.extend(self.branding.problems());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Validation(errors))
        }
    }
}

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable id.
    pub id: TenantId,
    /// Unique, human-chosen handle used at login.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// Active or disabled.
    pub status: TenantStatus,
    /// Identity settings.
    pub settings: TenantSettings,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated request to create a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// The slug (validated).
    pub slug: Slug,
    /// The display name (trimmed, 1–200 characters).
    pub name: String,
}

impl NewTenant {
    /// Validates both fields and reports every problem at once.
    pub fn parse(slug: &str, name: &str) -> Result<Self, CoreError> {
        let mut errors = Vec::new();
        let slug = Slug::parse(slug).map_err(|e| collect(&mut errors, e)).ok();
        let trimmed = name.trim();
        if trimmed.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            errors.push(crate::FieldError {
                field: "name".into(),
                message: "must be 1-200 characters, without control characters".into(),
            });
        }
        match slug {
            Some(slug) if errors.is_empty() => Ok(Self {
                slug,
                name: trimmed.to_owned(),
            }),
            _ => Err(CoreError::Validation(errors)),
        }
    }

    /// The tenant this request creates, stamped with `now` (to the microsecond, the precision
    /// both stores keep, so what is read back equals what was written).
    pub fn into_tenant(self, now: DateTime<Utc>) -> Tenant {
        let now = now.trunc_subsecs(6);
        Tenant {
            id: TenantId::new(),
            slug: self.slug,
            name: self.name,
            status: TenantStatus::Active,
            settings: TenantSettings::default(),
            created_at: now,
            updated_at: now,
        }
    }
}

fn collect(errors: &mut Vec<crate::FieldError>, err: CoreError) {
    if let CoreError::Validation(mut fields) = err {
        errors.append(&mut fields);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_dns_labels() {
        for good in ["ab", "acme", "team-42", "0x"] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "-acme",
            "acme-",
            "Acme",
            "ac me",
            "ac_me",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_tenant_reports_every_bad_field() {
        match NewTenant::parse("A", "  ") {
            Err(CoreError::Validation(fields)) => {
                let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(names, ["slug", "name"]);
            }
            other => panic!("expected validation error, got {other:?}"),
        }
        let ok = NewTenant::parse("acme", "  Acme Corp ")
            .ok()
            .map(|t| t.name);
        assert_eq!(ok.as_deref(), Some("Acme Corp"));
    }
}
