//! `UserRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::UserRepository;
use usvc_core::{CoreError, Email, TenantId, User, UserId, UserStatus};
use uuid::Uuid;

use crate::backend::DbId;
use crate::errors;
use crate::schema::{credentials, users};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
struct UserRow {
    id: DbId,
    tenant_id: DbId,
    email: String,
    email_normalized: String,
    email_verified: bool,
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    avatar_url: Option<String>,
    metadata: serde_json::Value,
    roles: serde_json::Value,
    status: String,
    mfa_enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    fn from_user(user: &User) -> Self {
        Self {
            id: DbId::from(user.id.as_uuid()),
            tenant_id: DbId::from(user.tenant_id.as_uuid()),
            email: user.email.as_str().to_owned(),
            email_normalized: user.email.normalized(),
            email_verified: user.email_verified,
            display_name: user.display_name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
            locale: user.locale.clone(),
            timezone: user.timezone.clone(),
            avatar_url: user.avatar_url.clone(),
            metadata: user.metadata.clone(),
            roles: serde_json::Value::from(user.roles.clone()),
            status: user.status.as_str().to_owned(),
            mfa_enabled: user.mfa_enabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_login_at: user.last_login_at,
        }
    }

    fn into_user(self) -> Result<User, CoreError> {
        let corrupt =
            |what: &str| CoreError::Internal(format!("stored user has an invalid {what}"));
        let roles =
            serde_json::from_value::<Vec<String>>(self.roles).map_err(|_| corrupt("role list"))?;
        Ok(User {
            id: UserId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            email_verified: self.email_verified,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            locale: self.locale,
            timezone: self.timezone,
            avatar_url: self.avatar_url,
            metadata: self.metadata,
            roles,
            status: UserStatus::parse(&self.status)?,
            mfa_enabled: self.mfa_enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = credentials)]
struct CredentialRow {
    user_id: DbId,
    password_hash: String,
    updated_at: DateTime<Utc>,
}

#[async_trait]
impl UserRepository for Store {
    async fn create(&self, user: &User, password_hash: Option<String>) -> Result<(), CoreError> {
        let row = UserRow::from_user(user);
        let credential = password_hash.map(|password_hash| CredentialRow {
            user_id: DbId::from(user.id.as_uuid()),
            password_hash,
            updated_at: user.created_at,
        });
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(users::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    if let Some(credential) = &credential {
                        diesel::insert_into(credentials::table)
                            .values(credential)
                            .execute(conn)
                            .await?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .map_err(|e| errors::conflict(e, "a user with this email already exists"))
            })
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                users::table
                    .filter(users::tenant_id.eq(tenant))
                    .filter(users::id.eq(id))
                    .select(UserRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(UserRow::into_user)
                    .transpose()
            })
        })
        .await
    }

    async fn find_for_login(
        &self,
        tenant: TenantId,
        email: &Email,
    ) -> Result<Option<(User, Option<String>)>, CoreError> {
        let (tenant, email) = (DbId::from(tenant.as_uuid()), email.normalized());
        self.run(move |conn| {
            Box::pin(async move {
                let found: Option<(UserRow, Option<String>)> = users::table
                    .left_join(credentials::table)
                    .filter(users::tenant_id.eq(tenant))
                    .filter(users::email_normalized.eq(email))
                    .select((UserRow::as_select(), credentials::password_hash.nullable()))
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?;
                found
                    .map(|(row, hash)| row.into_user().map(|user| (user, hash)))
                    .transpose()
            })
        })
        .await
    }

    async fn set_password_hash(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: String,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let found = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let exists: i64 = users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::id.eq(id))
                            .count()
                            .get_result(conn)
                            .await?;
                        if exists == 0 {
                            return Ok(false);
                        }
                        diesel::insert_into(credentials::table)
                            .values(CredentialRow {
                                user_id: id,
                                password_hash: hash.clone(),
                                updated_at: now,
                            })
                            .on_conflict(credentials::user_id)
                            .do_update()
                            .set((
                                credentials::password_hash.eq(hash.clone()),
                                credentials::updated_at.eq(now),
                            ))
                            .execute(conn)
                            .await?;
                        Ok::<_, diesel::result::Error>(true)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if found {
            Ok(())
        } else {
            Err(CoreError::NotFound("user".into()))
        }
    }

    async fn record_login(
        &self,
        tenant: TenantId,
        id: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    diesel::update(
                        users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::id.eq(id)),
                    )
                    .set(users::last_login_at.eq(Some(at)))
                    .execute(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if updated == 0 {
            return Err(CoreError::NotFound("user".into()));
        }
        Ok(())
    }

    async fn count(&self, tenant: Option<TenantId>) -> Result<u64, CoreError> {
        let tenant = tenant.map(|t| DbId::from(t.as_uuid()));
        let n: i64 = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = users::table.into_boxed();
                    if let Some(tenant) = tenant {
                        query = query.filter(users::tenant_id.eq(tenant));
                    }
                    query.count().get_result(conn).await.map_err(errors::query)
                })
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
