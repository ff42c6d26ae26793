//! Chooses and connects the adapters: `DATABASE_URL`'s scheme picks SQLite or Postgres, and
//! the rest of the app sees only ports.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::runtime::Handle;
use usvc_cache::LocalInvalidation;
use usvc_config::{Config, DatabaseKind};
use usvc_core::ports::{
    ActionTokenRepository, AuditLog, Clock, ConsentRepository, ExecutionRepository, HealthCheck,
    IdempotencyKeys, Invalidation, LoginThrottle, MfaRepository, OAuthClientRepository,
    OAuthGrantRepository, Outbox, PasskeyRepository, PlatformAdmins, ProjectAccess,
    ProjectAnalytics, ProjectRepository, QuotaRepository, RateLimiter, RoleRepository,
    ServiceCensus, SessionRepository, SigningKeyRepository, SpentOnce, Store, TaskRepository,
    TenantRepository, TriggerRepository, UserAnalytics, UserRepository, WorkflowRepository,
};

/// The store behind its ports.
#[derive(Clone)]
pub struct Database {
    /// `sqlite` or `postgres`, for `/health/detailed`.
    pub backend: &'static str,
    /// Tenants.
    pub tenants: Arc<dyn TenantRepository>,
    /// Access-token signing keys.
    pub signing_keys: Arc<dyn SigningKeyRepository>,
    /// Users and credentials.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Failed-login counters (the lockout).
    pub login_throttle: Arc<dyn LoginThrottle>,
    /// TOTP credentials, recovery codes, MFA challenges.
    pub mfa: Arc<dyn MfaRepository>,
    /// Mailed single-use tokens.
    pub action_tokens: Arc<dyn ActionTokenRepository>,
    /// Request counters (the per-IP limit).
    pub rate_limits: Arc<dyn RateLimiter>,
    /// User figures for analytics.
    pub user_analytics: Arc<dyn UserAnalytics>,
    /// What the service manages, counted for operators.
    pub census: Arc<dyn ServiceCensus>,
    /// Custom roles.
    pub roles: Arc<dyn RoleRepository>,
    /// OAuth clients.
    pub oauth_clients: Arc<dyn OAuthClientRepository>,
    /// Authorization codes and grants.
    pub oauth_grants: Arc<dyn OAuthGrantRepository>,
    /// Users' standing consents to applications.
    pub consents: Arc<dyn ConsentRepository>,
    /// Users' passkeys.
    pub passkeys: Arc<dyn PasskeyRepository>,
    /// Single-use proofs spent (client assertions, passkey sign-in challenges).
    pub spent: Arc<dyn SpentOnce>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// Holders of the platform grant.
    pub platform: Arc<dyn PlatformAdmins>,
    /// The quotas the platform set per tenant.
    pub quotas: Arc<dyn QuotaRepository>,
    /// Projects.
    pub projects: Arc<dyn ProjectRepository>,
    /// Project access lists (visibility and member roles) for the authorizer.
    pub project_access: Arc<dyn ProjectAccess>,
    /// What `Idempotency-Key`s already did.
    pub idempotency: Arc<dyn IdempotencyKeys>,
    /// Project figures for analytics.
    pub project_analytics: Arc<dyn ProjectAnalytics>,
    /// The outbox's reading side, for the relay.
    pub outbox: Arc<dyn Outbox>,
    /// Workflow definitions and their versions.
    pub workflows: Arc<dyn WorkflowRepository>,
    /// Workflow executions, step runs and timelines.
    pub executions: Arc<dyn ExecutionRepository>,
    /// Human tasks of executions (written with them).
    pub tasks: Arc<dyn TaskRepository>,
    /// Event and schedule triggers of workflows.
    pub triggers: Arc<dyn TriggerRepository>,
    /// The database probe and pool figures.
    pub health: Arc<dyn HealthCheck>,
    /// Cache invalidation: in-process on SQLite, LISTEN/NOTIFY on Postgres.
    pub invalidation: Arc<dyn Invalidation>,
    /// Notified when a committed change has queued audit entries: wakes the sequencer.
    pub audit_queued: Arc<tokio::sync::Notify>,
}

impl Database {
    /// One store behind every port, with its invalidation bus.
    fn over<S: Store>(
        backend: &'static str,
        (store, audit_queued): (Arc<S>, Arc<tokio::sync::Notify>),
        invalidation: Arc<dyn Invalidation>,
    ) -> Self {
        Self {
            backend,
            audit_queued,
            tenants: store.clone(),
            signing_keys: store.clone(),
            users: store.clone(),
            sessions: store.clone(),
            login_throttle: store.clone(),
            mfa: store.clone(),
            action_tokens: store.clone(),
            rate_limits: store.clone(),
            user_analytics: store.clone(),
            census: store.clone(),
            roles: store.clone(),
            oauth_clients: store.clone(),
            oauth_grants: store.clone(),
            consents: store.clone(),
            passkeys: store.clone(),
            spent: store.clone(),
            audit: store.clone(),
            platform: store.clone(),
            quotas: store.clone(),
            projects: store.clone(),
            project_access: store.clone(),
            idempotency: store.clone(),
            project_analytics: store.clone(),
            outbox: store.clone(),
            workflows: store.clone(),
            executions: store.clone(),
            tasks: store.clone(),
            triggers: store.clone(),
            health: store,
            invalidation,
        }
    }
}

fn sqlite_options(config: &Config) -> usvc_sqlite::StoreOptions {
    usvc_sqlite::StoreOptions {
        pool_size: config.db_pool_size,
        timeout: config.db_timeout,
        idle_timeout: config.db_idle_timeout,
        ..usvc_sqlite::StoreOptions::default()
    }
}

fn postgres_options(config: &Config) -> usvc_postgres::StoreOptions {
    usvc_postgres::StoreOptions {
        pool_size: config.db_pool_size,
        timeout: config.db_timeout,
        idle_timeout: config.db_idle_timeout,
        ..usvc_postgres::StoreOptions::default()
    }
}

/// Applies pending migrations; returns how many ran.
pub async fn migrate(config: &Config) -> anyhow::Result<usize> {
    let runtime = Handle::current();
    match config.database_kind() {
        DatabaseKind::Sqlite => {
            let store = usvc_sqlite::open(&config.database_url, sqlite_options(config), runtime)
                .await
                .context("opening the SQLite database")?;
            Ok(usvc_sqlite::migrate(&store)
                .await
                .context("migrating SQLite")?)
        }
        DatabaseKind::Postgres => {
            Ok(
                usvc_postgres::migrate(&config.database_url, config.db_timeout, &runtime)
                    .await
                    .context("migrating Postgres")?,
            )
        }
    }
}

/// Migrates (on Postgres retrying while the database comes up, as containers start together)
/// and connects the store and its invalidation bus; the store reads time from `clock`.
pub async fn connect(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Database> {
    let runtime = Handle::current();
    match config.database_kind() {
        DatabaseKind::Sqlite => {
            // Open once and migrate that very store: `sqlite::memory:` is private to its pool.
            let store = usvc_sqlite::open(&config.database_url, sqlite_options(config), runtime)
                .await
                .context("opening the SQLite database")?;
            usvc_sqlite::migrate(&store)
                .await
                .context("migrating SQLite")?;
            let queued = store.audit_queued();
            Ok(Database::over(
                "sqlite",
                (Arc::new(store.with_clock(clock)), queued),
                Arc::new(LocalInvalidation::new()),
            ))
        }
        DatabaseKind::Postgres => {
            retry_while_unavailable(|| migrate(config)).await?;
            let store = usvc_postgres::open(
                &config.database_url,
                postgres_options(config),
                runtime.clone(),
            )?
            .with_clock(clock);
            let invalidation = usvc_postgres::PgInvalidation::start(
                &config.database_url,
                store.clone(),
                config.db_timeout,
                &runtime,
            )
            .await
            .context("starting the invalidation listener")?;
            let queued = store.audit_queued();
            Ok(Database::over(
                "postgres",
                (Arc::new(store), queued),
                invalidation,
            ))
        }
    }
}

async fn retry_while_unavailable<F, Fut>(mut attempt: F) -> anyhow::Result<usize>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    const ATTEMPTS: u32 = 10;
    let mut delay = Duration::from_millis(500);
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(applied) => return Ok(applied),
            Err(e) if n < ATTEMPTS => {
                tracing::warn!(attempt = n, error = %format!("{e:#}"), "database not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the last attempt returns")
}
