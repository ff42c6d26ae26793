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

use crate::backend::{begin_write, insert_all, row_lock, Connection, DbId};
use crate::errors;
use crate::executions::insert_new;
use crate::outbox::EventRow;
use crate::schema::{
    outbox_events, tenants, workflow_trigger_starts, workflow_triggers, workflows,
};
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
    active_since: DateTime<Utc>,
}

/// The rows of a workflow's triggers, live from `now` (`replace` keeps an older start for a
/// trigger the previous version had too).
pub(crate) fn rows(
    workflow: &Workflow,
    triggers: &[WorkflowTrigger],
    now: DateTime<Utc>,
) -> Vec<TriggerRow> {
    triggers
        .iter()
        .map(|t| TriggerRow {
            workflow_id: DbId::from(workflow.id.as_uuid()),
            position: t.position,
            tenant_id: DbId::from(workflow.tenant_id.as_uuid()),
            kind: t.kind.as_str().to_owned(),
            event: t.event.clone(),
            next_fire_at: None,
            active_since: now,
        })
        .collect()
}

/// Replaces a workflow's triggers (a save): schedules are planned afresh by the trigger loop;
/// an event trigger the previous version had too stays live since when it was.
pub(crate) async fn replace(
    conn: &mut Connection,
    workflow: DbId,
    mut rows: Vec<TriggerRow>,
) -> Result<(), diesel::result::Error> {
    let mine = workflow_triggers::table.filter(workflow_triggers::workflow_id.eq(workflow));
    let before: Vec<(String, Option<String>, DateTime<Utc>)> = mine
        .select((
            workflow_triggers::kind,
            workflow_triggers::event,
            workflow_triggers::active_since,
        ))
        .load(conn)
        .await?;
    for row in &mut rows {
        if let Some((_, _, since)) = before
            .iter()
            .find(|(kind, event, _)| *kind == row.kind && *event == row.event)
        {
            row.active_since = row.active_since.min(*since);
        }
    }
    diesel::delete(mine).execute(conn).await?;
    insert_all!(conn, workflow_triggers::table, rows);
    Ok(())
}

/// A paused workflow is resumed at `now`: its schedules fire from now on, and the events of
/// the pause start nothing.
pub(crate) async fn resume(
    conn: &mut Connection,
    workflow: DbId,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    diesel::update(workflow_triggers::table.filter(workflow_triggers::workflow_id.eq(workflow)))
        .set((
            workflow_triggers::next_fire_at.eq(None::<DateTime<Utc>>),
            workflow_triggers::active_since.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks the workflow row if it is still active, live and at `version` (Postgres: against a
/// pause, delete or save committing meanwhile; SQLite writes one at a time anyway).
#[allow(clippy::if_same_then_else)] // `row_lock!` is the identity on SQLite
async fn still_active(
    conn: &mut Connection,
    workflow: WorkflowId,
    version: i64,
) -> Result<bool, diesel::result::Error> {
    let query = workflows::table
        .filter(workflows::id.eq(DbId::from(workflow.as_uuid())))
        .filter(workflows::status.eq("active"))
        .filter(workflows::deleted_at.is_null())
        .filter(workflows::version.eq(version))
        .select(workflows::id);
    Ok(row_lock!(query)
        .first::<DbId>(conn)
        .await
        .optional()?
        .is_some())
}

/// Starts `start` unless its workflow already has its key; whether it started.
async fn start_once(
    conn: &mut Connection,
    start: &TriggeredStart,
) -> Result<bool, diesel::result::Error> {
    let execution = &start.state.execution;
    if !still_active(conn, execution.workflow_id, execution.version).await? {
        return Ok(false);
    }
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
        insert_new(conn, &mut start.state.clone()).await?;
    }
    Ok(inserted == 1)
}

type TriggerCols = (
    DbId,
    DbId,
    i64,
    i32,
    Option<String>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

fn active((tenant, workflow, version, position, event, next, since): TriggerCols) -> ActiveTrigger {
    ActiveTrigger {
        tenant_id: TenantId::from_uuid(Uuid::from(tenant)),
        workflow_id: WorkflowId::from_uuid(Uuid::from(workflow)),
        version,
        position,
        event,
        next_fire_at: next,
        active_since: since,
    }
}

/// The triggers of active, live workflows of active tenants, with their current version.
macro_rules! active_triggers {
    () => {
        workflow_triggers::table
            .inner_join(workflows::table)
            .filter(workflows::status.eq("active"))
            .filter(workflows::deleted_at.is_null())
            .filter(
                workflow_triggers::tenant_id.eq_any(
                    tenants::table
                        .filter(tenants::status.eq("active"))
                        .select(tenants::id),
                ),
            )
            .select((
                workflow_triggers::tenant_id,
                workflow_triggers::workflow_id,
                workflows::version,
                workflow_triggers::position,
                workflow_triggers::event,
                workflow_triggers::next_fire_at,
                workflow_triggers::active_since,
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
                        .order((workflow_triggers::workflow_id, workflow_triggers::position))
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
        mut starts: Vec<TriggeredStart>,
        events: Vec<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<u64, CoreError> {
        // One lock order for every replica taking the same batch: no deadlock between them.
        starts.sort_by(|a, b| {
            (a.state.execution.workflow_id, &a.key).cmp(&(b.state.execution.workflow_id, &b.key))
        });
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
                    crate::backend::list_prepared!(diesel::update(
                        outbox_events::table
                            .filter(outbox_events::id.eq_any(events))
                            .filter(outbox_events::triggered_at.is_null()),
                    )
                    .set(outbox_events::triggered_at.eq(Some(now))))
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
    ) -> Result<(bool, bool), CoreError> {
        let workflow = DbId::from(trigger.workflow_id.as_uuid());
        let position = trigger.position;
        let expected = trigger.next_fire_at;
        let (workflow_id, version) = (trigger.workflow_id, trigger.version);
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    begin_write(conn).await?;
                    // The workflow first, as saves lock it before its triggers.
                    if !still_active(conn, workflow_id, version).await? {
                        return Ok((false, false));
                    }
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
                        return Ok((false, false));
                    }
                    let started = match &start {
                        Some(start) => start_once(conn, start).await?,
                        None => false,
                    };
                    Ok::<_, diesel::result::Error>((true, started))
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
