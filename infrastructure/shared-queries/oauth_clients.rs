//! `OAuthClientRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use serde::de::DeserializeOwned;
use usvc_core::ports::OAuthClientRepository;
use usvc_core::{AuditEntry, ClientId, CoreError, OAuthClient, TenantId, UserStatus};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{oauth_clients, sessions, users};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_clients)]
struct ClientRow {
    id: DbId,
    tenant_id: DbId,
    name: String,
    kind: String,
    auth_method: String,
    secret_hash: Option<String>,
    jwks: Option<serde_json::Value>,
    redirect_uris: serde_json::Value,
    post_logout_redirect_uris: serde_json::Value,
    grant_types: serde_json::Value,
    scopes: serde_json::Value,
    roles: serde_json::Value,
    trusted: bool,
    id_token_alg: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A value as the JSON (or JSON text) column keeps it; the enums' serde names are the column
/// values the CHECK constraints allow.
fn to_json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn from_json<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T, CoreError> {
    serde_json::from_value(value).map_err(|_| CoreError::Internal(format!("stored client {what}")))
}

fn text_of(value: &impl serde::Serialize) -> String {
    to_json(value).as_str().unwrap_or_default().to_owned()
}

impl ClientRow {
    fn from_client(c: &OAuthClient) -> Self {
        Self {
            id: DbId::from(c.id.as_uuid()),
            tenant_id: DbId::from(c.tenant_id.as_uuid()),
            name: c.name.clone(),
            kind: text_of(&c.kind),
            auth_method: text_of(&c.auth_method),
            secret_hash: c.secret_hash.clone(),
            jwks: c.jwks.clone(),
            redirect_uris: to_json(&c.redirect_uris),
            post_logout_redirect_uris: to_json(&c.post_logout_redirect_uris),
            grant_types: to_json(&c.grant_types),
            scopes: to_json(&c.scopes),
            roles: to_json(&c.roles),
            trusted: c.trusted,
            id_token_alg: text_of(&c.id_token_alg),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }

    fn into_client(self) -> Result<OAuthClient, CoreError> {
        Ok(OAuthClient {
            id: ClientId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            name: self.name,
            kind: from_json(serde_json::Value::String(self.kind), "kind")?,
            auth_method: from_json(serde_json::Value::String(self.auth_method), "auth method")?,
            secret_hash: self.secret_hash,
            jwks: self.jwks,
            redirect_uris: from_json(self.redirect_uris, "redirect URIs")?,
            post_logout_redirect_uris: from_json(
                self.post_logout_redirect_uris,
                "post-logout redirect URIs",
            )?,
            grant_types: from_json(self.grant_types, "grant types")?,
            scopes: from_json(self.scopes, "scopes")?,
            roles: from_json(self.roles, "roles")?,
            trusted: self.trusted,
            id_token_alg: from_json(
                serde_json::Value::String(self.id_token_alg),
                "ID token algorithm",
            )?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl OAuthClientRepository for Store {
    async fn create(&self, client: &OAuthClient, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = ClientRow::from_client(client);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(oauth_clients::table)
                        .values(&row)
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

    async fn list(&self, tenant: TenantId) -> Result<Vec<OAuthClient>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    oauth_clients::table
                        .filter(oauth_clients::tenant_id.eq(tenant))
                        .order(oauth_clients::id.asc())
                        .select(ClientRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter().map(ClientRow::into_client).collect()
    }

    async fn get(&self, id: ClientId) -> Result<Option<OAuthClient>, CoreError> {
        let id = DbId::from(id.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                oauth_clients::table
                    .filter(oauth_clients::id.eq(id))
                    .select(ClientRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(ClientRow::into_client)
                    .transpose()
            })
        })
        .await
    }

    async fn update(&self, client: &OAuthClient, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = ClientRow::from_client(client);
        let audit = audit.clone();
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let updated = diesel::update(
                            oauth_clients::table
                                .filter(oauth_clients::tenant_id.eq(row.tenant_id))
                                .filter(oauth_clients::id.eq(row.id)),
                        )
                        .set((
                            oauth_clients::name.eq(&row.name),
                            oauth_clients::auth_method.eq(&row.auth_method),
                            oauth_clients::secret_hash.eq(&row.secret_hash),
                            oauth_clients::jwks.eq(&row.jwks),
                            oauth_clients::redirect_uris.eq(&row.redirect_uris),
                            oauth_clients::post_logout_redirect_uris
                                .eq(&row.post_logout_redirect_uris),
                            oauth_clients::grant_types.eq(&row.grant_types),
                            oauth_clients::scopes.eq(&row.scopes),
                            oauth_clients::roles.eq(&row.roles),
                            oauth_clients::trusted.eq(row.trusted),
                            oauth_clients::id_token_alg.eq(&row.id_token_alg),
                            oauth_clients::updated_at.eq(row.updated_at),
                        ))
                        .execute(conn)
                        .await?;
                        if updated > 0 {
                            // Its service account (the user with the client's id, if it
                            // has one) holds the client's roles from now on.
                            diesel::update(
                                users::table
                                    .filter(users::tenant_id.eq(row.tenant_id))
                                    .filter(users::id.eq(row.id))
                                    .filter(users::deleted_at.is_null()),
                            )
                            .set((
                                users::roles.eq(&row.roles),
                                users::updated_at.eq(row.updated_at),
                            ))
                            .execute(conn)
                            .await?;
                            audit::append(conn, &audit).await?;
                        }
                        Ok::<_, diesel::result::Error>(updated)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if updated == 0 {
            return Err(CoreError::NotFound("client".into()));
        }
        Ok(())
    }

    async fn delete(
        &self,
        tenant: TenantId,
        id: ClientId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let audit = audit.clone();
        let deleted = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let deleted = diesel::delete(
                            oauth_clients::table
                                .filter(oauth_clients::tenant_id.eq(tenant))
                                .filter(oauth_clients::id.eq(id)),
                        )
                        .execute(conn)
                        .await?;
                        if deleted > 0 {
                            // Its service account is disabled and signed out: the history
                            // of what it did stays attributed to it.
                            let now = audit.at;
                            diesel::update(
                                users::table
                                    .filter(users::tenant_id.eq(tenant))
                                    .filter(users::id.eq(id))
                                    .filter(users::deleted_at.is_null()),
                            )
                            .set((
                                users::status.eq(UserStatus::Disabled.as_str()),
                                users::updated_at.eq(now),
                            ))
                            .execute(conn)
                            .await?;
                            diesel::update(
                                sessions::table
                                    .filter(sessions::tenant_id.eq(tenant))
                                    .filter(sessions::user_id.eq(id))
                                    .filter(sessions::revoked_at.is_null()),
                            )
                            .set((
                                sessions::revoked_at.eq(Some(now)),
                                sessions::revoked_reason.eq(Some("client_deleted")),
                            ))
                            .execute(conn)
                            .await?;
                            audit::append(conn, &audit).await?;
                        }
                        Ok::<_, diesel::result::Error>(deleted)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if deleted == 0 {
            return Err(CoreError::NotFound("client".into()));
        }
        Ok(())
    }
}
