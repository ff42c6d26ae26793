//! `ProjectAccess`: projects' visibility and member roles, two indexed reads for one project
//! or for many (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::{ProjectAccess, ProjectAccessList};
use usvc_core::{CoreError, ProjectId, ProjectMember, ProjectRole, TenantId, UserId};
use uuid::Uuid;

use crate::backend::DbId;
use crate::errors;
use crate::schema::{project_members, projects};
use crate::store::Store;

/// `(project, visibility)` and `(project, user, role, added_at)` rows as read.
type Read = (
    Vec<(DbId, String)>,
    Vec<(DbId, DbId, String, DateTime<Utc>)>,
);

impl Store {
    /// The visibility and member rows of the tenant's live projects among `ids`.
    async fn read_access(&self, tenant: DbId, ids: Vec<DbId>) -> Result<Read, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                let visible: Vec<(DbId, String)> = projects::table
                    .filter(projects::tenant_id.eq(tenant))
                    .filter(projects::id.eq_any(ids))
                    .filter(projects::deleted_at.is_null())
                    .select((projects::id, projects::visibility))
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                if visible.is_empty() {
                    return Ok((visible, Vec::new()));
                }
                let found: Vec<DbId> = visible.iter().map(|(id, _)| *id).collect();
                let members = project_members::table
                    .filter(project_members::tenant_id.eq(tenant))
                    .filter(project_members::project_id.eq_any(found))
                    .select((
                        project_members::project_id,
                        project_members::user_id,
                        project_members::role,
                        project_members::added_at,
                    ))
                    .order(project_members::added_at.asc())
                    .load(conn)
                    .await
                    .map_err(errors::query)?;
                Ok((visible, members))
            })
        })
        .await
    }
}

/// Groups the rows into one access list per project.
fn lists(
    tenant: TenantId,
    (visible, members): Read,
) -> Result<Vec<(ProjectId, ProjectAccessList)>, CoreError> {
    let stored = |what: &str| CoreError::Internal(format!("stored project {what}"));
    let mut by_project: HashMap<DbId, Vec<ProjectMember>> = HashMap::new();
    for (project, user, role, added_at) in members {
        by_project.entry(project).or_default().push(ProjectMember {
            project_id: ProjectId::from_uuid(Uuid::from(project)),
            user_id: UserId::from_uuid(Uuid::from(user)),
            role: role.parse().map_err(|_| stored("role"))?,
            added_at,
        });
    }
    visible
        .into_iter()
        .map(|(project, visibility)| {
            let mut members = by_project.remove(&project).unwrap_or_default();
            // Stable: members of one role stay in the order they joined.
            members.sort_by_key(|m| m.role);
            Ok((
                ProjectId::from_uuid(Uuid::from(project)),
                ProjectAccessList {
                    tenant,
                    visibility: visibility.parse().map_err(|_| stored("visibility"))?,
                    members,
                },
            ))
        })
        .collect()
}

#[async_trait]
impl ProjectAccess for Store {
    async fn access_list(
        &self,
        tenant: TenantId,
        project: ProjectId,
    ) -> Result<Option<ProjectAccessList>, CoreError> {
        let read = self
            .read_access(
                DbId::from(tenant.as_uuid()),
                vec![DbId::from(project.as_uuid())],
            )
            .await?;
        Ok(lists(tenant, read)?.pop().map(|(_, list)| list))
    }

    async fn access_lists(
        &self,
        tenant: TenantId,
        projects: &[ProjectId],
    ) -> Result<Vec<(ProjectId, ProjectAccessList)>, CoreError> {
        let ids = projects.iter().map(|p| DbId::from(p.as_uuid())).collect();
        let read = self.read_access(DbId::from(tenant.as_uuid()), ids).await?;
        lists(tenant, read)
    }

    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(ProjectId, ProjectRole)>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let rows: Vec<(DbId, String)> = self
            .run(move |conn| {
                Box::pin(async move {
                    let live = projects::table
                        .filter(projects::tenant_id.eq(tenant))
                        .filter(projects::deleted_at.is_null())
                        .select(projects::id);
                    project_members::table
                        .filter(project_members::tenant_id.eq(tenant))
                        .filter(project_members::user_id.eq(user))
                        .filter(project_members::project_id.eq_any(live))
                        .select((project_members::project_id, project_members::role))
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter()
            .map(|(project, role)| {
                Ok((
                    ProjectId::from_uuid(Uuid::from(project)),
                    role.parse()
                        .map_err(|_| CoreError::Internal("stored project role".into()))?,
                ))
            })
            .collect()
    }
}
