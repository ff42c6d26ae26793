//! The built-in roles and what each may do, behind the `Authorizer` port.

use async_trait::async_trait;
use usvc_core::ports::Authorizer;
use usvc_core::{Action, CoreError, Decision, Principal, ResourceRef};

/// The actions the identity domain checks (the catalogue lives in `usvc_core::permissions`).
pub mod actions {
    pub use usvc_core::permissions::{
        ANALYTICS_READ, TENANT_READ, TENANT_WRITE, USERS_DELETE, USERS_IMPORT, USERS_MANAGE_OWNERS,
        USERS_READ, USERS_WRITE,
    };
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
            "roles:manage",
            "clients:manage",
            "projects:*",
            "workflows:*",
            "tasks:*",
            "audit:read",
        ],
    ),
    (
        "member",
        &[
            "users:read",
            "tenant:read",
            "projects:create",
            "projects:read",
            "workflows:read",
            "workflows:write",
            "workflows:execute",
            "tasks:complete",
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

/// The built-in roles and their grants (patterns), strongest first.
pub fn built_in_grants() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    GRANTS.iter().copied()
}

/// Whether `grant` (`*`, `resource:*` or `resource:verb`) covers `action`.
pub(crate) fn covers(grant: &str, action: &str) -> bool {
    if grant == "*" || grant == action {
        return true;
    }
    match (grant.strip_suffix(":*"), action.split_once(':')) {
        (Some(resource), Some((wanted, _))) => resource == wanted,
        _ => false,
    }
}

/// The first of `roles` that grants `action`, if any.
fn granting_role<'r>(roles: &'r [String], action: &Action) -> Option<&'r str> {
    roles
        .iter()
        .find(|role| {
            GRANTS
                .iter()
                .filter(|(name, _)| name == role)
                .any(|(_, grants)| grants.iter().any(|g| covers(g, action.as_str())))
        })
        .map(String::as_str)
}

/// Whether any of `roles` grants `action` (never a platform action: no role carries those).
pub fn roles_allow(roles: &[String], action: &Action) -> bool {
    !usvc_core::permissions::PLATFORM.contains(action) && granting_role(roles, action).is_some()
}

/// The decision for `roles` on `action`, with the role that granted it or why none did.
pub fn decide(roles: &[String], action: &Action) -> Decision {
    if usvc_core::permissions::PLATFORM.contains(action) {
        return Decision::deny(format!(
            "{action} is a platform grant, which no tenant role carries"
        ));
    }
    match granting_role(roles, action) {
        Some(role) => Decision::allow(format!("granted by role {role}")),
        None if roles.is_empty() => Decision::deny(format!("you hold no role, so not {action}")),
        None => Decision::deny(format!(
            "no role of yours ({}) grants {action}",
            roles.join(", ")
        )),
    }
}

/// The built-in `Authorizer`: tenant roles from the caller's (freshly cached) profile, mapped
/// through a fixed table. Custom roles replace it behind the same port.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleAuthorizer;

#[async_trait]
impl Authorizer for RoleAuthorizer {
    async fn check(
        &self,
        principal: &Principal,
        action: &Action,
        _resource: &ResourceRef,
    ) -> Result<Decision, CoreError> {
        Ok(decide(&principal.roles, action))
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
        assert!(roles_allow(
            &member,
            &Action::from_static("projects:create")
        ));
        assert!(
            !roles_allow(&member, &Action::from_static("projects:write")),
            "members change projects through a project role"
        );
        assert!(!roles_allow(
            &viewer,
            &Action::from_static("projects:create")
        ));
        assert!(!roles_allow(&[], &USERS_READ), "no role, no access");
        assert!(!roles_allow(&roles(&["superuser"]), &USERS_READ));
    }

    #[test]
    fn every_catalogued_action_is_granted_to_owners_and_some_to_nobody_else() {
        let owner = roles(&["owner"]);
        for action in &usvc_core::permissions::ALL {
            let platform = usvc_core::permissions::PLATFORM.contains(action);
            assert_eq!(
                roles_allow(&owner, action),
                !platform,
                "owners hold every tenant action and no platform one: {action}"
            );
        }
        let viewer = roles(&["viewer"]);
        let all = usvc_core::permissions::ALL;
        let writes = all
            .iter()
            .filter(|a| roles_allow(&viewer, a))
            .filter(|a| !a.as_str().ends_with(":read"))
            .count();
        assert_eq!(writes, 0, "a viewer only reads");
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
            origin: usvc_core::Origin::default(),
        };
        let outcome = RoleAuthorizer
            .authorize(&principal, &USERS_WRITE, &ResourceRef::any("user"))
            .await;
        assert_eq!(
            outcome,
            Err(CoreError::Forbidden(
                "no role of yours (viewer) grants users:write".into()
            ))
        );
        let decision = RoleAuthorizer
            .check(&principal, &USERS_READ, &ResourceRef::any("user"))
            .await;
        assert_eq!(decision, Ok(Decision::allow("granted by role viewer")));
    }
}
