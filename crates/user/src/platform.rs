//! Platform administration: tenants created, listed, changed and disabled by the holders of
//! the platform grant (`tenants:manage`), and the grant itself.

use std::sync::Arc;

use serde_json::json;
use usvc_core::permissions;
use usvc_core::ports::{
    Authorizer, Cache, Clock, HashLane, PasswordHasher, PlatformAdmins, QuotaRepository,
    TenantRepository, UserRepository,
};
use usvc_core::{
    AuditEntry, CoreError, Email, FieldError, NewTenant, Page, PageRequest, Password, Principal,
    QuotaOverrides, ResourceRef, Session, SessionId, Slug, Tenant, TenantId, TenantQuotas,
    TenantSettings, TenantStatus, User,
};

use crate::audit::actions as audit;
use crate::password_policy;
use crate::tenants::save;

/// A tenant and its first owner, as a platform administrator asks for them.
#[derive(Debug, Clone)]
pub struct NewTenantWithOwner {
    /// The slug users log in with.
    pub slug: String,
    /// The display name.
    pub name: String,
    /// The first owner's email.
    pub owner_email: String,
    /// The first owner's password (policy-checked).
    pub owner_password: Password,
}

/// A partial change of a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChanges {
    /// A new display name.
    pub name: Option<String>,
    /// `Disabled` ends every session of the tenant and stops its logins.
    pub status: Option<TenantStatus>,
    /// New identity settings (the whole set).
    pub settings: Option<TenantSettings>,
}

/// The ports [`PlatformService`] needs.
pub struct PlatformPorts {
    /// Tenants (and their first owners).
    pub tenants: Arc<dyn TenantRepository>,
    /// Hashes the first owner's password.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Asks for `tenants:manage`.
    pub authorizer: Arc<dyn Authorizer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// `user-sessions`: sessions a disable ends are dropped from it everywhere.
    pub live_sessions: Arc<dyn Cache<SessionId, Session>>,
    /// The quotas the platform sets per tenant.
    pub quotas: Arc<dyn QuotaRepository>,
    /// `tenant-quotas`: the quotas in force, dropped everywhere on every change.
    pub quota_cache: Arc<dyn Cache<TenantId, TenantQuotas>>,
}

/// The tenant administration use cases; each needs the platform grant.
pub struct PlatformService {
    ports: PlatformPorts,
}

impl PlatformService {
    /// A service over `ports`.
    pub fn new(ports: PlatformPorts) -> Self {
        Self { ports }
    }

    async fn allow(
        &self,
        principal: &Principal,
        tenant: Option<TenantId>,
    ) -> Result<(), CoreError> {
        let resource = tenant.map_or_else(
            || ResourceRef::any("tenant"),
            |id| ResourceRef::one("tenant", id),
        );
        self.ports
            .authorizer
            .authorize(principal, &permissions::TENANTS_MANAGE, &resource)
            .await
    }

    /// A tenant's quotas: what the platform set (`None`: the default) and what is in force.
    /// The platform grant reads any tenant's; `tenant:read` reads the caller's own.
    pub async fn quotas(
        &self,
        principal: &Principal,
        id: TenantId,
    ) -> Result<(QuotaOverrides, TenantQuotas), CoreError> {
        if id == principal.tenant {
            self.ports
                .authorizer
                .authorize(
                    principal,
                    &permissions::TENANT_READ,
                    &ResourceRef::one("tenant", id),
                )
                .await?;
        } else {
            self.allow(principal, Some(id)).await?;
            self.get(principal, id).await?;
        }
        let set = self.ports.quotas.get(id).await?;
        Ok((set, set.effective()))
    }

    /// Sets a tenant's quotas (the platform grant): each within its ceiling, audited in the
    /// tenant's trail, in force on every replica at once.
    pub async fn set_quotas(
        &self,
        principal: &Principal,
        id: TenantId,
        quotas: QuotaOverrides,
    ) -> Result<(QuotaOverrides, TenantQuotas), CoreError> {
        self.allow(principal, Some(id)).await?;
        quotas.validate().map_err(CoreError::Validation)?;
        let mut entry = AuditEntry::by(
            principal,
            audit::TENANT_QUOTAS_UPDATED,
            self.ports.clock.now(),
        )
        .on(ResourceRef::one("tenant", id))
        .details(json!({ "quotas": quotas }));
        entry.tenant = id;
        self.ports.quotas.set(id, quotas, &entry).await?;
        self.ports.quota_cache.invalidate(&id).await?;
        Ok((quotas, quotas.effective()))
    }

    /// Every tenant, in creation order, a page at a time.
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Tenant>, CoreError> {
        self.allow(principal, None).await?;
        self.ports.tenants.list(page).await
    }

    /// One tenant.
    pub async fn get(&self, principal: &Principal, id: TenantId) -> Result<Tenant, CoreError> {
        self.allow(principal, Some(id)).await?;
        self.ports
            .tenants
            .get(id)
            .await?
            .ok_or_else(|| CoreError::NotFound("tenant".into()))
    }

    /// Creates a tenant and its first owner in one transaction: both exist afterwards, or
    /// neither. Every invalid field is reported at once.
    pub async fn create(
        &self,
        principal: &Principal,
        input: NewTenantWithOwner,
    ) -> Result<(Tenant, User), CoreError> {
        self.allow(principal, None).await?;
        let mut errors = Vec::new();
        let new = NewTenant::parse(&input.slug, &input.name)
            .map_err(|e| collect(&mut errors, e, ""))
            .ok();
        let email = Email::parse(&input.owner_email)
            .map_err(|_| {
                errors.push(FieldError {
                    field: "owner.email".into(),
                    message: "is not a valid email address".into(),
                });
            })
            .ok();
        if let Some(email) = &email {
            if let Err(e) = password_policy::check(&input.owner_password, email, "owner.password") {
                collect(&mut errors, e, "");
            }
        }
        let (Some(new), Some(email), true) = (new, email, errors.is_empty()) else {
            return Err(CoreError::Validation(errors));
        };
        let now = self.ports.clock.now();
        let tenant = new.into_tenant(now);
        let owner = User::new(tenant.id, email, vec!["owner".into()], tenant.created_at);
        let hash = self
            .ports
            .hasher
            .hash(HashLane::Tenant(tenant.id), &input.owner_password)
            .await?;
        let created = AuditEntry::by(principal, audit::TENANT_CREATED, now)
            .on(ResourceRef::one("tenant", tenant.id))
            .details(json!({ "slug": tenant.slug.as_str(), "name": tenant.name }));
        let owner_created = AuditEntry::by(principal, audit::USER_CREATED, now)
            .on(ResourceRef::one("user", owner.id))
            .details(json!({ "roles": owner.roles }));
        // Both rows join the new tenant's own chain.
        let entries = [created, owner_created].map(|mut e| {
            e.tenant = tenant.id;
            e
        });
        self.ports
            .tenants
            .create_with_owner(&tenant, &owner, hash, &entries)
            .await?;
        Ok((tenant, owner))
    }

    /// Changes a tenant's name, status or settings. Disabling ends every session of the
    /// tenant at once (here and on every replica) and stops its logins; a platform
    /// administrator cannot disable the tenant they are signed in to.
    pub async fn update(
        &self,
        principal: &Principal,
        id: TenantId,
        changes: TenantChanges,
    ) -> Result<Tenant, CoreError> {
        self.allow(principal, Some(id)).await?;
        let mut errors = Vec::new();
        // 200 characters as sent, not blank once trimmed.
        if changes.name.as_deref().is_some_and(|n| {
            n.trim().is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control)
        }) {
            errors.push(FieldError {
                field: "name".into(),
                message: "must be 1-200 characters, without control characters".into(),
            });
        }
        if let Some(settings) = &changes.settings {
            if let Err(e) = settings.validate() {
                collect(&mut errors, e, "settings.");
            }
        }
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let name = changes.name.as_deref().map(str::trim).map(str::to_owned);
        // A well-formed request that clashes with who is asking: a conflict, not bad input.
        if changes.status == Some(TenantStatus::Disabled) && id == principal.tenant {
            return Err(CoreError::Conflict(
                "you cannot disable the tenant you are signed in to".into(),
            ));
        }
        let now = self.ports.clock.now();
        let mut entry = AuditEntry::by(principal, audit::TENANT_UPDATED, now)
            .on(ResourceRef::one("tenant", id))
            .details(json!({
                "name": name,
                "status": changes.status.map(TenantStatus::as_str),
                "settings": changes.settings,
            }));
        entry.tenant = id;
        let change = move |t: Tenant| {
            Ok(Tenant {
                name: name.clone().unwrap_or(t.name),
                status: changes.status.unwrap_or(t.status),
                settings: changes.settings.clone().unwrap_or(t.settings),
                ..t
            })
        };
        let (tenant, revoked) = save(self.ports.tenants.as_ref(), id, now, &change, &entry).await?;
        for session in revoked {
            self.ports.live_sessions.invalidate(&session).await?;
        }
        Ok(tenant)
    }
}

/// Moves a validation error's fields into `errors`, each name prefixed.
fn collect(errors: &mut Vec<FieldError>, err: CoreError, prefix: &str) {
    if let CoreError::Validation(fields) = err {
        errors.extend(fields.into_iter().map(|f| FieldError {
            field: format!("{prefix}{}", f.field),
            message: f.message,
        }));
    }
}

/// Gives (`grant: true`) or takes back the platform grant of the user with `email` in tenant
/// `slug`, from the command line; the CLI is the only way to hand it out.
pub async fn set_platform_grant(
    tenants: &dyn TenantRepository,
    users: &dyn UserRepository,
    platform: &dyn PlatformAdmins,
    clock: &dyn Clock,
    slug: &str,
    email: &str,
    grant: bool,
) -> Result<User, CoreError> {
    let not_found = || CoreError::NotFound("user".into());
    let slug = Slug::parse(slug)?;
    let email = Email::parse(email)?;
    let tenant = tenants.get_by_slug(&slug).await?.ok_or_else(not_found)?;
    let (user, _) = users
        .find_for_login(tenant.id, &email)
        .await?
        .ok_or_else(not_found)?;
    let action = if grant {
        audit::PLATFORM_GRANTED
    } else {
        audit::PLATFORM_REVOKED
    };
    let entry =
        AuditEntry::system(tenant.id, action, clock.now()).on(ResourceRef::one("user", user.id));
    if grant {
        platform.grant(tenant.id, user.id, &entry).await?;
    } else if !platform.revoke(tenant.id, user.id, &entry).await? {
        return Err(CoreError::NotFound("platform grant".into()));
    }
    Ok(user)
}
