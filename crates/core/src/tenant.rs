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
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(crate::FieldError {
                field: "name".into(),
                message: "must be 1-200 characters".into(),
            });
        }
        match slug {
            Some(slug) if errors.is_empty() => Ok(Self {
                slug,
                name: name.to_owned(),
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
