//! The authorizer the service runs with: built-in roles, then the tenant's custom roles, and
//! every refusal on the audit trail.

use std::sync::Arc;

use async_trait::async_trait;
use usvc_core::ports::{
    AuditLog, Authorizer, Cache, Clock, PlatformAdmins, ProjectAccess, ProjectAccessList,
    RoleRepository,
};
use usvc_core::{
    permissions, Action, AuditEntry, CoreError, Decision, Principal, ProjectId, ResourceRef, Role,
    TenantId, UserId, Visibility,
};

use crate::builtin_roles::decide;

/// The reason given for a project that does not exist — and, by the check API, for one the
/// asker may not read: the two answers are the same.
pub use usvc_core::permissions::NO_SUCH_PROJECT;

/// The `Authorizer` of a running service: the built-in roles, then the tenant's custom roles
/// (loaded once per tenant into the `permissions` cache, which every role change invalidates on
/// every replica, so a new definition applies at the next request).
pub struct TenantAuthorizer {
    roles: Arc<dyn RoleRepository>,
    definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
    platform: Arc<dyn PlatformAdmins>,
    platform_grants: Arc<dyn Cache<UserId, bool>>,
    projects: Arc<dyn ProjectAccess>,
    project_access: Arc<dyn Cache<ProjectId, ProjectAccessList>>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

/// What [`TenantAuthorizer`] reads and writes.
pub struct AuthorizerPorts {
    /// Custom role definitions.
    pub roles: Arc<dyn RoleRepository>,
    /// `permissions`: role definitions per tenant, invalidated on every role change.
    pub definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
    /// Holders of the platform grant.
    pub platform: Arc<dyn PlatformAdmins>,
    /// `platform-admins`: whether a user holds it, briefly cached.
    pub platform_grants: Arc<dyn Cache<UserId, bool>>,
    /// Project access lists: the resource-scoped grants.
    pub projects: Arc<dyn ProjectAccess>,
    /// `project-access`: access lists by project, dropped on every membership or visibility
    /// change.
    pub project_access: Arc<dyn Cache<ProjectId, ProjectAccessList>>,
    /// Where refusals are recorded.
    pub audit: Arc<dyn AuditLog>,
    /// Time, for the audit rows.
    pub clock: Arc<dyn Clock>,
}

impl TenantAuthorizer {
    /// An authorizer over `ports`.
    pub fn new(ports: AuthorizerPorts) -> Self {
        Self {
            roles: ports.roles,
            definitions: ports.definitions,
            platform: ports.platform,
            platform_grants: ports.platform_grants,
            projects: ports.projects,
            project_access: ports.project_access,
            audit: ports.audit,
            clock: ports.clock,
        }
    }

    /// The answer about one project: its members' project roles grant on it whatever their
    /// tenant roles; a private project exists only for its members; otherwise the tenant
    /// roles decide, as for any resource.
    async fn project_decision(
        &self,
        principal: &Principal,
        action: &Action,
        id: ProjectId,
    ) -> Result<Decision, CoreError> {
        let (projects, tenant) = (self.projects.clone(), principal.tenant);
        let loaded = self
            .project_access
            .get_or_load(
                id,
                Box::pin(async move {
                    projects
                        .access_list(tenant, id)
                        .await?
                        .ok_or_else(|| CoreError::NotFound("project".into()))
                }),
            )
            .await;
        let list = match loaded {
            Ok(list) if list.tenant == principal.tenant => list,
            Ok(_) | Err(CoreError::NotFound(_)) => {
                return Ok(Decision::deny(NO_SUCH_PROJECT));
            }
            Err(e) => return Err(e),
        };
        match list.role_of(principal.user) {
            Some(role) if permissions::project_role_grants(role).contains(action) => Ok(
                Decision::allow(format!("granted by your project role {role}")),
            ),
            None if list.visibility == Visibility::Private => Ok(Decision::deny(
                "the project is private and you are not a member",
            )),
            _ => self.tenant_decision(principal, action).await,
        }
    }

    /// The answer from the caller's tenant roles: the built-in table, then custom roles.
    async fn tenant_decision(
        &self,
        principal: &Principal,
        action: &Action,
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
        Ok(match granted {
            Some(role) => Decision::allow(format!("granted by role {}", role.name)),
            None => built_in,
        })
    }

    /// The answer for a platform action: only the platform grant allows it.
    async fn platform_decision(
        &self,
        principal: &Principal,
        action: &Action,
    ) -> Result<Decision, CoreError> {
        let (platform, user) = (self.platform.clone(), principal.user);
        let held = self
            .platform_grants
            .get_or_load(
                user,
                Box::pin(async move { platform.is_platform_admin(user).await }),
            )
            .await?;
        Ok(if held {
            Decision::allow("granted by the platform grant")
        } else {
            Decision::deny(format!(
                "{action} needs the platform grant, which you do not hold"
            ))
        })
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
        if permissions::PLATFORM.contains(action) {
            return self.platform_decision(principal, action).await;
        }
        if resource.kind == "project" {
            if let Some(id) = resource.id.as_deref().and_then(|id| id.parse().ok()) {
                return self.project_decision(principal, action, id).await;
            }
        }
        self.tenant_decision(principal, action).await
    }

    /// The guard every endpoint uses; a refusal is audited (the seed's `access_denied`)
    /// before it is returned. Plain `check`s (the check API's questions) are not.
    async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        resource: &ResourceRef,
    ) -> Result<(), CoreError> {
        let decision = self.check(principal, action, resource).await?;
        if decision.allowed {
            return Ok(());
        }
        let entry = AuditEntry::denied(
            principal,
            action,
            resource,
            &decision.reason,
            self.clock.now(),
        );
        self.audit.append(entry).await?;
        Err(CoreError::Forbidden(decision.reason))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use usvc_core::ports::{
        Authorizer, MockAuditLog, MockPlatformAdmins, MockProjectAccess, MockRoleRepository,
        ProjectAccessList, SystemClock,
    };
    use usvc_core::{
        permissions, CoreError, Outcome, Principal, ProjectId, ResourceRef, Role, RoleId,
        SessionId, TenantId, UserId, Visibility,
    };

    use super::{AuthorizerPorts, TenantAuthorizer};

    fn authorizer(
        roles: MockRoleRepository,
        definitions: Arc<usvc_cache::NamedCache<TenantId, Vec<Role>>>,
        platform: MockPlatformAdmins,
        audit: MockAuditLog,
    ) -> TenantAuthorizer {
        with_projects(
            roles,
            definitions,
            platform,
            audit,
            MockProjectAccess::new(),
        )
    }

    fn with_projects(
        roles: MockRoleRepository,
        definitions: Arc<usvc_cache::NamedCache<TenantId, Vec<Role>>>,
        platform: MockPlatformAdmins,
        audit: MockAuditLog,
        projects: MockProjectAccess,
    ) -> TenantAuthorizer {
        let bus: Arc<dyn usvc_core::ports::Invalidation> =
            Arc::new(usvc_cache::LocalInvalidation::new());
        TenantAuthorizer::new(AuthorizerPorts {
            roles: Arc::new(roles),
            definitions,
            platform: Arc::new(platform),
            platform_grants: usvc_cache::NamedCache::new(
                usvc_cache::CacheSpec::PLATFORM_ADMINS,
                bus.clone(),
            ),
            projects: Arc::new(projects),
            project_access: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PROJECT_ACCESS, bus),
            audit: Arc::new(audit),
            clock: Arc::new(SystemClock),
        })
    }

    fn permissions_cache() -> Arc<usvc_cache::NamedCache<TenantId, Vec<Role>>> {
        let bus: Arc<dyn usvc_core::ports::Invalidation> =
            Arc::new(usvc_cache::LocalInvalidation::new());
        usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PERMISSIONS, bus)
    }

    fn member(tenant: TenantId) -> Principal {
        Principal {
            user: UserId::new(),
            tenant,
            session: SessionId::new(),
            roles: vec!["member".into()],
            origin: usvc_core::Origin {
                ip: Some("203.0.113.9".into()),
                user_agent: None,
                request_id: Some("req-1".into()),
            },
        }
    }

    #[tokio::test]
    async fn a_refused_guard_is_audited_and_a_plain_question_is_not() {
        let tenant = TenantId::new();
        let principal = member(tenant);
        let mut audit = MockAuditLog::new();
        let who = principal.user;
        audit
            .expect_append()
            .withf(move |e| {
                e.tenant == tenant
                    && e.actor.user() == Some(who)
                    && e.action == "authz.denied"
                    && e.outcome == Outcome::Denied
                    && e.origin.request_id.as_deref() == Some("req-1")
                    && e.details["action"] == "users:delete"
            })
            .times(1)
            .returning(|_| Ok(()));
        let authorizer = authorizer(
            MockRoleRepository::new(),
            permissions_cache(),
            MockPlatformAdmins::new(),
            audit,
        );
        let target = ResourceRef::one("user", UserId::new());
        let question = authorizer
            .check(&principal, &permissions::USERS_DELETE, &target)
            .await
            .expect("decision");
        assert!(!question.allowed);
        let refused = authorizer
            .authorize(&principal, &permissions::USERS_DELETE, &target)
            .await;
        assert!(matches!(refused, Err(CoreError::Forbidden(_))));
        authorizer
            .authorize(&principal, &permissions::USERS_READ, &target)
            .await
            .expect("members may read users");
    }

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
        let cache = permissions_cache();
        let authorizer = authorizer(
            roles,
            cache.clone(),
            MockPlatformAdmins::new(),
            MockAuditLog::new(),
        );
        let principal = Principal {
            user: UserId::new(),
            tenant,
            session: SessionId::new(),
            roles: vec!["auditor".into()],
            origin: usvc_core::Origin::default(),
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

    #[tokio::test]
    async fn only_the_platform_grant_allows_platform_actions_not_even_an_owner_role() {
        let tenant = TenantId::new();
        let mut owner = member(tenant);
        owner.roles = vec!["owner".into()];
        let operator = member(tenant);
        let who = operator.user;
        let mut platform = MockPlatformAdmins::new();
        platform
            .expect_is_platform_admin()
            .times(2)
            .returning(move |u| Ok(u == who));
        let authorizer = authorizer(
            MockRoleRepository::new(),
            permissions_cache(),
            platform,
            MockAuditLog::new(),
        );
        let tenants = ResourceRef::any("tenant");
        for _ in 0..3 {
            let d = authorizer
                .check(&operator, &permissions::TENANTS_MANAGE, &tenants)
                .await
                .expect("decision");
            assert!(d.allowed, "{d:?}");
        }
        let d = authorizer
            .check(&owner, &permissions::TENANTS_MANAGE, &tenants)
            .await
            .expect("decision");
        assert!(!d.allowed, "an owner's `*` does not reach the platform");
    }

    #[tokio::test]
    async fn project_roles_grant_on_their_project_and_private_projects_exist_for_members_only() {
        let tenant = TenantId::new();
        let editor = member(tenant);
        let outsider = member(tenant);
        let mut admin = member(tenant);
        admin.roles = vec!["admin".into()];
        let (open, private) = (ProjectId::new(), ProjectId::new());
        let who = editor.user;
        let mut projects = MockProjectAccess::new();
        projects
            .expect_access_list()
            .times(2)
            .returning(move |t, p| {
                Ok(Some(ProjectAccessList {
                    tenant: t,
                    visibility: if p == private {
                        Visibility::Private
                    } else {
                        Visibility::Tenant
                    },
                    members: vec![usvc_core::ProjectMember {
                        project_id: p,
                        user_id: who,
                        role: usvc_core::ProjectRole::Editor,
                        added_at: chrono::Utc::now(),
                    }],
                }))
            });
        let authorizer = with_projects(
            MockRoleRepository::new(),
            permissions_cache(),
            MockPlatformAdmins::new(),
            MockAuditLog::new(),
            projects,
        );
        let ask = |who: &Principal, action: &usvc_core::Action, project: ProjectId| {
            let resource = ResourceRef::one("project", project);
            let (authorizer, who, action) = (&authorizer, who.clone(), action.clone());
            async move {
                authorizer
                    .check(&who, &action, &resource)
                    .await
                    .expect("decision")
            }
        };
        let write = permissions::PROJECTS_WRITE;
        let read = permissions::PROJECTS_READ;
        let granted = ask(&editor, &write, open).await;
        assert!(granted.allowed);
        assert_eq!(granted.reason, "granted by your project role editor");
        assert!(ask(&editor, &write, private).await.allowed);
        assert!(
            !ask(&editor, &permissions::PROJECTS_DELETE, open)
                .await
                .allowed
        );
        // A tenant member reads the open project through their tenant role, writes neither.
        assert!(ask(&outsider, &read, open).await.allowed);
        assert!(!ask(&outsider, &write, open).await.allowed);
        let hidden = ask(&outsider, &read, private).await;
        assert!(!hidden.allowed);
        assert!(hidden.reason.contains("private"), "{hidden:?}");
        // A tenant admin manages open projects, not private ones they are not in.
        assert!(
            ask(&admin, &permissions::PROJECTS_DELETE, open)
                .await
                .allowed
        );
        assert!(!ask(&admin, &read, private).await.allowed);
        // Another tenant's principal asking about these ids: nothing there.
        let stranger = member(TenantId::new());
        assert_eq!(
            ask(&stranger, &read, open).await.reason,
            "there is no such project"
        );
    }
}
