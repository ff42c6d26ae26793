//! How a user looks on the wire, and the read-only fields a client may send back unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use usvc_core::{CoreError, FieldError, User};
use utoipa::ToSchema;

/// A user profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Stable id (UUID v7).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// Login email.
    pub email: String,
    /// Whether the address was proven.
    pub email_verified: bool,
    /// Name to show.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// BCP 47 language tag.
    pub locale: Option<String>,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Picture URL.
    pub avatar_url: Option<String>,
    /// Free-form JSON object.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Tenant roles (`owner`, `admin`, `member`, `viewer`).
    pub roles: Vec<String>,
    /// `active`, `disabled` or `locked`.
    pub status: String,
    /// Whether TOTP is on.
    pub mfa_enabled: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            tenant_id: u.tenant_id.to_string(),
            email: u.email.as_str().to_owned(),
            email_verified: u.email_verified,
            display_name: u.display_name,
            given_name: u.given_name,
            family_name: u.family_name,
            locale: u.locale,
            timezone: u.timezone,
            avatar_url: u.avatar_url,
            metadata: u.metadata,
            roles: u.roles,
            status: u.status.as_str().to_owned(),
            mfa_enabled: u.mfa_enabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// Tells "absent" (`None`) from "null" (`Some(None)`) in a partial update.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Checks echoed read-only `fields` (name, sent value) against the current `user`.
pub fn unchanged(
    user: &User,
    fields: &[(&str, &Option<serde_json::Value>)],
) -> Result<(), CoreError> {
    let current = serde_json::to_value(UserView::from(user.clone())).unwrap_or_default();
    let errors: Vec<FieldError> = fields
        .iter()
        .filter_map(|(name, sent)| {
            let sent = sent.as_ref()?;
            let now = current.get(*name).unwrap_or(&serde_json::Value::Null);
            // Timestamps may come back in another RFC 3339 spelling of the same instant.
            let same = sent == now
                || matches!((sent.as_str(), now.as_str()), (Some(a), Some(b))
                    if DateTime::parse_from_rfc3339(a).ok() == DateTime::parse_from_rfc3339(b).ok()
                        && DateTime::parse_from_rfc3339(a).is_ok());
            (!same).then(|| FieldError {
                field: (*name).to_owned(),
                message: "is read-only here".into(),
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CoreError::Validation(errors))
    }
}
