//! What every handler can reach: the domain services and runtimes the wiring built, and what
//! the HTTP layer keeps itself (the per-IP limit, exposure, trusted proxies, request figures).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use usvc_cache::{CacheRegistry, CacheSpec, NamedCache};
use usvc_config::Config;
use usvc_core::ports::{Authorizer, Clock};
use usvc_runtime::{EventBus, TriggerLoop, WorkflowWorker};
use usvc_security::JwtService;
use usvc_user::{
    AuditService, AuthService, PlatformService, RoleService, TenantService, UserService,
};

use crate::http::client_limit::AuthRateLimit;
use crate::wiring::services::{self, Services};
use crate::wiring::workflows::{self, WorkflowRuntime};
use crate::wiring::{Adapters, Database};

/// Aggregate counts are cached this long: monitors poll `/health/detailed` often, and
/// `COUNT(*)` over a large table must not ride along with every poll.
pub const ANALYTICS_CACHE: CacheSpec = CacheSpec {
    name: "analytics",
    capacity: 100,
    ttl: Duration::from_secs(30),
};

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub db: Database,
    /// Access tokens and the JWKS.
    pub tokens: Arc<JwtService>,
    /// Login, refresh, logout, bearer authentication.
    pub auth: Arc<AuthService>,
    /// User administration and profiles.
    pub users: Arc<UserService>,
    /// Tenants and their settings.
    pub tenants: TenantService,
    /// Custom roles.
    pub roles: Arc<RoleService>,
    /// OAuth clients.
    pub clients: Arc<usvc_user::ClientService>,
    /// The OpenID provider.
    pub oidc: Arc<usvc_user::OidcProvider>,
    /// The callers' passkeys.
    pub passkeys: Arc<usvc_user::PasskeyService>,
    /// Reading and verifying the audit trail.
    pub audit: Arc<AuditService>,
    /// Tenant administration (the platform grant).
    pub platform: Arc<PlatformService>,
    /// Projects.
    pub projects: Arc<usvc_project::ProjectService>,
    /// Workflow definitions.
    pub workflows: Arc<usvc_workflow::WorkflowService>,
    /// Workflow executions.
    pub executions: Arc<usvc_workflow::ExecutionService>,
    /// Human tasks.
    pub tasks: Arc<usvc_workflow::TaskService>,
    /// This process's trigger loop (event and schedule triggers), running while held.
    pub triggers: Arc<TriggerLoop>,
    /// This process's workflow worker.
    pub worker: Arc<WorkflowWorker>,
    /// Who may do what.
    pub authorizer: Arc<dyn Authorizer>,
    /// Domain events.
    pub events: EventBus,
    /// The per-client-IP limit on the unauthenticated auth endpoints.
    pub auth_limit: AuthRateLimit,
    /// All named caches, for reporting.
    pub caches: Arc<CacheRegistry>,
    /// Aggregate figures (tenant count, …) by name.
    pub analytics: Arc<NamedCache<String, usvc_core::ServiceCounts>>,
    /// The SMTP relay and the OTLP collector, as last probed.
    pub external_apis: Arc<crate::http::external_apis::ExternalApis>,
    /// The Prometheus recorder.
    pub metrics: PrometheusHandle,
    /// Request counters the health score is computed from.
    pub http: Arc<HttpStats>,
    /// When the process started serving.
    pub started: Instant,
    /// The same, as wall-clock time.
    pub started_at: DateTime<Utc>,
    /// Security headers and who may read the operator pages.
    pub exposure: crate::http::exposure::Exposure,
    /// The tenants' quotas, as the workflow engine applies them.
    pub quotas: Arc<usvc_workflow::Quotas>,
    /// The load balancers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub proxies: Arc<crate::http::client_address::TrustedProxies>,
    /// Serving, or draining before a shutdown.
    pub lifecycle: Arc<crate::http::lifecycle::Lifecycle>,
    /// The time every handler reads (the domains', by construction).
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// The state `serve` runs with: the caches on the database's invalidation bus and the
    /// identity services over them. Tests build theirs the same way.
    pub fn assemble(config: &Config, adapters: &Adapters) -> Self {
        let (db, tokens) = (adapters.db.clone(), adapters.tokens.clone());
        let caches = Arc::new(CacheRegistry::new(db.invalidation.clone()));
        let services = services::build(config, adapters, &caches);
        let WorkflowRuntime {
            executions,
            tasks,
            triggers,
            worker,
        } = workflows::engine(config, &db, &caches, &services);
        let Services {
            auth,
            users,
            tenants,
            roles,
            clients,
            oidc,
            audit,
            platform,
            projects,
            workflows,
            quotas,
            authorizer,
            events,
            clock,
            ..
        } = services;
        let analytics = caches.create(ANALYTICS_CACHE);
        let auth_limit = AuthRateLimit::new(db.rate_limits.clone(), config.auth_rate_limit);
        Self {
            db,
            tokens,
            auth,
            users,
            tenants,
            roles,
            clients,
            oidc,
            passkeys: services::passkey_service(adapters),
            audit,
            platform,
            projects,
            workflows,
            executions,
            tasks,
            triggers,
            worker,
            authorizer,
            events,
            auth_limit,
            caches,
            analytics,
            metrics: crate::http::metrics_registry::handle(),
            http: Arc::default(),
            started: Instant::now(),
            started_at: clock.now(),
            exposure: crate::http::exposure::Exposure::from_config(config),
            external_apis: Arc::new(crate::http::external_apis::ExternalApis::from_config(
                config,
            )),
            quotas,
            proxies: Arc::new(crate::http::client_address::TrustedProxies::new(
                config.trusted_proxies.clone(),
            )),
            lifecycle: Arc::default(),
            clock,
        }
    }
}

/// Totals since start, kept beside the Prometheus series so `/health/detailed` can compute its
/// score without parsing its own metrics.
#[derive(Debug, Default)]
pub struct HttpStats {
    requests: AtomicU64,
    server_errors: AtomicU64,
    latency_micros: AtomicU64,
}

impl HttpStats {
    /// Counts one finished request.
    pub fn record(&self, status: u16, elapsed: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// (requests, 5xx responses, mean latency in ms).
    #[allow(clippy::cast_precision_loss)]
    pub fn snapshot(&self) -> (u64, u64, f64) {
        let requests = self.requests.load(Ordering::Relaxed);
        let errors = self.server_errors.load(Ordering::Relaxed);
        let micros = self.latency_micros.load(Ordering::Relaxed);
        let mean_ms = if requests == 0 {
            0.0
        } else {
            micros as f64 / requests as f64 / 1000.0
        };
        (requests, errors, mean_ms)
    }
}
