//! `IdempotencyKeys` and the `remember` step the creating repository methods run in their
//! transaction (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use usvc_core::ports::IdempotencyKeys;
use usvc_core::{
    CoreError, IdempotencyKey, IdempotencyRecord, TenantId, UserId, IDEMPOTENCY_WINDOW,
};
use uuid::Uuid;

use crate::backend::{Connection, DbId};
use crate::errors;
use crate::schema::idempotency_keys;
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
struct KeyRow {
    tenant_id: DbId,
    user_id: DbId,
    scope: String,
    key: String,
    fingerprint: String,
    resource_id: DbId,
    created_at: DateTime<Utc>,
}

/// Records what `record`'s key did, inside the caller's transaction. Expired records of the
/// tenant go first (the same key may be used again after the window; nothing else sweeps).
/// A live record of the same key (a concurrent request) is a unique violation.
pub(crate) async fn remember(
    conn: &mut Connection,
    record: &IdempotencyRecord,
) -> Result<(), diesel::result::Error> {
    let tenant = DbId::from(record.tenant.as_uuid());
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::tenant_id.eq(tenant))
            .filter(idempotency_keys::created_at.lt(record.created_at - IDEMPOTENCY_WINDOW)),
    )
    .execute(conn)
    .await?;
    diesel::insert_into(idempotency_keys::table)
        .values(KeyRow {
            tenant_id: tenant,
            user_id: DbId::from(record.user.as_uuid()),
            scope: record.scope.clone(),
            key: record.key.key.clone(),
            fingerprint: record.key.fingerprint.clone(),
            resource_id: DbId::from(record.resource_id),
            created_at: record.created_at,
        })
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl IdempotencyKeys for Store {
    async fn find(
        &self,
        tenant: TenantId,
        user: UserId,
        scope: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, CoreError> {
        let (tenant_id, user_id) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let (scope, key) = (scope.to_owned(), key.to_owned());
        let since = now - IDEMPOTENCY_WINDOW;
        let row = self
            .run(move |conn| {
                Box::pin(async move {
                    idempotency_keys::table
                        .filter(idempotency_keys::tenant_id.eq(tenant_id))
                        .filter(idempotency_keys::user_id.eq(user_id))
                        .filter(idempotency_keys::scope.eq(scope))
                        .filter(idempotency_keys::key.eq(key))
                        .filter(idempotency_keys::created_at.ge(since))
                        .select(KeyRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(row.map(|r| IdempotencyRecord {
            tenant,
            user,
            scope: r.scope,
            key: IdempotencyKey {
                key: r.key,
                fingerprint: r.fingerprint,
            },
            resource_id: Uuid::from(r.resource_id),
            created_at: r.created_at,
        }))
    }
}
