//! Wiring of the workflow engine: the engine over the store and the other domains (projects
//! as workflow steps reach them, people as workflows act for them), the worker and the trigger
//! loop of `usvc-runtime` started over it, and the execution and task use cases.

use std::sync::Arc;

use usvc_cache::{CacheRegistry, CacheSpec};
use usvc_config::Config;
use usvc_core::ports::EventRelay;
use usvc_runtime::{AnnouncedOutbox, BlockingPool, TriggerLoop, WorkerConfig, WorkflowWorker};

use super::acting::{ActingAuthorizer, ActingPeople};
use super::database::Database;
use super::services::Services;
use super::workflow_projects::WorkflowProjects;

/// The engine's use cases and the runtimes that move its executions.
pub struct WorkflowRuntime {
    /// Starting, reading, cancelling executions.
    pub executions: Arc<usvc_workflow::ExecutionService>,
    /// Human tasks.
    pub tasks: Arc<usvc_workflow::TaskService>,
    /// Event and schedule triggers, running.
    pub triggers: Arc<TriggerLoop>,
    /// This process's worker, running.
    pub worker: Arc<WorkflowWorker>,
}

/// The workflow engine over the store: the worker and the trigger loop (started here) and
/// the execution and task use cases, which wake the worker.
pub fn engine(
    config: &Config,
    db: &Database,
    caches: &CacheRegistry,
    n: &Services,
) -> WorkflowRuntime {
    let http: Arc<dyn usvc_core::ports::HttpClient> = Arc::new(
        usvc_egress::EgressClient::new(config.workflow_http_allow.clone())
            .unwrap_or_else(|e| panic!("the outbound HTTP client cannot start: {e}")),
    );
    let people = ActingPeople::new(db.users.clone(), db.tenants.clone());
    let relay: Arc<dyn EventRelay> = n.relay.clone();
    let engine = Arc::new(usvc_workflow::Engine::new(usvc_workflow::EnginePorts {
        offload: Arc::new(BlockingPool),
        executions: db.executions.clone(),
        workflows: db.workflows.clone(),
        clock: n.clock.clone(),
        versions: caches.create(CacheSpec::WORKFLOW_VERSIONS),
        kinds: usvc_workflow::Kinds::builtin(),
        env: usvc_workflow::StepEnv {
            http,
            events: Arc::new(AnnouncedOutbox::new(db.outbox.clone(), relay.clone())),
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
            pure_budget: config.workflow_pure_budget,
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
            relay: relay.clone(),
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
        relay: relay.clone(),
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
        &n.events,
    );
    WorkflowRuntime {
        executions,
        tasks,
        triggers,
        worker,
    }
}
