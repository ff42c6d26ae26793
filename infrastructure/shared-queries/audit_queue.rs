//! Queuing audit entries and sequencing them into their tenants' chains (compiled into each
//! adapter against its own schema).
//!
//! A change queues its entries inside its own transaction: one insert, no lock shared with
//! the tenant's other changes, so a tenant's writes commit side by side instead of one at a
//! time behind the chain head. Sequencing takes what is queued, oldest first, and in one
//! transaction per tenant and batch locks the chain head, assigns the next positions and
//! hashes, inserts the chained rows and deletes them from the queue: all of it or none, so a
//! crash at any point leaves every entry either queued or chained, never both or neither.
//! Concurrent sequencers (every replica runs one) serialise on the head's row lock and the
//! later one finds the rows already moved.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::{AuditEntry, AuditId, AuditRecord};

use crate::audit::AuditRow;
use crate::backend::{begin_write, insert_all, insert_audit_rows, Connection, DbId};
use crate::prepared::KeepPrepared as _;
use crate::schema::{audit_heads, audit_queue};

/// Entries sequenced per tenant and transaction: large enough that a busy tenant's backlog
/// moves in a few transactions, small enough to keep each one short.
pub(crate) const SEQUENCE_BATCH: i64 = 1000;

/// One queued entry: inserted without its queue position (the database assigns it), read
/// back with it.
// NULL for `None`, not `DEFAULT` (the column's default is NULL anyway): a multi-row insert
// then has one text per row count whichever fields are empty, so it can stay prepared
// (group commit, ADR 0030).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_queue, treat_none_as_default_value = false)]
pub(crate) struct QueuedRow {
    #[diesel(skip_insertion)]
    queued: i64,
    id: DbId,
    tenant_id: DbId,
    at: DateTime<Utc>,
    actor_type: String,
    actor_id: Option<DbId>,
    session_id: Option<DbId>,
    action: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    outcome: String,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: String,
}

impl QueuedRow {
    /// `entry` under a new id, its fields stored as a chained row stores them.
    pub(crate) fn new(entry: &AuditEntry) -> Self {
        let row = AuditRow::from_entry(
            DbId::from(AuditId::new().as_uuid()),
            0,
            entry,
            String::new(),
            String::new(),
        );
        Self {
            queued: 0,
            id: row.id,
            tenant_id: row.tenant_id,
            at: row.at,
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            session_id: row.session_id,
            action: row.action,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            outcome: row.outcome,
            ip: row.ip,
            user_agent: row.user_agent,
            request_id: row.request_id,
            details: row.details,
        }
    }

    /// Its id and the entry it holds, read back exactly as a chained row's would be.
    fn into_entry(self) -> (AuditId, AuditEntry) {
        let record = AuditRow {
            id: self.id,
            tenant_id: self.tenant_id,
            seq: 0,
            at: self.at,
            actor_type: self.actor_type,
            actor_id: self.actor_id,
            session_id: self.session_id,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            outcome: self.outcome,
            ip: self.ip,
            user_agent: self.user_agent,
            request_id: self.request_id,
            details: self.details,
            prev_hash: String::new(),
            hash: String::new(),
        }
        .into_record();
        (record.id, record.entry)
    }
}

/// Queues `entries` (one tenant's or several, in order) inside the caller's transaction. A
/// backend that chains in the change (`CHAINS_AUDIT_IN_CHANGE`: SQLite, one writer at a time
/// anyway) chains them there instead, without the queue's insert and delete: the head's lock,
/// the chained rows, the head's update.
pub(crate) async fn queue(
    conn: &mut Connection,
    entries: &[AuditEntry],
) -> Result<(), diesel::result::Error> {
    if crate::backend::CHAINS_AUDIT_IN_CHANGE {
        let mut tenants: Vec<DbId> = Vec::new();
        for entry in entries {
            let tenant = DbId::from(entry.tenant.as_uuid());
            if !tenants.contains(&tenant) {
                tenants.push(tenant);
            }
        }
        for tenant in tenants {
            let (last, prev) = lock_head(conn, tenant).await?;
            let of_tenant = entries
                .iter()
                .filter(|e| DbId::from(e.tenant.as_uuid()) == tenant)
                .map(|e| (AuditId::new(), e.clone()));
            chain(conn, tenant, last, prev, of_tenant).await?;
        }
        return Ok(());
    }
    let rows: Vec<QueuedRow> = entries.iter().map(QueuedRow::new).collect();
    insert_all!(conn, audit_queue::table, rows);
    announce();
    Ok(())
}

/// Tells the store that this unit of work queued entries, so the sequencer is woken once it
/// has committed. Outside a store's unit of work (a test calling this directly) nobody is told.
pub(crate) fn announce() {
    let _ = crate::store::AUDIT_QUEUED.try_with(|queued| queued.set(true));
}

/// Locks `tenant`'s chain head to the end of the transaction, making it if this is the
/// chain's first entry (an update that changes nothing still takes the row lock); returns its
/// position and hash.
async fn lock_head(
    conn: &mut Connection,
    tenant: DbId,
) -> Result<(i64, String), diesel::result::Error> {
    diesel::insert_into(audit_heads::table)
        .values((
            audit_heads::tenant_id.eq(tenant),
            audit_heads::seq.eq(0_i64),
            audit_heads::hash.eq(""),
        ))
        .on_conflict(audit_heads::tenant_id)
        .do_update()
        .set(audit_heads::seq.eq(audit_heads::seq))
        .returning((audit_heads::seq, audit_heads::hash))
        .prepared()
        .get_result(conn)
        .await
}

/// Chains `entries` after the head [`lock_head`] returned (`last`, `prev`): their rows, then
/// the head moved to the last of them. Returns how many.
async fn chain(
    conn: &mut Connection,
    tenant: DbId,
    last: i64,
    mut prev: String,
    entries: impl Iterator<Item = (AuditId, AuditEntry)>,
) -> Result<usize, diesel::result::Error> {
    let mut rows = Vec::new();
    for (seq, (id, entry)) in (last + 1..).zip(entries) {
        let record = AuditRecord::chained(id, seq, entry, std::mem::take(&mut prev));
        prev.clone_from(&record.hash);
        rows.push(AuditRow::from_record(&record));
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let count = rows.len();
    insert_audit_rows(conn, &rows).await?;
    diesel::update(audit_heads::table.filter(audit_heads::tenant_id.eq(tenant)))
        .set((
            audit_heads::seq.eq(last + i64::try_from(count).unwrap_or(i64::MAX)),
            audit_heads::hash.eq(&prev),
        ))
        .prepared()
        .execute(conn)
        .await?;
    Ok(count)
}

/// How many of `tenant`'s entries wait to be sequenced.
pub(crate) async fn waiting(
    conn: &mut Connection,
    tenant: DbId,
) -> Result<i64, diesel::result::Error> {
    audit_queue::table
        .filter(audit_queue::tenant_id.eq(tenant))
        .count()
        .get_result(conn)
        .await
}

/// Whether any of `tenant`'s entries wait to be sequenced (stops at the first it finds).
pub(crate) async fn any_waiting(
    conn: &mut Connection,
    tenant: DbId,
) -> Result<bool, diesel::result::Error> {
    diesel::select(diesel::dsl::exists(
        audit_queue::table.filter(audit_queue::tenant_id.eq(tenant)),
    ))
    .get_result(conn)
    .await
}

/// Most waiting tenants [`tenants_waiting`] finds by index lookups; with more waiting it
/// groups the queue instead (one statement, whatever the count).
const TENANTS_LOOKED_UP: usize = 64;

/// Tenants with queued entries, the longest-waiting first, at most `limit` of them.
///
/// Found one tenant at a time by the `(tenant_id, queued)` index (the next tenant after the
/// last found, with its first entry), not by grouping the table: the queue is written and
/// emptied all the time, so between vacuums its heap is mostly dead rows, and a grouping
/// reads every row version of it on every round of the sequencer. One key lookup per
/// waiting tenant reads the index instead, whose dead entries the lookups themselves mark.
/// Past [`TENANTS_LOOKED_UP`] tenants that many lookups cost more than the grouping, and
/// stopping there would leave the tenants after them unseen: it groups.
pub(crate) async fn tenants_waiting(
    conn: &mut Connection,
    limit: i64,
) -> Result<Vec<DbId>, diesel::result::Error> {
    let mut firsts: Vec<(DbId, Option<i64>)> = Vec::new();
    loop {
        if firsts.len() == TENANTS_LOOKED_UP {
            firsts = audit_queue::table
                .group_by(audit_queue::tenant_id)
                .select((
                    audit_queue::tenant_id,
                    diesel::dsl::min(audit_queue::queued),
                ))
                .load(conn)
                .await?;
            break;
        }
        let mut next = audit_queue::table
            .order((audit_queue::tenant_id.asc(), audit_queue::queued.asc()))
            .select((audit_queue::tenant_id, audit_queue::queued))
            .into_boxed();
        if let Some((after, _)) = firsts.last() {
            next = next.filter(audit_queue::tenant_id.gt(*after));
        }
        match next.first::<(DbId, i64)>(conn).await.optional()? {
            Some((tenant, first)) => firsts.push((tenant, Some(first))),
            None => break,
        }
    }
    firsts.sort_by_key(|(_, first)| *first);
    Ok(firsts
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(tenant, _)| tenant)
        .collect())
}

/// The last queue position `tenant` has now (`None`: nothing queued): what a reader chains
/// up to, so a tenant queueing faster than it is chained cannot hold a read forever.
pub(crate) async fn last_queued(
    conn: &mut Connection,
    tenant: DbId,
) -> Result<Option<i64>, diesel::result::Error> {
    audit_queue::table
        .filter(audit_queue::tenant_id.eq(tenant))
        .select(diesel::dsl::max(audit_queue::queued))
        .first(conn)
        .await
}

/// Moves up to [`SEQUENCE_BATCH`] of `tenant`'s queued entries into its chain, in queue
/// order, in one transaction; returns how many. Callers look first whether the tenant has
/// anything queued ([`waiting`], [`tenants_waiting`]): this takes the head's lock regardless.
pub(crate) async fn sequence_tenant(
    conn: &mut Connection,
    tenant: DbId,
    upto: Option<i64>,
) -> Result<usize, diesel::result::Error> {
    conn.transaction(async move |conn| {
        begin_write(conn).await?;
        let (last, prev) = lock_head(conn, tenant).await?;
        // Read after the lock: a sequencer that held it before us has moved its rows.
        let queued: Vec<QueuedRow> = audit_queue::table
            .filter(audit_queue::tenant_id.eq(tenant))
            .filter(audit_queue::queued.le(upto.unwrap_or(i64::MAX)))
            .order(audit_queue::queued.asc())
            .limit(SEQUENCE_BATCH)
            .select(QueuedRow::as_select())
            .load(conn)
            .await?;
        if queued.is_empty() {
            return Ok(0);
        }
        let moved: Vec<i64> = queued.iter().map(|q| q.queued).collect();
        let count = chain(
            conn,
            tenant,
            last,
            prev,
            queued.into_iter().map(QueuedRow::into_entry),
        )
        .await?;
        diesel::delete(audit_queue::table.filter(audit_queue::queued.eq_any(&moved)))
            .execute(conn)
            .await?;
        Ok(count)
    })
    .await
}

/// Sequences what `tenant` had queued when called, batch after batch (not what is queued
/// meanwhile: the sequencer takes that).
pub(crate) async fn sequence_all_of(
    conn: &mut Connection,
    tenant: DbId,
) -> Result<usize, diesel::result::Error> {
    let Some(upto) = last_queued(conn, tenant).await? else {
        return Ok(0);
    };
    let mut total = 0;
    loop {
        let moved = sequence_tenant(conn, tenant, Some(upto)).await?;
        total += moved;
        if moved < usize::try_from(SEQUENCE_BATCH).unwrap_or(usize::MAX) {
            return Ok(total);
        }
    }
}
