//! `TenantRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::TenantRepository;
use usvc_core::{
    AuditEntry, CoreError, Page, PageRequest, SessionId, Slug, Tenant, TenantId, TenantStatus, User,
};
use uuid::Uuid;

use crate::audit;
use crate::backend::{insert_users, Backend, DbId};
use crate::errors;
use crate::schema::{sessions, tenants};
use crate::store::Store;
use crate::users::{CredentialRow, UserRow};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
struct TenantRow {
    id: DbId,
    slug: String,
    name: String,
    status: String,
    settings: serde_json::Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TenantRow {
    fn from_tenant(tenant: &Tenant) -> Self {
        Self {
            id: DbId::from(tenant.id.as_uuid()),
            slug: tenant.slug.as_str().to_owned(),
            name: tenant.name.clone(),
            status: tenant.status.as_str().to_owned(),
            settings: serde_json::to_value(&tenant.settings).unwrap_or_default(),
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }

    fn into_tenant(self) -> Result<Tenant, CoreError> {
        Ok(Tenant {
            id: TenantId::from_uuid(Uuid::from(self.id)),
            slug: Slug::parse(&self.slug).map_err(|_| {
                CoreError::Internal(format!("stored slug {:?} is invalid", self.slug))
            })?,
            name: self.name,
            status: TenantStatus::parse(&self.status)?,
            settings: serde_json::from_value(self.settings)
                .map_err(|e| CoreError::Internal(format!("stored tenant settings: {e}")))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl Store {
    /// The tenant the filtered query finds, if any.
    async fn one_tenant<Q>(&self, query: Q) -> Result<Option<Tenant>, CoreError>
    where
        Q: FnOnce() -> tenants::BoxedQuery<'static, Backend> + Send + 'static,
    {
        self.run(move |conn| {
            Box::pin(async move {
                query()
                    .select(TenantRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(TenantRow::into_tenant)
                    .transpose()
            })
        })
        .await
    }
}

#[async_trait]
impl TenantRepository for Store {
    async fn create(&self, tenant: &Tenant, audit: &AuditEntry) -> Result<(), CoreError> {
        let row = TenantRow::from_tenant(tenant);
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(tenants::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    audit::append(conn, &audit).await
                })
                .await
                .map_err(|e| errors::conflict(e, "a tenant with this slug already exists"))
            })
        })
        .await
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, CoreError> {
        let id = DbId::from(id.as_uuid());
        self.one_tenant(move || tenants::table.filter(tenants::id.eq(id)).into_boxed())
            .await
    }

    async fn get_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, CoreError> {
        let slug = slug.as_str().to_owned();
        self.one_tenant(move || tenants::table.filter(tenants::slug.eq(slug)).into_boxed())
            .await
    }

    async fn create_with_owner(
        &self,
        tenant: &Tenant,
        owner: &User,
        password_hash: String,
        audit: &[AuditEntry],
    ) -> Result<(), CoreError> {
        let row = TenantRow::from_tenant(tenant);
        let owner_row = UserRow::from_user(owner);
        let credential = CredentialRow::of(owner, password_hash);
        let entries = audit.to_vec();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    diesel::insert_into(tenants::table)
                        .values(&row)
                        .execute(conn)
                        .await?;
                    insert_users(conn, &[owner_row], &[credential]).await?;
                    for entry in &entries {
                        audit::append(conn, entry).await?;
                    }
                    Ok::<_, diesel::result::Error>(())
                })
                .await
                .map_err(|e| errors::conflict(e, "a tenant with this slug already exists"))
            })
        })
        .await
    }

    async fn update(
        &self,
        tenant: &Tenant,
        expected_updated_at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<Vec<SessionId>>, CoreError> {
        let row = TenantRow::from_tenant(tenant);
        let disabled = tenant.status == TenantStatus::Disabled;
        let audit = audit.clone();
        let revoked = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        let updated = diesel::update(
                            tenants::table
                                .filter(tenants::id.eq(row.id))
                                .filter(tenants::updated_at.eq(expected_updated_at)),
                        )
                        .set((
                            tenants::name.eq(&row.name),
                            tenants::status.eq(&row.status),
                            tenants::settings.eq(&row.settings),
                            tenants::updated_at.eq(row.updated_at),
                        ))
                        .execute(conn)
                        .await?;
                        if updated == 0 {
                            return Ok(None);
                        }
                        let mut revoked = Vec::new();
                        if disabled {
                            revoked = diesel::update(
                                sessions::table
                                    .filter(sessions::tenant_id.eq(row.id))
                                    .filter(sessions::revoked_at.is_null()),
                            )
                            .set((
                                sessions::revoked_at.eq(Some(row.updated_at)),
                                sessions::revoked_reason.eq(Some("tenant_disabled")),
                            ))
                            .returning(sessions::id)
                            .get_results::<DbId>(conn)
                            .await?;
                        }
                        audit::append(conn, &audit).await?;
                        Ok::<_, diesel::result::Error>(Some(revoked))
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

    async fn list(&self, page: PageRequest) -> Result<Page<Tenant>, CoreError> {
        let after = page.after_position::<Uuid>()?.map(DbId::from);
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = tenants::table
                        .select(TenantRow::as_select())
                        .order(tenants::id.asc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(after) = after {
                        query = query.filter(tenants::id.gt(after));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let tenants = rows
            .into_iter()
            .map(TenantRow::into_tenant)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(tenants, page.limit, |t| {
            t.id.to_string()
        }))
    }

    async fn count(&self) -> Result<u64, CoreError> {
        let n: i64 = self
            .run(|conn| {
                Box::pin(async move {
                    tenants::table
                        .count()
                        .get_result(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
