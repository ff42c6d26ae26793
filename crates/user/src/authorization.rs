//! The built-in roles and what each may do, behind the `Authorizer` port.

use async_trait::async_trait;
use usvc_core::ports::Authorizer;
use usvc_core::{Action, CoreError, Principal, ResourceRef};

/// The actions the identity domain checks. Other domains name theirs the same way
/// (`projects:write`); a role grants `resource:*` or exact actions.
pub mod actions {
    use usvc_core::Action;

    /// See other users' profiles (directory, lookup).
    pub const USERS_READ: Action = Action::from_static("users:read");
    /// Create users and change their profile, roles or status.
    pub const USERS_WRITE: Action = Action::from_static("users:write");
    /// Erase users.
    pub const USERS_DELETE: Action = Action::from_static("users:delete");
    /// Bulk-create users.
    pub const USERS_IMPORT: Action = Action::from_static("users:import");
    /// Grant or take the `owner` role, or change, disable or delete an owner.
    pub const USERS_MANAGE_OWNERS: Action = Action::from_static("users:manage_owners");
    /// See the tenant and its settings.
    pub const TENANT_READ: Action = Action::from_static("tenant:read");
    /// Change the tenant's settings.
    pub const TENANT_WRITE: Action = Action::from_static("tenant:write");
    /// Read tenant analytics.
    pub const ANALYTICS_READ: Action = Action::from_static("analytics:read");
}

/// What each built-in role grants. `*` is everything; `users:*` every users action.
const GRANTS: [(&str, &[&str]); 4] = [
    ("owner", &["*"]),
    (
        "admin",
        &[
            "users:read",
            "users:write",
            "users:delete",
            "users:import",
            "tenant:*",
            "analytics:*",
            "projects:*",
            "workflows:*",
            "audit:read",
        ],
    ),
    (
        "member",
        &[
            "users:read",
            "tenant:read",
            "projects:read",
            "projects:write",
            "workflows:read",
            "workflows:write",
            "workflows:execute",
        ],
    ),
    (
        "viewer",
        &[
            "users:read",
            "tenant:read",
            "projects:read",
            "workflows:read",
        ],
    ),
];

/// Whether `grant` (`*`, `resource:*` or `resource:verb`) covers `action`.
fn covers(grant: &str, action: &str) -> bool {
    if grant == "*" || grant == action {
        return true;
    }
    match (grant.strip_suffix(":*"), action.split_once(':')) {
        (Some(resource), Some((wanted, _))) => resource == wanted,
        _ => false,
    }
}

/// Whether any of `roles` grants `action`.
pub fn roles_allow(roles: &[String], action: &Action) -> bool {
    roles.iter().any(|role| {
        GRANTS
            .iter()
            .filter(|(name, _)| name == role)
            .any(|(_, grants)| grants.iter().any(|g| covers(g, action.as_str())))
    })
}

/// The built-in `Authorizer`: tenant roles from the caller's (freshly cached) profile, mapped
/// through a fixed table. Custom roles replace it behind the same port.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleAuthorizer;

#[async_trait]
impl Authorizer for RoleAuthorizer {
    async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        _resource: &ResourceRef,
    ) -> Result<(), CoreError> {
        if roles_allow(&principal.roles, action) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!(
                "your role does not allow `{action}`"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::actions::*;
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_built_in_role_grants_what_its_name_promises() {
        let owner = roles(&["owner"]);
        let admin = roles(&["admin"]);
        let member = roles(&["member"]);
        let viewer = roles(&["viewer"]);
        for action in [USERS_WRITE, USERS_MANAGE_OWNERS, TENANT_WRITE] {
            assert!(roles_allow(&owner, &action), "owner: {action}");
        }
        assert!(roles_allow(&admin, &USERS_DELETE));
        assert!(roles_allow(&admin, &TENANT_WRITE));
        assert!(
            !roles_allow(&admin, &USERS_MANAGE_OWNERS),
            "only owners make owners"
        );
        assert!(roles_allow(&member, &USERS_READ));
        assert!(!roles_allow(&member, &USERS_WRITE));
        assert!(roles_allow(&member, &Action::from_static("projects:write")));
        assert!(!roles_allow(
            &viewer,
            &Action::from_static("projects:write")
        ));
        assert!(!roles_allow(&[], &USERS_READ), "no role, no access");
        assert!(!roles_allow(&roles(&["superuser"]), &USERS_READ));
    }

    #[test]
    fn a_resource_wildcard_does_not_leak_into_other_resources() {
        assert!(covers("tenant:*", "tenant:write"));
        assert!(!covers("tenant:*", "tenants_extra:write"));
        assert!(!covers("users:read", "users:write"));
    }

    #[tokio::test]
    async fn the_authorizer_refuses_with_forbidden() {
        let principal = Principal {
            user: usvc_core::UserId::new(),
            tenant: usvc_core::TenantId::new(),
            session: usvc_core::SessionId::new(),
            roles: roles(&["viewer"]),
        };
        let outcome = RoleAuthorizer
            .authorize(&principal, &USERS_WRITE, &ResourceRef::any("user"))
            .await;
        assert!(matches!(outcome, Err(CoreError::Forbidden(_))));
    }
}
