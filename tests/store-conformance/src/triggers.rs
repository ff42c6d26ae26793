//! `TriggerRepository`: the trigger index follows saves, pauses and tenants; keyed starts
//! start once; a schedule tick is moved by one caller.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{
    ExecutionRepository, TenantRepository, TriggerRepository, WorkflowRepository,
};
use usvc_core::{
    PageRequest, StepStatus, TriggerKind, TriggeredStart, Workflow, WorkflowStatus, WorkflowTrigger,
};

use crate::executions::{execution, step, workflow};
use crate::users::tenant;

fn on(event: &str) -> WorkflowTrigger {
    WorkflowTrigger {
        position: 0,
        kind: TriggerKind::Event,
        event: Some(event.into()),
    }
}

fn every() -> WorkflowTrigger {
    WorkflowTrigger {
        position: 1,
        kind: TriggerKind::Schedule,
        event: None,
    }
}

pub(crate) async fn triggers_index_active_workflows_and_start_once<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + ExecutionRepository + TriggerRepository,
{
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let now = Utc::now().trunc_subsecs(6);
    // `workflow` saves one without triggers; save a new version with them.
    let w = workflow(store, &acme).await;
    let current: Workflow = WorkflowRepository::get(store, acme.id, w)
        .await
        .unwrap()
        .unwrap();
    let next = Workflow {
        version: 2,
        ..current.clone()
    };
    let repo: &dyn WorkflowRepository = store;
    assert!(repo
        .update(&next, 1, &[on("project.created"), every()], &audit(acme.id))
        .await
        .unwrap());
    let theirs = workflow(store, &globex).await;
    let current = WorkflowRepository::get(store, globex.id, theirs)
        .await
        .unwrap()
        .unwrap();
    repo.update(
        &Workflow {
            version: 2,
            ..current
        },
        1,
        &[on("project.created")],
        &audit(globex.id),
    )
    .await
    .unwrap();

    let found = store
        .event_triggers(vec![acme.id], vec!["project.created".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "only the tenant's");
    assert_eq!((found[0].workflow_id, found[0].version), (w, 2));
    assert!(store
        .event_triggers(vec![acme.id], vec!["project.deleted".into()])
        .await
        .unwrap()
        .is_empty());

    // A schedule is planned once, then fired once per tick, whoever races.
    let due = store.due_schedules(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].next_fire_at, None, "not planned yet");
    let tick = now + Duration::minutes(1);
    assert_eq!(
        store.fire(due[0].clone(), Some(tick), None).await.unwrap(),
        (true, false),
        "planned"
    );
    assert_eq!(
        store.fire(due[0].clone(), Some(tick), None).await.unwrap(),
        (false, false),
        "moved already"
    );
    assert!(store.due_schedules(now, 10).await.unwrap().is_empty());
    assert_eq!(store.next_tick().await.unwrap(), Some(tick));
    let due = store.due_schedules(tick, 10).await.unwrap();
    assert_eq!(due[0].next_fire_at, Some(tick));
    let pinned = |key: &str, version: i64| {
        let mut state = execution(&acme, w, vec![step("a", StepStatus::Ready, Some(now))]);
        state.execution.version = version;
        TriggeredStart {
            key: key.into(),
            state,
        }
    };
    let start = |key: &str| pinned(key, 2);
    let key = format!("schedule:{tick}");
    let (a, b) = tokio::join!(
        store.fire(
            due[0].clone(),
            Some(tick + Duration::minutes(1)),
            Some(start(&key))
        ),
        store.fire(
            due[0].clone(),
            Some(tick + Duration::minutes(1)),
            Some(start(&key))
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.0 ^ b.0, "one of two replicas fires a tick");
    assert!(a.1 ^ b.1, "and starts its execution");
    let page = PageRequest::new(Some(10), None).unwrap();
    let started = ExecutionRepository::list(store, acme.id, w, None, page.clone())
        .await
        .unwrap();
    assert_eq!(started.items.len(), 1);

    // Events: each key starts once per workflow; looked-at events are not pending again.
    let pending = store.pending_events(100).await.unwrap();
    assert!(!pending.is_empty(), "the saves staged their events");
    let ids: Vec<_> = pending.iter().map(|e| e.id).collect();
    let key = format!("event:{}", ids[0]);
    assert_eq!(
        store
            .start_for_events(vec![start(&key), start(&key)], ids.clone(), now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .start_for_events(vec![start(&key)], ids, now)
            .await
            .unwrap(),
        0,
        "a repeat starts nothing"
    );
    assert!(store.pending_events(100).await.unwrap().is_empty());
    assert_eq!(
        store
            .start_for_events(vec![pinned("event:stale", 1)], Vec::new(), now)
            .await
            .unwrap(),
        0,
        "a start pinned to a version saved over starts nothing"
    );
    let started = ExecutionRepository::list(store, acme.id, w, None, page)
        .await
        .unwrap();
    assert_eq!(started.items.len(), 2);

    // Paused workflows are not found; resuming plans the schedule afresh, and only events
    // from the resume on count.
    let live_since = store
        .event_triggers(vec![acme.id], vec!["project.created".into()])
        .await
        .unwrap()[0]
        .active_since;
    store
        .set_status(acme.id, w, WorkflowStatus::Paused, &audit(acme.id))
        .await
        .unwrap();
    assert!(store
        .event_triggers(vec![acme.id], vec!["project.created".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .due_schedules(tick + Duration::days(1), 10)
        .await
        .unwrap()
        .is_empty());
    store
        .set_status(acme.id, w, WorkflowStatus::Active, &audit(acme.id))
        .await
        .unwrap();
    let due = store.due_schedules(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].next_fire_at, None, "missed ticks are forgotten");
    let resumed = store
        .event_triggers(vec![acme.id], vec!["project.created".into()])
        .await
        .unwrap();
    assert!(resumed[0].active_since > live_since);

    // A save replaces the triggers.
    let current = WorkflowRepository::get(store, acme.id, w)
        .await
        .unwrap()
        .unwrap();
    repo.update(
        &Workflow {
            version: 3,
            ..current
        },
        2,
        &[on("user.created")],
        &audit(acme.id),
    )
    .await
    .unwrap();
    assert!(store.due_schedules(now, 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .event_triggers(vec![acme.id], vec!["user.created".into()])
            .await
            .unwrap()[0]
            .version,
        3
    );
}
