use async_trait::async_trait;

use crate::{CoreError, ProjectId, ProjectMember, ProjectRole, TenantId, UserId, Visibility};

/// Who may reach one project: its visibility and its members' roles. The authorizer's source
/// of resource-scoped grants (a user's role on one project), cached per project and dropped on
/// every membership or visibility change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectAccessList {
    /// The project's tenant (the cache is keyed by project id alone).
    pub tenant: TenantId,
    /// Private projects exist only for their members.
    pub visibility: Visibility,
    /// Every member with their role, strongest role first (also what the member list
    /// endpoint answers, so one cache serves both).
    pub members: Vec<ProjectMember>,
}

impl ProjectAccessList {
    /// `user`'s role on the project, if a member.
    pub fn role_of(&self, user: UserId) -> Option<ProjectRole> {
        self.members
            .iter()
            .find(|member| member.user_id == user)
            .map(|member| member.role)
    }
}

/// Reads a project's access list (implemented by the project store).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectAccess: Send + Sync {
    /// The access list of a live project of the tenant; `None` if there is none.
    async fn access_list(
        &self,
        tenant: TenantId,
        project: ProjectId,
    ) -> Result<Option<ProjectAccessList>, CoreError>;

    /// `user`'s roles on the tenant's live projects (one read): the powers that changing
    /// their email would hand whoever then resets their password.
    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(ProjectId, ProjectRole)>, CoreError>;

    /// The access lists of the tenant's live projects among `projects`, in two reads however
    /// many (a bulk request primes the cache with them).
    async fn access_lists(
        &self,
        tenant: TenantId,
        projects: &[ProjectId],
    ) -> Result<Vec<(ProjectId, ProjectAccessList)>, CoreError>;
}
