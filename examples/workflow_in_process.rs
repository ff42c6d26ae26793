//! A durable workflow engine in your own program: `usvc-workflow` defines and plans, the
//! runtime of `usvc-runtime` runs (a worker claiming steps under a lease), and an in-process
//! SQLite store keeps every step's state, so the same engine survives a crash when the store is
//! a file or Postgres. No HTTP, no user-service binary.
//!
//! The program defines a fan-out/fan-in workflow, starts it and waits until it ends. Its steps
//! reach the outside world through two ports the program implements itself: this one lets
//! steps reach no network and no projects ([`NoNetwork`], [`NoProjects`]); use
//! `usvc_egress::EgressClient` and a `ProjectActions` over `usvc-project` to allow them.
//!
//! ```text
//! cargo run -p usvc-examples --example workflow_in_process
//! ```

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use usvc_cache::{CacheRegistry, CacheSpec, LocalInvalidation};
use usvc_core::ports::{
    Acting, HttpClient, Invalidation, OutboundRequest, OutboundResponse, ProjectActions,
    SystemClock,
};
use usvc_core::{CoreError, ExecutionState, ProjectFields, ProjectId};
use usvc_runtime::{
    AnnouncedOutbox, BlockingPool, EventBus, OutboxRelay, WorkerConfig, WorkflowWorker,
};
use usvc_user::RoleAuthorizer;
use usvc_workflow::{
    Engine, EnginePorts, ExecutionPorts, ExecutionService, Kinds, QuotaPorts, Quotas, StepEnv,
    WorkflowPorts, WorkflowService,
};

/// `http` steps fail: this program reaches no network.
struct NoNetwork;

#[async_trait]
impl HttpClient for NoNetwork {
    async fn send(&self, _: OutboundRequest) -> Result<OutboundResponse, String> {
        Err("this program reaches no network".into())
    }
}

/// `project.*` steps fail: this program has no projects.
struct NoProjects;

#[async_trait]
impl ProjectActions for NoProjects {
    async fn create(
        &self,
        _: Acting,
        _: ProjectFields,
        _: String,
    ) -> Result<serde_json::Value, CoreError> {
        Err(CoreError::Forbidden("this program has no projects".into()))
    }

    async fn update(
        &self,
        _: Acting,
        _: ProjectId,
        _: ProjectFields,
    ) -> Result<serde_json::Value, CoreError> {
        Err(CoreError::Forbidden("this program has no projects".into()))
    }
}

/// Fan-out from `start` to `price` and `stock`, fan-in at `done`; `big` is a condition whose
/// branch only matters for big orders (docs/workflows.md has the format).
fn order_review() -> serde_json::Value {
    json!({
        "name": "order review",
        "steps": [
            {"id": "start", "kind": "transform", "with": {"n": "{{ inputs.n }}"}},
            {"id": "price", "kind": "transform", "depends_on": ["start"],
             "with": {"total": "{{ steps.start.output.n * 12 }}"}},
            {"id": "stock", "kind": "transform", "depends_on": ["start"],
             "with": {"reserved": "{{ steps.start.output.n }}"}},
            {"id": "big", "kind": "condition", "depends_on": ["price"],
             "with": {"expr": "steps.price.output.total > 1000"}},
            {"id": "done", "kind": "transform", "depends_on": ["price", "stock"],
             "with": {"summary": "{{ steps.price.output.total }} for {{ steps.stock.output.reserved }}"}}
        ]
    })
}

async fn run(n: u32) -> Result<ExecutionState, Box<dyn Error>> {
    let store = usvc_examples::sqlite("sqlite::memory:").await?;
    let me = usvc_examples::owner(&store, "acme", "ada@example.com").await?;
    let invalidation: Arc<dyn Invalidation> = Arc::new(LocalInvalidation::new());
    let caches = CacheRegistry::new(invalidation.clone());
    let relay = OutboxRelay::start(store.clone(), EventBus::new(), Arc::new(SystemClock));
    let quotas = Arc::new(Quotas::new(QuotaPorts {
        quotas: store.clone(),
        cache: caches.create(CacheSpec::TENANT_QUOTAS),
        executions: store.clone(),
        starts: store.clone(),
    }));

    // The engine: definitions and plans from usvc-workflow, state in the store.
    let engine = Arc::new(Engine::new(EnginePorts {
        executions: store.clone(),
        workflows: store.clone(),
        clock: Arc::new(SystemClock),
        versions: caches.create(CacheSpec::WORKFLOW_VERSIONS),
        kinds: Kinds::builtin(),
        env: StepEnv {
            http: Arc::new(NoNetwork),
            // `event` steps' events go out at once: the relay is woken after each.
            events: Arc::new(AnnouncedOutbox::new(store.clone(), relay.clone())),
            projects: Arc::new(NoProjects),
        },
        offload: Arc::new(BlockingPool),
    }));
    // The runtime: one worker, four steps at a time, each held under a 30 s lease; pure steps
    // (transforms) taken by a start or a recording run at once, for up to 100 ms, and are
    // recorded in its transaction.
    let worker = WorkflowWorker::start(
        engine.clone(),
        store.clone(),
        invalidation,
        WorkerConfig {
            concurrency: 4,
            batch: 4,
            lease: Duration::from_secs(30),
            pure_budget: Duration::from_millis(100),
        },
    );
    let workflows = Arc::new(WorkflowService::new(WorkflowPorts {
        workflows: store.clone(),
        authorizer: Arc::new(RoleAuthorizer),
        clock: Arc::new(SystemClock),
        relay: relay.clone(),
        cache: caches.create(CacheSpec::WORKFLOWS),
        quotas: quotas.clone(),
        offload: Arc::new(BlockingPool),
    }));
    let executions = ExecutionService::new(ExecutionPorts {
        executions: store.clone(),
        tasks: store.clone(),
        workflows: workflows.clone(),
        engine,
        authorizer: Arc::new(RoleAuthorizer),
        idempotency: store.clone(),
        signal: worker.clone(),
        relay: relay.clone(),
        quotas,
    });

    let workflow = workflows.create(&me, order_review()).await?;
    let mut ended = worker.ended();
    let (started, _) = executions
        .start(&me, workflow.id, json!({ "n": n }), None)
        .await?;
    let id = started.execution.id;
    tokio::time::timeout(Duration::from_secs(30), async {
        while ended.recv().await.ok().map(|s| s.execution.id) != Some(id) {}
    })
    .await?;
    let state = executions.get(&me, id).await?;
    worker.shutdown().await;
    relay.stop().await;
    Ok(state)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let state = run(100).await?;
    println!(
        "execution {}: {}",
        state.execution.id,
        state.execution.status.as_str()
    );
    for step in &state.steps {
        println!(
            "  {:<6} {:<10} {}",
            step.step_id,
            step.status.as_str(),
            step.output.clone().unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fan_out_runs_to_its_fan_in_and_the_condition_decides() {
        let state = super::run(100).await.expect("the example runs");
        assert_eq!(state.execution.status.as_str(), "succeeded");
        let output = |id: &str| {
            state
                .steps
                .iter()
                .find(|s| s.step_id == id)
                .and_then(|s| s.output.clone())
        };
        assert_eq!(output("done"), Some(json!({ "summary": "1200 for 100" })));
        assert_eq!(output("big"), Some(json!({ "result": true })));
    }
}
