//! Version history: every change of a project is kept as a full snapshot with the fields it
//! changed, who and when. History is read-only; a restore writes a new version with an old
//! version's fields, so nothing that happened is ever rewritten.

use serde_json::json;
use usvc_core::{
    permissions, CoreError, Page, PageRequest, Principal, Project, ProjectId, ProjectStatus,
    ProjectVersion,
};

use crate::diff::{diff, FieldChange};
use crate::service::{check_version, events, ProjectService};
use usvc_core::ProjectFields;

fn no_version(version: i64) -> CoreError {
    CoreError::NotFound(format!("project version {version}"))
}

impl ProjectService {
    /// The project's history, newest first, a page at a time (`projects:read` on it).
    pub async fn versions(
        &self,
        principal: &Principal,
        id: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ProjectVersion>, CoreError> {
        self.allowed(principal, &permissions::PROJECTS_READ, id)
            .await?;
        self.ports
            .projects
            .versions(principal.tenant, id, page)
            .await
    }

    /// One version of the project (`projects:read` on it).
    pub async fn version(
        &self,
        principal: &Principal,
        id: ProjectId,
        version: i64,
    ) -> Result<ProjectVersion, CoreError> {
        self.allowed(principal, &permissions::PROJECTS_READ, id)
            .await?;
        self.load_version(principal, id, version).await
    }

    /// What changed from version `against` to version `version`, field by field.
    pub async fn diff(
        &self,
        principal: &Principal,
        id: ProjectId,
        version: i64,
        against: i64,
    ) -> Result<Vec<FieldChange>, CoreError> {
        self.allowed(principal, &permissions::PROJECTS_READ, id)
            .await?;
        let newer = self.load_version(principal, id, version).await?;
        let older = self.load_version(principal, id, against).await?;
        Ok(diff(&older.snapshot, &newer.snapshot))
    }

    /// Sets the project's editable fields (name, description, visibility, tags, settings)
    /// back to those of `version`, as a new version (`projects:write` on it). Status, owner
    /// and members are not part of a restore: they have their own endpoints. Honours
    /// `expected_version` like any change; an archived project must be unarchived first.
    pub async fn restore(
        &self,
        principal: &Principal,
        id: ProjectId,
        version: i64,
        expected_version: Option<i64>,
    ) -> Result<Project, CoreError> {
        let current = self
            .allowed(principal, &permissions::PROJECTS_WRITE, id)
            .await?;
        check_version(&current, expected_version)?;
        let old = self.load_version(principal, id, version).await?;
        if current.status == ProjectStatus::Archived {
            return Err(CoreError::Conflict(
                "the project is archived; unarchive it to restore a version".into(),
            ));
        }
        let was = old.snapshot;
        let mut next = current.clone();
        let changed = ProjectFields::of(&was).apply(&mut next)?;
        if changed.is_empty() {
            return Ok(current);
        }
        self.may_change_visibility(principal, &current, &next)
            .await?;
        let visibility_before = current.visibility;
        let next = self
            .save_with(
                principal,
                current,
                next,
                &changed,
                events::RESTORED,
                json!({ "restored_from": version }),
            )
            .await?;
        if next.visibility != visibility_before {
            self.ports.access.invalidate(&id).await?;
        }
        Ok(next)
    }

    async fn load_version(
        &self,
        principal: &Principal,
        id: ProjectId,
        version: i64,
    ) -> Result<ProjectVersion, CoreError> {
        self.ports
            .projects
            .version(principal.tenant, id, version)
            .await?
            .ok_or_else(|| no_version(version))
    }
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::{MockProjectAccess, MockProjectRepository};
    use usvc_core::Visibility;

    use super::*;
    use crate::service::tests::{authorizer, caller, stored, with_access};

    #[tokio::test]
    async fn restoring_writes_a_new_version_with_the_old_fields() {
        let ada = caller(&["member"]);
        let current = stored(&ada, "Apollo 11");
        let id = current.id;
        let mut old = current.clone();
        old.name = "Apollo".into();
        old.visibility = Visibility::Private;
        old.version = 1;
        let mut projects = MockProjectRepository::new();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(current.clone())));
        projects.expect_version().returning(move |_, _, v| {
            Ok((v == 1).then(|| ProjectVersion {
                project_id: id,
                version: 1,
                snapshot: old.clone(),
                changed: vec!["created".into()],
                actor: None,
                at: chrono::Utc::now(),
            }))
        });
        projects
            .expect_update()
            .withf(|next, expected, entry, audit| {
                *expected == 3
                    && next.version == 4
                    && next.name == "Apollo"
                    && entry.changed == ["name", "visibility"]
                    && audit.action == events::RESTORED
                    && audit.details["restored_from"] == 1
            })
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        let service = with_access(
            projects,
            // The old version is private: restoring it decides who reads the project.
            authorizer(&[
                permissions::PROJECTS_READ,
                permissions::PROJECTS_WRITE,
                permissions::PROJECTS_MANAGE_MEMBERS,
            ]),
            MockProjectAccess::new(),
        );
        let restored = service
            .restore(&ada, id, 1, Some(3))
            .await
            .expect("restored");
        assert_eq!(
            (restored.version, restored.visibility),
            (4, Visibility::Private)
        );
        assert_eq!(service.restore(&ada, id, 9, None).await, Err(no_version(9)));
        assert!(matches!(
            service.restore(&ada, id, 1, Some(2)).await,
            Err(CoreError::PreconditionFailed(_))
        ));
    }
}
