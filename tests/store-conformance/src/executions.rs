//! `ExecutionRepository`: executions claimed step by step under leases, changed under the
//! execution's lock, with a timeline.

use std::sync::Arc;

use crate::audit;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::json;
use usvc_core::ports::{
    AuditLog, ExecutionRepository, QuotaRepository, TaskRepository, TenantRepository,
    WorkflowRepository,
};
use usvc_core::{
    AuditFilter, CoreError, Execution, ExecutionChange, ExecutionId, ExecutionState,
    ExecutionStatus, PageRequest, ProjectId, QuotaOverrides, StepRun, StepStatus, Task,
    TaskAudience, TaskId, TaskStatus, Tenant, UserId, Workflow, WorkflowId, WorkflowStatus,
};

use crate::users::tenant;

/// A steps-in-flight quota no test here reaches.
const ROOMY: u32 = 10_000;

pub(crate) async fn workflow(repo: &dyn WorkflowRepository, t: &Tenant) -> WorkflowId {
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
    repo.create(&w, &[], &audit(t.id)).await.unwrap();
    w.id
}

pub(crate) fn step(id: &str, status: StepStatus, ready_at: Option<DateTime<Utc>>) -> StepRun {
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

pub(crate) fn execution(t: &Tenant, workflow: WorkflowId, steps: Vec<StepRun>) -> ExecutionState {
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
            concurrency_key: None,
            concurrency_limit: None,
            queued: false,
            projects: Vec::new(),
        },
        steps,
        tasks: Vec::new(),
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
        // As a project step records the project it touched.
        state.execution.projects.push(ProjectId::new());
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

pub(crate) async fn steps_are_claimed_once_leased_and_changed_under_lock<S>(store: &S)
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
        repo.start(&state, None, None).await.unwrap();
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
                repo.claim(&owner, 8, lease, now, ROOMY).await.unwrap(),
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
    let mut rest = repo.claim("w9", 100, lease, now, ROOMY).await.unwrap();
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
        .change(acme.id, first.execution_id, Arc::new(stranger), None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.step("a").unwrap().status, StepStatus::Running);
    assert!(matches!(
        repo.change(acme.id, first.execution_id, Arc::new(Refuse), None, now)
            .await,
        Err(CoreError::Conflict(_))
    ));
    let holder = Succeed {
        step: "a".into(),
        owner: first.lease.clone(),
    };
    let after = repo
        .change(acme.id, first.execution_id, Arc::new(holder), None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.step("a").unwrap().status, StepStatus::Succeeded);
    assert_eq!(after.execution.projects.len(), 1);
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
        .change(globex.id, first.execution_id, Arc::new(Refuse), None, now)
        .await
        .unwrap()
        .is_none());

    // An expired lease is taken over, with a new attempt; a handed-back one at once.
    let expired = repo
        .claim("rescuer", 100, lease, now + Duration::seconds(31), ROOMY)
        .await
        .unwrap();
    assert_eq!(expired.len(), 19, "all still running, none succeeded");
    assert!(expired.iter().all(|s| s.attempt == 2));
    assert_eq!(repo.release("rescuer").await.unwrap(), 19);
    rest = repo
        .claim("again", 100, lease, now + Duration::seconds(32), ROOMY)
        .await
        .unwrap();
    assert_eq!(rest.len(), 19);
    assert!(
        rest.iter().all(|s| s.attempt == 2),
        "a handed-back attempt is not counted"
    );

    // Timers become due at their time (with, by then, the 19 leases that expired again).
    let due = repo.claim("t", 100, lease, later, ROOMY).await.unwrap();
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

/// Claims serve tenants in turn: a tenant's one step is taken in the first claim however many
/// older steps another tenant has waiting; and each tenant gets no more running steps than its
/// quota (the platform's override, else the default the worker passes).
pub(crate) async fn claims_serve_tenants_in_turn_within_their_quotas<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + ExecutionRepository + QuotaRepository,
{
    let busy = tenant(store, "busy").await;
    let quiet = tenant(store, "quiet").await;
    let capped = tenant(store, "capped").await;
    let repo: &dyn ExecutionRepository = store;
    let now = Utc::now().trunc_subsecs(6);
    let lease = Duration::seconds(30);
    let w = workflow(store, &busy).await;
    for i in 0..30 {
        let older = now - Duration::seconds(60 - i);
        let state = execution(&busy, w, vec![step("a", StepStatus::Ready, Some(older))]);
        repo.start(&state, None, None).await.unwrap();
    }
    let wq = workflow(store, &quiet).await;
    let lone = execution(&quiet, wq, vec![step("a", StepStatus::Ready, Some(now))]);
    repo.start(&lone, None, None).await.unwrap();

    // Oldest first would take five of busy's thirty; in turn, quiet's one is among them.
    let first = repo.claim("w1", 5, lease, now, ROOMY).await.unwrap();
    assert_eq!(first.len(), 5);
    assert!(
        first.iter().any(|s| s.execution_id == lone.execution.id),
        "the quiet tenant's step waits one claim at most"
    );
    assert_eq!(first.iter().filter(|s| s.tenant_id == busy.id).count(), 4);

    // Busy may run 6 at once: 4 are running, so 2 more.
    let quotas = QuotaOverrides {
        steps_in_flight: Some(6),
        ..QuotaOverrides::default()
    };
    QuotaRepository::set(store, busy.id, quotas, &audit(busy.id))
        .await
        .unwrap();
    assert_eq!(QuotaRepository::get(store, busy.id).await.unwrap(), quotas);
    let more = repo.claim("w2", 100, lease, now, ROOMY).await.unwrap();
    assert_eq!(more.len(), 2, "up to the quota: {more:?}");
    assert!(repo
        .claim("w3", 100, lease, now, ROOMY)
        .await
        .unwrap()
        .is_empty());

    // Without an override the worker's default holds.
    let wc = workflow(store, &capped).await;
    for _ in 0..3 {
        let state = execution(&capped, wc, vec![step("a", StepStatus::Ready, Some(now))]);
        repo.start(&state, None, None).await.unwrap();
    }
    assert_eq!(repo.claim("w4", 100, lease, now, 2).await.unwrap().len(), 2);
    assert_eq!(repo.live_count(capped.id).await.unwrap(), 3);
    assert!(matches!(
        QuotaRepository::set(store, usvc_core::TenantId::new(), quotas, &audit(busy.id)).await,
        Err(CoreError::NotFound(_))
    ));
}

/// Claims every ready step under `lease`, within the room the store reports (kept in `seen`).
struct TakeWithin {
    lease: String,
    seen: std::sync::Mutex<Vec<u32>>,
}

impl ExecutionChange for TakeWithin {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        self.apply_within(state, now, u32::MAX)
    }

    fn claims_steps(&self) -> Option<u32> {
        Some(5)
    }

    fn apply_within(
        &self,
        state: &mut ExecutionState,
        now: DateTime<Utc>,
        room: u32,
    ) -> Result<bool, CoreError> {
        self.seen.lock().unwrap().push(room);
        let mut left = room;
        for run in &mut state.steps {
            if left > 0 && run.status == StepStatus::Ready {
                run.status = StepStatus::Running;
                run.attempts += 1;
                run.lease_owner = Some(self.lease.clone());
                run.lease_until = Some(now + Duration::seconds(30));
                left -= 1;
            }
        }
        Ok(left < room)
    }
}

pub(crate) async fn changes_that_claim_are_told_the_tenants_room<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + ExecutionRepository + QuotaRepository,
{
    let t = tenant(store, "roomy").await;
    let repo: &dyn ExecutionRepository = store;
    let now = Utc::now().trunc_subsecs(6);
    let w = workflow(store, &t).await;
    let ready = |n: usize| -> Vec<StepRun> {
        (0..n)
            .map(|i| step(&format!("s{i}"), StepStatus::Ready, Some(now)))
            .collect()
    };
    // One step of this tenant and two of another in flight under a claim.
    let other = tenant(store, "neighbour").await;
    let wo = workflow(store, &other).await;
    repo.start(&execution(&other, wo, ready(2)), None, None)
        .await
        .unwrap();
    repo.start(&execution(&t, w, ready(1)), None, None)
        .await
        .unwrap();
    let claimed = repo
        .claim("w1", 10, Duration::seconds(30), now, 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    // And a lease of this tenant that expired (its worker died).
    let mut dead = step("dead", StepStatus::Running, None);
    dead.lease_owner = Some("gone/1".into());
    dead.lease_until = Some(now - Duration::seconds(60));
    dead.attempts = 1;
    repo.start(&execution(&t, w, vec![dead]), None, None)
        .await
        .unwrap();
    // The default quota (5) less the one live lease of this tenant leaves four.
    let take = Arc::new(TakeWithin {
        lease: "w2/start".into(),
        seen: std::sync::Mutex::default(),
    });
    let started = repo
        .start(&execution(&t, w, ready(6)), None, Some(take.clone()))
        .await
        .unwrap();
    assert_eq!(
        take.seen.lock().unwrap().last(),
        Some(&4),
        "the default quota less one live lease"
    );
    let held = |s: &ExecutionState, lease: &str| {
        s.steps
            .iter()
            .filter(|r| r.status == StepStatus::Running && r.lease_owner.as_deref() == Some(lease))
            .count()
    };
    assert_eq!(
        held(&started, "w2/start"),
        4,
        "the start answers what it took"
    );
    let stored = repo.get(t.id, started.execution.id).await.unwrap().unwrap();
    assert_eq!(
        held(&stored, "w2/start"),
        4,
        "and stored it with the execution"
    );
    assert_eq!(
        repo.claim("w3", 10, Duration::seconds(30), now, 5)
            .await
            .unwrap()
            .len(),
        0,
        "the tenant's quota is full, however its steps were claimed"
    );

    // The platform's override counts instead of the default, in a change too.
    let quotas = QuotaOverrides {
        steps_in_flight: Some(7),
        ..QuotaOverrides::default()
    };
    QuotaRepository::set(store, t.id, quotas, &audit(t.id))
        .await
        .unwrap();
    let more = Arc::new(TakeWithin {
        lease: "w2/change".into(),
        seen: std::sync::Mutex::default(),
    });
    let changed = repo
        .change(t.id, started.execution.id, more.clone(), None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        more.seen.lock().unwrap().last(),
        Some(&2),
        "seven less five live leases"
    );
    assert_eq!(held(&changed, "w2/change"), 2);
}

/// Parks the step `ask` on a new task for `role`.
struct Ask {
    role: String,
}

impl ExecutionChange for Ask {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let e = &state.execution;
        let task = Task {
            id: TaskId::new(),
            tenant_id: e.tenant_id,
            execution_id: e.id,
            workflow_id: e.workflow_id,
            step_id: "ask".into(),
            attempt: 1,
            status: TaskStatus::Open,
            assignee_user: None,
            assignee_role: Some(self.role.clone()),
            title: format!("for {}", self.role),
            description: None,
            form: Some(json!({"type": "object"})),
            due_at: Some(now - Duration::minutes(1)),
            data: None,
            completed_by: None,
            completed_at: None,
            created_at: now,
        };
        state.tasks.push(task);
        let run = state.step_mut("ask").unwrap();
        run.status = StepStatus::Waiting;
        run.ready_at = None;
        Ok(true)
    }
}

/// Approves the open task of the execution and ends its step.
struct Approve {
    by: UserId,
}

impl ExecutionChange for Approve {
    fn apply(&self, state: &mut ExecutionState, now: DateTime<Utc>) -> Result<bool, CoreError> {
        let task = state
            .tasks
            .iter_mut()
            .find(|t| t.status == TaskStatus::Open)
            .ok_or_else(|| CoreError::Conflict("no open task".into()))?;
        task.status = TaskStatus::Approved;
        task.data = Some(json!({"ok": true}));
        task.completed_by = Some(self.by);
        task.completed_at = Some(now);
        state.step_mut("ask").unwrap().status = StepStatus::Succeeded;
        Ok(true)
    }
}

pub(crate) async fn tasks_are_written_with_their_execution_and_read_by_their_audience<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + ExecutionRepository + TaskRepository + AuditLog,
{
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let w = workflow(store, &acme).await;
    let now = Utc::now().trunc_subsecs(6);
    let mut ids = Vec::new();
    for role in ["admin", "finance"] {
        let state = execution(&acme, w, vec![step("ask", StepStatus::Ready, Some(now))]);
        ExecutionRepository::start(store, &state, None, None)
            .await
            .unwrap();
        let ask = Ask { role: role.into() };
        let after = store
            .change(acme.id, state.execution.id, Arc::new(ask), None, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.tasks.len(), 1);
        ids.push((state.execution.id, after.tasks[0].id));
    }
    let (execution_id, task_id) = ids[0];
    let loaded = ExecutionRepository::get(store, acme.id, execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.tasks.len(),
        1,
        "a waiting step's open task is loaded"
    );
    let task = TaskRepository::get(store, acme.id, task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task, loaded.tasks[0]);
    assert_eq!(task.form, Some(json!({"type": "object"})));
    assert!(TaskRepository::get(store, globex.id, task_id)
        .await
        .unwrap()
        .is_none());

    // Listings: by audience (a user or their roles), by status, per tenant.
    let page = PageRequest::new(Some(10), None).unwrap();
    let me = UserId::new();
    let mine = |roles: &[&str]| TaskAudience {
        user: me,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    let titles = |tasks: Vec<Task>| tasks.into_iter().map(|t| t.title).collect::<Vec<_>>();
    let admin = TaskRepository::list(
        store,
        acme.id,
        Some(mine(&["admin"])),
        Some(TaskStatus::Open),
        page.clone(),
    )
    .await
    .unwrap();
    assert_eq!(titles(admin.items), ["for admin"]);
    let both = TaskRepository::list(
        store,
        acme.id,
        Some(mine(&["admin", "finance"])),
        None,
        page.clone(),
    )
    .await
    .unwrap();
    assert_eq!(titles(both.items), ["for finance", "for admin"]);
    let nobody = TaskRepository::list(store, acme.id, Some(mine(&[])), None, page.clone())
        .await
        .unwrap();
    assert!(nobody.items.is_empty());
    let everyone = TaskRepository::list(store, acme.id, None, None, page.clone())
        .await
        .unwrap();
    assert_eq!(everyone.items.len(), 2);
    let other = TaskRepository::list(store, globex.id, None, None, page.clone())
        .await
        .unwrap();
    assert!(other.items.is_empty());
    assert_eq!(store.open_counts(acme.id, now).await.unwrap(), (2, 2));

    // An answer changes the task, its step and the audit trail together, once.
    let answers = || async {
        let filter = AuditFilter {
            action: Some("task.completed".into()),
            ..AuditFilter::default()
        };
        AuditLog::list(
            store,
            acme.id,
            filter,
            PageRequest::new(Some(10), None).unwrap(),
        )
        .await
        .unwrap()
        .items
        .len()
    };
    assert_eq!(answers().await, 0);
    let answer = usvc_core::AuditEntry::system(acme.id, "task.completed", now);
    let after = store
        .change(
            acme.id,
            execution_id,
            Arc::new(Approve { by: me }),
            Some(answer),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.tasks[0].status, TaskStatus::Approved);
    let task = TaskRepository::get(store, acme.id, task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (task.status, task.completed_by, task.data),
        (TaskStatus::Approved, Some(me), Some(json!({"ok": true})))
    );
    assert_eq!(
        answers().await,
        1,
        "the audit row committed with the answer"
    );
    assert!(
        matches!(
            store
                .change(
                    acme.id,
                    execution_id,
                    Arc::new(Approve { by: me }),
                    None,
                    now
                )
                .await,
            Err(CoreError::Conflict(_))
        ),
        "an answered task is no longer loaded as open"
    );
    assert_eq!(store.open_counts(acme.id, now).await.unwrap(), (1, 1));
}
