//! `WorkflowRepository`: workflows with their versions, scoped by tenant.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use serde_json::json;
use usvc_core::ports::{Outbox, TenantRepository, WorkflowRepository};
use usvc_core::{PageRequest, Tenant, Workflow, WorkflowId, WorkflowStatus};

use crate::users::tenant;

fn workflow(t: &Tenant, name: &str) -> Workflow {
    let now = Utc::now().trunc_subsecs(6);
    Workflow {
        id: WorkflowId::new(),
        tenant_id: t.id,
        name: name.into(),
        status: WorkflowStatus::Active,
        version: 1,
        definition: json!({"name": name, "steps": [{"id": "a", "kind": "noop"}]}),
        created_by: None,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) async fn workflows_keep_every_version_and_stay_in_their_tenant<S>(store: &S)
where
    S: TenantRepository + WorkflowRepository + Outbox,
{
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let repo: &dyn WorkflowRepository = store;
    let first = workflow(&acme, "onboarding");
    repo.create(&first, &[], &audit(acme.id)).await.unwrap();
    let other = workflow(&globex, "theirs");
    repo.create(&other, &[], &audit(globex.id)).await.unwrap();

    assert_eq!(
        repo.get(acme.id, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(repo.get(acme.id, other.id).await.unwrap(), None);
    assert_eq!(
        repo.version(acme.id, other.id, 1).await.unwrap(),
        None,
        "another tenant's versions are not found"
    );

    // A new version: the row moves on, the first version stays as it was.
    let mut next = first.clone();
    next.version = 2;
    next.name = "onboarding v2".into();
    next.definition = json!({"name": "onboarding v2", "steps": [{"id": "b", "kind": "noop"}]});
    next.updated_at = first.updated_at + Duration::seconds(1);
    assert!(repo.update(&next, 1, &[], &audit(acme.id)).await.unwrap());
    assert!(
        !repo.update(&next, 1, &[], &audit(acme.id)).await.unwrap(),
        "a save from a stale version writes nothing"
    );
    assert_eq!(
        repo.get(acme.id, first.id).await.unwrap(),
        Some(next.clone())
    );
    let v1 = repo.version(acme.id, first.id, 1).await.unwrap().unwrap();
    assert_eq!(v1.definition, first.definition);
    let page = store
        .versions(acme.id, first.id, PageRequest::new(Some(1), None).unwrap())
        .await
        .unwrap();
    assert_eq!(page.items[0].version, 2);
    let rest = store
        .versions(
            acme.id,
            first.id,
            PageRequest::new(Some(1), page.next_cursor).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rest.items[0].version, 1);
    assert!(rest.next_cursor.is_none());

    // Status, listing, deletion; another tenant's id changes nothing.
    assert!(!store
        .set_status(
            globex.id,
            first.id,
            WorkflowStatus::Paused,
            &audit(globex.id)
        )
        .await
        .unwrap());
    assert!(store
        .set_status(acme.id, first.id, WorkflowStatus::Paused, &audit(acme.id))
        .await
        .unwrap());
    let paused = repo.get(acme.id, first.id).await.unwrap().unwrap();
    assert_eq!(paused.status, WorkflowStatus::Paused);
    assert_eq!(paused.version, 2);
    let second = workflow(&acme, "reports");
    repo.create(&second, &[], &audit(acme.id)).await.unwrap();
    let listed = repo
        .list(acme.id, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    let ids: Vec<WorkflowId> = listed.items.iter().map(|w| w.id).collect();
    assert_eq!(ids, [first.id, second.id]);
    assert!(!store
        .delete(globex.id, first.id, &audit(globex.id))
        .await
        .unwrap());
    assert!(store
        .delete(acme.id, first.id, &audit(acme.id))
        .await
        .unwrap());
    assert!(!store
        .delete(acme.id, first.id, &audit(acme.id))
        .await
        .unwrap());
    assert_eq!(repo.get(acme.id, first.id).await.unwrap(), None);
    assert!(
        repo.version(acme.id, first.id, 2).await.unwrap().is_some(),
        "versions outlive the workflow, for the executions that pinned them"
    );
    let listed = repo
        .list(acme.id, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    // Each successful change staged its event, in its own transaction.
    let events = store.claim(100, Utc::now()).await.unwrap();
    assert_eq!(events.len(), 6, "3 creates, an update, a pause, a delete");
}
