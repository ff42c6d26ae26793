//! `TaskRepository` (compiled into each adapter against its own schema): human tasks read by
//! their assignees, and the helpers `executions.rs` uses to load and write an execution's
//! tasks inside its change transaction.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::TaskRepository;
use usvc_core::{
    CoreError, ExecutionId, Page, PageRequest, Task, TaskAudience, TaskId, TaskStatus, TenantId,
    UserId, WorkflowId,
};
use uuid::Uuid;

use crate::backend::{insert_all, row_lock, Connection, DbId};
use crate::errors;
use crate::schema::workflow_tasks;
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = workflow_tasks, treat_none_as_null = true)]
pub(crate) struct TaskRow {
    id: DbId,
    tenant_id: DbId,
    execution_id: DbId,
    workflow_id: DbId,
    step_id: String,
    attempt: i32,
    status: String,
    assignee_user: Option<DbId>,
    assignee_role: Option<String>,
    title: String,
    description: Option<String>,
    form: Option<serde_json::Value>,
    due_at: Option<DateTime<Utc>>,
    data: Option<serde_json::Value>,
    completed_by: Option<DbId>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TaskRow {
    fn of(t: &Task) -> Self {
        Self {
            id: DbId::from(t.id.as_uuid()),
            tenant_id: DbId::from(t.tenant_id.as_uuid()),
            execution_id: DbId::from(t.execution_id.as_uuid()),
            workflow_id: DbId::from(t.workflow_id.as_uuid()),
            step_id: t.step_id.clone(),
            attempt: t.attempt,
            status: t.status.as_str().to_owned(),
            assignee_user: t.assignee_user.map(|u| DbId::from(u.as_uuid())),
            assignee_role: t.assignee_role.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            form: t.form.clone(),
            due_at: t.due_at,
            data: t.data.clone(),
            completed_by: t.completed_by.map(|u| DbId::from(u.as_uuid())),
            completed_at: t.completed_at,
            created_at: t.created_at,
        }
    }

    pub(crate) fn into_task(self) -> Result<Task, CoreError> {
        Ok(Task {
            id: TaskId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            execution_id: ExecutionId::from_uuid(Uuid::from(self.execution_id)),
            workflow_id: WorkflowId::from_uuid(Uuid::from(self.workflow_id)),
            step_id: self.step_id,
            attempt: self.attempt,
            status: self
                .status
                .parse()
                .map_err(|_| CoreError::Internal("stored task status".into()))?,
            assignee_user: self.assignee_user.map(|u| UserId::from_uuid(Uuid::from(u))),
            assignee_role: self.assignee_role,
            title: self.title,
            description: self.description,
            form: self.form,
            due_at: self.due_at,
            data: self.data,
            completed_by: self.completed_by.map(|u| UserId::from_uuid(Uuid::from(u))),
            completed_at: self.completed_at,
            created_at: self.created_at,
        })
    }
}

/// An execution's open tasks (locked, when the caller will change them).
#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
pub(crate) async fn load_open(
    conn: &mut Connection,
    execution: DbId,
    lock: bool,
) -> Result<Vec<TaskRow>, diesel::result::Error> {
    let query = workflow_tasks::table
        .filter(workflow_tasks::execution_id.eq(execution))
        .filter(workflow_tasks::status.eq("open"))
        .order(workflow_tasks::id.asc())
        .select(TaskRow::as_select());
    if lock {
        row_lock!(query).load(conn).await
    } else {
        query.load(conn).await
    }
}

/// Writes the tasks a change added (inserted) or changed (updated).
pub(crate) async fn write(
    conn: &mut Connection,
    before: &[Task],
    after: &[Task],
) -> Result<(), diesel::result::Error> {
    let old: HashMap<TaskId, &Task> = before.iter().map(|t| (t.id, t)).collect();
    let mut added = Vec::new();
    for task in after {
        match old.get(&task.id) {
            None => added.push(TaskRow::of(task)),
            Some(was) if *was != task => {
                diesel::update(
                    workflow_tasks::table
                        .filter(workflow_tasks::id.eq(DbId::from(task.id.as_uuid()))),
                )
                .set(&TaskRow::of(task))
                .execute(conn)
                .await?;
            }
            Some(_) => {}
        }
    }
    insert_all!(conn, workflow_tasks::table, added);
    Ok(())
}

#[async_trait]
impl TaskRepository for Store {
    async fn get(&self, tenant: TenantId, id: TaskId) -> Result<Option<Task>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let row: Option<TaskRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    workflow_tasks::table
                        .filter(workflow_tasks::tenant_id.eq(tenant))
                        .filter(workflow_tasks::id.eq(id))
                        .select(TaskRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        row.map(TaskRow::into_task).transpose()
    }

    async fn list(
        &self,
        tenant: TenantId,
        audience: Option<TaskAudience>,
        status: Option<TaskStatus>,
        page: PageRequest,
    ) -> Result<Page<Task>, CoreError> {
        let before = page.after_position::<Uuid>()?.map(DbId::from);
        let tenant = DbId::from(tenant.as_uuid());
        let limit = i64::from(page.limit) + 1;
        let rows: Vec<TaskRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = workflow_tasks::table
                        .filter(workflow_tasks::tenant_id.eq(tenant))
                        .order(workflow_tasks::id.desc())
                        .limit(limit)
                        .select(TaskRow::as_select())
                        .into_boxed();
                    if let Some(audience) = audience {
                        let user = DbId::from(audience.user.as_uuid());
                        query = query.filter(
                            workflow_tasks::assignee_user
                                .eq(user)
                                .or(workflow_tasks::assignee_role.eq_any(audience.roles)),
                        );
                    }
                    if let Some(status) = status {
                        query = query.filter(workflow_tasks::status.eq(status.as_str()));
                    }
                    if let Some(before) = before {
                        query = query.filter(workflow_tasks::id.lt(before));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows
            .into_iter()
            .map(TaskRow::into_task)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |t: &Task| {
            t.id.to_string()
        }))
    }

    async fn open_counts(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let (open, overdue): (i64, i64) = self
            .run(move |conn| {
                Box::pin(async move {
                    let open = workflow_tasks::table
                        .filter(workflow_tasks::tenant_id.eq(tenant))
                        .filter(workflow_tasks::status.eq("open"));
                    let all: i64 = open.count().get_result(conn).await.map_err(errors::query)?;
                    let overdue: i64 = open
                        .filter(workflow_tasks::due_at.lt(now))
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)?;
                    Ok((all, overdue))
                })
            })
            .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok((count(open), count(overdue)))
    }
}
