//! `PasskeyRepository`: users' passkeys (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::PasskeyRepository;
use usvc_core::{AuditEntry, CoreError, Passkey, PasskeyId, TenantId, UserId};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::passkeys;
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
struct PasskeyRow {
    id: DbId,
    tenant_id: DbId,
    user_id: DbId,
    name: String,
    credential_id: String,
    credential: serde_json::Value,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl PasskeyRow {
    fn from_passkey(p: &Passkey) -> Self {
        Self {
            id: DbId::from(p.id.as_uuid()),
            tenant_id: DbId::from(p.tenant_id.as_uuid()),
            user_id: DbId::from(p.user_id.as_uuid()),
            name: p.name.clone(),
            credential_id: p.credential_id.clone(),
            credential: p.credential.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }

    fn into_passkey(self) -> Passkey {
        Passkey {
            id: PasskeyId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            name: self.name,
            credential_id: self.credential_id,
            credential: self.credential,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

#[async_trait]
impl PasskeyRepository for Store {
    async fn create(&self, passkey: &Passkey, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = PasskeyRow::from_passkey(passkey);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(passkeys::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(|e| errors::conflict(e, "this passkey is already registered"))
            })
        })
        .await
    }

    async fn list(&self, tenant: TenantId, user: UserId) -> Result<Vec<Passkey>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                passkeys::table
                    .filter(passkeys::tenant_id.eq(tenant))
                    .filter(passkeys::user_id.eq(user))
                    .order(passkeys::id.asc())
                    .select(PasskeyRow::as_select())
                    .load(conn)
                    .await
                    .map(|rows| rows.into_iter().map(PasskeyRow::into_passkey).collect())
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn find_by_credential(
        &self,
        credential_id: String,
    ) -> Result<Option<Passkey>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                passkeys::table
                    .filter(passkeys::credential_id.eq(credential_id))
                    .select(PasskeyRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map(|row| row.map(PasskeyRow::into_passkey))
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn rename(
        &self,
        tenant: TenantId,
        user: UserId,
        id: PasskeyId,
        name: String,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let id = DbId::from(id.as_uuid());
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let renamed = diesel::update(
                        passkeys::table
                            .filter(passkeys::tenant_id.eq(tenant))
                            .filter(passkeys::user_id.eq(user))
                            .filter(passkeys::id.eq(id)),
                    )
                    .set(passkeys::name.eq(name))
                    .execute(conn)
                    .await?;
                    if renamed > 0 {
                        audit::append(conn, &audit).await?;
                    }
                    Ok::<_, diesel::result::Error>(renamed > 0)
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
        user: UserId,
        id: PasskeyId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let id = DbId::from(id.as_uuid());
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let deleted = diesel::delete(
                        passkeys::table
                            .filter(passkeys::tenant_id.eq(tenant))
                            .filter(passkeys::user_id.eq(user))
                            .filter(passkeys::id.eq(id)),
                    )
                    .execute(conn)
                    .await?;
                    if deleted > 0 {
                        audit::append(conn, &audit).await?;
                    }
                    Ok::<_, diesel::result::Error>(deleted > 0)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn record_use(
        &self,
        id: PasskeyId,
        previous: serde_json::Value,
        credential: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let id = DbId::from(id.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                // Compare-and-set on the credential read before verifying.
                diesel::update(
                    passkeys::table
                        .filter(passkeys::id.eq(id))
                        .filter(passkeys::credential.eq(previous)),
                )
                .set((
                    passkeys::credential.eq(credential),
                    passkeys::last_used_at.eq(Some(at)),
                ))
                .execute(conn)
                .await
                .map(|n| n > 0)
                .map_err(errors::query)
            })
        })
        .await
    }
}
