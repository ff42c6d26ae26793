//! `ConsentRepository`: users' standing consents to applications (compiled into each adapter
//! against its own schema). The scopes are kept as one space-separated text, as OAuth writes
//! them.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::ConsentRepository;
use usvc_core::{AuditEntry, ClientId, CoreError, OAuthConsent, SessionId, TenantId, UserId};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{oauth_codes, oauth_consents, oauth_grants, sessions};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_consents)]
struct ConsentRow {
    tenant_id: DbId,
    user_id: DbId,
    client_id: DbId,
    scope: String,
    granted_at: DateTime<Utc>,
}

impl ConsentRow {
    fn from_consent(c: &OAuthConsent) -> Self {
        Self {
            tenant_id: DbId::from(c.tenant_id.as_uuid()),
            user_id: DbId::from(c.user_id.as_uuid()),
            client_id: DbId::from(c.client_id.as_uuid()),
            scope: c.scope.join(" "),
            granted_at: c.granted_at,
        }
    }

    fn into_consent(self) -> OAuthConsent {
        OAuthConsent {
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            client_id: ClientId::from_uuid(Uuid::from(self.client_id)),
            scope: self
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            granted_at: self.granted_at,
        }
    }
}

#[async_trait]
impl ConsentRepository for Store {
    async fn find(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<OAuthConsent>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let client = DbId::from(client.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                oauth_consents::table
                    .filter(oauth_consents::tenant_id.eq(tenant))
                    .filter(oauth_consents::user_id.eq(user))
                    .filter(oauth_consents::client_id.eq(client))
                    .select(ConsentRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map(|row| row.map(ConsentRow::into_consent))
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn remember(&self, consent: &OAuthConsent, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = ConsentRow::from_consent(consent);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(oauth_consents::table)
                        .values(&row)
                        .on_conflict((oauth_consents::user_id, oauth_consents::client_id))
                        .do_update()
                        .set((
                            oauth_consents::scope.eq(excluded(oauth_consents::scope)),
                            oauth_consents::granted_at.eq(excluded(oauth_consents::granted_at)),
                        ))
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn list(&self, tenant: TenantId, user: UserId) -> Result<Vec<OAuthConsent>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                oauth_consents::table
                    .filter(oauth_consents::tenant_id.eq(tenant))
                    .filter(oauth_consents::user_id.eq(user))
                    .order(oauth_consents::granted_at.desc())
                    .select(ConsentRow::as_select())
                    .load(conn)
                    .await
                    .map(|rows| rows.into_iter().map(ConsentRow::into_consent).collect())
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn forget(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let client = DbId::from(client.as_uuid());
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let forgotten = diesel::delete(
                        oauth_consents::table
                            .filter(oauth_consents::tenant_id.eq(tenant))
                            .filter(oauth_consents::user_id.eq(user))
                            .filter(oauth_consents::client_id.eq(client)),
                    )
                    .execute(conn)
                    .await?;
                    // Codes issued but not yet redeemed open nothing any more.
                    diesel::update(
                        oauth_codes::table
                            .filter(oauth_codes::tenant_id.eq(tenant))
                            .filter(oauth_codes::user_id.eq(user))
                            .filter(oauth_codes::client_id.eq(client))
                            .filter(oauth_codes::redeemed_at.is_null()),
                    )
                    .set(oauth_codes::redeemed_at.eq(Some(now)))
                    .execute(conn)
                    .await?;
                    let grants = oauth_grants::table
                        .filter(oauth_grants::client_id.eq(client))
                        .filter(oauth_grants::user_id.eq(user))
                        .select(oauth_grants::session_id);
                    let ids = diesel::update(sessions::table)
                        .filter(sessions::tenant_id.eq(tenant))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::id.eq_any(grants))
                        .set((
                            sessions::revoked_at.eq(Some(now)),
                            sessions::revoked_reason.eq(Some("consent_withdrawn")),
                        ))
                        .returning(sessions::id)
                        .get_results::<DbId>(conn)
                        .await?;
                    // Grants opened before consents were remembered have no row: withdrawing
                    // still ends them.
                    if forgotten == 0 && ids.is_empty() {
                        return Ok(None);
                    }
                    audit::append(conn, &audit).await?;
                    Ok::<_, diesel::result::Error>(Some(
                        ids.into_iter()
                            .map(|id| SessionId::from_uuid(Uuid::from(id)))
                            .collect(),
                    ))
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }
}
