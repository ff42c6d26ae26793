//! Collaboration: who is on a project and with which project role. Membership is what the
//! authorizer's resource-scoped grants read, so every change here drops the project's
//! `project-access` entry on every replica before it answers.

use serde_json::json;
use usvc_core::ports::ProjectAccessList;
use usvc_core::{
    permissions, AuditEntry, CoreError, Principal, ProjectId, ProjectMember, ProjectRole, UserId,
};

use crate::service::{events, project_ref, ProjectService};

fn no_member() -> CoreError {
    CoreError::NotFound("project member".into())
}

impl ProjectService {
    /// The project's members, strongest role first, from the `project-access` cache (anyone
    /// who may read the project may see who is on it).
    pub async fn members(
        &self,
        principal: &Principal,
        id: ProjectId,
    ) -> Result<Vec<ProjectMember>, CoreError> {
        self.allowed(principal, &permissions::PROJECTS_READ, id)
            .await?;
        Ok(self.access_list(principal, id).await?.members)
    }

    /// Adds a user of the tenant to the project (`projects:manage_members` on it). Making
    /// someone an `owner` takes the owner's own powers.
    pub async fn add_member(
        &self,
        principal: &Principal,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
    ) -> Result<ProjectMember, CoreError> {
        let project = self
            .allowed(principal, &permissions::PROJECTS_MANAGE_MEMBERS, id)
            .await?;
        self.may_hand_out(principal, id, role).await?;
        let member = ProjectMember {
            project_id: id,
            user_id: user,
            role,
            added_at: self.now(),
        };
        let details = json!({ "user_id": user, "role": role });
        let audit = AuditEntry::by(principal, events::MEMBER_ADDED, member.added_at)
            .on(project_ref(id))
            .details(details.clone());
        self.ports
            .projects
            .add_member(principal.tenant, &member, &audit)
            .await?;
        self.membership_changed(project.id).await?;
        Ok(member)
    }

    /// Changes a member's project role (`projects:manage_members` on it). Granting or taking
    /// the `owner` role takes the owner's own powers; the owner of record keeps it (transfer
    /// ownership first).
    pub async fn set_member_role(
        &self,
        principal: &Principal,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
    ) -> Result<ProjectMember, CoreError> {
        let project = self
            .allowed(principal, &permissions::PROJECTS_MANAGE_MEMBERS, id)
            .await?;
        let list = self.access_list(principal, id).await?;
        let mut member = list
            .members
            .into_iter()
            .find(|m| m.user_id == user)
            .ok_or_else(no_member)?;
        let before = member.role;
        if before == role {
            return Ok(member);
        }
        let touches_owner = before == ProjectRole::Owner || role == ProjectRole::Owner;
        self.may_hand_out(principal, id, before).await?;
        self.may_hand_out(principal, id, role).await?;
        // The role above came from a cache; the store re-checks it under the project's lock.
        let owner_powers = touches_owner || self.may_touch_owners(principal, id).await?;
        let details = json!({ "user_id": user, "from": before, "to": role });
        let audit = AuditEntry::by(principal, events::MEMBER_ROLE_CHANGED, self.now())
            .on(project_ref(id))
            .details(details.clone());
        let changed = self
            .ports
            .projects
            .set_member_role(principal.tenant, id, user, role, owner_powers, &audit)
            .await?;
        if !changed {
            // The cached list was behind the store: drop it.
            self.ports.access.invalidate(&id).await?;
            return Err(no_member());
        }
        self.membership_changed(project.id).await?;
        member.role = role;
        Ok(member)
    }

    /// Removes a member (`projects:manage_members` on the project). Members may always leave
    /// on their own; removing an owner takes the owner's powers, and the owner of record
    /// stays (transfer ownership first).
    pub async fn remove_member(
        &self,
        principal: &Principal,
        id: ProjectId,
        user: UserId,
    ) -> Result<(), CoreError> {
        let leaving = user == principal.user;
        let needs = if leaving {
            permissions::PROJECTS_READ
        } else {
            permissions::PROJECTS_MANAGE_MEMBERS
        };
        let project = self.allowed(principal, &needs, id).await?;
        let list = self.access_list(principal, id).await?;
        let role = list.role_of(user).ok_or_else(no_member)?;
        let touches_owner = role == ProjectRole::Owner && !leaving;
        if !leaving {
            self.may_hand_out(principal, id, role).await?;
        }
        let owner_powers = leaving || touches_owner || self.may_touch_owners(principal, id).await?;
        let details = json!({ "user_id": user, "role": role });
        let audit = AuditEntry::by(principal, events::MEMBER_REMOVED, self.now())
            .on(project_ref(id))
            .details(details.clone());
        let removed = self
            .ports
            .projects
            .remove_member(principal.tenant, id, user, owner_powers, &audit)
            .await?;
        if !removed {
            self.ports.access.invalidate(&id).await?;
            return Err(no_member());
        }
        self.membership_changed(project.id).await
    }

    /// The project's access list through the `project-access` cache.
    async fn access_list(
        &self,
        principal: &Principal,
        id: ProjectId,
    ) -> Result<ProjectAccessList, CoreError> {
        let (lists, tenant) = (self.ports.access_lists.clone(), principal.tenant);
        let list = self
            .ports
            .access
            .get_or_load(
                id,
                Box::pin(async move {
                    lists
                        .access_list(tenant, id)
                        .await?
                        .ok_or_else(crate::service::not_found)
                }),
            )
            .await?;
        // Keyed by project id alone: the tenant check keeps the wall intact.
        if list.tenant == principal.tenant {
            Ok(list)
        } else {
            Err(crate::service::not_found())
        }
    }

    /// Giving or taking project role `role` takes holding, on the project, everything it
    /// grants: a maintainer manages maintainers, editors and viewers; a tenant role that only
    /// manages members cannot make anyone an editor. `owner` takes [`Self::owner_powers`] as
    /// well as everything it grants.
    async fn may_hand_out(
        &self,
        principal: &Principal,
        id: ProjectId,
        role: ProjectRole,
    ) -> Result<(), CoreError> {
        if role == ProjectRole::Owner {
            self.owner_powers(principal, id).await?;
        }
        let authorizer = &self.ports.authorizer;
        for action in permissions::project_role_grants(role) {
            if authorizer
                .check(principal, action, &project_ref(id))
                .await?
                .allowed
            {
                continue;
            }
            return match authorizer
                .authorize(principal, action, &project_ref(id))
                .await
            {
                Err(CoreError::Forbidden(reason)) => Err(CoreError::Forbidden(format!(
                    "you cannot give or take the project role {role}: it grants {action}, which you do not hold on this project ({reason})"
                ))),
                Err(e) => Err(e),
                Ok(()) => Err(CoreError::Conflict(
                    "your roles changed meanwhile; try again".into(),
                )),
            };
        }
        Ok(())
    }

    /// Granting, changing or taking the `owner` role is for those who could delete the
    /// project: its owners and the tenant's admins. Refusals are audited like any other.
    async fn owner_powers(&self, principal: &Principal, id: ProjectId) -> Result<(), CoreError> {
        match self
            .ports
            .authorizer
            .authorize(principal, &permissions::PROJECTS_DELETE, &project_ref(id))
            .await
        {
            Err(CoreError::Forbidden(reason)) => Err(CoreError::Forbidden(format!(
                "only the project's owners and tenant admins grant or take the owner role ({reason})"
            ))),
            other => other,
        }
    }

    /// Whether the caller may read the project (asked, not enforced: no refusal is recorded).
    pub async fn may_read(&self, principal: &Principal, id: ProjectId) -> Result<bool, CoreError> {
        Ok(self
            .ports
            .authorizer
            .check(principal, &permissions::PROJECTS_READ, &project_ref(id))
            .await?
            .allowed)
    }

    /// Whether the caller holds the owner's powers on the project (asked, not enforced: no
    /// refusal is recorded).
    pub(crate) async fn may_touch_owners(
        &self,
        principal: &Principal,
        id: ProjectId,
    ) -> Result<bool, CoreError> {
        Ok(self
            .ports
            .authorizer
            .check(principal, &permissions::PROJECTS_DELETE, &project_ref(id))
            .await?
            .allowed)
    }

    /// Drops the project's access list everywhere, then announces the change.
    async fn membership_changed(&self, id: ProjectId) -> Result<(), CoreError> {
        self.ports.access.invalidate(&id).await?;
        self.announce();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::{MockProjectAccess, MockProjectRepository};
    use usvc_core::{ProjectId, TenantId, Visibility};

    use super::*;
    use crate::service::tests::{authorizer, caller, stored, with_access};

    fn listed(
        tenant: TenantId,
        id: ProjectId,
        members: &[(UserId, ProjectRole)],
    ) -> MockProjectAccess {
        let members: Vec<ProjectMember> = members
            .iter()
            .map(|(user, role)| ProjectMember {
                project_id: id,
                user_id: *user,
                role: *role,
                added_at: chrono::Utc::now(),
            })
            .collect();
        let mut access = MockProjectAccess::new();
        access.expect_access_list().returning(move |_, _| {
            Ok(Some(ProjectAccessList {
                tenant,
                visibility: Visibility::Tenant,
                members: members.clone(),
            }))
        });
        access
    }

    #[tokio::test]
    async fn maintainers_manage_members_below_owner_and_only_owners_touch_the_owner_role() {
        let maintainer = caller(&["member"]);
        let project = stored(&maintainer, "Apollo");
        let (id, owner, editor) = (project.id, UserId::new(), UserId::new());
        let mut projects = MockProjectRepository::new();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(project.clone())));
        projects
            .expect_add_member()
            .withf(move |_, m, audit| {
                m.role == ProjectRole::Editor && audit.action == events::MEMBER_ADDED
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        projects.expect_set_member_role().never();
        projects.expect_remove_member().never();
        let service = with_access(
            projects,
            authorizer(&[
                permissions::PROJECTS_READ,
                permissions::PROJECTS_WRITE,
                permissions::PROJECTS_MANAGE_MEMBERS,
            ]),
            listed(
                maintainer.tenant,
                id,
                &[
                    (owner, ProjectRole::Owner),
                    (maintainer.user, ProjectRole::Maintainer),
                    (editor, ProjectRole::Editor),
                ],
            ),
        );
        let added = service
            .add_member(&maintainer, id, UserId::new(), ProjectRole::Editor)
            .await
            .expect("an editor may be added by a maintainer");
        assert_eq!(added.role, ProjectRole::Editor);
        for refused in [
            service
                .add_member(&maintainer, id, UserId::new(), ProjectRole::Owner)
                .await
                .map(|_| ()),
            service
                .set_member_role(&maintainer, id, editor, ProjectRole::Owner)
                .await
                .map(|_| ()),
            service
                .set_member_role(&maintainer, id, owner, ProjectRole::Viewer)
                .await
                .map(|_| ()),
            service.remove_member(&maintainer, id, owner).await,
        ] {
            assert!(
                matches!(refused, Err(CoreError::Forbidden(_))),
                "{refused:?}"
            );
        }
        assert_eq!(
            service
                .set_member_role(&maintainer, id, UserId::new(), ProjectRole::Viewer)
                .await,
            Err(no_member())
        );
    }

    #[tokio::test]
    async fn anyone_may_leave_and_member_lists_of_other_tenants_are_not_found() {
        let viewer = caller(&["viewer"]);
        let project = stored(&viewer, "Apollo");
        let id = project.id;
        let mut projects = MockProjectRepository::new();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(project.clone())));
        projects
            .expect_remove_member()
            .withf(|_, _, _, powers, audit| *powers && audit.action == events::MEMBER_REMOVED)
            .times(1)
            .returning(|_, _, _, _, _| Ok(true));
        let service = with_access(
            projects,
            authorizer(&[permissions::PROJECTS_READ]),
            listed(viewer.tenant, id, &[(viewer.user, ProjectRole::Viewer)]),
        );
        assert_eq!(service.members(&viewer, id).await.expect("list").len(), 1);
        service
            .remove_member(&viewer, id, viewer.user)
            .await
            .expect("a viewer may leave");
        let stranger = caller(&["owner"]);
        assert!(matches!(
            service.members(&stranger, id).await,
            Err(CoreError::NotFound(_))
        ));
    }
}
