//! `PlatformAdmins` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::PlatformAdmins;
use usvc_core::{AuditEntry, CoreError, TenantId, UserId};

use crate::audit;
use crate::backend::{has_role, DbId};
use crate::errors;
use crate::schema::{platform_admins, users};
use crate::store::Store;

#[async_trait]
impl PlatformAdmins for Store {
    async fn is_platform_admin(&self, user: UserId) -> Result<bool, CoreError> {
        let user = DbId::from(user.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                // Only a live user holds it: an erased user's grant means nothing.
                let held: i64 = platform_admins::table
                    .inner_join(users::table.on(users::id.eq(platform_admins::user_id)))
                    .filter(platform_admins::user_id.eq(user))
                    .filter(users::deleted_at.is_null())
                    .count()
                    .get_result(conn)
                    .await
                    .map_err(errors::query)?;
                Ok(held > 0)
            })
        })
        .await
    }

    async fn holder_has_role(&self, tenant: TenantId, role: String) -> Result<bool, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        self.run(move |conn| {
            Box::pin(async move {
                let held: i64 = users::table
                    .filter(users::tenant_id.eq(tenant))
                    .filter(users::deleted_at.is_null())
                    .filter(
                        users::id.eq_any(platform_admins::table.select(platform_admins::user_id)),
                    )
                    .filter(has_role(role))
                    .count()
                    .get_result(conn)
                    .await
                    .map_err(errors::query)?;
                Ok(held > 0)
            })
        })
        .await
    }

    async fn grant(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let audit = audit.clone();
        let at = audit.at;
        let found = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let live: i64 = users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::id.eq(user))
                            .filter(users::deleted_at.is_null())
                            .count()
                            .get_result(conn)
                            .await?;
                        if live == 0 {
                            return Ok(false);
                        }
                        let granted = diesel::insert_into(platform_admins::table)
                            .values((
                                platform_admins::user_id.eq(user),
                                platform_admins::tenant_id.eq(tenant),
                                platform_admins::granted_at.eq(at),
                            ))
                            .on_conflict(platform_admins::user_id)
                            .do_nothing()
                            .execute(conn)
                            .await?;
                        if granted > 0 {
                            audit::append(conn, &audit).await?;
                        }
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

    async fn revoke(
        &self,
        tenant: TenantId,
        user: UserId,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, user) = (DbId::from(tenant.as_uuid()), DbId::from(user.as_uuid()));
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let removed = diesel::delete(
                        platform_admins::table
                            .filter(platform_admins::tenant_id.eq(tenant))
                            .filter(platform_admins::user_id.eq(user)),
                    )
                    .execute(conn)
                    .await?;
                    if removed > 0 {
                        audit::append(conn, &audit).await?;
                    }
                    Ok::<_, diesel::result::Error>(removed > 0)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }
}
