//! `TriggerRepository` (compiled into each adapter against its own schema): the index of
//! the workflows' event and schedule triggers, the outbox events the triggers have not looked
//! at, and starts keyed per workflow so each starts once.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::TriggerRepository;
use usvc_core::{
    ActiveTrigger, CoreError, DomainEvent, TenantId, TriggeredStart, Workflow, WorkflowId,
    WorkflowTrigger,
};
use uuid::Uuid;

use crate::backend::{begin_write, insert_all, Connection, DbId};
use crate::errors;
use crate::executions::NewExecution;
use crate::outbox::EventRow;
use crate::schema::{outbox_events, workflow_trigger_starts, workflow_triggers, workflows};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_triggers)]
pub(crate) struct TriggerRow {
    workflow_id: DbId,
    position: i32,
    tenant_id: DbId,
    kind: String,
    event: Option<String>,
    next_fire_at: Option<DateTime<Utc>>,
}

/// The rows of a workflow's triggers.
pub(crate) fn rows(workflow: &Workflow, triggers: &[WorkflowTrigger]) -> Vec<TriggerRow> {
    triggers
        .iter()
        .map(|t| TriggerRow {
            workflow_id: DbId::from(workflow.id.as_uuid()),
            position: t.position,
            tenant_id: DbId::from(workflow.tenant_id.as_uuid()),
            kind: t.kind.as_str().to_owned(),
            event: t.event.clone(),
            next_fire_at: None,
        })
        .collect()
}

/// Replaces a workflow's triggers (a save): schedules are planned afresh by the trigger loop.
pub(crate) async fn replace(
    conn: &mut Connection,
    workflow: DbId,
    rows: &[TriggerRow],
) -> Result<(), diesel::result::Error> {
    diesel::delete(workflow_triggers::table.filter(workflow_triggers::workflow_id.eq(workflow)))
        .execute(conn)
        .await?;
    insert_all!(conn, workflow_triggers::table, *rows);
    Ok(())
}

/// Forgets a workflow's planned ticks (a resume), so its schedules fire from now on.
pub(crate) async fn forget_ticks(
    conn: &mut Connection,
    workflow: DbId,
) -> Result<(), diesel::result::Error> {
    diesel::update(workflow_triggers::table.filter(workflow_triggers::workflow_id.eq(workflow)))
        .set(workflow_triggers::next_fire_at.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
    Ok(())
}

/// Starts `start` unless its workflow already has its key; whether it started.
async fn start_once(
    conn: &mut Connection,
    start: &TriggeredStart,
) -> Result<bool, diesel::result::Error> {
    let execution = &start.state.execution;
    let inserted = diesel::insert_into(workflow_trigger_starts::table)
        .values((
            workflow_trigger_starts::workflow_id.eq(DbId::from(execution.workflow_id.as_uuid())),
            workflow_trigger_starts::key.eq(&start.key),
            workflow_trigger_starts::execution_id.eq(DbId::from(execution.id.as_uuid())),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        NewExecution::of(&start.state).insert(conn).await?;
    }
    Ok(inserted == 1)
}

type TriggerCols = (DbId, DbId, i64, i32, Option<String>, Option<DateTime<Utc>>);

fn active((tenant, workflow, version, position, event, next): TriggerCols) -> ActiveTrigger {
    ActiveTrigger {
        tenant_id: TenantId::from_uuid(Uuid::from(tenant)),
        workflow_id: WorkflowId::from_uuid(Uuid::from(workflow)),
        version,
        position,
        event,
        next_fire_at: next,
    }
}

/// The triggers of active, live workflows with their current version.
macro_rules! active_triggers {
    () => {
        workflow_triggers::table
            .inner_join(workflows::table)
            .filter(workflows::status.eq("active"))
            .filter(workflows::deleted_at.is_null())
            .select((
                workflow_triggers::tenant_id,
                workflow_triggers::workflow_id,
                workflows::version,
                workflow_triggers::position,
                workflow_triggers::event,
                workflow_triggers::next_fire_at,
            ))
    };
}

#[async_trait]
impl TriggerRepository for Store {
    async fn pending_events(&self, limit: u32) -> Result<Vec<DomainEvent>, CoreError> {
        let rows: Vec<EventRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    outbox_events::table
                        .filter(outbox_events::triggered_at.is_null())
                        .order(outbox_events::id.asc())
                        .limit(i64::from(limit))
                        .select(EventRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn event_triggers(
        &self,
        tenants: Vec<TenantId>,
        kinds: Vec<String>,
    ) -> Result<Vec<ActiveTrigger>, CoreError> {
        let tenants: Vec<DbId> = tenants.iter().map(|t| DbId::from(t.as_uuid())).collect();
        let rows: Vec<TriggerCols> = self
            .run(move |conn| {
                Box::pin(async move {
                    active_triggers!()
                        .filter(workflow_triggers::kind.eq("event"))
                        .filter(workflow_triggers::tenant_id.eq_any(tenants))
                        .filter(workflow_triggers::event.eq_any(kinds))
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(rows.into_iter().map(active).collect())
    }

    async fn start_for_events(
        &self,
        starts: Vec<TriggeredStart>,
        events: Vec<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, CoreError> {
        let events: Vec<DbId> = events.into_iter().map(DbId::from).collect();
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mut started = 0;
                    for start in &starts {
                        if start_once(conn, start).await? {
                            started += 1;
                        }
                    }
                    diesel::update(
                        outbox_events::table
                            .filter(outbox_events::id.eq_any(events))
                            .filter(outbox_events::triggered_at.is_null()),
                    )
                    .set(outbox_events::triggered_at.eq(Some(now)))
                    .execute(conn)
                    .await?;
                    Ok::<_, diesel::result::Error>(started)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn due_schedules(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ActiveTrigger>, CoreError> {
        let rows: Vec<TriggerCols> = self
            .run(move |conn| {
                Box::pin(async move {
                    active_triggers!()
                        .filter(workflow_triggers::kind.eq("schedule"))
                        .filter(
                            workflow_triggers::next_fire_at
                                .is_null()
                                .or(workflow_triggers::next_fire_at.le(now)),
                        )
                        .order(workflow_triggers::next_fire_at.asc())
                        .limit(i64::from(limit))
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(rows.into_iter().map(active).collect())
    }

    async fn fire(
        &self,
        trigger: ActiveTrigger,
        next: Option<DateTime<Utc>>,
        start: Option<TriggeredStart>,
    ) -> Result<bool, CoreError> {
        let workflow = DbId::from(trigger.workflow_id.as_uuid());
        let position = trigger.position;
        let expected = trigger.next_fire_at;
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    let mine = workflow_triggers::table
                        .filter(workflow_triggers::workflow_id.eq(workflow))
                        .filter(workflow_triggers::position.eq(position));
                    // Compare and set: of the replicas that read the same tick, one moves it.
                    let moved = match expected {
                        Some(tick) => {
                            diesel::update(mine.filter(workflow_triggers::next_fire_at.eq(tick)))
                                .set(workflow_triggers::next_fire_at.eq(next))
                                .execute(conn)
                                .await?
                        }
                        None => {
                            diesel::update(mine.filter(workflow_triggers::next_fire_at.is_null()))
                                .set(workflow_triggers::next_fire_at.eq(next))
                                .execute(conn)
                                .await?
                        }
                    };
                    if moved == 0 {
                        return Ok(false);
                    }
                    if let Some(start) = &start {
                        start_once(conn, start).await?;
                    }
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn next_tick(&self) -> Result<Option<DateTime<Utc>>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                let next: Option<Option<DateTime<Utc>>> = active_triggers!()
                    .filter(workflow_triggers::kind.eq("schedule"))
                    .filter(workflow_triggers::next_fire_at.is_not_null())
                    .order(workflow_triggers::next_fire_at.asc())
                    .first::<TriggerCols>(conn)
                    .await
                    .optional()
                    .map(|row| row.map(|r| r.5))
                    .map_err(errors::query)?;
                Ok(next.flatten())
            })
        })
        .await
    }
}
