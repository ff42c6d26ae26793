//! `MfaRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::MfaRepository;
use usvc_core::{
    AuditEntry, ChallengePurpose, CoreError, MfaChallenge, TenantId, TotpCredential, UserId,
};
use uuid::Uuid;

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{mfa_challenges, recovery_codes, totp_credentials, users};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = totp_credentials)]
struct TotpRow {
    user_id: DbId,
    tenant_id: DbId,
    sealed_secret: Vec<u8>,
    confirmed_at: Option<DateTime<Utc>>,
    last_used_step: i64,
    created_at: DateTime<Utc>,
}

impl TotpRow {
    fn into_credential(self) -> TotpCredential {
        TotpCredential {
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            sealed_secret: self.sealed_secret,
            confirmed_at: self.confirmed_at,
            last_used_step: self.last_used_step,
            created_at: self.created_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = recovery_codes)]
struct RecoveryRow {
    hash: String,
    user_id: DbId,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
struct ChallengeRow {
    hash: String,
    tenant_id: DbId,
    user_id: DbId,
    purpose: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    attempts: i32,
    consumed_at: Option<DateTime<Utc>>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl ChallengeRow {
    fn into_challenge(self) -> Result<MfaChallenge, CoreError> {
        Ok(MfaChallenge {
            hash: self.hash,
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            purpose: ChallengePurpose::parse(&self.purpose)
                .ok_or_else(|| CoreError::Internal("stored challenge purpose".into()))?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

fn ids(tenant: TenantId, user: UserId) -> (DbId, DbId) {
    (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()))
}

#[async_trait]
impl MfaRepository for Store {
    async fn begin_totp(&self, credential: &TotpCredential) -> Result<(), CoreError> {
        let row = TotpRow {
            user_id: DbId::from(credential.user_id.as_uuid()),
            tenant_id: DbId::from(credential.tenant_id.as_uuid()),
            sealed_secret: credential.sealed_secret.clone(),
            confirmed_at: None,
            last_used_step: 0,
            created_at: credential.created_at,
        };
        let started = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let confirmed: Option<Option<DateTime<Utc>>> = totp_credentials::table
                            .filter(totp_credentials::user_id.eq(row.user_id))
                            .filter(totp_credentials::tenant_id.eq(row.tenant_id))
                            .select(totp_credentials::confirmed_at)
                            .first(conn)
                            .await
                            .optional()?;
                        if matches!(confirmed, Some(Some(_))) {
                            return Ok(false);
                        }
                        diesel::delete(
                            totp_credentials::table
                                .filter(totp_credentials::user_id.eq(row.user_id)),
                        )
                        .execute(conn)
                        .await?;
                        diesel::insert_into(totp_credentials::table)
                            .values(&row)
                            .execute(conn)
                            .await?;
                        Ok::<_, diesel::result::Error>(true)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if started {
            Ok(())
        } else {
            Err(CoreError::Conflict(
                "TOTP is already on; turn it off before enrolling again".into(),
            ))
        }
    }

    async fn totp(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<TotpCredential>, CoreError> {
        let (tenant, user) = ids(tenant, user);
        self.run(move |conn| {
            Box::pin(async move {
                Ok(totp_credentials::table
                    .filter(totp_credentials::tenant_id.eq(tenant))
                    .filter(totp_credentials::user_id.eq(user))
                    .select(TotpRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(TotpRow::into_credential))
            })
        })
        .await
    }

    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
        recovery_hashes: Vec<String>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, user) = ids(tenant, user);
        let audit = audit.clone();
        let confirmed = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let updated = diesel::update(
                            totp_credentials::table
                                .filter(totp_credentials::tenant_id.eq(tenant))
                                .filter(totp_credentials::user_id.eq(user))
                                .filter(totp_credentials::confirmed_at.is_null()),
                        )
                        .set((
                            totp_credentials::confirmed_at.eq(Some(now)),
                            totp_credentials::last_used_step.eq(step),
                        ))
                        .execute(conn)
                        .await?;
                        if updated == 0 {
                            return Ok(false);
                        }
                        diesel::delete(
                            recovery_codes::table.filter(recovery_codes::user_id.eq(user)),
                        )
                        .execute(conn)
                        .await?;
                        for hash in recovery_hashes {
                            diesel::insert_into(recovery_codes::table)
                                .values(RecoveryRow {
                                    hash,
                                    user_id: user,
                                })
                                .execute(conn)
                                .await?;
                        }
                        diesel::update(users::table.filter(users::id.eq(user)))
                            .set((users::mfa_enabled.eq(true), users::updated_at.eq(now)))
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
        if confirmed {
            Ok(())
        } else {
            Err(CoreError::NotFound("pending TOTP enrolment".into()))
        }
    }

    async fn use_totp_step(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = ids(tenant, user);
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    // One conditional update: of two concurrent uses of one code, one wins.
                    diesel::update(
                        totp_credentials::table
                            .filter(totp_credentials::tenant_id.eq(tenant))
                            .filter(totp_credentials::user_id.eq(user))
                            .filter(totp_credentials::confirmed_at.is_not_null())
                            .filter(totp_credentials::last_used_step.lt(step)),
                    )
                    .set(totp_credentials::last_used_step.eq(step))
                    .execute(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(updated == 1)
    }

    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        hash: String,
        now: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = ids(tenant, user);
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    let owner_in_tenant = users::table
                        .filter(users::id.eq(user))
                        .filter(users::tenant_id.eq(tenant))
                        .select(users::id);
                    diesel::update(
                        recovery_codes::table
                            .filter(recovery_codes::hash.eq(hash))
                            .filter(recovery_codes::user_id.eq(user))
                            .filter(recovery_codes::user_id.eq_any(owner_in_tenant))
                            .filter(recovery_codes::used_at.is_null()),
                    )
                    .set(recovery_codes::used_at.eq(Some(now)))
                    .execute(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(updated == 1)
    }

    async fn replace_recovery_codes(
        &self,
        tenant: TenantId,
        user: UserId,
        hashes: Vec<String>,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, user) = ids(tenant, user);
        let audit = audit.clone();
        let replaced = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let enrolled: i64 = totp_credentials::table
                            .filter(totp_credentials::tenant_id.eq(tenant))
                            .filter(totp_credentials::user_id.eq(user))
                            .filter(totp_credentials::confirmed_at.is_not_null())
                            .count()
                            .get_result(conn)
                            .await?;
                        if enrolled == 0 {
                            return Ok(false);
                        }
                        diesel::delete(
                            recovery_codes::table.filter(recovery_codes::user_id.eq(user)),
                        )
                        .execute(conn)
                        .await?;
                        for hash in hashes {
                            diesel::insert_into(recovery_codes::table)
                                .values(RecoveryRow {
                                    hash,
                                    user_id: user,
                                })
                                .execute(conn)
                                .await?;
                        }
                        audit::append(conn, &audit).await?;
                        Ok::<_, diesel::result::Error>(true)
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        if replaced {
            Ok(())
        } else {
            Err(CoreError::NotFound("TOTP credential".into()))
        }
    }

    async fn recovery_codes_left(&self, tenant: TenantId, user: UserId) -> Result<u32, CoreError> {
        let (tenant, user) = ids(tenant, user);
        let n: i64 = self
            .run(move |conn| {
                Box::pin(async move {
                    let owner_in_tenant = users::table
                        .filter(users::id.eq(user))
                        .filter(users::tenant_id.eq(tenant))
                        .select(users::id);
                    recovery_codes::table
                        .filter(recovery_codes::user_id.eq_any(owner_in_tenant))
                        .filter(recovery_codes::used_at.is_null())
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn disable(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = ids(tenant, user);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let removed = diesel::delete(
                        totp_credentials::table
                            .filter(totp_credentials::tenant_id.eq(tenant))
                            .filter(totp_credentials::user_id.eq(user)),
                    )
                    .execute(conn)
                    .await?;
                    if removed == 0 {
                        return Ok(false);
                    }
                    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user)))
                        .execute(conn)
                        .await?;
                    diesel::update(users::table.filter(users::id.eq(user)))
                        .set(users::mfa_enabled.eq(false))
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn create_challenge(&self, challenge: &MfaChallenge) -> Result<(), CoreError> {
        let row = ChallengeRow {
            hash: challenge.hash.clone(),
            tenant_id: DbId::from(challenge.tenant_id.as_uuid()),
            user_id: DbId::from(challenge.user_id.as_uuid()),
            purpose: challenge.purpose.as_str().to_owned(),
            created_at: challenge.created_at,
            expires_at: challenge.expires_at,
            attempts: i32::try_from(challenge.attempts).unwrap_or(i32::MAX),
            consumed_at: None,
            ip: challenge.ip.clone(),
            user_agent: challenge.user_agent.clone(),
        };
        let expired_before = challenge.created_at;
        self.run(move |conn| {
            Box::pin(async move {
                // Housekeeping rides along: challenges live minutes, so the table stays small.
                diesel::delete(
                    mfa_challenges::table.filter(mfa_challenges::expires_at.lt(expired_before)),
                )
                .execute(conn)
                .await
                .map_err(errors::query)?;
                diesel::insert_into(mfa_challenges::table)
                    .values(&row)
                    .execute(conn)
                    .await
                    .map_err(errors::query)?;
                Ok(())
            })
        })
        .await
    }

    async fn take_attempt(
        &self,
        hash: String,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<Option<MfaChallenge>, CoreError> {
        let max = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        self.run(move |conn| {
            Box::pin(async move {
                // One conditional update: of any number of parallel attempts, at most `max`
                // find the counter below the limit.
                diesel::update(
                    mfa_challenges::table
                        .filter(mfa_challenges::hash.eq(hash))
                        .filter(mfa_challenges::expires_at.gt(now))
                        .filter(mfa_challenges::consumed_at.is_null())
                        .filter(mfa_challenges::attempts.lt(max)),
                )
                .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
                .returning(ChallengeRow::as_returning())
                .get_result(conn)
                .await
                .optional()
                .map_err(errors::query)?
                .map(ChallengeRow::into_challenge)
                .transpose()
            })
        })
        .await
    }

    async fn consume_challenge(&self, hash: String, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    diesel::update(
                        mfa_challenges::table
                            .filter(mfa_challenges::hash.eq(hash))
                            .filter(mfa_challenges::consumed_at.is_null()),
                    )
                    .set(mfa_challenges::consumed_at.eq(Some(now)))
                    .execute(conn)
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        Ok(updated == 1)
    }
}
