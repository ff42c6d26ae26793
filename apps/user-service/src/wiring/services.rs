//! Wiring of the domain services: identity (auth, users, tenants, roles, audit, platform),
//! projects and workflow definitions over one set of caches and one authorizer, with the
//! event bus, outbox relay and audit group commit of `usvc-runtime`; the password hasher,
//! the notifier and the first-start bootstrap.

use std::sync::Arc;

use usvc_cache::{CacheRegistry, CacheSpec};
use usvc_config::Config;
use usvc_core::ports::{
    AuditLog, Authorizer, Clock, FixedSettings, Notifier, PasswordHasher, Settings as _,
};
use usvc_core::ports::{Cache, ProjectAccessList, WebAuthn};
use usvc_core::{Password, ProjectId, Role, Session, SessionId, TenantId, User, UserId};
use usvc_security::{Argon2Hasher, HashParams, RandomTokens, Totp, WebAuthnRp};
use usvc_user::{
    AuditService, AuthPorts, AuthService, AuthorizerPorts, Bootstrap, BootstrapPorts,
    ClientService, OidcPorts, OidcProvider, PasskeyPorts, PasskeyService, PlatformPorts,
    PlatformService, RoleService, TenantAuthorizer, TenantService, UserPorts, UserService,
};

use usvc_project::{ProjectPorts, ProjectService};
use usvc_workflow::{WorkflowPorts, WorkflowService};

use super::database::Database;
use super::Adapters;
use usvc_runtime::EventBus;
use usvc_runtime::OutboxRelay;
use usvc_runtime::{AuditSequencer, GroupCommitAuditLog};

/// The domain services, sharing one set of caches.
#[derive(Clone)]
pub struct Services {
    /// Login, refresh, logout, sessions, password change, bearer authentication.
    pub auth: Arc<AuthService>,
    /// User administration, profiles, lookup, import, registration.
    pub users: Arc<UserService>,
    /// Tenants and their settings.
    pub tenants: TenantService,
    /// Custom roles.
    pub roles: Arc<RoleService>,
    /// OAuth clients.
    pub clients: Arc<ClientService>,
    /// The OpenID provider.
    pub oidc: Arc<OidcProvider>,
    /// Reading and verifying the audit trail.
    pub audit: Arc<AuditService>,
    /// Tenant administration (the platform grant).
    pub platform: Arc<PlatformService>,
    /// Projects (the project domain shares the authorizer and its access-list cache).
    pub projects: Arc<ProjectService>,
    /// Workflow definitions.
    pub workflows: Arc<WorkflowService>,
    /// The tenants' quotas, as the workflow engine applies them.
    pub quotas: Arc<usvc_workflow::Quotas>,
    /// Wakes the outbox relay after a change staged events.
    pub relay: Arc<OutboxRelay>,
    /// Who may do what.
    pub authorizer: Arc<dyn Authorizer>,
    /// The audit trail's group-commit appender (rows written on their own: refusals).
    pub audit_log: Arc<dyn AuditLog>,
    /// Chains the audit entries changes queued, woken by their commits.
    pub audit_sequencer: Arc<AuditSequencer>,
    /// Domain events (subscribe for the audit log, tests, …).
    pub events: EventBus,
    /// The clock every service reads.
    pub clock: Arc<dyn Clock>,
}

/// How many password hashes may run at once: all cores but one, so a login flood can never
/// take the last core from the cached hot paths (see docs/benchmarks.md).
pub fn hash_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    cores.saturating_sub(1).max(1)
}

/// argon2id at OWASP parameters, [`hash_concurrency`] at a time, on the current
/// (multi-threaded) runtime's blocking pool.
pub fn hasher() -> anyhow::Result<Arc<dyn PasswordHasher>> {
    Ok(Arc::new(Argon2Hasher::new(
        HashParams::OWASP,
        hash_concurrency(),
        tokio::runtime::Handle::current(),
    )?))
}

/// The authorizer every service asks: built-in and custom roles, project roles, the platform
/// grant, refusals on the audit trail.
fn tenant_authorizer(
    db: &Database,
    caches: &CacheRegistry,
    definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
    project_access: Arc<dyn Cache<ProjectId, ProjectAccessList>>,
    (audit, clock): (&Arc<dyn AuditLog>, &Arc<dyn Clock>),
) -> Arc<dyn Authorizer> {
    Arc::new(TenantAuthorizer::new(AuthorizerPorts {
        roles: db.roles.clone(),
        definitions,
        platform: db.platform.clone(),
        platform_grants: caches.create(CacheSpec::PLATFORM_ADMINS),
        projects: db.project_access.clone(),
        project_access,
        audit: audit.clone(),
        clock: clock.clone(),
    }))
}

/// Tenant administration, and the quota checks of the workflow engine over the same
/// `tenant-quotas` cache (so a change by the platform applies at once).
fn platform_and_quotas(
    db: &Database,
    caches: &CacheRegistry,
    (hasher, authorizer, clock): (Arc<dyn PasswordHasher>, Arc<dyn Authorizer>, Arc<dyn Clock>),
    live_sessions: Arc<dyn Cache<usvc_core::SessionId, usvc_core::Session>>,
) -> (Arc<PlatformService>, Arc<usvc_workflow::Quotas>) {
    let quota_cache = caches.create(CacheSpec::TENANT_QUOTAS);
    let quotas = Arc::new(usvc_workflow::Quotas::new(usvc_workflow::QuotaPorts {
        quotas: db.quotas.clone(),
        cache: quota_cache.clone(),
        executions: db.executions.clone(),
        starts: db.rate_limits.clone(),
    }));
    let platform = Arc::new(PlatformService::new(PlatformPorts {
        tenants: db.tenants.clone(),
        hasher,
        authorizer,
        clock,
        live_sessions,
        quotas: db.quotas.clone(),
        quota_cache,
    }));
    (platform, quotas)
}

/// The identity services over the database, the key ring and the hasher, with their caches
/// (`jwt-tokens`, `user-sessions` with `SESSION_TTL`, `user-profiles` with `CACHE_SIZE`)
/// registered in `caches`, so one invalidation reaches every service that reads them.
pub fn build(config: &Config, adapters: &Adapters, caches: &CacheRegistry) -> Services {
    let (db, hasher, clock) = (
        &adapters.db,
        adapters.hasher.clone(),
        adapters.clock.clone(),
    );
    let events = EventBus::new();
    // Rows written on their own (refusals, reads, failed attempts) share transactions.
    let audit: Arc<dyn AuditLog> = GroupCommitAuditLog::start(db.audit.clone());
    // Changes queue their audit entries; this chains them (positions, hashes) in batches.
    let audit_sequencer = AuditSequencer::start(db.audit.clone(), db.audit_queued.clone());
    // Project access lists: read by the authorizer, dropped by the project service.
    let project_access = caches.create(CacheSpec::PROJECT_ACCESS);
    // Role definitions per tenant; every role change invalidates its tenant's entry everywhere.
    let definitions = caches.create(CacheSpec::PERMISSIONS);
    let authorizer = tenant_authorizer(
        db,
        caches,
        definitions.clone(),
        project_access.clone(),
        (&audit, &clock),
    );
    let live_sessions = caches.create(CacheSpec::USER_SESSIONS.with_ttl(config.session_ttl));
    let profiles = caches.create(CacheSpec::USER_PROFILES.with_capacity(config.cache_size));
    let provider_caches: ProviderCaches = (live_sessions.clone(), profiles.clone());
    let auth = auth_service(
        config,
        adapters,
        caches,
        &provider_caches,
        (&events, &audit),
    );
    let (platform, quotas) = platform_and_quotas(
        db,
        caches,
        (hasher.clone(), authorizer.clone(), clock.clone()),
        live_sessions.clone(),
    );
    let users = Arc::new(UserService::new(UserPorts {
        tenants: db.tenants.clone(),
        users: db.users.clone(),
        sessions: db.sessions.clone(),
        hasher,
        clock: clock.clone(),
        authorizer: authorizer.clone(),
        events: Arc::new(events.clone()),
        profiles,
        live_sessions,
        analytics: db.user_analytics.clone(),
        roles: db.roles.clone(),
        audit: audit.clone(),
        platform: db.platform.clone(),
        projects: db.project_access.clone(),
    }));
    let relay = OutboxRelay::start(db.outbox.clone(), events.clone(), clock.clone());
    Services {
        auth,
        users,
        tenants: TenantService::new(db.tenants.clone(), clock.clone()),
        clock: clock.clone(),
        roles: role_service(db, authorizer.clone(), clock.clone(), definitions),
        clients: client_service(db, authorizer.clone(), clock.clone(), &provider_caches.1),
        oidc: oidc_provider(config, adapters, audit.clone(), provider_caches),
        audit: Arc::new(AuditService::new(audit.clone(), authorizer.clone())),
        audit_log: audit.clone(),
        audit_sequencer,
        platform,
        projects: project_service(
            db,
            caches,
            project_access,
            &authorizer,
            &relay,
            (&audit, &clock),
        ),
        workflows: Arc::new(WorkflowService::new(WorkflowPorts {
            offload: Arc::new(usvc_runtime::BlockingPool),
            workflows: db.workflows.clone(),
            authorizer: authorizer.clone(),
            clock,
            relay: relay.clone(),
            cache: caches.create(CacheSpec::WORKFLOWS),
            quotas: quotas.clone(),
        })),
        quotas,
        relay,
        authorizer,
        events,
    }
}

/// Projects over the store, sharing the authorizer's access-list cache.
fn project_service(
    db: &Database,
    caches: &CacheRegistry,
    access: Arc<dyn Cache<ProjectId, ProjectAccessList>>,
    authorizer: &Arc<dyn Authorizer>,
    relay: &Arc<OutboxRelay>,
    (audit, clock): (&Arc<dyn AuditLog>, &Arc<dyn Clock>),
) -> Arc<ProjectService> {
    Arc::new(ProjectService::new(ProjectPorts {
        projects: db.projects.clone(),
        authorizer: authorizer.clone(),
        clock: clock.clone(),
        relay: relay.clone(),
        cache: caches.create(CacheSpec::PROJECTS),
        access,
        access_lists: db.project_access.clone(),
        audit: audit.clone(),
        idempotency: db.idempotency.clone(),
        analytics: db.project_analytics.clone(),
    }))
}

/// Custom roles over the role store, whose definitions every replica's authorizer caches.
fn role_service(
    db: &Database,
    authorizer: Arc<dyn Authorizer>,
    clock: Arc<dyn Clock>,
    definitions: Arc<dyn Cache<TenantId, Vec<Role>>>,
) -> Arc<RoleService> {
    Arc::new(RoleService::new(
        db.roles.clone(),
        authorizer,
        clock,
        definitions,
        db.platform.clone(),
    ))
}

/// The caches the OpenID provider drops entries of: live sessions (a revoked grant) and
/// profiles (a service account changed with its client).
type ProviderCaches = (
    Arc<dyn Cache<SessionId, Session>>,
    Arc<dyn Cache<UserId, User>>,
);

/// The OpenID provider over the store, the key ring and the secret box (which seals the
/// browser's sign-in cookie and pending requests).
fn oidc_provider(
    config: &Config,
    adapters: &Adapters,
    audit: Arc<dyn AuditLog>,
    (live_sessions, profiles): ProviderCaches,
) -> Arc<OidcProvider> {
    let db = &adapters.db;
    Arc::new(OidcProvider::new(OidcPorts {
        clients: db.oauth_clients.clone(),
        grants: db.oauth_grants.clone(),
        spent: db.spent.clone(),
        consents: db.consents.clone(),
        sessions: db.sessions.clone(),
        users: db.users.clone(),
        tenants: db.tenants.clone(),
        tokens: adapters.tokens.clone(),
        opaque: Arc::new(RandomTokens),
        secrets: adapters.secrets.clone(),
        clock: adapters.clock.clone(),
        audit,
        settings: Arc::new(FixedSettings {
            identity: config.identity(),
        }),
        live_sessions,
        profiles,
    }))
}

/// The OAuth client registry; client secrets are random opaque tokens.
fn client_service(
    db: &Database,
    authorizer: Arc<dyn Authorizer>,
    clock: Arc<dyn Clock>,
    profiles: &Arc<dyn Cache<UserId, User>>,
) -> Arc<ClientService> {
    Arc::new(ClientService::new(
        db.oauth_clients.clone(),
        db.roles.clone(),
        authorizer,
        Arc::new(RandomTokens),
        (clock, profiles.clone()),
    ))
}

/// Mail goes through SMTP when `SMTP_URL` is set, else to the log (development).
pub fn notifier(config: &Config) -> anyhow::Result<Arc<dyn Notifier>> {
    if let Some(url) = &config.smtp_url {
        return Ok(Arc::new(
            usvc_notifier::SmtpNotifier::new(url, &config.mail_from)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ));
    }
    tracing::warn!("SMTP_URL is not set: mail (with its links) is written to the log");
    Ok(Arc::new(usvc_notifier::LogNotifier))
}

/// The ports the start-up and the command line set tenants and users up through.
pub fn bootstrap_ports(
    db: &Database,
    hasher: &Arc<dyn PasswordHasher>,
    clock: &Arc<dyn Clock>,
) -> BootstrapPorts {
    BootstrapPorts {
        tenants: db.tenants.clone(),
        users: db.users.clone(),
        hasher: hasher.clone(),
        opaque: Arc::new(RandomTokens),
        clock: clock.clone(),
        platform: db.platform.clone(),
    }
}

/// Creates tenant `default` and its owner on an empty database. A generated password is
/// printed once to stderr (not to the log, which may be shipped elsewhere).
pub async fn bootstrap(
    config: &Config,
    db: &Database,
    hasher: &Arc<dyn PasswordHasher>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let outcome = usvc_user::bootstrap(
        &bootstrap_ports(db, hasher, clock),
        &config.bootstrap_admin_email,
        config.bootstrap_admin_password.clone().map(Password::new),
    )
    .await?;
    if let Bootstrap::Created {
        email,
        generated_password,
    } = outcome
    {
        tracing::info!(email = %email, "created tenant `default` and its owner");
        if let Some(password) = generated_password {
            eprintln!(
                "user-service: created tenant `default` with owner {email} and password {} \
                 (shown only now; set BOOTSTRAP_ADMIN_PASSWORD to choose it)",
                password.expose()
            );
        }
    }
    Ok(())
}

/// Logins, sessions, MFA and bearer authentication over the shared caches (`live_sessions`,
/// `profiles`).
fn auth_service(
    config: &Config,
    adapters: &Adapters,
    caches: &CacheRegistry,
    (live_sessions, profiles): &ProviderCaches,
    (events, audit): (&EventBus, &Arc<dyn AuditLog>),
) -> Arc<AuthService> {
    let db = &adapters.db;
    Arc::new(AuthService::new(AuthPorts {
        tenants: db.tenants.clone(),
        users: db.users.clone(),
        sessions: db.sessions.clone(),
        hasher: adapters.hasher.clone(),
        tokens: adapters.tokens.clone(),
        opaque: Arc::new(RandomTokens),
        clock: adapters.clock.clone(),
        throttle: db.login_throttle.clone(),
        verified_tokens: caches.create(CacheSpec::JWT_TOKENS),
        live_sessions: live_sessions.clone(),
        profiles: profiles.clone(),
        events: Arc::new(events.clone()),
        mfa: db.mfa.clone(),
        totp: Arc::new(Totp::new(&config.totp_issuer)),
        secrets: adapters.secrets.clone(),
        action_tokens: db.action_tokens.clone(),
        notifier: adapters.notifier.clone(),
        audit: audit.clone(),
        // The sections the domains read, and nothing else of the configuration (no secrets).
        settings: Arc::new(FixedSettings {
            identity: config.identity(),
        }),
        passkeys: db.passkeys.clone(),
        webauthn: adapters.webauthn.clone(),
    }))
}

/// The WebAuthn relying party of `PUBLIC_URL`: none, with a warning, when it names an IP
/// address (passkeys are then unavailable).
pub fn relying_party(config: &Config) -> Option<Arc<dyn WebAuthn>> {
    match WebAuthnRp::new(&config.identity().public_url, &config.totp_issuer) {
        Ok(rp) => Some(Arc::new(rp)),
        Err(e) => {
            tracing::warn!(error = %e, "passkeys are unavailable");
            None
        }
    }
}

/// A user's passkeys over the store and the relying party.
pub fn passkey_service(adapters: &Adapters) -> Arc<PasskeyService> {
    Arc::new(PasskeyService::new(PasskeyPorts {
        passkeys: adapters.db.passkeys.clone(),
        users: adapters.db.users.clone(),
        webauthn: adapters.webauthn.clone(),
        secrets: adapters.secrets.clone(),
        clock: adapters.clock.clone(),
        grants: adapters.db.oauth_grants.clone(),
        spent: adapters.db.spent.clone(),
        audit: adapters.db.audit.clone(),
    }))
}
