//! `UserRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::{UpdateOutcome, UserRepository};
use usvc_core::{
    AuditEntry, CoreError, DomainEvent, Email, Page, PageRequest, SessionId, TenantId, User,
    UserFilter, UserId, UserStatus,
};
use uuid::Uuid;

use crate::audit;
use crate::backend::{has_role, insert_users, lock_tenant, DbId};
use crate::errors;
use crate::outbox;
use crate::prepared::KeepPrepared as _;
use crate::schema::{
    credentials, mfa_challenges, oauth_consents, passkeys, recovery_codes, sessions,
    totp_credentials, users,
};
use crate::store::Store;

/// A user's row (its fields are the crate's: Postgres's one-statement refresh reads them
/// beside the session's, `backend::rotate_refreshes_at_once`).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub(crate) id: DbId,
    pub(crate) tenant_id: DbId,
    pub(crate) email: String,
    pub(crate) email_normalized: String,
    pub(crate) email_verified: bool,
    pub(crate) display_name: Option<String>,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) locale: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) avatar_url: Option<String>,
    pub(crate) metadata: serde_json::Value,
    pub(crate) roles: serde_json::Value,
    pub(crate) status: String,
    pub(crate) mfa_enabled: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    /// The row of `user`.
    pub(crate) fn from_user(user: &User) -> Self {
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

    pub(crate) fn into_user(self) -> Result<User, CoreError> {
        let corrupt =
            |what: &str| CoreError::Internal(format!("stored user has an invalid {what}"));
        let roles =
            serde_json::from_value::<Vec<String>>(self.roles).map_err(|_| corrupt("role list"))?;
        Ok(User {
            id: UserId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            email: Email::stored(&self.email).map_err(|_| corrupt("email"))?,
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

/// The columns an update may change.
#[derive(AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct UserChanges {
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
    updated_at: DateTime<Utc>,
}

impl UserChanges {
    fn from_row(row: UserRow) -> Self {
        Self {
            email: row.email,
            email_normalized: row.email_normalized,
            email_verified: row.email_verified,
            display_name: row.display_name,
            given_name: row.given_name,
            family_name: row.family_name,
            locale: row.locale,
            timezone: row.timezone,
            avatar_url: row.avatar_url,
            metadata: row.metadata,
            roles: row.roles,
            status: row.status,
            updated_at: row.updated_at,
        }
    }
}

/// Active owners of the tenant, inside the guarded transaction.
async fn active_owners(
    conn: &mut crate::backend::Connection,
    tenant: DbId,
) -> Result<i64, diesel::result::Error> {
    users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::deleted_at.is_null())
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .filter(has_role("owner".to_owned()))
        .count()
        .get_result(conn)
        .await
}

fn last_owner() -> CoreError {
    CoreError::Conflict(
        "this is the tenant's last active owner; make someone else owner first".into(),
    )
}

/// Escapes `LIKE` wildcards so a prefix matches literally (`\` is the escape character).
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>);

#[derive(Insertable)]
#[diesel(table_name = credentials)]
pub(crate) struct CredentialRow {
    user_id: DbId,
    password_hash: String,
    updated_at: DateTime<Utc>,
}

impl CredentialRow {
    /// The password credential of a new user.
    pub(crate) fn of(user: &User, password_hash: String) -> Self {
        Self {
            user_id: DbId::from(user.id.as_uuid()),
            password_hash,
            updated_at: user.created_at,
        }
    }
}

/// The `user.created` event workflow triggers see (the identity domain announces its own on
/// the bus): the same payload, `{user_id, roles, source}`.
fn created_event(user: &User, audit: &AuditEntry, source: &str) -> DomainEvent {
    DomainEvent::new(
        user.tenant_id,
        "user.created",
        audit.at,
        audit.actor.user(),
        serde_json::json!({ "user_id": user.id, "roles": user.roles, "source": source }),
    )
}

/// Deletes every way into the account of user `id` and what it allowed: its password, second
/// factors, pending challenges, passkeys and consents to applications (erasure).
async fn forget_credentials(
    conn: &mut crate::backend::Connection,
    id: DbId,
) -> Result<(), diesel::result::Error> {
    diesel::delete(credentials::table.filter(credentials::user_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(totp_credentials::table.filter(totp_credentials::user_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(oauth_consents::table.filter(oauth_consents::user_id.eq(id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The tenant's user `id` unless erased, as stored now (`UserRepository::get`, and a refresh's
/// user read with its rotation: `sessions.rs`).
pub(crate) async fn live(
    conn: &mut crate::backend::Connection,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<User>, CoreError> {
    let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
    users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::id.eq(id))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
        .map_err(errors::query)?
        .map(UserRow::into_user)
        .transpose()
}

#[async_trait]
impl UserRepository for Store {
    async fn create(
        &self,
        user: &User,
        password_hash: Option<String>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let row = UserRow::from_user(user);
        let source = if audit.action == "user.registered" {
            "registration"
        } else {
            "admin"
        };
        let event = created_event(user, audit, source);
        let audit = audit.clone();
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
                    audit::append(conn, &audit).await?;
                    outbox::stage_for_triggers(conn, std::slice::from_ref(&event)).await
                })
                .await
                .map_err(|e| errors::conflict(e, "a user with this email already exists"))
            })
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, CoreError> {
        self.run(move |conn| Box::pin(async move { live(conn, tenant, id).await }))
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
                    .filter(users::deleted_at.is_null())
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
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let audit = audit.clone();
        let found = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let exists: i64 = users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::id.eq(id))
                            .filter(users::deleted_at.is_null())
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
                        audit::append(conn, &audit).await?;
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
                    .prepared()
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
                    let mut query = users::table
                        .filter(users::deleted_at.is_null())
                        .into_boxed();
                    if let Some(tenant) = tenant {
                        query = query.filter(users::tenant_id.eq(tenant));
                    }
                    query.count().get_result(conn).await.map_err(errors::query)
                })
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn update(
        &self,
        user: &User,
        expected_updated_at: DateTime<Utc>,
        keep_an_owner: bool,
        audit: &AuditEntry,
    ) -> Result<UpdateOutcome, CoreError> {
        let audit = audit.clone();
        let (tenant, id) = (
            DbId::from(user.tenant_id.as_uuid()),
            DbId::from(user.id.as_uuid()),
        );
        let changes = UserChanges::from_row(UserRow::from_user(user));
        let outcome = self
            .run(move |conn| {
                Box::pin(async move {
                    Ok(conn
                        .transaction(async move |conn| {
                            if keep_an_owner {
                                lock_tenant(conn, tenant).await?;
                            }
                            let updated = diesel::update(
                                users::table
                                    .filter(users::tenant_id.eq(tenant))
                                    .filter(users::id.eq(id))
                                    .filter(users::deleted_at.is_null())
                                    .filter(users::updated_at.eq(expected_updated_at)),
                            )
                            .set(&changes)
                            .execute(conn)
                            .await?;
                            if updated == 0 {
                                return Ok(UpdateOutcome::Stale);
                            }
                            if keep_an_owner && active_owners(conn, tenant).await? == 0 {
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            audit::append(conn, &audit).await?;
                            Ok(UpdateOutcome::Updated)
                        })
                        .await)
                })
            })
            .await?;
        match outcome {
            Err(diesel::result::Error::RollbackTransaction) => Ok(UpdateOutcome::LastOwner),
            other => {
                other.map_err(|e| errors::conflict(e, "a user with this email already exists"))
            }
        }
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, CoreError> {
        let after = page.after_position::<Uuid>()?.map(DbId::from);
        let tenant = DbId::from(tenant.as_uuid());
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = users::table
                        .filter(users::tenant_id.eq(tenant))
                        .filter(users::deleted_at.is_null())
                        .select(UserRow::as_select())
                        .order(users::id.asc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(after) = after {
                        query = query.filter(users::id.gt(after));
                    }
                    if let Some(status) = filter.status {
                        query = query.filter(users::status.eq(status.as_str()));
                    }
                    if let Some(role) = filter.role {
                        query = query.filter(has_role(role));
                    }
                    if let Some(prefix) = filter.prefix {
                        let pattern = like_prefix(&prefix);
                        query = query.filter(
                            users::email_normalized
                                .nullable()
                                .like(pattern.clone())
                                .escape('\\')
                                .or(lower(users::display_name)
                                    .like(pattern.clone())
                                    .escape('\\'))
                                .or(lower(users::given_name).like(pattern.clone()).escape('\\'))
                                .or(lower(users::family_name).like(pattern).escape('\\'))
                                .assume_not_null(),
                        );
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(users, page.limit, |u| {
            u.id.to_string()
        }))
    }

    async fn get_many(&self, tenant: TenantId, ids: Vec<UserId>) -> Result<Vec<User>, CoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = DbId::from(tenant.as_uuid());
        let ids: Vec<DbId> = ids.into_iter().map(|id| DbId::from(id.as_uuid())).collect();
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    users::table
                        .filter(users::tenant_id.eq(tenant))
                        .filter(users::id.eq_any(ids))
                        .filter(users::deleted_at.is_null())
                        .select(UserRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    async fn taken_emails(
        &self,
        tenant: TenantId,
        emails: Vec<String>,
    ) -> Result<Vec<String>, CoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = DbId::from(tenant.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                let mut taken = Vec::new();
                // Bounded IN lists: SQLite allows 32766 bound parameters, Postgres 65535.
                for chunk in emails.chunks(1000) {
                    let found: Vec<String> = users::table
                        .filter(users::tenant_id.eq(tenant))
                        .filter(users::email_normalized.eq_any(chunk))
                        .select(users::email_normalized)
                        .load(conn)
                        .await
                        .map_err(errors::query)?;
                    taken.extend(found);
                }
                Ok(taken)
            })
        })
        .await
    }

    async fn create_many(
        &self,
        users: Vec<(User, Option<String>)>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let events: Vec<DomainEvent> = users
            .iter()
            .map(|(user, _)| created_event(user, audit, "import"))
            .collect();
        let audit = audit.clone();
        let mut user_rows = Vec::with_capacity(users.len());
        let mut credential_rows = Vec::new();
        for (user, hash) in &users {
            user_rows.push(UserRow::from_user(user));
            if let Some(hash) = hash {
                credential_rows.push(CredentialRow {
                    user_id: DbId::from(user.id.as_uuid()),
                    password_hash: hash.clone(),
                    updated_at: user.created_at,
                });
            }
        }
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    insert_users(conn, &user_rows, &credential_rows).await?;
                    audit::append(conn, &audit).await?;
                    outbox::stage_for_triggers(conn, &events).await
                })
                .await
                .map_err(|e| errors::conflict(e, "a user with one of these emails already exists"))
            })
        })
        .await
    }

    async fn erase(
        &self,
        tenant: TenantId,
        id: UserId,
        now: DateTime<Utc>,
        keep_an_owner: bool,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError> {
        let audit = audit.clone();
        let (tenant, id_db) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        // A placeholder that frees the address for reuse and can never be logged in with.
        let placeholder = format!("erased-{id}@erased.invalid");
        let revoked = self
            .run(move |conn| {
                Box::pin(async move {
                    Ok(conn
                        .transaction(async move |conn| {
                            if keep_an_owner {
                                lock_tenant(conn, tenant).await?;
                            }
                            let erased = diesel::update(
                                users::table
                                    .filter(users::tenant_id.eq(tenant))
                                    .filter(users::id.eq(id_db))
                                    .filter(users::deleted_at.is_null()),
                            )
                            .set((
                                users::email.eq(&placeholder),
                                users::email_normalized.eq(&placeholder),
                                users::email_verified.eq(false),
                                users::display_name.eq(None::<String>),
                                users::given_name.eq(None::<String>),
                                users::family_name.eq(None::<String>),
                                users::locale.eq(None::<String>),
                                users::timezone.eq(None::<String>),
                                users::avatar_url.eq(None::<String>),
                                users::metadata.eq(serde_json::json!({})),
                                users::roles.eq(serde_json::json!([])),
                                users::status.eq(UserStatus::Disabled.as_str()),
                                users::mfa_enabled.eq(false),
                                users::updated_at.eq(now),
                                users::deleted_at.eq(Some(now)),
                            ))
                            .execute(conn)
                            .await?;
                            if erased == 0 {
                                return Ok(None);
                            }
                            if keep_an_owner && active_owners(conn, tenant).await? == 0 {
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            forget_credentials(conn, id_db).await?;
                            let live: Vec<DbId> = sessions::table
                                .filter(sessions::user_id.eq(id_db))
                                .filter(sessions::revoked_at.is_null())
                                .select(sessions::id)
                                .load(conn)
                                .await?;
                            diesel::update(
                                sessions::table
                                    .filter(sessions::user_id.eq(id_db))
                                    .filter(sessions::revoked_at.is_null()),
                            )
                            .set((
                                sessions::revoked_at.eq(Some(now)),
                                sessions::revoked_reason.eq(Some("user_deleted")),
                            ))
                            .execute(conn)
                            .await?;
                            audit::append(conn, &audit).await?;
                            Ok::<_, diesel::result::Error>(Some(live))
                        })
                        .await)
                })
            })
            .await?;
        let revoked = match revoked {
            Err(diesel::result::Error::RollbackTransaction) => return Err(last_owner()),
            other => other.map_err(errors::query)?,
        };
        let revoked = revoked.ok_or_else(|| CoreError::NotFound("user".into()))?;
        Ok(revoked
            .into_iter()
            .map(|id| SessionId::from_uuid(Uuid::from(id)))
            .collect())
    }
}
