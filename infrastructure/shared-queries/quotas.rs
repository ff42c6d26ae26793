//! `QuotaRepository`: the quotas the platform set per tenant (compiled into each adapter).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::QuotaRepository;
use usvc_core::{AuditEntry, CoreError, QuotaOverrides, TenantId};

use crate::audit;
use crate::backend::{begin_write, DbId};
use crate::errors;
use crate::schema::{tenant_quotas, tenants};
use crate::store::Store;

/// One tenant's row (`NULL`: the default).
#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tenant_quotas, treat_none_as_null = true)]
struct QuotaRow {
    tenant_id: DbId,
    running_executions: Option<i32>,
    steps_in_flight: Option<i32>,
    starts_per_minute: Option<i32>,
    starts_per_event: Option<i32>,
    definition_steps: Option<i32>,
    step_timeout_secs: Option<i64>,
    event_steps: Option<i32>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn narrow(v: Option<u32>) -> Option<i32> {
    v.map(|v| i32::try_from(v).unwrap_or(i32::MAX))
}

fn widen(v: Option<i32>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

impl QuotaRow {
    fn of(tenant: DbId, q: &QuotaOverrides, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            tenant_id: tenant,
            running_executions: narrow(q.running_executions),
            steps_in_flight: narrow(q.steps_in_flight),
            starts_per_minute: narrow(q.starts_per_minute),
            starts_per_event: narrow(q.starts_per_event),
            definition_steps: narrow(q.definition_steps),
            step_timeout_secs: q
                .step_timeout_secs
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            event_steps: narrow(q.event_steps),
            updated_at: at,
        }
    }

    fn overrides(&self) -> QuotaOverrides {
        QuotaOverrides {
            running_executions: widen(self.running_executions),
            steps_in_flight: widen(self.steps_in_flight),
            starts_per_minute: widen(self.starts_per_minute),
            starts_per_event: widen(self.starts_per_event),
            definition_steps: widen(self.definition_steps),
            step_timeout_secs: self.step_timeout_secs.and_then(|v| u64::try_from(v).ok()),
            event_steps: widen(self.event_steps),
        }
    }
}

#[async_trait]
impl QuotaRepository for Store {
    async fn get(&self, tenant: TenantId) -> Result<QuotaOverrides, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let row: Option<QuotaRow> = self
            .run(move |conn| {
                Box::pin(async move {
                    tenant_quotas::table
                        .filter(tenant_quotas::tenant_id.eq(tenant))
                        .select(QuotaRow::as_select())
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(row.map(|r| r.overrides()).unwrap_or_default())
    }

    async fn set(
        &self,
        tenant: TenantId,
        quotas: QuotaOverrides,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let id = DbId::from(tenant.as_uuid());
        let audit = audit.clone();
        let row = QuotaRow::of(id, &quotas, audit.at);
        let found = self
            .write(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        begin_write(conn).await?;
                        let exists: i64 = tenants::table
                            .filter(tenants::id.eq(id))
                            .count()
                            .get_result(conn)
                            .await?;
                        if exists == 0 {
                            return Ok(false);
                        }
                        diesel::insert_into(tenant_quotas::table)
                            .values(&row)
                            .on_conflict(tenant_quotas::tenant_id)
                            .do_update()
                            .set(&row)
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
            Err(CoreError::NotFound("tenant".into()))
        }
    }
}
