//! `RoleRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::RoleRepository;
use usvc_core::{Action, AuditEntry, CoreError, Role, RoleId, TenantId};
use uuid::Uuid;

use crate::audit;
use crate::backend::{begin_write, has_role, DbId};
use crate::errors;
use crate::schema::{roles, users};
use crate::store::Store;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = roles)]
struct RoleRow {
    id: DbId,
    tenant_id: DbId,
    name: String,
    description: String,
    permissions: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RoleRow {
    fn from_role(role: &Role) -> Self {
        Self {
            id: DbId::from(role.id.as_uuid()),
            tenant_id: DbId::from(role.tenant_id.as_uuid()),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: serde_json::Value::from(
                role.permissions
                    .iter()
                    .map(|a| a.as_str().to_owned())
                    .collect::<Vec<_>>(),
            ),
            created_at: role.created_at,
            updated_at: role.updated_at,
        }
    }

    fn into_role(self) -> Result<Role, CoreError> {
        let permissions: Vec<String> = serde_json::from_value(self.permissions)
            .map_err(|_| CoreError::Internal("stored role permissions".into()))?;
        Ok(Role {
            id: RoleId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            name: self.name,
            description: self.description,
            permissions: permissions
                .iter()
                .map(|p| Action::parse(p))
                .collect::<Result<_, _>>()
                .map_err(|_| CoreError::Internal("stored role permission".into()))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[async_trait]
impl RoleRepository for Store {
    async fn create(&self, role: &Role, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = RoleRow::from_role(role);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(roles::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(|e| errors::conflict(e, "a role with this name already exists"))
            })
        })
        .await
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<Role>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    roles::table
                        .filter(roles::tenant_id.eq(tenant))
                        .order(roles::name.asc())
                        .select(RoleRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter().map(RoleRow::into_role).collect()
    }

    async fn get(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                roles::table
                    .filter(roles::tenant_id.eq(tenant))
                    .filter(roles::id.eq(id))
                    .select(RoleRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(RoleRow::into_role)
                    .transpose()
            })
        })
        .await
    }

    async fn update(&self, role: &Role, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = RoleRow::from_role(role);
        let audit = audit.clone();
        let updated = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let updated = diesel::update(
                            roles::table
                                .filter(roles::tenant_id.eq(row.tenant_id))
                                .filter(roles::id.eq(row.id)),
                        )
                        .set((
                            roles::name.eq(&row.name),
                            roles::description.eq(&row.description),
                            roles::permissions.eq(&row.permissions),
                            roles::updated_at.eq(row.updated_at),
                        ))
                        .execute(conn)
                        .await?;
                        if updated > 0 {
                            audit::append(conn, &audit).await?;
                        }
                        Ok::<_, diesel::result::Error>(updated)
                    })
                    .await
                    .map_err(|e| errors::conflict(e, "a role with this name already exists"))
                })
            })
            .await?;
        if updated == 0 {
            return Err(CoreError::NotFound("role".into()));
        }
        Ok(())
    }

    async fn delete(
        &self,
        tenant: TenantId,
        id: RoleId,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let audit = audit.clone();
        let outcome: Result<(), CoreError> = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        // It reads before it writes: on SQLite the write lock is taken
                        // first, so a write committed meanwhile by another connection does
                        // not make the upgrade fail at once ("database is locked": a 503
                        // seen under load in the hostile-input suite).
                        begin_write(conn).await?;
                        let name: Option<String> = roles::table
                            .filter(roles::tenant_id.eq(tenant))
                            .filter(roles::id.eq(id))
                            .select(roles::name)
                            .first(conn)
                            .await
                            .optional()?;
                        let Some(name) = name else {
                            return Ok(Err(CoreError::NotFound("role".into())));
                        };
                        let holders: i64 = users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::deleted_at.is_null())
                            .filter(has_role(name))
                            .count()
                            .get_result(conn)
                            .await?;
                        if holders > 0 {
                            return Ok(Err(CoreError::Conflict(format!(
                                "{holders} user(s) hold this role; assign them other roles first"
                            ))));
                        }
                        diesel::delete(roles::table.filter(roles::id.eq(id)))
                            .execute(conn)
                            .await?;
                        audit::append(conn, &audit).await?;
                        Ok::<_, diesel::result::Error>(Ok(()))
                    })
                    .await
                    .map_err(errors::query)
                })
            })
            .await?;
        outcome
    }
}
