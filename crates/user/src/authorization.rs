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
            "projects:write",
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
fn covers(grant: &str, action: &str) -> bool {
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

/// Whether any of `roles` grants `action`.
pub fn roles_allow(roles: &[String], action: &Action) -> bool {
    granting_role(roles, action).is_some()
}

/// The decision for `roles` on `action`, with the role that granted it or why none did.
pub fn decide(roles: &[String], action: &Action) -> Decision {
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
        assert!(roles_allow(&member, &Action::from_static("projects:write")));
        assert!(!roles_allow(
            &viewer,
            &Action::from_static("projects:write")
        ));
        assert!(!roles_allow(&[], &USERS_READ), "no role, no access");
        assert!(!roles_allow(&roles(&["superuser"]), &USERS_READ));
    }

    #[test]
    fn every_catalogued_action_is_granted_to_owners_and_some_to_nobody_else() {
        let owner = roles(&["owner"]);
        for action in &usvc_core::permissions::ALL {
            assert!(roles_allow(&owner, action), "owner lacks {action}");
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

/// The `Authorizer` of a running service: the built-in roles, then the tenant's custom roles
/// (loaded once per tenant into the `permissions` cache, which every role change invalidates on
/// every replica, so a new definition applies at the next request).
pub struct TenantAuthorizer {
    roles: std::sync::Arc<dyn usvc_core::ports::RoleRepository>,
    definitions:
        std::sync::Arc<dyn usvc_core::ports::Cache<usvc_core::TenantId, Vec<usvc_core::Role>>>,
}

impl TenantAuthorizer {
    /// An authorizer over the role store and the definitions cache.
    pub fn new(
        roles: std::sync::Arc<dyn usvc_core::ports::RoleRepository>,
        definitions: std::sync::Arc<
            dyn usvc_core::ports::Cache<usvc_core::TenantId, Vec<usvc_core::Role>>,
        >,
    ) -> Self {
        Self { roles, definitions }
    }
}

#[async_trait]
impl Authorizer for TenantAuthorizer {
    async fn check(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<Decision, CoreError> {
        let built_in = decide(&principal.roles, action);
        let custom_held = principal
            .roles
            .iter()
            .any(|r| !usvc_core::BUILT_IN_ROLES.contains(&r.as_str()));
        if built_in.allowed || !custom_held {
            return Ok(built_in);
        }
        let (roles, tenant) = (self.roles.clone(), principal.tenant);
        let definitions = self
            .definitions
            .get_or_load(tenant, Box::pin(async move { roles.list(tenant).await }))
            .await?;
        let granted = definitions.iter().find(|role| {
            role.tenant_id == principal.tenant
                && principal.roles.contains(&role.name)
                && role.permissions.contains(action)
        });
        let _ = resource;
        Ok(match granted {
            Some(role) => Decision::allow(format!("granted by role {}", role.name)),
            None => built_in,
        })
    }
}

#[cfg(test)]
mod tenant_authorizer_tests {
    use std::sync::Arc;

    use usvc_core::ports::{Authorizer, MockRoleRepository};
    use usvc_core::{
        permissions, Principal, ResourceRef, Role, RoleId, SessionId, TenantId, UserId,
    };

    use super::TenantAuthorizer;

    #[tokio::test]
    async fn custom_roles_are_loaded_once_per_tenant_and_reloaded_after_a_change() {
        let tenant = TenantId::new();
        let now = chrono::Utc::now();
        let auditor = Role {
            id: RoleId::new(),
            tenant_id: tenant,
            name: "auditor".into(),
            description: String::new(),
            permissions: vec![permissions::AUDIT_READ],
            created_at: now,
            updated_at: now,
        };
        let mut roles = MockRoleRepository::new();
        roles
            .expect_list()
            .times(2)
            .returning(move |_| Ok(vec![auditor.clone()]));
        let bus: Arc<dyn usvc_core::ports::Invalidation> =
            Arc::new(usvc_cache::LocalInvalidation::new());
        let cache = usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PERMISSIONS, bus);
        let authorizer = TenantAuthorizer::new(Arc::new(roles), cache.clone());
        let principal = Principal {
            user: UserId::new(),
            tenant,
            session: SessionId::new(),
            roles: vec!["auditor".into()],
        };
        let audit = ResourceRef::any("audit");
        for _ in 0..3 {
            let d = authorizer
                .check(&principal, &permissions::AUDIT_READ, &audit)
                .await
                .expect("decision");
            assert_eq!(d.reason, "granted by role auditor");
        }
        let denied = authorizer
            .check(&principal, &permissions::USERS_WRITE, &audit)
            .await
            .expect("decision");
        assert!(!denied.allowed);
        usvc_core::ports::Cache::invalidate(cache.as_ref(), &tenant)
            .await
            .expect("invalidate");
        let again = authorizer
            .check(&principal, &permissions::AUDIT_READ, &audit)
            .await
            .expect("decision");
        assert!(again.allowed, "reloaded after the role change");
    }
}
