//! Custom roles: a tenant's own named sets of actions, managed with `roles:manage`.

use std::sync::Arc;

use usvc_core::ports::{Authorizer, Cache, Clock, PlatformAdmins, RoleRepository};
use usvc_core::{
    permissions, Action, AuditEntry, CoreError, FieldError, Principal, ResourceRef, Role, RoleId,
    TenantId, BUILT_IN_ROLES,
};

use crate::audit::actions as audit;
use crate::builtin_roles::actions;
use crate::grants;

/// What a caller sends to define (or redefine) a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInput {
    /// `a-z`, `0-9`, `-`, `_`, 2-50 characters, starting with a letter; not a built-in name.
    pub name: String,
    /// Up to 500 characters.
    pub description: String,
    /// Actions of the catalogue (at least one; `users:manage_owners` stays with owners).
    pub permissions: Vec<String>,
}

/// A role as listed: the built-in ones (no id) and the tenant's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSummary {
    /// The custom role's id; `None` for built-in roles.
    pub id: Option<RoleId>,
    /// Name users are assigned by.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The actions it grants (`*` and `resource:*` patterns for built-in roles).
    pub permissions: Vec<String>,
    /// Whether it is one of `owner`, `admin`, `member`, `viewer`.
    pub built_in: bool,
}

/// Custom role administration.
pub struct RoleService {
    roles: Arc<dyn RoleRepository>,
    authorizer: Arc<dyn Authorizer>,
    clock: Arc<dyn Clock>,
    definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
    platform: Arc<dyn PlatformAdmins>,
}

fn name_ok(name: &str) -> bool {
    (2..=50).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Validates a definition; every problem at once.
fn validate(input: &RoleInput) -> Result<Vec<Action>, CoreError> {
    let mut errors = Vec::new();
    let mut push = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.into(),
            message,
        });
    };
    if !name_ok(&input.name) {
        push(
            "name",
            "must be 2-50 characters of a-z, 0-9, '-' and '_', starting with a letter".into(),
        );
    } else if BUILT_IN_ROLES.contains(&input.name.as_str()) {
        push("name", format!("`{}` is a built-in role", input.name));
    }
    if input.description.chars().count() > 500 {
        push("description", "must be at most 500 characters".into());
    }
    let mut granted = Vec::new();
    for (i, raw) in input.permissions.iter().enumerate() {
        match Action::parse(raw) {
            Ok(a) if a == permissions::USERS_MANAGE_OWNERS => push(
                &format!("permissions[{i}]"),
                "owners only: this action cannot be given to a custom role".into(),
            ),
            Ok(a) if permissions::PLATFORM.contains(&a) => push(
                &format!("permissions[{i}]"),
                "a platform grant (user-service admin grant-platform), not a role's".into(),
            ),
            Ok(a) if permissions::ALL.contains(&a) => {
                if !granted.contains(&a) {
                    granted.push(a);
                }
            }
            _ => push(
                &format!("permissions[{i}]"),
                format!("`{raw}` is not an action of the catalogue"),
            ),
        }
    }
    if input.permissions.is_empty() {
        push("permissions", "must grant at least one action".into());
    }
    if errors.is_empty() {
        Ok(granted)
    } else {
        Err(CoreError::Validation(errors))
    }
}

impl RoleService {
    /// A service over the role store, the authorizer, the `permissions` cache of role
    /// definitions (invalidated here on every change, on every replica) and the holders of
    /// the platform grant (whose roles only holders narrow).
    pub fn new(
        roles: Arc<dyn RoleRepository>,
        authorizer: Arc<dyn Authorizer>,
        clock: Arc<dyn Clock>,
        definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
        platform: Arc<dyn PlatformAdmins>,
    ) -> Self {
        Self {
            roles,
            authorizer,
            clock,
            definitions,
            platform,
        }
    }

    /// Narrowing a role a holder of the platform grant holds strips the holder, who is
    /// changed only by holders (as their email, password and roles are): that takes
    /// `tenants:manage`, refused and audited otherwise.
    async fn may_narrow(
        &self,
        principal: &Principal,
        current: &Role,
        granted: &[Action],
    ) -> Result<(), CoreError> {
        let narrows = current.permissions.iter().any(|a| !granted.contains(a));
        if !narrows
            || !self
                .platform
                .holder_has_role(principal.tenant, current.name.clone())
                .await?
        {
            return Ok(());
        }
        match self
            .authorizer
            .authorize(
                principal,
                &permissions::TENANTS_MANAGE,
                &ResourceRef::one("role", current.id),
            )
            .await
        {
            Err(CoreError::Forbidden(reason)) => Err(CoreError::Forbidden(format!(
                "a holder of the platform grant holds the role `{}`: only holders take actions away from it ({reason})",
                current.name
            ))),
            other => other,
        }
    }

    async fn allow(&self, principal: &Principal, action: &Action) -> Result<(), CoreError> {
        self.authorizer
            .authorize(principal, action, &ResourceRef::any("role"))
            .await
    }

    /// Built-in and custom roles of the caller's tenant (`users:read`).
    pub async fn list(&self, principal: &Principal) -> Result<Vec<RoleSummary>, CoreError> {
        self.allow(principal, &actions::USERS_READ).await?;
        let mut all: Vec<RoleSummary> = crate::builtin_roles::built_in_grants()
            .map(|(name, grants)| RoleSummary {
                id: None,
                name: name.to_owned(),
                description: format!("built-in role {name}"),
                permissions: grants.iter().map(|g| (*g).to_owned()).collect(),
                built_in: true,
            })
            .collect();
        all.extend(
            self.roles
                .list(principal.tenant)
                .await?
                .into_iter()
                .map(|r| RoleSummary {
                    id: Some(r.id),
                    name: r.name,
                    description: r.description,
                    permissions: r
                        .permissions
                        .iter()
                        .map(|a| a.as_str().to_owned())
                        .collect(),
                    built_in: false,
                }),
        );
        Ok(all)
    }

    /// One custom role (`users:read`); another tenant's is `NotFound`.
    pub async fn get(&self, principal: &Principal, id: RoleId) -> Result<Role, CoreError> {
        self.allow(principal, &actions::USERS_READ).await?;
        self.roles
            .get(principal.tenant, id)
            .await?
            .ok_or_else(|| CoreError::NotFound("role".into()))
    }

    /// No custom role carries `users:manage_owners` (a 400 for owners, who hold it); anyone
    /// else asking for it is reaching for owners' powers, refused as such and audited.
    async fn owner_powers_asked(
        &self,
        principal: &Principal,
        input: &RoleInput,
    ) -> Result<(), CoreError> {
        let owners = permissions::USERS_MANAGE_OWNERS.to_string();
        if input.permissions.iter().any(|p| p.trim() == owners) {
            grants::ensure_holds(
                self.authorizer.as_ref(),
                principal,
                &[permissions::USERS_MANAGE_OWNERS],
                &format!("give the role `{}` owners' powers", input.name),
            )
            .await?;
        }
        Ok(())
    }

    /// Defines a role (`roles:manage`, and holding every action it grants).
    pub async fn create(&self, principal: &Principal, input: RoleInput) -> Result<Role, CoreError> {
        self.allow(principal, &permissions::ROLES_MANAGE).await?;
        self.owner_powers_asked(principal, &input).await?;
        let granted = validate(&input)?;
        grants::ensure_holds(
            self.authorizer.as_ref(),
            principal,
            &granted,
            &format!("define the role `{}`", input.name),
        )
        .await?;
        let now = chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6);
        let role = Role {
            id: RoleId::new(),
            tenant_id: principal.tenant,
            name: input.name,
            description: input.description.trim().to_owned(),
            permissions: granted,
            created_at: now,
            updated_at: now,
        };
        let entry = AuditEntry::by(principal, audit::ROLE_CREATED, now)
            .on(ResourceRef::one("role", role.id))
            .details(definition(&role));
        self.roles.create(&role, &entry).await?;
        self.definitions.invalidate(&principal.tenant).await?;
        Ok(role)
    }

    /// Redefines a role's description and permissions (`roles:manage`). Its name is how users
    /// hold it, so it cannot change. Holders get the new permissions at their next request.
    /// The caller must hold every action the role grants, before and after: a role is
    /// managed only by those it could not lift above themselves.
    pub async fn update(
        &self,
        principal: &Principal,
        id: RoleId,
        input: RoleInput,
    ) -> Result<Role, CoreError> {
        self.allow(principal, &permissions::ROLES_MANAGE).await?;
        let current = self
            .roles
            .get(principal.tenant, id)
            .await?
            .ok_or_else(|| CoreError::NotFound("role".into()))?;
        self.owner_powers_asked(principal, &input).await?;
        let granted = validate(&input)?;
        let mut touched = current.permissions.clone();
        touched.extend(granted.iter().cloned());
        grants::ensure_holds(
            self.authorizer.as_ref(),
            principal,
            &touched,
            &format!("redefine the role `{}`", current.name),
        )
        .await?;
        if input.name != current.name {
            return Err(CoreError::invalid(
                "name",
                "a role's name cannot change (users hold it by name); create a new role",
            ));
        }
        self.may_narrow(principal, &current, &granted).await?;
        let role = Role {
            description: input.description.trim().to_owned(),
            permissions: granted,
            updated_at: chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6),
            ..current
        };
        let entry = AuditEntry::by(principal, audit::ROLE_UPDATED, role.updated_at)
            .on(ResourceRef::one("role", role.id))
            .details(definition(&role));
        self.roles.update(&role, &entry).await?;
        self.definitions.invalidate(&principal.tenant).await?;
        Ok(role)
    }

    /// Deletes a role no user holds (`roles:manage`, and holding every action it grants).
    pub async fn delete(&self, principal: &Principal, id: RoleId) -> Result<(), CoreError> {
        self.allow(principal, &permissions::ROLES_MANAGE).await?;
        if let Some(current) = self.roles.get(principal.tenant, id).await? {
            grants::ensure_holds(
                self.authorizer.as_ref(),
                principal,
                &current.permissions,
                &format!("delete the role `{}`", current.name),
            )
            .await?;
        }
        let entry = AuditEntry::by(principal, audit::ROLE_DELETED, self.clock.now())
            .on(ResourceRef::one("role", id));
        self.roles.delete(principal.tenant, id, &entry).await?;
        self.definitions.invalidate(&principal.tenant).await
    }
}

/// What an auditor needs to know about a role's definition.
fn definition(role: &Role) -> serde_json::Value {
    serde_json::json!({ "name": role.name, "permissions": role.permissions })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, permissions: &[&str]) -> RoleInput {
        RoleInput {
            name: name.into(),
            description: "d".into(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn definitions_are_validated_field_by_field() {
        assert_eq!(
            validate(&input(
                "auditor",
                &["audit:read", "audit:read", "users:read"]
            )),
            Ok(vec![permissions::AUDIT_READ, permissions::USERS_READ])
        );
        let fields = |i: RoleInput| match validate(&i) {
            Err(CoreError::Validation(f)) => f.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("expected validation, got {other:?}"),
        };
        assert_eq!(fields(input("admin", &["users:read"])), ["name"]);
        assert_eq!(fields(input("Bad Name", &[])), ["name", "permissions"]);
        assert_eq!(
            fields(input("ops", &["users:fly", "users:manage_owners"])),
            ["permissions[0]", "permissions[1]"]
        );
    }
}
