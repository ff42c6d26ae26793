//! Who is acting, what they want to do, and to what.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CoreError, Origin, SessionId, TenantId, UserId};

/// An authenticated caller, as the HTTP adapter reconstructs it from a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The acting user.
    pub user: UserId,
    /// The tenant the user (and therefore every query on their behalf) belongs to.
    pub tenant: TenantId,
    /// The session the token belongs to; revoking it stops the principal.
    pub session: SessionId,
    /// Tenant-level role names held at token issue time.
    pub roles: Vec<String>,
    /// Where the request came from, for the audit trail.
    #[serde(default)]
    pub origin: Origin,
}

/// A permission in `resource:verb` form (`projects:write`), checked by the `Authorizer`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Action(Cow<'static, str>);

impl Action {
    /// A compile-time action from the catalogue; the string is trusted.
    pub const fn from_static(action: &'static str) -> Self {
        Self(Cow::Borrowed(action))
    }

    /// Parses caller input: lowercase `resource:verb`, each part `[a-z_]+`.
    pub fn parse(action: &str) -> Result<Self, CoreError> {
        let valid_part =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        match action.split_once(':') {
            Some((resource, verb)) if valid_part(resource) && valid_part(verb) => {
                Ok(Self(Cow::Owned(action.to_owned())))
            }
            _ => Err(CoreError::invalid(
                "action",
                format!("`{action}` is not of the form resource:verb (lowercase letters and _)"),
            )),
        }
    }

    /// The action as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Action {
    type Error = CoreError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Action> for String {
    fn from(value: Action) -> Self {
        value.0.into_owned()
    }
}

/// The object of an action: a type (`project`, `user`, …) and, unless the question is
/// tenant-wide, the id of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// The resource type, lowercase (`tenant`, `user`, `project`, `workflow`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The instance, or `None` for "any resource of this type in my tenant".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ResourceRef {
    /// A reference to one instance.
    pub fn one(kind: impl Into<String>, id: impl fmt::Display) -> Self {
        Self {
            kind: kind.into(),
            id: Some(id.to_string()),
        }
    }

    /// A tenant-wide reference to a resource type.
    pub fn any(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_must_be_resource_colon_verb() {
        assert_eq!(
            Action::parse("projects:write").ok(),
            Some(Action::from_static("projects:write"))
        );
        for bad in [
            "projects",
            "Projects:write",
            ":write",
            "projects:",
            "a:b:c",
            "x y:z",
        ] {
            assert!(Action::parse(bad).is_err(), "{bad} must be rejected");
        }
    }

    #[test]
    fn resource_refs_serialise_with_type_and_optional_id() {
        let json = serde_json::to_value(ResourceRef::any("project")).ok();
        assert_eq!(json, Some(serde_json::json!({"type": "project"})));
    }
}
