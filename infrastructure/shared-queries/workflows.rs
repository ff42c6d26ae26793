//! `WorkflowRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::WorkflowRepository;
use usvc_core::{
    AuditEntry, CoreError, Page, PageRequest, TenantId, UserId, Workflow, WorkflowId,
    WorkflowStatus, WorkflowTrigger, WorkflowVersion,
};
use uuid::Uuid;

use crate::backend::{begin_write, row_lock, DbId};
use crate::errors;
use crate::outbox;
use crate::schema::{workflow_versions, workflows};
use crate::store::Store;
use crate::triggers;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = workflows)]
struct WorkflowRow {
    id: DbId,
    tenant_id: DbId,
    name: String,
    status: String,
    version: i64,
    created_by: Option<DbId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    deleted_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_versions)]
struct VersionRow {
    workflow_id: DbId,
    version: i64,
    tenant_id: DbId,
    definition: serde_json::Value,
    created_by: Option<DbId>,
    created_at: DateTime<Utc>,
}

impl WorkflowRow {
    fn of(w: &Workflow) -> Self {
        Self {
            id: DbId::from(w.id.as_uuid()),
            tenant_id: DbId::from(w.tenant_id.as_uuid()),
            name: w.name.clone(),
            status: w.status.as_str().to_owned(),
            version: w.version,
            created_by: w.created_by.map(|u| DbId::from(u.as_uuid())),
            created_at: w.created_at,
            updated_at: w.updated_at,
            deleted_at: None,
        }
    }

    fn into_workflow(self, definition: serde_json::Value) -> Result<Workflow, CoreError> {
        Ok(Workflow {
            id: WorkflowId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            name: self.name,
            status: self
                .status
                .parse()
                .map_err(|_| CoreError::Internal("stored workflow status".into()))?,
            version: self.version,
            definition,
            created_by: self.created_by.map(|u| UserId::from_uuid(Uuid::from(u))),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl VersionRow {
    /// The version row `workflow` is saved as, by `by` at its `updated_at`.
    fn of(w: &Workflow, by: Option<UserId>) -> Self {
        Self {
            workflow_id: DbId::from(w.id.as_uuid()),
            version: w.version,
            tenant_id: DbId::from(w.tenant_id.as_uuid()),
            definition: w.definition.clone(),
            created_by: by.map(|u| DbId::from(u.as_uuid())),
            created_at: w.updated_at,
        }
    }

    fn into_version(self) -> WorkflowVersion {
        WorkflowVersion {
            workflow_id: WorkflowId::from_uuid(Uuid::from(self.workflow_id)),
            version: self.version,
            definition: self.definition,
            created_by: self.created_by.map(|u| UserId::from_uuid(Uuid::from(u))),
            created_at: self.created_at,
        }
    }
}

/// Live workflows joined with their current version's definition.
macro_rules! current {
    () => {
        workflows::table
            .inner_join(
                workflow_versions::table.on(workflow_versions::workflow_id
                    .eq(workflows::id)
                    .and(workflow_versions::version.eq(workflows::version))),
            )
            .filter(workflows::deleted_at.is_null())
            .select((WorkflowRow::as_select(), workflow_versions::definition))
    };
}

#[async_trait]
impl WorkflowRepository for Store {
    async fn create(
        &self,
        workflow: &Workflow,
        triggers: &[WorkflowTrigger],
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let row = WorkflowRow::of(workflow);
        let version = VersionRow::of(workflow, workflow.created_by);
        let audit = audit.clone();
        let triggers = triggers::rows(workflow, triggers, workflow.updated_at);
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(workflows::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    diesel::insert_into(workflow_versions::table)
                        .values(&version)
                        .execute(conn)
                        .await?;
                    triggers::replace(conn, row.id, triggers).await?;
                    outbox::record(conn, std::slice::from_ref(&audit)).await
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: WorkflowId) -> Result<Option<Workflow>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let row: Option<(WorkflowRow, serde_json::Value)> = self
            .run(move |conn| {
                Box::pin(async move {
                    current!()
                        .filter(workflows::tenant_id.eq(tenant))
                        .filter(workflows::id.eq(id))
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        row.map(|(w, definition)| w.into_workflow(definition))
            .transpose()
    }

    async fn list(&self, tenant: TenantId, page: PageRequest) -> Result<Page<Workflow>, CoreError> {
        let after = page.after_position::<Uuid>()?.map(DbId::from);
        let tenant = DbId::from(tenant.as_uuid());
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<(WorkflowRow, serde_json::Value)> = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = current!()
                        .filter(workflows::tenant_id.eq(tenant))
                        .order(workflows::id.asc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(after) = after {
                        query = query.filter(workflows::id.gt(after));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows
            .into_iter()
            .map(|(w, definition)| w.into_workflow(definition))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |w: &Workflow| {
            w.id.to_string()
        }))
    }

    async fn update(
        &self,
        workflow: &Workflow,
        expected_version: i64,
        triggers: &[WorkflowTrigger],
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let row = WorkflowRow::of(workflow);
        let version = VersionRow::of(workflow, audit.actor.user());
        let audit = audit.clone();
        let triggers = triggers::rows(workflow, triggers, workflow.updated_at);
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let updated = diesel::update(
                        workflows::table
                            .filter(workflows::tenant_id.eq(row.tenant_id))
                            .filter(workflows::id.eq(row.id))
                            .filter(workflows::deleted_at.is_null())
                            .filter(workflows::version.eq(expected_version)),
                    )
                    .set((
                        workflows::name.eq(&row.name),
                        workflows::version.eq(row.version),
                        workflows::updated_at.eq(row.updated_at),
                    ))
                    .execute(conn)
                    .await?;
                    if updated == 0 {
                        return Ok(false);
                    }
                    diesel::insert_into(workflow_versions::table)
                        .values(&version)
                        .execute(conn)
                        .await?;
                    triggers::replace(conn, row.id, triggers).await?;
                    outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn set_status(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        status: WorkflowStatus,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let (audit, at) = (audit.clone(), audit.at);
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    // SQLite: the write lock first, as the read below would otherwise have to
                    // upgrade (and fail at once against another process's write).
                    begin_write(conn).await?;
                    let was: Option<String> = row_lock!(workflows::table
                        .filter(workflows::tenant_id.eq(tenant))
                        .filter(workflows::id.eq(id))
                        .select(workflows::status))
                    .first(conn)
                    .await
                    .optional()?;
                    let updated = diesel::update(
                        workflows::table
                            .filter(workflows::tenant_id.eq(tenant))
                            .filter(workflows::id.eq(id))
                            .filter(workflows::deleted_at.is_null()),
                    )
                    .set((
                        workflows::status.eq(status.as_str()),
                        workflows::updated_at.eq(at),
                    ))
                    .execute(conn)
                    .await?;
                    if updated == 0 {
                        return Ok(false);
                    }
                    if was.as_deref() == Some("paused") && status == WorkflowStatus::Active {
                        triggers::resume(conn, id, at).await?;
                    }
                    outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn delete(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let (audit, at) = (audit.clone(), audit.at);
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let deleted = diesel::update(
                        workflows::table
                            .filter(workflows::tenant_id.eq(tenant))
                            .filter(workflows::id.eq(id))
                            .filter(workflows::deleted_at.is_null()),
                    )
                    .set(workflows::deleted_at.eq(Some(at)))
                    .execute(conn)
                    .await?;
                    if deleted == 0 {
                        return Ok(false);
                    }
                    outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn versions(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        page: PageRequest,
    ) -> Result<Page<WorkflowVersion>, CoreError> {
        let before = page.after_position::<i64>()?;
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<VersionRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = workflow_versions::table
                        .filter(workflow_versions::tenant_id.eq(tenant))
                        .filter(workflow_versions::workflow_id.eq(id))
                        .select(VersionRow::as_select())
                        .order(workflow_versions::version.desc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(before) = before {
                        query = query.filter(workflow_versions::version.lt(before));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows.into_iter().map(VersionRow::into_version).collect();
        Ok(Page::from_overfetch(
            items,
            page.limit,
            |v: &WorkflowVersion| v.version.to_string(),
        ))
    }

    async fn version(
        &self,
        tenant: TenantId,
        id: WorkflowId,
        version: i64,
    ) -> Result<Option<WorkflowVersion>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let row: Option<VersionRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    workflow_versions::table
                        .filter(workflow_versions::tenant_id.eq(tenant))
                        .filter(workflow_versions::workflow_id.eq(id))
                        .filter(workflow_versions::version.eq(version))
                        .select(VersionRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(row.map(VersionRow::into_version))
    }
}
