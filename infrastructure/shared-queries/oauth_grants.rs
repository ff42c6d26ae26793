//! `OAuthGrantRepository`: authorization codes and the grants their redemption opens
//! (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::OAuthGrantRepository;
use usvc_core::{
    AuditEntry, AuthorizationCode, ClientId, CoreError, OAuthGrant, Session, SessionId, TenantId,
    UserId,
};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{oauth_codes, oauth_grants, refresh_tokens, sessions};
use crate::sessions::{closed_account, open_in};
use crate::store::Store;

fn strings(value: serde_json::Value, what: &str) -> Result<Vec<String>, CoreError> {
    serde_json::from_value(value).map_err(|_| CoreError::Internal(format!("stored {what}")))
}

fn id(id: Uuid) -> DbId {
    DbId::from(id)
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_codes)]
struct CodeRow {
    hash: String,
    tenant_id: DbId,
    client_id: DbId,
    user_id: DbId,
    browser_session_id: DbId,
    redirect_uri: String,
    code_challenge: Option<String>,
    scope: serde_json::Value,
    nonce: Option<String>,
    auth_time: DateTime<Utc>,
    amr: serde_json::Value,
    issuer: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    redeemed_at: Option<DateTime<Utc>>,
    session_id: Option<DbId>,
}

impl CodeRow {
    fn from_code(c: &AuthorizationCode) -> Self {
        Self {
            hash: c.hash.clone(),
            tenant_id: id(c.tenant_id.as_uuid()),
            client_id: id(c.client_id.as_uuid()),
            user_id: id(c.user_id.as_uuid()),
            browser_session_id: id(c.browser_session.as_uuid()),
            redirect_uri: c.redirect_uri.clone(),
            code_challenge: c.code_challenge.clone(),
            scope: serde_json::json!(c.scope),
            nonce: c.nonce.clone(),
            auth_time: c.auth_time,
            amr: serde_json::json!(c.amr),
            issuer: c.issuer.clone(),
            created_at: c.created_at,
            expires_at: c.expires_at,
            redeemed_at: c.redeemed_at,
            session_id: c.session_id.map(|s| id(s.as_uuid())),
        }
    }

    fn into_code(self) -> Result<AuthorizationCode, CoreError> {
        Ok(AuthorizationCode {
            hash: self.hash,
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            client_id: ClientId::from_uuid(Uuid::from(self.client_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            browser_session: SessionId::from_uuid(Uuid::from(self.browser_session_id)),
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            scope: strings(self.scope, "code scope")?,
            nonce: self.nonce,
            auth_time: self.auth_time,
            amr: strings(self.amr, "code amr")?,
            issuer: self.issuer,
            created_at: self.created_at,
            expires_at: self.expires_at,
            redeemed_at: self.redeemed_at,
            session_id: self.session_id.map(|s| SessionId::from_uuid(Uuid::from(s))),
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_grants)]
struct GrantRow {
    session_id: DbId,
    tenant_id: DbId,
    client_id: DbId,
    user_id: DbId,
    browser_session_id: DbId,
    scope: serde_json::Value,
    auth_time: DateTime<Utc>,
    amr: serde_json::Value,
    issuer: String,
    created_at: DateTime<Utc>,
}

impl GrantRow {
    fn from_grant(g: &OAuthGrant) -> Self {
        Self {
            session_id: id(g.session_id.as_uuid()),
            tenant_id: id(g.tenant_id.as_uuid()),
            client_id: id(g.client_id.as_uuid()),
            user_id: id(g.user_id.as_uuid()),
            browser_session_id: id(g.browser_session.as_uuid()),
            scope: serde_json::json!(g.scope),
            auth_time: g.auth_time,
            amr: serde_json::json!(g.amr),
            issuer: g.issuer.clone(),
            created_at: g.created_at,
        }
    }

    fn into_grant(self) -> Result<OAuthGrant, CoreError> {
        Ok(OAuthGrant {
            session_id: SessionId::from_uuid(Uuid::from(self.session_id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            client_id: ClientId::from_uuid(Uuid::from(self.client_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            browser_session: SessionId::from_uuid(Uuid::from(self.browser_session_id)),
            scope: strings(self.scope, "grant scope")?,
            auth_time: self.auth_time,
            amr: strings(self.amr, "grant amr")?,
            issuer: self.issuer,
            created_at: self.created_at,
        })
    }
}

#[async_trait]
impl OAuthGrantRepository for Store {
    async fn issue_code(
        &self,
        code: &AuthorizationCode,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let row = CodeRow::from_code(code);
        let audit = audit.clone();
        // Codes past their life by a day are forgotten on the way (a code lives 60 s; the
        // day keeps a late reuse recognised, so it still revokes the grant).
        let forgotten = code.created_at - chrono::Duration::days(1);
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::delete(
                        oauth_codes::table.filter(oauth_codes::expires_at.lt(forgotten)),
                    )
                    .execute(conn)
                    .await?;
                    diesel::insert_into(oauth_codes::table)
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

    async fn find_code(&self, hash: String) -> Result<Option<AuthorizationCode>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                oauth_codes::table
                    .filter(oauth_codes::hash.eq(hash))
                    .select(CodeRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(CodeRow::into_code)
                    .transpose()
            })
        })
        .await
    }

    async fn redeem_code(
        &self,
        hash: String,
        now: DateTime<Utc>,
        session: &Session,
        refresh_hash: String,
        grant: &OAuthGrant,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let session = session.clone();
        let row = GrantRow::from_grant(grant);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let taken = diesel::update(
                        oauth_codes::table
                            .filter(oauth_codes::hash.eq(hash))
                            .filter(oauth_codes::redeemed_at.is_null())
                            .filter(oauth_codes::expires_at.gt(now)),
                    )
                    .set((
                        oauth_codes::redeemed_at.eq(now),
                        oauth_codes::session_id.eq(row.session_id),
                    ))
                    .execute(conn)
                    .await?;
                    if taken == 0 {
                        return Ok(false);
                    }
                    open_in(conn, &session, Some(refresh_hash)).await?;
                    diesel::insert_into(oauth_grants::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await?;
                    Ok(true)
                })
                .await
                .map_err(closed_account)
            })
        })
        .await
    }

    async fn open_grant(
        &self,
        session: &Session,
        grant: &OAuthGrant,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let session = session.clone();
        let row = GrantRow::from_grant(grant);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    open_in(conn, &session, None).await?;
                    diesel::insert_into(oauth_grants::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(closed_account)
            })
        })
        .await
    }

    async fn burn_code(&self, hash: String, now: DateTime<Utc>) -> Result<bool, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                diesel::update(
                    oauth_codes::table
                        .filter(oauth_codes::hash.eq(hash))
                        .filter(oauth_codes::redeemed_at.is_null()),
                )
                .set(oauth_codes::redeemed_at.eq(now))
                .execute(conn)
                .await
                .map(|n| n > 0)
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn grant_of_refresh(
        &self,
        refresh_hash: String,
    ) -> Result<Option<OAuthGrant>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                oauth_grants::table
                    .filter(
                        oauth_grants::session_id.nullable().eq(refresh_tokens::table
                            .filter(refresh_tokens::hash.eq(refresh_hash))
                            .select(refresh_tokens::session_id)
                            .single_value()),
                    )
                    .select(GrantRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(GrantRow::into_grant)
                    .transpose()
            })
        })
        .await
    }

    async fn end_sign_in(
        &self,
        tenant: TenantId,
        browser_session: SessionId,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError> {
        let (tenant, browser) = (id(tenant.as_uuid()), id(browser_session.as_uuid()));
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let grants = oauth_grants::table
                        .filter(oauth_grants::browser_session_id.eq(browser))
                        .select(oauth_grants::session_id);
                    let ids = diesel::update(sessions::table)
                        .filter(sessions::tenant_id.eq(tenant))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::id.eq(browser).or(sessions::id.eq_any(grants)))
                        .set((
                            sessions::revoked_at.eq(Some(now)),
                            sessions::revoked_reason.eq(Some(reason)),
                        ))
                        .returning(sessions::id)
                        .get_results::<DbId>(conn)
                        .await?;
                    if !ids.is_empty() {
                        audit::append(conn, &audit).await?;
                    }
                    Ok::<_, diesel::result::Error>(
                        ids.into_iter()
                            .map(|id| SessionId::from_uuid(Uuid::from(id)))
                            .collect(),
                    )
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn grant(&self, session: SessionId) -> Result<Option<OAuthGrant>, CoreError> {
        let session = id(session.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                oauth_grants::table
                    .filter(oauth_grants::session_id.eq(session))
                    .select(GrantRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(GrantRow::into_grant)
                    .transpose()
            })
        })
        .await
    }
}
