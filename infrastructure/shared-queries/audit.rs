//! `AuditLog`, and `append` for the repositories that record a change in its own transaction
//! (compiled into each adapter against its own schema). Appending queues the entry
//! (`audit_queue`); the chain's positions and hashes are assigned by sequencing, which every
//! read of the trail does first for its tenant, so a reader sees every committed entry.
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

use crate::audit_queue;
use crate::backend::{Connection, DbId};
use crate::errors;
use crate::schema::{audit_heads, audit_log};
use crate::store::Store;

/// One stored audit row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub(crate) struct AuditRow {
    pub(crate) id: DbId,
    pub(crate) tenant_id: DbId,
    pub(crate) seq: i64,
    pub(crate) at: DateTime<Utc>,
    pub(crate) actor_type: String,
    pub(crate) actor_id: Option<DbId>,
    pub(crate) session_id: Option<DbId>,
    pub(crate) action: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) resource_id: Option<String>,
    pub(crate) outcome: String,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) details: String,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

impl AuditRow {
    pub(crate) fn from_record(record: &AuditRecord) -> Self {
        Self::from_entry(
            DbId::from(record.id.as_uuid()),
            record.seq,
            &record.entry,
            record.prev_hash.clone(),
            record.hash.clone(),
        )
    }

    /// The row storing `entry` under `id` at `seq` with its hashes.
    pub(crate) fn from_entry(
        id: DbId,
        seq: i64,
        entry: &AuditEntry,
        prev_hash: String,
        hash: String,
    ) -> Self {
        let (actor_id, session_id) = match &entry.actor {
            Actor::User { id, session } => (
                Some(DbId::from(id.as_uuid())),
                session.map(|s| DbId::from(s.as_uuid())),
            ),
            Actor::System | Actor::Anonymous => (None, None),
        };
        Self {
            id,
            tenant_id: DbId::from(entry.tenant.as_uuid()),
            seq,
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
            prev_hash,
            hash,
        }
    }

    /// The stored row as a record. Nothing here re-checks the hash, but a row whose stored
    /// fields do not read back as a valid entry (an unknown outcome, broken JSON, an actor
    /// kind that contradicts its id) comes back with an empty `hash`, so the verifier names
    /// it rather than the reader failing or guessing.
    pub(crate) fn into_record(self) -> AuditRecord {
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

/// Records `entry` for its tenant's chain on `conn`, inside the caller's transaction: queued,
/// to be sequenced (`audit_queue`), so the change holds no lock shared with its tenant's other
/// changes. A rolled-back change takes its queued entry with it.
pub(crate) async fn append(
    conn: &mut Connection,
    entry: &AuditEntry,
) -> Result<(), diesel::result::Error> {
    audit_queue::queue(conn, std::slice::from_ref(entry)).await
}

/// Records entries (in order) inside the caller's transaction, as [`append`] does.
pub(crate) async fn append_run(
    conn: &mut Connection,
    run: &[AuditEntry],
) -> Result<(), diesel::result::Error> {
    audit_queue::queue(conn, run).await
}

impl Store {
    /// Sequences what `tenant` has queued before its trail is read, so a reader sees every
    /// committed entry in the chain. Nothing queued: one indexed read, no write.
    async fn catch_up(&self, tenant: TenantId) -> Result<(), CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let waiting = self
            .run(move |conn| {
                Box::pin(async move {
                    audit_queue::any_waiting(conn, tenant)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        if !waiting {
            return Ok(());
        }
        self.write(move |conn| {
            Box::pin(async move {
                audit_queue::sequence_all_of(conn, tenant)
                    .await
                    .map(|_| ())
                    .map_err(errors::query)
            })
        })
        .await
    }
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

    async fn append_many(&self, entries: Vec<AuditEntry>) -> Result<(), CoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| append_run(conn, &entries).await)
                    .await
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn sequence(&self, tenants: u32) -> Result<u64, CoreError> {
        let waiting = self
            .run(move |conn| {
                Box::pin(async move {
                    audit_queue::tenants_waiting(conn, i64::from(tenants))
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        let mut moved = 0_u64;
        let mut failed = None;
        for tenant in waiting {
            let chained = self
                .write(move |conn| {
                    Box::pin(async move {
                        audit_queue::sequence_tenant(conn, tenant, None)
                            .await
                            .map_err(errors::query)
                    })
                })
                .await;
            match chained {
                Ok(n) => moved += u64::try_from(n).unwrap_or(u64::MAX),
                // One tenant's failure does not hold the others' entries back.
                Err(e) => {
                    tracing::warn!(error = %e, "chaining a tenant's audit entries failed");
                    failed = failed.or(Some(e));
                }
            }
        }
        match failed {
            Some(e) if moved == 0 => Err(e),
            _ => Ok(moved),
        }
    }

    async fn queued(&self, tenant: TenantId) -> Result<u64, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let n = self
            .run(move |conn| {
                Box::pin(async move {
                    audit_queue::waiting(conn, tenant)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>, CoreError> {
        let before = page.after_position::<i64>()?;
        self.catch_up(tenant).await?;
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
        self.catch_up(tenant).await?;
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
        self.catch_up(tenant).await?;
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
