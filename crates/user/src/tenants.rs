//! Tenant use cases on top of the `TenantRepository` port.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use usvc_core::ports::{Authorizer, Clock, TenantRepository};
use usvc_core::{
    AuditEntry, CoreError, NewTenant, Principal, ResourceRef, SessionId, Slug, Tenant, TenantId,
    TenantSettings,
};

use crate::audit::actions as audit;
use crate::builtin_roles::actions;

/// Creates and resolves tenants. Validation and "not found" semantics live here, not in the
/// HTTP adapter or the stores.
#[derive(Clone)]
pub struct TenantService {
    tenants: Arc<dyn TenantRepository>,
    clock: Arc<dyn Clock>,
}

impl TenantService {
    /// A service over the given ports.
    pub fn new(tenants: Arc<dyn TenantRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { tenants, clock }
    }

    /// Validates and stores a new tenant; a taken slug is `Conflict`.
    pub async fn create(&self, slug: &str, name: &str) -> Result<Tenant, CoreError> {
        let tenant = NewTenant::parse(slug, name)?.into_tenant(self.clock.now());
        let entry = AuditEntry::system(tenant.id, audit::TENANT_CREATED, tenant.created_at)
            .on(ResourceRef::one("tenant", tenant.id));
        self.tenants.create(&tenant, &entry).await?;
        Ok(tenant)
    }

    /// The tenant a login names. An invalid slug is reported as not found, exactly like an
    /// unknown one, so the answer reveals nothing about which tenants exist.
    pub async fn resolve(&self, slug: &str) -> Result<Tenant, CoreError> {
        let not_found = || CoreError::NotFound("tenant".into());
        let slug = Slug::parse(slug).map_err(|_| not_found())?;
        self.tenants.get_by_slug(&slug).await?.ok_or_else(not_found)
    }

    /// The caller's own tenant (`tenant:read`).
    pub async fn current(
        &self,
        authorizer: &dyn Authorizer,
        principal: &Principal,
    ) -> Result<Tenant, CoreError> {
        authorizer
            .authorize(
                principal,
                &actions::TENANT_READ,
                &ResourceRef::one("tenant", principal.tenant),
            )
            .await?;
        self.tenants
            .get(principal.tenant)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))
    }

    /// Replaces the caller's tenant's settings (`tenant:write`). New lifetimes apply to
    /// sessions opened from now on.
    pub async fn update_settings(
        &self,
        authorizer: &dyn Authorizer,
        principal: &Principal,
        settings: TenantSettings,
    ) -> Result<Tenant, CoreError> {
        authorizer
            .authorize(
                principal,
                &actions::TENANT_WRITE,
                &ResourceRef::one("tenant", principal.tenant),
            )
            .await?;
        settings.validate()?;
        // Everyone who registers becomes a `member`: opening registration hands out what a
        // member holds, so it takes holding that.
        if settings.self_registration {
            let open = self
                .tenants
                .get(principal.tenant)
                .await?
                .is_some_and(|t| t.settings.self_registration);
            if !open {
                crate::grants::ensure_holds(
                    authorizer,
                    principal,
                    &crate::grants::actions_of("member", &[]),
                    "open self-registration (everyone who registers becomes a member)",
                )
                .await?;
            }
        }
        let now = self.clock.now();
        let entry = AuditEntry::by(principal, audit::TENANT_UPDATED, now)
            .on(ResourceRef::one("tenant", principal.tenant))
            .details(serde_json::json!({ "settings": settings }));
        let (tenant, _) = save(
            self.tenants.as_ref(),
            principal.tenant,
            now,
            &|t| {
                Ok(Tenant {
                    settings: settings.clone(),
                    ..t
                })
            },
            &entry,
        )
        .await?;
        Ok(tenant)
    }
}

/// How often a tenant save is tried when someone else saved in between.
const SAVE_ATTEMPTS: usize = 3;

/// Reads tenant `id`, applies `change`, and saves the result if nobody saved in between
/// (reading again otherwise): the saved tenant and the sessions a disable revoked.
pub(crate) async fn save(
    tenants: &dyn TenantRepository,
    id: TenantId,
    now: DateTime<Utc>,
    change: &(dyn Fn(Tenant) -> Result<Tenant, CoreError> + Send + Sync),
    entry: &AuditEntry,
) -> Result<(Tenant, Vec<SessionId>), CoreError> {
    let now = chrono::SubsecRound::trunc_subsecs(now, 6);
    for _ in 0..SAVE_ATTEMPTS {
        let current = tenants
            .get(id)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))?;
        let read_at = current.updated_at;
        let mut next = change(current)?;
        next.updated_at = now.max(read_at + chrono::Duration::microseconds(1));
        if let Some(revoked) = tenants.update(&next, read_at, entry).await? {
            return Ok((next, revoked));
        }
    }
    Err(CoreError::Conflict(
        "the tenant is being changed by someone else right now; try again".into(),
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use usvc_core::ports::{MockClock, MockTenantRepository};

    use super::*;

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock
            .expect_now()
            .returning(|| Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap());
        Arc::new(clock)
    }

    #[tokio::test]
    async fn create_validates_before_touching_the_store() {
        let mut repo = MockTenantRepository::new();
        repo.expect_create().never();
        let service = TenantService::new(Arc::new(repo), clock());
        let err = service.create("Not A Slug", "").await.unwrap_err();
        assert!(
            matches!(err, CoreError::Validation(ref f) if f.len() == 2),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn create_stamps_the_clock_and_stores_once() {
        let mut repo = MockTenantRepository::new();
        repo.expect_create()
            .withf(|t, _| t.slug.as_str() == "acme" && t.name == "Acme")
            .times(1)
            .returning(|_, _| Ok(()));
        let service = TenantService::new(Arc::new(repo), clock());
        let tenant = service.create("acme", " Acme ").await.unwrap();
        assert_eq!(
            tenant.created_at,
            Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
        );
    }

    #[tokio::test]
    async fn a_taken_slug_surfaces_as_conflict() {
        let mut repo = MockTenantRepository::new();
        repo.expect_create().returning(|_, _| {
            Err(CoreError::Conflict(
                "a tenant with this slug already exists".into(),
            ))
        });
        let service = TenantService::new(Arc::new(repo), clock());
        assert!(matches!(
            service.create("acme", "Acme").await,
            Err(CoreError::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn invalid_and_unknown_slugs_are_the_same_not_found() {
        let mut repo = MockTenantRepository::new();
        repo.expect_get_by_slug().times(1).returning(|_| Ok(None));
        let service = TenantService::new(Arc::new(repo), clock());
        let unknown = service.resolve("nobody").await.unwrap_err();
        let invalid = service.resolve("NOT valid!").await.unwrap_err();
        assert_eq!(unknown, invalid, "no hint which slugs are well-formed");
        assert_eq!(unknown.to_string(), "tenant not found");
    }

    #[tokio::test]
    async fn settings_change_needs_tenant_write_and_valid_lifetimes() {
        let mut repo = MockTenantRepository::new();
        repo.expect_update().never();
        let service = TenantService::new(Arc::new(repo), clock());
        let member = Principal {
            user: usvc_core::UserId::new(),
            tenant: usvc_core::TenantId::new(),
            session: usvc_core::SessionId::new(),
            roles: vec!["member".into()],
            origin: usvc_core::Origin::default(),
        };
        let authorizer = crate::RoleAuthorizer;
        let outcome = service
            .update_settings(&authorizer, &member, TenantSettings::default())
            .await;
        assert!(
            matches!(outcome, Err(CoreError::Forbidden(_))),
            "{outcome:?}"
        );
        let owner = Principal {
            roles: vec!["owner".into()],
            ..member
        };
        let silly = TenantSettings {
            session_idle_secs: Some(1),
            ..TenantSettings::default()
        };
        let outcome = service.update_settings(&authorizer, &owner, silly).await;
        assert!(
            matches!(outcome, Err(CoreError::Validation(_))),
            "{outcome:?}"
        );
    }
}
