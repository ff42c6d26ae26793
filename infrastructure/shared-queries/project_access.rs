//! `ProjectAccess`: a project's visibility and member roles in two indexed reads (compiled
//! into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::{ProjectAccess, ProjectAccessList};
use usvc_core::{CoreError, ProjectId, ProjectMember, TenantId, UserId};
use uuid::Uuid;

use crate::backend::DbId;
use crate::errors;
use crate::schema::{project_members, projects};
use crate::store::Store;

#[async_trait]
impl ProjectAccess for Store {
    async fn access_list(
        &self,
        tenant: TenantId,
        project: ProjectId,
    ) -> Result<Option<ProjectAccessList>, CoreError> {
        let (tenant, project) = (DbId::from(tenant.as_uuid()), DbId::from(project.as_uuid()));
        let owner_tenant = tenant;
        let found = self
            .run(move |conn| {
                Box::pin(async move {
                    let visibility: Option<String> = projects::table
                        .filter(projects::tenant_id.eq(tenant))
                        .filter(projects::id.eq(project))
                        .filter(projects::deleted_at.is_null())
                        .select(projects::visibility)
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)?;
                    let Some(visibility) = visibility else {
                        return Ok(None);
                    };
                    let members: Vec<(DbId, String, DateTime<Utc>)> = project_members::table
                        .filter(project_members::tenant_id.eq(tenant))
                        .filter(project_members::project_id.eq(project))
                        .select((
                            project_members::user_id,
                            project_members::role,
                            project_members::added_at,
                        ))
                        .order(project_members::added_at.asc())
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    Ok(Some((visibility, members)))
                })
            })
            .await?;
        let Some((visibility, members)) = found else {
            return Ok(None);
        };
        let stored = |what: &str| CoreError::Internal(format!("stored project {what}"));
        let mut members = members
            .into_iter()
            .map(|(user, role, added_at)| {
                Ok(ProjectMember {
                    project_id: ProjectId::from_uuid(Uuid::from(project)),
                    user_id: UserId::from_uuid(Uuid::from(user)),
                    role: role.parse().map_err(|_| stored("role"))?,
                    added_at,
                })
            })
            .collect::<Result<Vec<_>, CoreError>>()?;
        // Stable: members of one role stay in the order they joined.
        members.sort_by_key(|m| m.role);
        Ok(Some(ProjectAccessList {
            tenant: TenantId::from_uuid(Uuid::from(owner_tenant)),
            visibility: visibility.parse().map_err(|_| stored("visibility"))?,
            members,
        }))
    }
}
