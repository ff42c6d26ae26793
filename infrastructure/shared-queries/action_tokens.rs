//! `ActionTokenRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::ActionTokenRepository;
use usvc_core::{ActionPurpose, ActionToken, AuditEntry, CoreError, SessionId, TenantId, UserId};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{action_tokens, credentials, passkeys, sessions, users};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = action_tokens)]
struct TokenRow {
    hash: String,
    tenant_id: DbId,
    user_id: DbId,
    purpose: String,
    email: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    fn into_token(self) -> Result<ActionToken, CoreError> {
        Ok(ActionToken {
            hash: self.hash,
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            purpose: ActionPurpose::parse(&self.purpose)
                .ok_or_else(|| CoreError::Internal("stored token purpose".into()))?,
            email: self.email,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// Spends the live token `hash` of `purpose` inside a transaction; its row if this call
/// spent it.
async fn spend(
    conn: &mut crate::backend::Connection,
    hash: &str,
    purpose: ActionPurpose,
    now: DateTime<Utc>,
) -> Result<Option<TokenRow>, diesel::result::Error> {
    let spent = diesel::update(
        action_tokens::table
            .filter(action_tokens::hash.eq(hash))
            .filter(action_tokens::purpose.eq(purpose.as_str()))
            .filter(action_tokens::used_at.is_null())
            .filter(action_tokens::expires_at.gt(now)),
    )
    .set(action_tokens::used_at.eq(Some(now)))
    .execute(conn)
    .await?;
    if spent == 0 {
        return Ok(None);
    }
    action_tokens::table
        .find(hash)
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

#[async_trait]
impl ActionTokenRepository for Store {
    async fn issue(&self, token: &ActionToken) -> Result<(), CoreError> {
        let row = TokenRow {
            hash: token.hash.clone(),
            tenant_id: DbId::from(token.tenant_id.as_uuid()),
            user_id: DbId::from(token.user_id.as_uuid()),
            purpose: token.purpose.as_str().to_owned(),
            email: token.email.clone(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            used_at: None,
        };
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    // Only the latest mail counts; expired rows go too (housekeeping).
                    diesel::delete(
                        action_tokens::table
                            .filter(action_tokens::user_id.eq(row.user_id))
                            .filter(action_tokens::purpose.eq(&row.purpose)),
                    )
                    .execute(conn)
                    .await?;
                    diesel::delete(
                        action_tokens::table.filter(action_tokens::expires_at.lt(row.created_at)),
                    )
                    .execute(conn)
                    .await?;
                    diesel::insert_into(action_tokens::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn find(
        &self,
        hash: String,
        purpose: ActionPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<ActionToken>, CoreError> {
        self.run(move |conn| {
            Box::pin(async move {
                action_tokens::table
                    .filter(action_tokens::hash.eq(hash))
                    .filter(action_tokens::purpose.eq(purpose.as_str()))
                    .filter(action_tokens::used_at.is_null())
                    .filter(action_tokens::expires_at.gt(now))
                    .select(TokenRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(TokenRow::into_token)
                    .transpose()
            })
        })
        .await
    }

    async fn redeem_password_reset(
        &self,
        hash: String,
        password_hash: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError> {
        let audit = audit.clone();
        let revoked = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let Some(token) =
                            spend(conn, &hash, ActionPurpose::PasswordReset, now).await?
                        else {
                            return Ok(None);
                        };
                        let user = token.user_id;
                        // Only while the account still has the address the link went to.
                        let live_user: i64 = users::table
                            .filter(users::id.eq(user))
                            .filter(users::email_normalized.eq(token.email.to_lowercase()))
                            .filter(users::deleted_at.is_null())
                            .count()
                            .get_result(conn)
                            .await?;
                        if live_user == 0 {
                            return Ok(None);
                        }
                        diesel::insert_into(credentials::table)
                            .values((
                                credentials::user_id.eq(user),
                                credentials::password_hash.eq(&password_hash),
                                credentials::updated_at.eq(now),
                            ))
                            .on_conflict(credentials::user_id)
                            .do_update()
                            .set((
                                credentials::password_hash.eq(&password_hash),
                                credentials::updated_at.eq(now),
                            ))
                            .execute(conn)
                            .await?;
                        // A passkey signs in without the password: whoever reset it (having
                        // lost control of the account, or never had it) starts from the
                        // password alone.
                        diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user)))
                            .execute(conn)
                            .await?;
                        let live: Vec<DbId> = sessions::table
                            .filter(sessions::user_id.eq(user))
                            .filter(sessions::revoked_at.is_null())
                            .select(sessions::id)
                            .load(conn)
                            .await?;
                        diesel::update(
                            sessions::table
                                .filter(sessions::user_id.eq(user))
                                .filter(sessions::revoked_at.is_null()),
                        )
                        .set((
                            sessions::revoked_at.eq(Some(now)),
                            sessions::revoked_reason.eq(Some("password_reset")),
                        ))
                        .execute(conn)
                        .await?;
                        audit::append(conn, &audit).await?;
                        Ok::<_, diesel::result::Error>(Some(live))
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(revoked.map(|ids| {
            ids.into_iter()
                .map(|id| SessionId::from_uuid(Uuid::from(id)))
                .collect()
        }))
    }

    async fn redeem_email_verification(
        &self,
        hash: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let Some(token) =
                        spend(conn, &hash, ActionPurpose::EmailVerification, now).await?
                    else {
                        return Ok(false);
                    };
                    let verified = diesel::update(
                        users::table
                            .filter(users::id.eq(token.user_id))
                            .filter(users::tenant_id.eq(token.tenant_id))
                            .filter(users::email_normalized.eq(token.email.to_lowercase()))
                            .filter(users::deleted_at.is_null()),
                    )
                    .set((users::email_verified.eq(true), users::updated_at.eq(now)))
                    .execute(conn)
                    .await?;
                    if verified == 1 {
                        audit::append(conn, &audit).await?;
                    }
                    Ok::<_, diesel::result::Error>(verified == 1)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }
}
