//! First start: an empty database gets tenant `default` and its first owner.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use usvc_core::ports::{
    Clock, HashLane, OpaqueTokens, PasswordHasher, PlatformAdmins, TenantRepository, UserRepository,
};
use usvc_core::{
    AuditEntry, CoreError, Email, NewTenant, Password, ResourceRef, Slug, Tenant, User,
};

use crate::audit::actions as audit;

/// The tenant every installation starts with (logins without `tenant` use it).
pub const DEFAULT_TENANT: &str = "default";

/// What the start-up and command-line set-up write through.
pub struct BootstrapPorts {
    /// Tenants.
    pub tenants: Arc<dyn TenantRepository>,
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// Hashes the passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Makes up passwords when none is given.
    pub opaque: Arc<dyn OpaqueTokens>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The platform grant the first owner receives.
    pub platform: Arc<dyn PlatformAdmins>,
}

/// What bootstrapping did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// The database already had tenants; nothing was touched.
    AlreadyDone,
    /// Tenant `default` and its owner were created. `generated_password` is set when no
    /// password was configured: it must be shown to the operator once and never again.
    Created {
        /// The owner's email.
        email: Email,
        /// The password made up for the owner, if none was configured.
        generated_password: Option<Password>,
    },
}

/// Creates tenant `default` with an owner `email` / `password` (a random one if `None`),
/// who also receives the platform grant, when no tenant exists yet. Safe when several
/// replicas start at once: the losers of the race see the slug taken and report
/// `AlreadyDone`.
pub async fn bootstrap(
    ports: &BootstrapPorts,
    email: &str,
    password: Option<Password>,
) -> Result<Bootstrap, CoreError> {
    if ports.tenants.count().await? > 0 {
        return Ok(Bootstrap::AlreadyDone);
    }
    let email = Email::parse(email)
        .map_err(|_| CoreError::invalid("BOOTSTRAP_ADMIN_EMAIL", "is not a valid email address"))?;
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (Password::new(ports.opaque.generate()?.token), true),
    };
    let now = ports.clock.now();
    let tenant = NewTenant::parse(DEFAULT_TENANT, "Default")?.into_tenant(now);
    let owner = User::new(tenant.id, email.clone(), vec!["owner".into()], now);
    let hash = ports
        .hasher
        .hash(HashLane::Tenant(tenant.id), &password)
        .await?;
    let entries = [created_tenant(&tenant, now), created_user(&owner, now)];
    match ports
        .tenants
        .create_with_owner(&tenant, &owner, hash, &entries)
        .await
    {
        Ok(()) => {}
        Err(CoreError::Conflict(_)) => return Ok(Bootstrap::AlreadyDone),
        Err(e) => return Err(e),
    }
    let granted = AuditEntry::system(tenant.id, audit::PLATFORM_GRANTED, now)
        .on(ResourceRef::one("user", owner.id));
    ports.platform.grant(tenant.id, owner.id, &granted).await?;
    Ok(Bootstrap::Created {
        email,
        generated_password: generated.then_some(password),
    })
}

/// The audit row of a tenant made by the service or an operator.
fn created_tenant(tenant: &Tenant, now: DateTime<Utc>) -> AuditEntry {
    AuditEntry::system(tenant.id, audit::TENANT_CREATED, now)
        .on(ResourceRef::one("tenant", tenant.id))
        .details(json!({ "slug": tenant.slug.as_str() }))
}

/// The audit row of a user made by the service or an operator.
fn created_user(user: &User, now: DateTime<Utc>) -> AuditEntry {
    AuditEntry::system(user.tenant_id, audit::USER_CREATED, now)
        .on(ResourceRef::one("user", user.id))
        .details(json!({ "roles": user.roles }))
}

/// What [`provision`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// Whether the tenant had to be created.
    pub tenant_created: bool,
    /// The new user.
    pub user: User,
    /// The password made up for the user, if none was given: show it once.
    pub generated_password: Option<Password>,
}

/// Creates a user with `role` in tenant `slug` from the command line, creating the tenant
/// (named after its slug) if it does not exist. A given password must pass the policy; without
/// one a strong password is generated.
pub async fn provision(
    ports: &BootstrapPorts,
    slug: &str,
    email: &str,
    role: &str,
    password: Option<Password>,
) -> Result<Provisioned, CoreError> {
    let email = Email::parse(email)?;
    if !usvc_core::BUILT_IN_ROLES.contains(&role) {
        return Err(CoreError::invalid(
            "role",
            format!("must be one of {}", usvc_core::BUILT_IN_ROLES.join(", ")),
        ));
    }
    if let Some(p) = &password {
        crate::password_policy::check(p, &email, "password")?;
    }
    let (tenants, now) = (&ports.tenants, ports.clock.now());
    let parsed = Slug::parse(slug)?;
    let (tenant, tenant_created) = if let Some(t) = tenants.get_by_slug(&parsed).await? {
        (t, false)
    } else {
        let tenant = NewTenant::parse(slug, slug)?.into_tenant(now);
        match tenants.create(&tenant, &created_tenant(&tenant, now)).await {
            Ok(()) => (tenant, true),
            // Created concurrently: use the winner's.
            Err(CoreError::Conflict(_)) => (
                tenants
                    .get_by_slug(&parsed)
                    .await?
                    .ok_or_else(|| CoreError::NotFound("tenant".into()))?,
                false,
            ),
            Err(e) => return Err(e),
        }
    };
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (Password::new(ports.opaque.generate()?.token), true),
    };
    let user = User::new(tenant.id, email, vec![role.to_owned()], now);
    let hash = ports
        .hasher
        .hash(HashLane::Tenant(tenant.id), &password)
        .await?;
    ports
        .users
        .create(&user, Some(hash), &created_user(&user, now))
        .await?;
    Ok(Provisioned {
        tenant_created,
        user,
        generated_password: generated.then_some(password),
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use usvc_core::ports::{
        MockClock, MockOpaqueTokens, MockPasswordHasher, MockPlatformAdmins, MockTenantRepository,
        MockUserRepository, OpaqueToken,
    };

    use super::*;

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        Arc::new(clock)
    }

    fn opaque() -> Arc<dyn OpaqueTokens> {
        let mut opaque = MockOpaqueTokens::new();
        opaque.expect_generate().returning(|| {
            Ok(OpaqueToken {
                token: "generated-secret".into(),
                hash: "h".into(),
            })
        });
        Arc::new(opaque)
    }

    #[tokio::test]
    async fn an_empty_database_gets_the_default_tenant_and_an_owner() {
        let mut tenants = MockTenantRepository::new();
        tenants.expect_count().returning(|| Ok(0));
        tenants
            .expect_create_with_owner()
            .withf(|t, u, hash, audit| {
                t.slug.as_str() == "default"
                    && u.roles == ["owner"]
                    && u.email.as_str() == "root@example.com"
                    && hash == "$hash"
                    && audit.len() == 2
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .withf(|_, p| p.expose() == "generated-secret")
            .returning(|_, _| Ok("$hash".into()));
        let mut platform = MockPlatformAdmins::new();
        platform.expect_grant().times(1).returning(|_, _, _| Ok(()));
        let ports = BootstrapPorts {
            tenants: Arc::new(tenants),
            users: Arc::new(MockUserRepository::new()),
            hasher: Arc::new(hasher),
            opaque: opaque(),
            clock: clock(),
            platform: Arc::new(platform),
        };
        let outcome = bootstrap(&ports, "root@example.com", None)
            .await
            .expect("bootstrap");
        match outcome {
            Bootstrap::Created {
                email,
                generated_password: Some(p),
            } => {
                assert_eq!(email.as_str(), "root@example.com");
                assert_eq!(p.expose(), "generated-secret");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_database_with_tenants_or_a_lost_race_is_left_alone() {
        let ports = |tenants: MockTenantRepository| {
            let mut hasher = MockPasswordHasher::new();
            hasher.expect_hash().returning(|_, _| Ok("$hash".into()));
            let mut platform = MockPlatformAdmins::new();
            platform.expect_grant().never();
            BootstrapPorts {
                tenants: Arc::new(tenants),
                users: Arc::new(MockUserRepository::new()),
                hasher: Arc::new(hasher),
                opaque: opaque(),
                clock: clock(),
                platform: Arc::new(platform),
            }
        };
        let mut tenants = MockTenantRepository::new();
        tenants.expect_count().returning(|| Ok(3));
        tenants.expect_create_with_owner().never();
        let pw = Some(Password::new("configured"));
        assert_eq!(
            bootstrap(&ports(tenants), "a@example.com", pw.clone()).await,
            Ok(Bootstrap::AlreadyDone)
        );

        let mut racing = MockTenantRepository::new();
        racing.expect_count().returning(|| Ok(0));
        racing
            .expect_create_with_owner()
            .returning(|_, _, _, _| Err(CoreError::Conflict("slug taken".into())));
        assert_eq!(
            bootstrap(&ports(racing), "a@example.com", pw).await,
            Ok(Bootstrap::AlreadyDone)
        );
    }
}
