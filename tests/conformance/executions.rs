//! `ExecutionRepository`: executions claimed step by step under leases, changed under the
//! execution's lock, with a timeline.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::json;
use usvc_core::ports::{ExecutionRepository, TenantRepository, WorkflowRepository};
use usvc_core::{
    CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState, ExecutionStatus,
    PageRequest, StepRun, StepStatus, Tenant, Workflow, WorkflowId, WorkflowStatus,
};
use usvc_tests::{audit, conformance};

use crate::users::tenant;

async fn workflow(repo: &dyn WorkflowRepository, t: &Tenant) -> WorkflowId {
    let now = Utc::now().trunc_subsecs(6);
    let w = Workflow {
        id: WorkflowId::new(),
        tenant_id: t.id,
        name: "w".into(),
        status: WorkflowStatus::Active,
        version: 1,
        definition: json!({"name": "w", "steps": []}),
        created_by: None,
        created_at: now,
        updated_at: now,
    };
    repo.create(&w, &audit(t.id)).await.unwrap();
    w.id
}

fn step(id: &str, status: StepStatus, ready_at: Option<DateTime<Utc>>) -> StepRun {
    StepRun {
        step_id: id.into(),
        kind: "noop".into(),
        status,
        attempts: 0,
        output: None,
        error: None,
        skip: None,
        state: None,
        ready_at,
        lease_owner: None,
        lease_until: None,
        started_at: None,
        finished_at: None,
    }
}

fn execution(t: &Tenant, workflow: WorkflowId, steps: Vec<StepRun>) -> ExecutionState {
    ExecutionState {
        execution: Execution {
            id: ExecutionId::new(),
            tenant_id: t.id,
            workflow_id: workflow,
            version: 1,
            status: ExecutionStatus::Pending,
            inputs: json!({"n": 1}),
            output: None,
            error: None,
            trigger: "manual".into(),
            started_by: None,
            created_at: Utc::now().trunc_subsecs(6),
            started_at: None,
            finished_at: None,
            deadline: None,
        },
        steps,
    }
}

/// Marks one step succeeded if `owner` holds it.
struct Succeed {
    step: String,
    owner: String,
}

impl ExecutionChange for Succeed {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let run = state.step_mut(&self.step).unwrap();
        if run.lease_owner.as_deref() != Some(self.owner.as_str()) {
            return Ok(false);
        }
        run.status = StepStatus::Succeeded;
        run.output = Some(json!({"by": self.owner}));
        run.lease_owner = None;
        run.finished_at = Some(now);
        Ok(true)
    }
}

/// Refuses: nothing may be written.
struct Refuse;

impl ExecutionChange for Refuse {
    fn apply(&self, state: &mut ExecutionState, _: DateTime<Utc>) -> Result<bool, CoreError> {
        state.execution.status = ExecutionStatus::Cancelled;
        Err(CoreError::Conflict("no".into()))
    }
}

async fn steps_are_claimed_once_leased_and_changed_under_lock<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + ExecutionRepository,
{
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let repo: &dyn ExecutionRepository = store;
    let w = workflow(store, &acme).await;
    let now = Utc::now().trunc_subsecs(6);
    let later = now + Duration::hours(1);
    let mut started = Vec::new();
    for _ in 0..20 {
        let state = execution(
            &acme,
            w,
            vec![
                step("a", StepStatus::Ready, Some(now)),
                step("b", StepStatus::Pending, None),
                step("timer", StepStatus::Waiting, Some(later)),
            ],
        );
        repo.start(&state, None).await.unwrap();
        started.push(state.execution.id);
    }
    assert_eq!(repo.next_due().await.unwrap(), Some(now));

    // Four workers claim at once: every ready step goes to exactly one of them.
    let lease = Duration::seconds(30);
    let claims = futures::future::join_all((0..4).map(|i| {
        let owner = format!("w{i}");
        async move {
            (
                owner.clone(),
                repo.claim(&owner, 8, lease, now).await.unwrap(),
            )
        }
    }))
    .await;
    let mut taken: Vec<(ExecutionId, String)> = claims
        .iter()
        .flat_map(|(_, steps)| steps.iter().map(|s| (s.execution_id, s.step_id.clone())))
        .collect();
    let total = taken.len();
    taken.sort_by_key(|(e, s)| (*e, s.clone()));
    taken.dedup();
    assert_eq!(taken.len(), total, "a step was claimed twice");
    assert!(taken.iter().all(|(_, s)| s == "a"), "only due steps");
    let mut rest = repo.claim("w9", 100, lease, now).await.unwrap();
    assert_eq!(total + rest.len(), 20, "every ready step, once");
    let claimed = claims.into_iter().find(|(_, c)| !c.is_empty()).unwrap();
    let first = &claimed.1[0];
    assert_eq!(first.attempt, 1);
    assert_eq!(first.tenant_id, acme.id);
    assert_eq!(first.workflow_id, w);
    let state = repo
        .get(acme.id, first.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.execution.status, ExecutionStatus::Running);
    assert_eq!(state.step("a").unwrap().status, StepStatus::Running);
    assert!(repo
        .get(globex.id, first.execution_id)
        .await
        .unwrap()
        .is_none());

    // Changes: only the holder's counts; a refused change writes nothing.
    let stranger = Succeed {
        step: "a".into(),
        owner: "nobody".into(),
    };
    let after = repo
        .change(acme.id, first.execution_id, Arc::new(stranger), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.step("a").unwrap().status, StepStatus::Running);
    assert!(matches!(
        repo.change(acme.id, first.execution_id, Arc::new(Refuse), now)
            .await,
        Err(CoreError::Conflict(_))
    ));
    let holder = Succeed {
        step: "a".into(),
        owner: first.lease.clone(),
    };
    let after = repo
        .change(acme.id, first.execution_id, Arc::new(holder), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.step("a").unwrap().status, StepStatus::Succeeded);
    assert_eq!(
        after.execution.status,
        ExecutionStatus::Running,
        "the refusal rolled back"
    );
    assert_eq!(
        repo.get(acme.id, first.execution_id)
            .await
            .unwrap()
            .unwrap(),
        after
    );
    assert!(repo
        .change(globex.id, first.execution_id, Arc::new(Refuse), now)
        .await
        .unwrap()
        .is_none());

    // An expired lease is taken over, with a new attempt; a handed-back one at once.
    let expired = repo
        .claim("rescuer", 100, lease, now + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(expired.len(), 19, "all still running, none succeeded");
    assert!(expired.iter().all(|s| s.attempt == 2));
    assert_eq!(repo.release("rescuer").await.unwrap(), 19);
    rest = repo
        .claim("again", 100, lease, now + Duration::seconds(32))
        .await
        .unwrap();
    assert_eq!(rest.len(), 19);
    assert!(
        rest.iter().all(|s| s.attempt == 2),
        "a handed-back attempt is not counted"
    );

    // Timers become due at their time (with, by then, the 19 leases that expired again).
    let due = repo.claim("t", 100, lease, later).await.unwrap();
    let timers = due.iter().filter(|s| s.step_id == "timer").count();
    assert_eq!((timers, due.len()), (20, 39));

    // The timeline records each change, in order.
    let timeline = repo.timeline(acme.id, first.execution_id).await.unwrap();
    let a: Vec<&str> = timeline
        .iter()
        .filter(|e| e.step_id.as_deref() == Some("a"))
        .map(|e| e.status.as_str())
        .collect();
    assert_eq!(a, ["ready", "running", "succeeded"]);
    assert_eq!(timeline[0].status, "pending");
    assert!(repo
        .timeline(globex.id, first.execution_id)
        .await
        .unwrap()
        .is_empty());
    let page = repo
        .list(
            acme.id,
            w,
            Some(ExecutionStatus::Running),
            PageRequest::new(Some(15), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 15);
    assert_eq!(page.items[0].id, *started.last().unwrap(), "newest first");
}

conformance!(
    executions,
    steps_are_claimed_once_leased_and_changed_under_lock
);
