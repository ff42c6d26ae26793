//! What every handler can reach.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use metrics_exporter_prometheus::PrometheusHandle;
use usvc_cache::{CacheRegistry, CacheSpec, NamedCache};
use usvc_config::Config;
use usvc_core::ports::{AuditLog, Authorizer, EventRelay, Notifier, PasswordHasher, SecretBox};
use usvc_security::JwtService;
use usvc_user::{
    AuditService, AuthService, PlatformService, RoleService, TenantService, UserService,
};

use crate::acting::{ActingAuthorizer, ActingPeople};
use crate::events::EventBus;
use crate::http::client_limit::AuthRateLimit;
use crate::identity::{self, Identity};
use crate::wiring::Database;
use crate::workflow_projects::WorkflowProjects;
use crate::workflow_triggers::TriggerLoop;
use crate::workflow_worker::{WorkerConfig, WorkflowWorker};

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
    pub external_apis: Arc<crate::external_apis::ExternalApis>,
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
    pub lifecycle: Arc<crate::lifecycle::Lifecycle>,
}

impl AppState {
    /// The state `serve` runs with: the caches on the database's invalidation bus and the
    /// identity services over them. Tests build theirs the same way.
    pub fn assemble(
        config: &Config,
        db: Database,
        tokens: Arc<JwtService>,
        hasher: Arc<dyn PasswordHasher>,
        secrets: Arc<dyn SecretBox>,
        notifier: Arc<dyn Notifier>,
    ) -> Self {
        let caches = Arc::new(CacheRegistry::new(db.invalidation.clone()));
        let Identity {
            auth,
            users,
            tenants,
            roles,
            audit,
            platform,
            projects,
            workflows,
            quotas,
            relay,
            authorizer,
            audit_log,
            events,
        } = identity::services(
            config,
            &db,
            tokens.clone(),
            hasher,
            secrets,
            notifier,
            &caches,
        );
        let (executions, tasks, triggers, worker) = workflow_engine(
            config,
            &db,
            &caches,
            &Neighbours {
                authorizer: &authorizer,
                audit_log: &audit_log,
                workflows: &workflows,
                projects: &projects,
                relay: &(relay as Arc<dyn EventRelay>),
                events: &events,
                quotas: &quotas,
            },
        );
        let analytics = caches.create(ANALYTICS_CACHE);
        let auth_limit = AuthRateLimit::new(db.rate_limits.clone(), config.auth_rate_limit);
        Self {
            db,
            tokens,
            auth,
            users,
            tenants,
            roles,
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
            metrics: crate::metrics_registry::handle(),
            http: Arc::default(),
            started: Instant::now(),
            started_at: Utc::now(),
            exposure: crate::http::exposure::Exposure::from_config(config),
            external_apis: Arc::new(crate::external_apis::ExternalApis::from_config(config)),
            quotas,
            proxies: Arc::new(crate::http::client_address::TrustedProxies::new(
                config.trusted_proxies.clone(),
            )),
            lifecycle: Arc::default(),
        }
    }
}

/// What the workflow engine uses of the other domains' wiring.
struct Neighbours<'a> {
    authorizer: &'a Arc<dyn Authorizer>,
    audit_log: &'a Arc<dyn AuditLog>,
    workflows: &'a Arc<usvc_workflow::WorkflowService>,
    projects: &'a Arc<usvc_project::ProjectService>,
    relay: &'a Arc<dyn EventRelay>,
    events: &'a EventBus,
    quotas: &'a Arc<usvc_workflow::Quotas>,
}

/// The workflow engine over the store: the worker and the trigger loop (started here) and
/// the execution and task use cases, which wake the worker.
fn workflow_engine(
    config: &Config,
    db: &Database,
    caches: &CacheRegistry,
    n: &Neighbours<'_>,
) -> (
    Arc<usvc_workflow::ExecutionService>,
    Arc<usvc_workflow::TaskService>,
    Arc<TriggerLoop>,
    Arc<WorkflowWorker>,
) {
    let http: Arc<dyn usvc_core::ports::HttpClient> = Arc::new(
        usvc_egress::EgressClient::new(config.workflow_http_allow.clone())
            .unwrap_or_else(|e| panic!("the outbound HTTP client cannot start: {e}")),
    );
    let people = ActingPeople::new(db.users.clone(), db.tenants.clone());
    let engine = Arc::new(usvc_workflow::Engine::new(usvc_workflow::EnginePorts {
        offload: Arc::new(crate::blocking_pool::BlockingPool),
        executions: db.executions.clone(),
        workflows: db.workflows.clone(),
        clock: Arc::new(usvc_core::ports::SystemClock),
        versions: caches.create(CacheSpec::WORKFLOW_VERSIONS),
        kinds: usvc_workflow::Kinds::builtin(),
        env: usvc_workflow::StepEnv {
            http,
            events: db.outbox.clone(),
            projects: Arc::new(WorkflowProjects::new(n.projects.clone(), people.clone())),
        },
    }));
    let worker = WorkflowWorker::start(
        engine.clone(),
        db.executions.clone(),
        db.invalidation.clone(),
        WorkerConfig {
            concurrency: config.workflow_concurrency,
            batch: u32::try_from(config.workflow_concurrency).unwrap_or(u32::MAX),
            lease: config.workflow_lease,
        },
    );
    let executions = Arc::new(usvc_workflow::ExecutionService::new(
        usvc_workflow::ExecutionPorts {
            executions: db.executions.clone(),
            tasks: db.tasks.clone(),
            workflows: n.workflows.clone(),
            engine: engine.clone(),
            authorizer: n.authorizer.clone(),
            idempotency: db.idempotency.clone(),
            signal: worker.clone(),
            relay: n.relay.clone(),
            quotas: n.quotas.clone(),
        },
    ));
    let tasks = Arc::new(usvc_workflow::TaskService::new(usvc_workflow::TaskPorts {
        tasks: db.tasks.clone(),
        executions: db.executions.clone(),
        engine: engine.clone(),
        authorizer: n.authorizer.clone(),
        audit: n.audit_log.clone(),
        signal: worker.clone(),
        relay: n.relay.clone(),
    }));
    let triggers = TriggerLoop::start(
        Arc::new(usvc_workflow::TriggerService::new(
            usvc_workflow::TriggerPorts {
                triggers: db.triggers.clone(),
                engine,
                signal: worker.clone(),
                quotas: n.quotas.clone(),
                access: Arc::new(ActingAuthorizer::new(people, n.authorizer.clone())),
            },
        )),
        n.events,
    );
    (executions, tasks, triggers, worker)
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
