//! `AuditLog`, and `append` for the repositories that record a change in its own transaction
//! (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::AuditLog;
use usvc_core::{
    Actor, AuditEntry, AuditFilter, AuditId, AuditRecord, ChainHead, CoreError, Origin, Page,
    PageRequest, ResourceRef, SessionId, TenantId, UserId,
};
use uuid::Uuid;

use crate::backend::{insert_audit_rows, Connection, DbId};
use crate::errors;
use crate::schema::{audit_heads, audit_log};
use crate::store::Store;

/// One stored audit row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub(crate) struct AuditRow {
    id: DbId,
    tenant_id: DbId,
    seq: i64,
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
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    fn from_record(record: &AuditRecord) -> Self {
        let entry = &record.entry;
        let (actor_id, session_id) = match &entry.actor {
            Actor::User { id, session } => (
                Some(DbId::from(id.as_uuid())),
                session.map(|s| DbId::from(s.as_uuid())),
            ),
            Actor::System | Actor::Anonymous => (None, None),
        };
        Self {
            id: DbId::from(record.id.as_uuid()),
            tenant_id: DbId::from(entry.tenant.as_uuid()),
            seq: record.seq,
            at: entry.at,
            actor_type: entry.actor.kind().to_owned(),
            actor_id,
            session_id,
            action: entry.action.clone(),
            resource_type: entry.resource.as_ref().map(|r| r.kind.clone()),
            resource_id: entry.resource.as_ref().and_then(|r| r.id.clone()),
            outcome: entry.outcome.as_str().to_owned(),
            ip: entry.origin.ip.clone(),
            user_agent: entry.origin.user_agent.clone(),
            request_id: entry.origin.request_id.clone(),
            details: entry.details.to_string(),
            prev_hash: record.prev_hash.clone(),
            hash: record.hash.clone(),
        }
    }

    /// The stored row as a record. Nothing here re-checks the hash, but a row whose stored
    /// fields do not read back as a valid entry (an unknown outcome, broken JSON, an actor
    /// kind that contradicts its id) comes back with an empty `hash`, so the verifier names
    /// it rather than the reader failing or guessing.
    fn into_record(self) -> AuditRecord {
        let session = self.session_id.map(|s| SessionId::from_uuid(Uuid::from(s)));
        let actor = match (self.actor_type.as_str(), self.actor_id) {
            ("user", Some(id)) => Some(Actor::User {
                id: UserId::from_uuid(Uuid::from(id)),
                session,
            }),
            ("system", None) if session.is_none() => Some(Actor::System),
            ("anonymous", None) if session.is_none() => Some(Actor::Anonymous),
            _ => None,
        };
        let details = serde_json::from_str(&self.details).ok();
        let outcome = self.outcome.parse().ok();
        let resource_whole = self.resource_type.is_some() || self.resource_id.is_none();
        let intact = actor.is_some() && details.is_some() && outcome.is_some() && resource_whole;
        AuditRecord {
            id: AuditId::from_uuid(Uuid::from(self.id)),
            seq: self.seq,
            entry: AuditEntry {
                tenant: TenantId::from_uuid(Uuid::from(self.tenant_id)),
                at: self.at,
                actor: actor.unwrap_or(Actor::Anonymous),
                action: self.action,
                resource: self.resource_type.map(|kind| ResourceRef {
                    kind,
                    id: self.resource_id,
                }),
                outcome: outcome.unwrap_or(usvc_core::Outcome::Failure),
                origin: Origin {
                    ip: self.ip,
                    user_agent: self.user_agent,
                    request_id: self.request_id,
                },
                details: details.unwrap_or(serde_json::Value::String(self.details)),
            },
            prev_hash: self.prev_hash,
            hash: if intact { self.hash } else { String::new() },
        }
    }
}

/// Appends `entry` to its tenant's chain on `conn`, inside the caller's transaction.
pub(crate) async fn append(
    conn: &mut Connection,
    entry: &AuditEntry,
) -> Result<(), diesel::result::Error> {
    append_run(conn, std::slice::from_ref(entry)).await
}

/// Appends entries of one tenant, in order, inside the caller's transaction: three
/// statements however many rows (bump the head by their number, insert the rows, store the
/// new head hash).
///
/// The head row is bumped first: on Postgres that row lock serialises concurrent appends to
/// one chain until commit; SQLite serialises all writers anyway. A rolled-back change takes
/// its audit rows and the head bump with it.
pub(crate) async fn append_run(
    conn: &mut Connection,
    run: &[AuditEntry],
) -> Result<(), diesel::result::Error> {
    let Some(first) = run.first() else {
        return Ok(());
    };
    let tenant = DbId::from(first.tenant.as_uuid());
    let count = i64::try_from(run.len()).unwrap_or(i64::MAX);
    let (last, mut prev): (i64, String) = diesel::insert_into(audit_heads::table)
        .values((
            audit_heads::tenant_id.eq(tenant),
            audit_heads::seq.eq(count),
            audit_heads::hash.eq(""),
        ))
        .on_conflict(audit_heads::tenant_id)
        .do_update()
        .set(audit_heads::seq.eq(audit_heads::seq + count))
        .returning((audit_heads::seq, audit_heads::hash))
        .get_result(conn)
        .await?;
    let mut rows = Vec::with_capacity(run.len());
    for (seq, entry) in (last - count + 1..).zip(run) {
        let record = AuditRecord::chained(
            AuditId::new(),
            seq,
            entry.clone(),
            std::mem::take(&mut prev),
        );
        prev.clone_from(&record.hash);
        rows.push(AuditRow::from_record(&record));
    }
    insert_audit_rows(conn, &rows).await?;
    diesel::update(audit_heads::table.filter(audit_heads::tenant_id.eq(tenant)))
        .set(audit_heads::hash.eq(&prev))
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl AuditLog for Store {
    async fn append(&self, entry: AuditEntry) -> Result<(), CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| append(conn, &entry).await)
                    .await
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn append_many(&self, mut entries: Vec<AuditEntry>) -> Result<(), CoreError> {
        // One lock order for every batch (tenants ascending; a stable sort keeps each chain's
        // order), so two replicas' batches cannot deadlock on each other's chain heads.
        entries.sort_by_key(|e| e.tenant);
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    for run in entries.chunk_by(|a, b| a.tenant == b.tenant) {
                        append_run(conn, run).await?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, CoreError> {
        let before = page.after_position::<i64>()?;
        let tenant = DbId::from(tenant.as_uuid());
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = audit_log::table
                        .filter(audit_log::tenant_id.eq(tenant))
                        .select(AuditRow::as_select())
                        .order(audit_log::seq.desc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(before) = before {
                        query = query.filter(audit_log::seq.lt(before));
                    }
                    if let Some(actor) = filter.actor {
                        query = query.filter(audit_log::actor_id.eq(DbId::from(actor.as_uuid())));
                    }
                    if let Some(action) = filter.action {
                        query = query.filter(audit_log::action.eq(action));
                    }
                    if let Some(resource) = filter.resource {
                        query = query.filter(audit_log::resource_type.eq(resource.kind));
                        if let Some(id) = resource.id {
                            query = query.filter(audit_log::resource_id.eq(id));
                        }
                    }
                    if let Some(outcome) = filter.outcome {
                        query = query.filter(audit_log::outcome.eq(outcome.as_str()));
                    }
                    if let Some(from) = filter.from {
                        query = query.filter(audit_log::at.ge(from));
                    }
                    if let Some(until) = filter.until {
                        query = query.filter(audit_log::at.lt(until));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let records = rows.into_iter().map(AuditRow::into_record).collect();
        Ok(Page::from_overfetch(
            records,
            page.limit,
            |r: &AuditRecord| r.seq.to_string(),
        ))
    }

    async fn chain(
        &self,
        tenant: TenantId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    audit_log::table
                        .filter(audit_log::tenant_id.eq(tenant))
                        .filter(audit_log::seq.gt(after_seq))
                        .order(audit_log::seq.asc())
                        .limit(i64::from(limit))
                        .select(AuditRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(rows.into_iter().map(AuditRow::into_record).collect())
    }

    async fn head(&self, tenant: TenantId) -> Result<Option<ChainHead>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                let head: Option<(i64, String)> = audit_heads::table
                    .filter(audit_heads::tenant_id.eq(tenant))
                    .select((audit_heads::seq, audit_heads::hash))
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?;
                Ok(head.map(|(seq, hash)| ChainHead { seq, hash }))
            })
        })
        .await
    }
}
