//! The catalogue of actions every domain checks, and the answer to "may I?".
//!
//! One list in one place: the built-in roles map onto it, custom roles (a later issue) pick
//! from it, and `POST /api/v1/authz/check` answers questions phrased in it.

use serde::Serialize;

use crate::Action;

/// The reason an [`Authorizer`](crate::ports::Authorizer) gives when the project asked about
/// does not exist (in the caller's tenant): callers tell "gone" from "not yours" by it.
pub const NO_SUCH_PROJECT: &str = "there is no such project";

/// See users' profiles (the directory, lookups).
pub const USERS_READ: Action = Action::from_static("users:read");
/// Create users and change their profile, roles or status.
pub const USERS_WRITE: Action = Action::from_static("users:write");
/// Erase users.
pub const USERS_DELETE: Action = Action::from_static("users:delete");
/// Bulk-create users.
pub const USERS_IMPORT: Action = Action::from_static("users:import");
/// Grant or take the `owner` role, or change, disable or delete an owner.
pub const USERS_MANAGE_OWNERS: Action = Action::from_static("users:manage_owners");
/// Define custom roles.
pub const ROLES_MANAGE: Action = Action::from_static("roles:manage");
/// See the caller's tenant and its settings.
pub const TENANT_READ: Action = Action::from_static("tenant:read");
/// Change the caller's tenant's settings.
pub const TENANT_WRITE: Action = Action::from_static("tenant:write");
/// Read tenant analytics.
pub const ANALYTICS_READ: Action = Action::from_static("analytics:read");
/// Read the audit log.
pub const AUDIT_READ: Action = Action::from_static("audit:read");
/// Create projects.
pub const PROJECTS_CREATE: Action = Action::from_static("projects:create");
/// Read projects.
pub const PROJECTS_READ: Action = Action::from_static("projects:read");
/// Change projects.
pub const PROJECTS_WRITE: Action = Action::from_static("projects:write");
/// Delete projects.
pub const PROJECTS_DELETE: Action = Action::from_static("projects:delete");
/// Add and remove project members.
pub const PROJECTS_MANAGE_MEMBERS: Action = Action::from_static("projects:manage_members");
/// Read workflows and their runs.
pub const WORKFLOWS_READ: Action = Action::from_static("workflows:read");
/// Define and change workflows.
pub const WORKFLOWS_WRITE: Action = Action::from_static("workflows:write");
/// Start workflow runs.
pub const WORKFLOWS_EXECUTE: Action = Action::from_static("workflows:execute");
/// Complete human tasks of workflow runs.
pub const TASKS_COMPLETE: Action = Action::from_static("tasks:complete");
/// Register, change and remove the tenant's OAuth clients (docs/oidc.md).
pub const CLIENTS_MANAGE: Action = Action::from_static("clients:manage");

/// Create, list, change and disable tenants: a platform grant (held by the bootstrap admin,
/// given with `user-service admin grant-platform`), never part of a tenant role.
pub const TENANTS_MANAGE: Action = Action::from_static("tenants:manage");

/// The platform-level actions: no tenant role, built-in or custom, grants them.
pub const PLATFORM: [Action; 1] = [TENANTS_MANAGE];

/// Every action, for listings and for validating custom roles.
pub const ALL: [Action; 21] = [
    USERS_READ,
    USERS_WRITE,
    USERS_DELETE,
    USERS_IMPORT,
    USERS_MANAGE_OWNERS,
    ROLES_MANAGE,
    TENANT_READ,
    TENANT_WRITE,
    ANALYTICS_READ,
    AUDIT_READ,
    PROJECTS_CREATE,
    PROJECTS_READ,
    PROJECTS_WRITE,
    PROJECTS_DELETE,
    PROJECTS_MANAGE_MEMBERS,
    WORKFLOWS_READ,
    WORKFLOWS_WRITE,
    WORKFLOWS_EXECUTE,
    TASKS_COMPLETE,
    CLIENTS_MANAGE,
    TENANTS_MANAGE,
];

/// What each project role grants on its project.
static OWNER_GRANTS: [Action; 4] = [
    PROJECTS_READ,
    PROJECTS_WRITE,
    PROJECTS_DELETE,
    PROJECTS_MANAGE_MEMBERS,
];
static MAINTAINER_GRANTS: [Action; 3] = [PROJECTS_READ, PROJECTS_WRITE, PROJECTS_MANAGE_MEMBERS];
static EDITOR_GRANTS: [Action; 2] = [PROJECTS_READ, PROJECTS_WRITE];
static VIEWER_GRANTS: [Action; 1] = [PROJECTS_READ];

/// What a role on one project grants on that project, whatever the holder's tenant roles.
pub fn project_role_grants(role: crate::ProjectRole) -> &'static [Action] {
    match role {
        crate::ProjectRole::Owner => &OWNER_GRANTS,
        crate::ProjectRole::Maintainer => &MAINTAINER_GRANTS,
        crate::ProjectRole::Editor => &EDITOR_GRANTS,
        crate::ProjectRole::Viewer => &VIEWER_GRANTS,
    }
}

/// An authorization answer with its explanation (which role granted it, or why not), so a
/// refusal can be understood without reading code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why, in words (`granted by role admin`, `no role of yours grants users:write`).
    pub reason: String,
}

impl Decision {
    /// Allowed, because of `reason`.
    pub fn allow(reason: impl Into<String>) -> Self {
        Self {
            allowed: true,
            reason: reason.into(),
        }
    }

    /// Refused, because of `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_well_formed_and_has_no_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for action in &ALL {
            assert!(Action::parse(action.as_str()).is_ok(), "{action}");
            assert!(seen.insert(action.as_str()), "{action} twice");
        }
    }
}
