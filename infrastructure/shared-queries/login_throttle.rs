//! `LoginThrottle` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::LoginThrottle;
use usvc_core::{AuditEntry, CoreError, TenantId};

use crate::audit;
use crate::backend::DbId;
use crate::errors;
use crate::schema::{login_failure_days, login_failures};
use crate::store::Store;

#[async_trait]
impl LoginThrottle for Store {
    async fn locked_until(
        &self,
        tenant: TenantId,
        email: String,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                let until: Option<Option<DateTime<Utc>>> = login_failures::table
                    .filter(login_failures::tenant_id.eq(tenant))
                    .filter(login_failures::email_normalized.eq(email))
                    .select(login_failures::locked_until)
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?;
                Ok(until.flatten().filter(|until| *until > now))
            })
        })
        .await
    }

    async fn record_failure(
        &self,
        tenant: TenantId,
        email: String,
        now: DateTime<Utc>,
        lock: fn(u32, DateTime<Utc>) -> Option<DateTime<Utc>>,
        audit: &AuditEntry,
    ) -> Result<u32, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    // One atomic increment, so concurrent failures all count.
                    let failures: i32 = diesel::insert_into(login_failures::table)
                        .values((
                            login_failures::tenant_id.eq(tenant),
                            login_failures::email_normalized.eq(&email),
                            login_failures::failures.eq(1),
                            login_failures::updated_at.eq(now),
                        ))
                        .on_conflict((login_failures::tenant_id, login_failures::email_normalized))
                        .do_update()
                        .set((
                            login_failures::failures.eq(login_failures::failures + 1),
                            login_failures::updated_at.eq(excluded(login_failures::updated_at)),
                        ))
                        .returning(login_failures::failures)
                        .get_result(conn)
                        .await?;
                    // Kept for analytics: failures per UTC day, never reset by a success.
                    diesel::insert_into(login_failure_days::table)
                        .values((
                            login_failure_days::tenant_id.eq(tenant),
                            login_failure_days::day.eq(now.format("%Y-%m-%d").to_string()),
                            login_failure_days::failures.eq(1),
                        ))
                        .on_conflict((login_failure_days::tenant_id, login_failure_days::day))
                        .do_update()
                        .set(login_failure_days::failures.eq(login_failure_days::failures + 1))
                        .execute(conn)
                        .await?;
                    let count = u32::try_from(failures).unwrap_or(u32::MAX);
                    diesel::update(
                        login_failures::table
                            .filter(login_failures::tenant_id.eq(tenant))
                            .filter(login_failures::email_normalized.eq(&email)),
                    )
                    .set(login_failures::locked_until.eq(lock(count, now)))
                    .execute(conn)
                    .await?;
                    audit::append(conn, &audit).await?;
                    Ok::<_, diesel::result::Error>(count)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn reset(&self, tenant: TenantId, email: String) -> Result<(), CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                diesel::delete(
                    login_failures::table
                        .filter(login_failures::tenant_id.eq(tenant))
                        .filter(login_failures::email_normalized.eq(email)),
                )
                .execute(conn)
                .await
                .map(|_| ())
                .map_err(errors::query)
            })
        })
        .await
    }
}
