//! `SessionRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::SessionRepository;
use usvc_core::{
    AuditEntry, CoreError, RefreshOutcome, Session, SessionId, TenantId, TenantStatus, UserId,
    UserStatus,
};
use uuid::Uuid;

use crate::audit;
use crate::backend::{tenant_status_locked, Connection, DbId};
use crate::errors;
use crate::prepared::KeepPrepared as _;
use crate::schema::{refresh_tokens, sessions, users};
use crate::store::Store;
use crate::users::UserRow;

#[derive(Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    id: DbId,
    tenant_id: DbId,
    user_id: DbId,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    idle_expires_at: DateTime<Utc>,
    absolute_expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

/// A refresh's rotation waiting for its batch (`group_commit.rs`): the presented token's hash,
/// the next token's, and the refresh's time.
#[derive(Clone)]
#[allow(dead_code)] // read by Postgres's backend only; SQLite rotates in the transaction
pub(crate) struct Rotation {
    pub(crate) presented: String,
    pub(crate) next: String,
    pub(crate) now: DateTime<Utc>,
}

/// Concurrent refreshes' rotations as one statement and one commit where the store can
/// (`backend::rotate_refreshes_at_once`; the store's `refresh_rotations` batch them).
pub(crate) fn rotate_many<'c>(
    conn: &'c mut Connection,
    rotations: &'c [Rotation],
) -> crate::store::Work<'c, Vec<Option<SpentNow>>> {
    Box::pin(async move {
        crate::backend::rotate_refreshes_at_once(conn, rotations)
            .await
            .map_err(errors::query)
    })
}

/// What [`rotate_refreshes_at_once`](crate::backend::rotate_refreshes_at_once) did with a
/// token it spent.
#[allow(dead_code)] // only Postgres's backend builds one; SQLite rotates in the transaction
pub(crate) struct SpentNow {
    /// The session as it is now, its last use and idle expiry moved, when it was live and the
    /// next token is stored; `None` when it had ended (revoked or expired): the token is
    /// spent, nothing else changed.
    pub(crate) rotated: Option<SessionRow>,
    /// The session's user as stored now, read by the same statement (a refresh is then one
    /// round trip): `None` when it is gone (erased, or deleted) or nothing was rotated.
    pub(crate) user: Option<crate::users::UserRow>,
}

impl SessionRow {
    fn from_session(s: &Session) -> Self {
        Self {
            id: DbId::from(s.id.as_uuid()),
            tenant_id: DbId::from(s.tenant_id.as_uuid()),
            user_id: DbId::from(s.user_id.as_uuid()),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            idle_expires_at: s.idle_expires_at,
            absolute_expires_at: s.absolute_expires_at,
            revoked_at: s.revoked_at,
            revoked_reason: s.revoked_reason.clone(),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        }
    }

    fn into_session(self) -> Session {
        Session {
            id: SessionId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at,
            absolute_expires_at: self.absolute_expires_at,
            revoked_at: self.revoked_at,
            revoked_reason: self.revoked_reason,
            ip: self.ip,
            user_agent: self.user_agent,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
struct NewRefreshToken {
    hash: String,
    session_id: DbId,
    created_at: DateTime<Utc>,
}

#[async_trait]
impl SessionRepository for Store {
    async fn create(
        &self,
        session: &Session,
        refresh_hash: String,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let session = session.clone();
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    open_in(conn, &session, Some(refresh_hash)).await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(closed_account)
            })
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: SessionId) -> Result<Option<Session>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                sessions::table
                    .filter(sessions::tenant_id.eq(tenant))
                    .filter(sessions::id.eq(id))
                    .select(SessionRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map(|row| row.map(SessionRow::into_session))
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        presented_hash: String,
        new_hash: String,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, CoreError> {
        // The common path, a current token of a live session, in one statement shared with
        // the refreshes arriving meanwhile where the store can (Postgres); anything else in
        // the transaction below.
        if crate::backend::ROTATES_AT_ONCE {
            let rotation = Rotation {
                presented: presented_hash.clone(),
                next: new_hash.clone(),
                now,
            };
            if let Some(spent) = self.refresh_rotations.write(self, rotation).await? {
                return Ok(match spent.rotated {
                    Some(row) => RefreshOutcome::Rotated(
                        row.into_session(),
                        spent
                            .user
                            .map(UserRow::into_user)
                            .transpose()?
                            .map(Box::new),
                    ),
                    None => RefreshOutcome::Invalid,
                });
            }
        }
        self.run(move |conn| {
            Box::pin(async move {
                let turn = rotate_in_transaction(conn, presented_hash, new_hash, now)
                    .await
                    .map_err(errors::query)?;
                // A rotation comes with its user, read now on the same connection: one
                // store call per refresh, not a second for the user (`RefreshOutcome`).
                match turn {
                    Turn::Rotated(session) => {
                        let user =
                            crate::users::live(conn, session.tenant_id, session.user_id).await?;
                        Ok(RefreshOutcome::Rotated(session, user.map(Box::new)))
                    }
                    Turn::Done(outcome) => Ok(outcome),
                }
            })
        })
        .await
    }

    async fn revoke(
        &self,
        tenant: TenantId,
        id: SessionId,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let audit = audit.clone();
        let revoked = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let revoked = diesel::update(
                            sessions::table
                                .filter(sessions::tenant_id.eq(tenant))
                                .filter(sessions::id.eq(id))
                                .filter(sessions::revoked_at.is_null()),
                        )
                        .set((
                            sessions::revoked_at.eq(Some(now)),
                            sessions::revoked_reason.eq(Some(reason)),
                        ))
                        .execute(conn)
                        .await?;
                        if revoked > 0 {
                            audit::append(conn, &audit).await?;
                        }
                        Ok::<_, diesel::result::Error>(revoked)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(revoked == 1)
    }

    async fn list_live(
        &self,
        tenant: TenantId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                sessions::table
                    .filter(sessions::tenant_id.eq(tenant))
                    .filter(sessions::user_id.eq(user))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::idle_expires_at.gt(now))
                    .filter(sessions::absolute_expires_at.gt(now))
                    .order((sessions::last_seen_at.desc(), sessions::id.desc()))
                    .select(SessionRow::as_select())
                    .load(conn)
                    .await
                    .map(|rows| rows.into_iter().map(SessionRow::into_session).collect())
                    .map_err(errors::query)
            })
        })
        .await
    }

    async fn revoke_all(
        &self,
        tenant: TenantId,
        user: UserId,
        except: Option<SessionId>,
        reason: String,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionId>, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let except = except.map(|id| DbId::from(id.as_uuid()));
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let mut target = diesel::update(sessions::table)
                        .filter(sessions::tenant_id.eq(tenant))
                        .filter(sessions::user_id.eq(user))
                        .filter(sessions::revoked_at.is_null())
                        .into_boxed();
                    if let Some(except) = except {
                        target = target.filter(sessions::id.ne(except));
                    }
                    let ids = target
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
}

/// What a rotation did: rotated this session, its user still to be read (the transaction's
/// path), or the whole outcome (the one-statement path, or one that hands out no token:
/// reuse, invalid).
enum Turn {
    Rotated(Session),
    Done(RefreshOutcome),
}

/// A refresh rotation in a transaction: every case on SQLite, and on Postgres the tokens the
/// one-statement path did not spend (unknown, or spent before: reuse).
/// The error of a session that could not open because its account or tenant is no longer
/// active ([`open_in`]'s rollback), or of the query.
pub(crate) fn closed_account(e: diesel::result::Error) -> CoreError {
    match e {
        diesel::result::Error::RollbackTransaction => {
            CoreError::Unauthenticated("the account or its tenant is no longer active".into())
        }
        other => errors::query(other),
    }
}

/// Stores `session` and its first refresh token inside the caller's transaction; rolls it
/// back (`RollbackTransaction`, see [`closed_account`]) unless the tenant is active and the
/// user live and active.
pub(crate) async fn open_in(
    conn: &mut Connection,
    session: &Session,
    refresh_hash: Option<String>,
) -> QueryResult<()> {
    let row = SessionRow::from_session(session);
    diesel::insert_into(sessions::table)
        .values(&row)
        .prepared()
        .execute(conn)
        .await?;
    // A client's own (client_credentials) grant has no refresh token.
    if let Some(hash) = refresh_hash {
        let token = NewRefreshToken {
            hash,
            session_id: DbId::from(session.id.as_uuid()),
            created_at: session.created_at,
        };
        diesel::insert_into(refresh_tokens::table)
            .values(&token)
            .prepared()
            .execute(conn)
            .await?;
    }
    // Checked after writing, so the write lock (SQLite) or the share lock (Postgres) orders
    // this login against a concurrent disable or erase.
    let tenant_active = tenant_status_locked(conn, row.tenant_id)
        .await?
        .is_some_and(|s| s == TenantStatus::Active.as_str());
    let user_active: i64 = users::table
        .filter(users::id.eq(row.user_id))
        .filter(users::tenant_id.eq(row.tenant_id))
        .filter(users::deleted_at.is_null())
        .filter(users::status.eq(UserStatus::Active.as_str()))
        .count()
        .get_result(conn)
        .await?;
    if !tenant_active || user_active == 0 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    Ok(())
}

async fn rotate_in_transaction(
    conn: &mut Connection,
    presented_hash: String,
    new_hash: String,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Turn> {
    conn.transaction(async move |conn| {
        // Spending is a conditional update: of two concurrent presentations of one
        // token exactly one spends it; the other sees a spent token (reuse).
        // The spend answers with the token's session; only a token that was not
        // spent now is looked up again (on Postgres, every token that gets here).
        let spent: Option<DbId> = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::hash.eq(&presented_hash))
                .filter(refresh_tokens::spent_at.is_null()),
        )
        .set(refresh_tokens::spent_at.eq(Some(now)))
        .returning(refresh_tokens::session_id)
        .get_result(conn)
        .await
        .optional()?;
        let (session_id, spent_now) = if let Some(session_id) = spent {
            (session_id, true)
        } else {
            let known: Option<DbId> = refresh_tokens::table
                .filter(refresh_tokens::hash.eq(&presented_hash))
                .select(refresh_tokens::session_id)
                .first(conn)
                .await
                .optional()?;
            let Some(session_id) = known else {
                return Ok(Turn::Done(RefreshOutcome::Invalid));
            };
            (session_id, false)
        };
        if !spent_now {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(session_id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set((
                sessions::revoked_at.eq(Some(now)),
                sessions::revoked_reason.eq(Some("refresh_reuse")),
            ))
            .execute(conn)
            .await?;
            // A token whose session is gone (Postgres keeps no key from a token to its
            // session, ADR 0032: an operator's clean-up may leave one) refreshes nothing.
            let session: Option<SessionRow> = sessions::table
                .find(session_id)
                .select(SessionRow::as_select())
                .first(conn)
                .await
                .optional()?;
            return Ok(Turn::Done(session.map_or(RefreshOutcome::Invalid, |s| {
                RefreshOutcome::Reused(s.into_session())
            })));
        }
        let Some(session) = sessions::table
            .find(session_id)
            .select(SessionRow::as_select())
            .first(conn)
            .await
            .optional()?
        else {
            return Ok(Turn::Done(RefreshOutcome::Invalid));
        };
        let session = session.into_session();
        if !session.is_live(now) {
            return Ok(Turn::Done(RefreshOutcome::Invalid));
        }
        let window = session.idle_expires_at - session.last_seen_at;
        let idle = (now + window).min(session.absolute_expires_at);
        // The move re-checks that the session is live: on Postgres a logout committed since
        // the read above is seen here (the update waits for its row lock, then finds the
        // session revoked), and the refresh ends instead of handing out a pair for it.
        let moved = diesel::update(
            sessions::table
                .filter(sessions::id.eq(session_id))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::idle_expires_at.gt(now))
                .filter(sessions::absolute_expires_at.gt(now)),
        )
        .set((
            sessions::last_seen_at.eq(now),
            sessions::idle_expires_at.eq(idle),
        ))
        .execute(conn)
        .await?;
        if moved == 0 {
            return Ok(Turn::Done(RefreshOutcome::Invalid));
        }
        diesel::insert_into(refresh_tokens::table)
            .values(NewRefreshToken {
                hash: new_hash,
                session_id,
                created_at: now,
            })
            .execute(conn)
            .await?;
        // The user is read by the caller, after the commit.
        Ok::<_, diesel::result::Error>(Turn::Rotated(Session {
            last_seen_at: now,
            idle_expires_at: idle,
            ..session
        }))
    })
    .await
}
