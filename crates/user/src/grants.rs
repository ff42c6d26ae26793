//! Nobody grants what they do not hold.
//!
//! Every change that widens someone's powers — defining or redefining a role, giving a user
//! roles (created, changed, imported), opening self-registration — is allowed only when the
//! caller holds, right now, every tenant action the change hands out. Changes to a user whose
//! powers exceed the caller's (their email, password, status, roles, or deleting them) are
//! refused the same way: whoever could take over or strip an account could act as it. Each
//! refusal goes through `Authorizer::authorize`, so it is audited like any other.

use usvc_core::ports::Authorizer;
use usvc_core::{permissions, Action, CoreError, Principal, ResourceRef, Role};

use crate::builtin_roles::{built_in_grants, covers};

/// The tenant actions role `name` grants: a built-in role's table expanded over the catalogue,
/// or a custom role's list (`custom` holds the tenant's definitions). Unknown names grant none.
pub fn actions_of(name: &str, custom: &[Role]) -> Vec<Action> {
    if let Some((_, grants)) = built_in_grants().find(|(role, _)| *role == name) {
        return permissions::ALL
            .iter()
            .filter(|a| !permissions::PLATFORM.contains(a))
            .filter(|a| grants.iter().any(|g| covers(g, a.as_str())))
            .cloned()
            .collect();
    }
    custom
        .iter()
        .find(|r| r.name == name)
        .map(|r| r.permissions.clone())
        .unwrap_or_default()
}

/// Every tenant action the roles `names` grant together, each once, in catalogue order.
pub fn actions_of_all<'a>(
    names: impl IntoIterator<Item = &'a String>,
    custom: &[Role],
) -> Vec<Action> {
    let mut all: Vec<Action> = Vec::new();
    for name in names {
        for action in actions_of(name, custom) {
            if !all.contains(&action) {
                all.push(action);
            }
        }
    }
    all.sort_by_key(|a| permissions::ALL.iter().position(|c| c == a));
    all
}

/// The tenant actions the caller holds now (asked, not audited).
pub async fn held(
    authorizer: &dyn Authorizer,
    principal: &Principal,
) -> Result<Vec<Action>, CoreError> {
    let mut held = Vec::new();
    for action in permissions::ALL
        .iter()
        .filter(|a| !permissions::PLATFORM.contains(a))
    {
        if authorizer
            .check(principal, action, &ResourceRef::any(resource_of(action)))
            .await?
            .allowed
        {
            held.push(action.clone());
        }
    }
    Ok(held)
}

fn resource_of(action: &Action) -> &str {
    action.as_str().split(':').next().unwrap_or("tenant")
}

/// Refuses (`Forbidden`, audited as `authz.denied`) unless the caller holds every action in
/// `granted`; `doing` says what the change would do, for the message ("grant the role
/// `admin`").
pub async fn ensure_holds(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    granted: &[Action],
    doing: &str,
) -> Result<(), CoreError> {
    for action in granted {
        let resource = ResourceRef::any(resource_of(action));
        if authorizer
            .check(principal, action, &resource)
            .await?
            .allowed
        {
            continue;
        }
        return Err(refuse(authorizer, principal, action, doing).await);
    }
    Ok(())
}

/// The audited refusal of a change that would hand out `action`.
pub async fn refuse(
    authorizer: &dyn Authorizer,
    principal: &Principal,
    action: &Action,
    doing: &str,
) -> CoreError {
    let resource = ResourceRef::any(resource_of(action));
    match authorizer.authorize(principal, action, &resource).await {
        // Granted in between (a role changed): refuse anyway; a retry will pass.
        Ok(()) => CoreError::Conflict(format!(
            "your roles changed while you tried to {doing}; try again"
        )),
        Err(CoreError::Forbidden(reason)) => CoreError::Forbidden(format!(
            "you cannot {doing}: it takes {action}, which you do not hold ({reason})"
        )),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use usvc_core::{RoleId, TenantId};

    fn custom(name: &str, actions: &[Action]) -> Role {
        Role {
            id: RoleId::new(),
            tenant_id: TenantId::new(),
            name: name.into(),
            description: String::new(),
            permissions: actions.to_vec(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn built_in_roles_expand_to_the_catalogue_and_custom_roles_to_their_list() {
        let owner = actions_of("owner", &[]);
        assert!(owner.contains(&permissions::USERS_MANAGE_OWNERS));
        assert!(
            !owner.contains(&permissions::TENANTS_MANAGE),
            "no role carries the platform grant"
        );
        let admin = actions_of("admin", &[]);
        assert!(admin.contains(&permissions::AUDIT_READ));
        assert!(!admin.contains(&permissions::USERS_MANAGE_OWNERS));
        assert_eq!(actions_of("viewer", &[]).len(), 4);
        let auditor = custom("auditor", &[permissions::AUDIT_READ]);
        assert_eq!(
            actions_of("auditor", std::slice::from_ref(&auditor)),
            [permissions::AUDIT_READ]
        );
        assert!(actions_of("nobody", std::slice::from_ref(&auditor)).is_empty());
        let both = actions_of_all(&["viewer".to_owned(), "auditor".to_owned()], &[auditor]);
        assert_eq!(both.len(), 5);
        assert_eq!(both[0], permissions::USERS_READ, "catalogue order");
    }
}
