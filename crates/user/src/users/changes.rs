//! Validated changes to a user: what a profile update, an admin update or a new user may set.

use usvc_core::{CoreError, Email, FieldError, User, UserStatus, BUILT_IN_ROLES};

/// A partial profile update. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// Name to show (1–200 characters).
    pub display_name: Option<Option<String>>,
    /// Given name (1–100 characters).
    pub given_name: Option<Option<String>>,
    /// Family name (1–100 characters).
    pub family_name: Option<Option<String>>,
    /// BCP 47 language tag (`en`, `pt-BR`).
    pub locale: Option<Option<String>>,
    /// IANA time zone name (`Europe/Paris`, `UTC`).
    pub timezone: Option<Option<String>>,
    /// `https://` (or `http://`) URL of a picture, at most 2048 characters.
    pub avatar_url: Option<Option<String>>,
    /// A JSON object of at most 16 KiB; replaces the stored one.
    pub metadata: Option<serde_json::Value>,
}

/// Largest accepted `metadata` document, serialised.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// An administrator's change to a user: the profile plus identity, roles and status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminChanges {
    /// Profile fields.
    pub profile: ProfileChanges,
    /// A new login email.
    pub email: Option<String>,
    /// Mark the email as proven (or not).
    pub email_verified: Option<bool>,
    /// The new role set (replaces the old one).
    pub roles: Option<Vec<String>>,
    /// Activate, disable or lock the account.
    pub status: Option<UserStatus>,
}

/// Records one rejected field.
pub(crate) fn error(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// Trims text; blank counts as "clear". The length limit holds for the text as sent (the
/// limit `/openapi.json` states), so padding cannot carry a longer value past it.
fn text(
    value: Option<String>,
    field: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let sent = value?;
    let too_long = sent.chars().count() > max;
    let value = Some(sent.trim().to_owned()).filter(|v| !v.is_empty() || too_long)?;
    if too_long || value.chars().any(char::is_control) {
        error(
            errors,
            field,
            format!("must be at most {max} characters, without control characters"),
        );
    }
    Some(value)
}

fn locale_ok(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && tag.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn timezone_ok(zone: &str) -> bool {
    zone.len() <= 64
        && zone.split('/').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        })
        && zone.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
}

fn url_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    url.len() <= 2048
        && rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !url.chars().any(char::is_whitespace)
}

impl ProfileChanges {
    /// Applies the changes to `user`, collecting every rejected field in `errors`; returns
    /// the names of the fields that were given.
    pub fn apply(self, user: &mut User, errors: &mut Vec<FieldError>) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if let Some(v) = self.display_name {
            user.display_name = text(v, "display_name", 200, errors);
            changed.push("display_name");
        }
        if let Some(v) = self.given_name {
            user.given_name = text(v, "given_name", 100, errors);
            changed.push("given_name");
        }
        if let Some(v) = self.family_name {
            user.family_name = text(v, "family_name", 100, errors);
            changed.push("family_name");
        }
        if let Some(v) = self.locale {
            let v = text(v, "locale", 35, errors);
            if v.as_deref().is_some_and(|l| !locale_ok(l)) {
                error(
                    errors,
                    "locale",
                    "must be a BCP 47 language tag such as `en` or `pt-BR`",
                );
            }
            user.locale = v;
            changed.push("locale");
        }
        if let Some(v) = self.timezone {
            let v = text(v, "timezone", 64, errors);
            if v.as_deref().is_some_and(|z| !timezone_ok(z)) {
                error(
                    errors,
                    "timezone",
                    "must be an IANA time zone such as `Europe/Paris` or `UTC`",
                );
            }
            user.timezone = v;
            changed.push("timezone");
        }
        if let Some(v) = self.avatar_url {
            let v = text(v, "avatar_url", 2048, errors);
            if v.as_deref().is_some_and(|u| !url_ok(u)) {
                error(
                    errors,
                    "avatar_url",
                    "must be an http(s) URL of at most 2048 characters",
                );
            }
            user.avatar_url = v;
            changed.push("avatar_url");
        }
        if let Some(v) = self.metadata {
            if !v.is_object() {
                error(errors, "metadata", "must be a JSON object");
            } else if has_nul(&v) {
                error(errors, "metadata", "must not contain NUL characters");
            } else if serde_json::to_vec(&v).map_or(usize::MAX, |b| b.len()) > MAX_METADATA_BYTES {
                error(
                    errors,
                    "metadata",
                    format!("must be at most {MAX_METADATA_BYTES} bytes"),
                );
            }
            user.metadata = v;
            changed.push("metadata");
        }
        changed
    }
}

/// Whether any key or string in `value` holds U+0000, which Postgres cannot store.
fn has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Validates a role set: non-empty, built-in roles or the tenant's `custom` roles only, no
/// repeats (kept in the given order).
pub fn roles(roles: Vec<String>, custom: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut seen = Vec::with_capacity(roles.len());
    let before = errors.len();
    for role in roles {
        if !BUILT_IN_ROLES.contains(&role.as_str()) && !custom.contains(&role) {
            let mut known: Vec<&str> = BUILT_IN_ROLES.to_vec();
            known.extend(custom.iter().map(String::as_str));
            error(
                errors,
                "roles",
                format!("unknown role `{role}`; the roles are {}", known.join(", ")),
            );
        } else if !seen.contains(&role) {
            seen.push(role);
        }
    }
    if seen.is_empty() && errors.len() == before {
        error(errors, "roles", "must name at least one role");
    }
    seen
}

impl AdminChanges {
    /// Applies the changes to `user`, collecting every rejected field; returns the names of
    /// the fields that were given.
    pub fn apply(
        self,
        user: &mut User,
        custom: &[String],
        errors: &mut Vec<FieldError>,
    ) -> Vec<&'static str> {
        let mut changed = self.profile.apply(user, errors);
        // A service account is its client's (docs/oidc.md): moving its address would let a
        // reset link give it a password, and its roles are set from the client.
        if user.is_service_account() {
            for (given, field) in [
                (self.email.is_some(), "email"),
                (self.roles.is_some(), "roles"),
            ] {
                if given {
                    error(
                        errors,
                        field,
                        "belongs to the OAuth client this service account serves: change the client",
                    );
                }
            }
        }
        if let Some(raw) = self.email {
            match Email::parse(&raw) {
                Ok(email) => {
                    if email.normalized() != user.email.normalized() {
                        user.email_verified = false;
                    }
                    user.email = email;
                }
                Err(_) => error(errors, "email", "is not a valid email address"),
            }
            changed.push("email");
        }
        if let Some(verified) = self.email_verified {
            user.email_verified = verified;
            changed.push("email_verified");
        }
        if let Some(new_roles) = self.roles {
            user.roles = roles(new_roles, custom, errors);
            changed.push("roles");
        }
        if let Some(status) = self.status {
            user.status = status;
            changed.push("status");
        }
        changed
    }
}

/// `Ok` if nothing was rejected, else every rejected field at once.
pub fn verdict(errors: Vec<FieldError>) -> Result<(), CoreError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User::new(
            usvc_core::TenantId::new(),
            Email::parse("ada@example.com").expect("email"),
            vec!["member".into()],
            chrono::Utc::now(),
        )
    }

    #[test]
    fn a_partial_update_touches_only_the_given_fields_and_null_clears() {
        let mut u = user();
        u.given_name = Some("Ada".into());
        u.family_name = Some("Byron".into());
        let mut errors = Vec::new();
        let changed = ProfileChanges {
            family_name: Some(None),
            locale: Some(Some("en-GB".into())),
            timezone: Some(Some("Europe/London".into())),
            ..ProfileChanges::default()
        }
        .apply(&mut u, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(changed, ["family_name", "locale", "timezone"]);
        assert_eq!(u.given_name.as_deref(), Some("Ada"), "untouched");
        assert_eq!(u.family_name, None, "cleared");
        assert_eq!(u.locale.as_deref(), Some("en-GB"));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut errors = Vec::new();
        ProfileChanges {
            display_name: Some(Some("x".repeat(201))),
            locale: Some(Some("english please".into())),
            timezone: Some(Some("europe/paris; drop table".into())),
            avatar_url: Some(Some("javascript:alert(1)".into())),
            metadata: Some(serde_json::json!([1, 2])),
            ..ProfileChanges::default()
        }
        .apply(&mut user(), &mut errors);
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "display_name",
                "locale",
                "timezone",
                "avatar_url",
                "metadata"
            ]
        );
    }

    #[test]
    fn roles_must_be_built_in_and_not_empty() {
        let mut errors = Vec::new();
        let kept = roles(
            vec!["admin".into(), "admin".into(), "viewer".into()],
            &[],
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(kept, ["admin", "viewer"]);
        roles(vec!["root".into()], &[], &mut errors);
        roles(Vec::new(), &[], &mut errors);
        let custom = vec!["auditor".to_owned()];
        assert_eq!(
            roles(vec!["auditor".into()], &custom, &mut errors),
            ["auditor"]
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn a_new_email_is_unverified_until_proven() {
        let mut u = user();
        u.email_verified = true;
        let mut errors = Vec::new();
        AdminChanges {
            email: Some("ada@lovelace.org".into()),
            ..AdminChanges::default()
        }
        .apply(&mut u, &[], &mut errors);
        assert!(errors.is_empty());
        assert!(!u.email_verified);
        assert_eq!(u.email.as_str(), "ada@lovelace.org");
    }
}
