//! The transactional outbox (compiled into each adapter against its own schema): `stage`
//! runs inside a change's transaction; `Outbox::claim` is the relay's side.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::Outbox;
use usvc_core::{AuditEntry, CoreError, DomainEvent, TenantId, UserId};
use uuid::Uuid;

use crate::audit;
use crate::backend::{insert_all, Connection, DbId};
use crate::errors;
use crate::prepared::KeepPrepared as _;
use crate::schema::outbox_events;
use crate::store::Store;

// NULL for `None`, not `DEFAULT` (the column's default is NULL anyway): a multi-row insert
// then has one text per row count whichever fields are empty, so it can stay prepared
// (group commit, ADR 0030).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = outbox_events, treat_none_as_default_value = false)]
pub(crate) struct EventRow {
    id: DbId,
    tenant_id: DbId,
    kind: String,
    occurred_at: DateTime<Utc>,
    actor_id: Option<DbId>,
    payload: String,
    relayed_at: Option<DateTime<Utc>>,
}

impl EventRow {
    pub(crate) fn from_event(e: &DomainEvent) -> Self {
        Self {
            id: DbId::from(e.id),
            tenant_id: DbId::from(e.tenant.as_uuid()),
            kind: e.kind.clone(),
            occurred_at: e.occurred_at,
            actor_id: e.actor.map(|a| DbId::from(a.as_uuid())),
            payload: e.payload.to_string(),
            relayed_at: None,
        }
    }

    pub(crate) fn into_event(self) -> Result<DomainEvent, CoreError> {
        Ok(DomainEvent {
            id: Uuid::from(self.id),
            tenant: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            kind: self.kind,
            occurred_at: self.occurred_at,
            actor: self.actor_id.map(|a| UserId::from_uuid(Uuid::from(a))),
            payload: serde_json::from_str(&self.payload)
                .map_err(|_| CoreError::Internal("stored event payload".into()))?,
        })
    }
}

/// Stages `events` inside the caller's transaction.
pub(crate) async fn stage(
    conn: &mut Connection,
    events: &[DomainEvent],
) -> Result<(), diesel::result::Error> {
    let rows: Vec<EventRow> = events.iter().map(EventRow::from_event).collect();
    insert_all!(conn, outbox_events::table, rows);
    Ok(())
}

/// Stages `events` the identity domain already announces on the bus itself: marked relayed
/// (the relay skips them), kept for the workflow triggers (`user.created` starts workflows).
pub(crate) async fn stage_for_triggers(
    conn: &mut Connection,
    events: &[DomainEvent],
) -> Result<(), diesel::result::Error> {
    let rows: Vec<EventRow> = events
        .iter()
        .map(|e| EventRow {
            relayed_at: Some(e.occurred_at),
            ..EventRow::from_event(e)
        })
        .collect();
    insert_all!(conn, outbox_events::table, rows);
    Ok(())
}

/// Records a change the way every announced change is recorded, inside its transaction: the
/// audit rows (one tenant's, in order) and, for each, its event in the outbox.
pub(crate) async fn record(
    conn: &mut Connection,
    entries: &[AuditEntry],
) -> Result<(), diesel::result::Error> {
    audit::append_run(conn, entries).await?;
    let events: Vec<DomainEvent> = entries.iter().map(DomainEvent::of_change).collect();
    stage(conn, &events).await
}

/// The two rows [`record`] writes for one entry, for a change written as one statement
/// (`write_together!`): the entry queued, its event staged. Only where audit entries are
/// queued (not `CHAINS_AUDIT_IN_CHANGE`); once written, the caller tells the sequencer
/// ([`audit_queue::announce`](crate::audit_queue::announce)).
pub(crate) fn record_row(entry: &AuditEntry) -> (crate::audit_queue::QueuedRow, EventRow) {
    (
        crate::audit_queue::QueuedRow::new(entry),
        EventRow::from_event(&DomainEvent::of_change(entry)),
    )
}

#[async_trait]
impl Outbox for Store {
    async fn emit(&self, event: DomainEvent) -> Result<bool, CoreError> {
        let row = EventRow::from_event(&event);
        self.write(move |conn| {
            Box::pin(async move {
                diesel::insert_into(outbox_events::table)
                    .values(&row)
                    .on_conflict_do_nothing()
                    .prepared()
                    .execute(conn)
                    .await
                    .map(|n| n == 1)
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn claim(&self, limit: u32, at: DateTime<Utc>) -> Result<Vec<DomainEvent>, CoreError> {
        let mut rows: Vec<EventRow> = self
            .write(move |conn| {
                Box::pin(async move {
                    // One statement, no explicit row lock: a `FOR UPDATE` read before the
                    // mark wrote a lock record per event besides the mark itself. Two relays
                    // (replicas) picking the same events is settled by the mark's own
                    // condition, which Postgres re-checks on the row's latest version once
                    // it holds the row: the second waits for the first's commit, finds the
                    // events relayed and takes none of them. (SQLite writes one at a time.)
                    let waiting = diesel::alias!(outbox_events as waiting);
                    let pending = waiting
                        .filter(waiting.field(outbox_events::relayed_at).is_null())
                        .order(waiting.field(outbox_events::id).asc())
                        .limit(i64::from(limit))
                        .select(waiting.field(outbox_events::id));
                    diesel::update(
                        outbox_events::table
                            .filter(outbox_events::id.eq_any(pending))
                            .filter(outbox_events::relayed_at.is_null()),
                    )
                    .set(outbox_events::relayed_at.eq(Some(at)))
                    .returning(EventRow::as_returning())
                    .prepared()
                    .get_results(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        // `RETURNING` keeps no order: the relay hands events on oldest first.
        rows.sort_by_key(|row| Uuid::from(row.id));
        rows.into_iter().map(EventRow::into_event).collect()
    }
}
