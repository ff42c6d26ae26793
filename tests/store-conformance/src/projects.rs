//! `ProjectRepository`: projects with their owner and history, scoped by tenant.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{
    AuditLog, IdempotencyKeys, Outbox, ProjectAccess, ProjectAnalytics, ProjectRepository,
    TenantRepository, UserRepository,
};
use usvc_core::{
    slugify, BulkAction, BulkBatch, BulkItem, CoreError, IdempotencyKey, IdempotencyRecord,
    PageRequest, Project, ProjectFilter, ProjectId, ProjectMember, ProjectRole, ProjectSort,
    ProjectStatus, ProjectVersion, Tenant, User, UserId, Visibility,
};

use crate::users::{tenant, user};

fn project(t: &Tenant, owner: &User, name: &str) -> Project {
    let now = Utc::now().trunc_subsecs(6);
    Project {
        name: name.into(),
        slug: slugify(name),
        ..Project::new(t.id, owner.id, now)
    }
}

fn history(p: &Project, changed: &[&str], actor: &User) -> ProjectVersion {
    ProjectVersion {
        project_id: p.id,
        version: p.version,
        snapshot: p.clone(),
        changed: changed.iter().map(|c| (*c).to_owned()).collect(),
        actor: Some(actor.id),
        at: p.updated_at,
    }
}

/// Creates `p` owned by `owner` the way the domain does: owner membership and version 1.
async fn create(repo: &dyn ProjectRepository, p: &Project, owner: &User) -> Result<(), CoreError> {
    let member = ProjectMember {
        project_id: p.id,
        user_id: owner.id,
        role: ProjectRole::Owner,
        added_at: p.created_at,
    };
    repo.create(
        p,
        &member,
        &history(p, &["created"], owner),
        &audit(p.tenant_id),
        None,
    )
    .await
}

pub(crate) async fn projects_round_trip_with_owner_and_history_and_stay_in_their_tenant<S>(
    store: &S,
) where
    S: TenantRepository + UserRepository + ProjectRepository + AuditLog,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let mut apollo = project(&acme, &ada, "Apollo");
    apollo.tags = vec!["space".into(), "nasa".into()];
    apollo.settings = serde_json::json!({"color": "blue", "limits": {"seats": 3}});
    create(repo, &apollo, &ada).await.expect("create");
    assert_eq!(
        repo.get(acme.id, apollo.id).await.expect("get"),
        Some(apollo.clone())
    );
    assert_eq!(repo.get(globex.id, apollo.id).await.expect("get"), None);
    assert_eq!(
        repo.member_role(acme.id, apollo.id, ada.id)
            .await
            .expect("role"),
        Some(ProjectRole::Owner)
    );
    assert_eq!(
        repo.member_role(globex.id, apollo.id, ada.id)
            .await
            .expect("role"),
        None
    );
    let first = repo
        .version(acme.id, apollo.id, 1)
        .await
        .expect("v1")
        .expect("some");
    assert_eq!(first.snapshot, apollo);
    assert_eq!(store.chain(acme.id, 0, 10).await.expect("chain").len(), 3);

    // Names are unique per tenant, case-insensitively; a clash writes nothing.
    let clash = project(&acme, &ada, "APOLLO");
    assert!(matches!(
        create(repo, &clash, &ada).await,
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(repo.get(acme.id, clash.id).await.expect("get"), None);
    assert_eq!(repo.version(acme.id, clash.id, 1).await.expect("v"), None);
    assert_eq!(
        store.chain(acme.id, 0, 10).await.expect("chain").len(),
        3,
        "nor an audit entry"
    );
    let elsewhere = project(&globex, &gus, "Apollo");
    create(repo, &elsewhere, &gus)
        .await
        .expect("another tenant may");

    // A versioned update: the right version wins once, a stale one changes nothing.
    let mut renamed = Project {
        name: "Apollo 11".into(),
        version: 2,
        updated_at: apollo.updated_at + Duration::seconds(1),
        ..apollo.clone()
    };
    assert!(repo
        .update(
            &renamed,
            1,
            &history(&renamed, &["name"], &ada),
            &audit(acme.id)
        )
        .await
        .expect("update"));
    assert!(!repo
        .update(
            &renamed,
            1,
            &history(&renamed, &["name"], &ada),
            &audit(acme.id)
        )
        .await
        .expect("stale"));
    assert_eq!(
        repo.get(acme.id, apollo.id).await.expect("get"),
        Some(renamed.clone())
    );
    let gemini = project(&acme, &ada, "Gemini");
    create(repo, &gemini, &ada).await.expect("create");
    let taken = Project {
        name: "apollo 11".into(),
        version: 2,
        ..gemini.clone()
    };
    assert!(matches!(
        repo.update(
            &taken,
            1,
            &history(&taken, &["name"], &ada),
            &audit(acme.id)
        )
        .await,
        Err(CoreError::Conflict(_))
    ));
    let page = repo
        .versions(
            acme.id,
            apollo.id,
            PageRequest::new(Some(1), None).expect("page"),
        )
        .await
        .expect("versions");
    assert_eq!(page.items[0].version, 2);
    assert_eq!(page.items[0].changed, ["name"]);
    let older = repo
        .versions(
            acme.id,
            apollo.id,
            PageRequest::new(Some(1), page.next_cursor).expect("page"),
        )
        .await
        .expect("versions");
    assert_eq!(older.items[0].version, 1);
    assert!(older.next_cursor.is_none());

    // Deleting: versioned too; the history stays and the name is free again.
    assert!(!repo
        .delete(acme.id, apollo.id, 1, &audit(acme.id))
        .await
        .expect("stale"));
    assert!(repo
        .delete(acme.id, apollo.id, 2, &audit(acme.id))
        .await
        .expect("delete"));
    assert_eq!(repo.get(acme.id, apollo.id).await.expect("get"), None);
    assert!(repo
        .version(acme.id, apollo.id, 2)
        .await
        .expect("v2")
        .is_some());
    renamed.id = ProjectId::new();
    renamed.version = 1;
    create(repo, &renamed, &ada)
        .await
        .expect("the name is free");
}

pub(crate) async fn listing_filters_by_status_tag_member_name_and_visibility<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    for u in [&ada, &bob] {
        UserRepository::create(store, u, None, &audit(acme.id))
            .await
            .expect("user");
    }
    let mut all = Vec::new();
    for (i, name) in ["Alpha 100%", "Beta", "Gamma", "Delta"]
        .into_iter()
        .enumerate()
    {
        let owner = if i % 2 == 0 { &ada } else { &bob };
        let mut p = project(&acme, owner, name);
        p.tags = if i < 2 {
            vec!["red".into()]
        } else {
            vec!["blue".into()]
        };
        if i == 3 {
            p.visibility = Visibility::Private;
            p.status = ProjectStatus::Archived;
            p.archived_at = Some(p.created_at);
        }
        create(repo, &p, owner).await.expect("create");
        all.push(p);
    }
    let names = |filter: ProjectFilter| async move {
        repo.list(acme.id, filter, PageRequest::first())
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(ProjectFilter::default()).await.len(), 4);
    assert_eq!(
        names(ProjectFilter {
            status: Some(ProjectStatus::Archived),
            ..ProjectFilter::default()
        })
        .await,
        ["Delta"]
    );
    assert_eq!(
        names(ProjectFilter {
            tag: Some("red".into()),
            ..ProjectFilter::default()
        })
        .await,
        ["Alpha 100%", "Beta"]
    );
    assert_eq!(
        names(ProjectFilter {
            member: Some(bob.id),
            ..ProjectFilter::default()
        })
        .await,
        ["Beta", "Delta"]
    );
    assert_eq!(
        names(ProjectFilter {
            search: Some("ALPHA 100%".into()),
            ..ProjectFilter::default()
        })
        .await,
        ["Alpha 100%"]
    );
    assert!(
        names(ProjectFilter {
            search: Some("%".into()),
            tag: Some("blue".into()),
            ..ProjectFilter::default()
        })
        .await
        .is_empty(),
        "a % in a search is a character, not a wildcard"
    );
    // Ada sees every tenant-visible project, not Bob's private one; Bob sees it.
    assert_eq!(
        names(ProjectFilter {
            visible_to: Some(ada.id),
            ..ProjectFilter::default()
        })
        .await,
        ["Alpha 100%", "Beta", "Gamma"]
    );
    assert_eq!(
        names(ProjectFilter {
            visible_to: Some(bob.id),
            ..ProjectFilter::default()
        })
        .await
        .len(),
        4
    );
    // Pages walk every project once, in creation order.
    let first = repo
        .list(
            acme.id,
            ProjectFilter::default(),
            PageRequest::new(Some(3), None).expect("page"),
        )
        .await
        .expect("page 1");
    let rest = repo
        .list(
            acme.id,
            ProjectFilter::default(),
            PageRequest::new(Some(3), first.next_cursor).expect("page"),
        )
        .await
        .expect("page 2");
    let ids: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|p| p.id)
        .collect();
    assert_eq!(ids, all.iter().map(|p| p.id).collect::<Vec<_>>());
    assert!(rest.next_cursor.is_none());
    let members = repo.members(acme.id, all[1].id).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id, members[0].role),
        (bob.id, ProjectRole::Owner)
    );
}

pub(crate) async fn members_come_and_go_but_a_project_keeps_an_owner<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + Clone + 'static,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &bob, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let apollo = project(&acme, &ada, "Apollo");
    create(repo, &apollo, &ada).await.expect("create");
    let member = |u: &User, role| ProjectMember {
        project_id: apollo.id,
        user_id: u.id,
        role,
        added_at: Utc::now().trunc_subsecs(6),
    };

    repo.add_member(acme.id, &member(&bob, ProjectRole::Editor), &audit(acme.id))
        .await
        .expect("add");
    assert!(matches!(
        repo.add_member(acme.id, &member(&bob, ProjectRole::Viewer), &audit(acme.id))
            .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(
        matches!(
            repo.add_member(acme.id, &member(&gus, ProjectRole::Viewer), &audit(acme.id))
                .await,
            Err(CoreError::NotFound(_))
        ),
        "another tenant's user is not found"
    );
    assert!(
        matches!(
            repo.add_member(
                globex.id,
                &member(&gus, ProjectRole::Viewer),
                &audit(globex.id)
            )
            .await,
            Err(CoreError::NotFound(_))
        ),
        "another tenant's project is not found"
    );
    assert_eq!(
        repo.member_role(acme.id, apollo.id, bob.id)
            .await
            .expect("role"),
        Some(ProjectRole::Editor)
    );

    // The owner of record can be neither demoted nor removed, not even with a second owner.
    assert!(matches!(
        repo.set_member_role(
            acme.id,
            apollo.id,
            ada.id,
            ProjectRole::Editor,
            true,
            &audit(acme.id)
        )
        .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(matches!(
        repo.remove_member(acme.id, apollo.id, ada.id, true, &audit(acme.id))
            .await,
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(
        repo.member_role(acme.id, apollo.id, ada.id)
            .await
            .expect("role"),
        Some(ProjectRole::Owner),
        "the refused change left nothing behind"
    );
    assert!(repo
        .set_member_role(
            acme.id,
            apollo.id,
            bob.id,
            ProjectRole::Owner,
            true,
            &audit(acme.id)
        )
        .await
        .expect("promote"));
    // A caller without the owner's powers cannot demote or remove an owner, whatever role it
    // read before.
    for refused in [
        repo.set_member_role(
            acme.id,
            apollo.id,
            bob.id,
            ProjectRole::Viewer,
            false,
            &audit(acme.id),
        )
        .await,
        repo.remove_member(acme.id, apollo.id, bob.id, false, &audit(acme.id))
            .await,
    ] {
        assert!(
            matches!(refused, Err(CoreError::Forbidden(_))),
            "{refused:?}"
        );
    }
    assert!(!repo
        .set_member_role(
            acme.id,
            apollo.id,
            gus.id,
            ProjectRole::Owner,
            true,
            &audit(acme.id)
        )
        .await
        .expect("not a member"));

    assert!(matches!(
        repo.remove_member(acme.id, apollo.id, ada.id, true, &audit(acme.id))
            .await,
        Err(CoreError::Conflict(_))
    ));

    // Two owners demoting each other at once: the owner of record stays owner.
    let tasks: Vec<_> = [ada.id, bob.id]
        .into_iter()
        .map(|u| {
            let store = store.clone();
            let (tenant, project) = (acme.id, apollo.id);
            tokio::spawn(async move {
                ProjectRepository::set_member_role(
                    &store,
                    tenant,
                    project,
                    u,
                    ProjectRole::Viewer,
                    true,
                    &audit(tenant),
                )
                .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("join"));
    }
    let owners: Vec<_> = repo
        .members(acme.id, apollo.id)
        .await
        .expect("members")
        .into_iter()
        .filter(|m| m.role == ProjectRole::Owner)
        .collect();
    assert_eq!(owners.len(), 1, "{outcomes:?}");
    assert_eq!(owners[0].user_id, ada.id, "{outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );

    let demoted = if owners[0].user_id == ada.id {
        &bob
    } else {
        &ada
    };
    assert!(repo
        .remove_member(acme.id, apollo.id, demoted.id, true, &audit(acme.id))
        .await
        .expect("remove"));
    assert!(!repo
        .remove_member(acme.id, apollo.id, demoted.id, true, &audit(acme.id))
        .await
        .expect("gone already"));
    assert_eq!(
        repo.members(acme.id, apollo.id)
            .await
            .expect("members")
            .len(),
        1
    );
}

pub(crate) async fn access_lists_name_visibility_and_member_roles<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + ProjectAccess,
{
    let repo: &dyn ProjectRepository = store;
    let access: &dyn ProjectAccess = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    for u in [&ada, &bob] {
        UserRepository::create(store, u, None, &audit(acme.id))
            .await
            .expect("user");
    }
    let mut secret = project(&acme, &ada, "Secret");
    secret.visibility = Visibility::Private;
    create(repo, &secret, &ada).await.expect("create");
    let bob_views = ProjectMember {
        project_id: secret.id,
        user_id: bob.id,
        role: ProjectRole::Viewer,
        added_at: Utc::now().trunc_subsecs(6),
    };
    repo.add_member(acme.id, &bob_views, &audit(acme.id))
        .await
        .expect("add");
    let list = access
        .access_list(acme.id, secret.id)
        .await
        .expect("access")
        .expect("some");
    assert_eq!(list.tenant, acme.id);
    assert_eq!(list.visibility, Visibility::Private);
    assert_eq!(list.role_of(ada.id), Some(ProjectRole::Owner));
    assert_eq!(list.role_of(bob.id), Some(ProjectRole::Viewer));
    assert_eq!(list.members.len(), 2);
    assert_eq!(
        access
            .access_list(globex.id, secret.id)
            .await
            .expect("access"),
        None
    );
    assert_eq!(
        access
            .memberships(acme.id, bob.id)
            .await
            .expect("memberships"),
        [(secret.id, ProjectRole::Viewer)]
    );
    assert_eq!(
        access
            .memberships(globex.id, bob.id)
            .await
            .expect("memberships"),
        []
    );
    assert!(repo
        .delete(acme.id, secret.id, 1, &audit(acme.id))
        .await
        .expect("delete"));
    assert_eq!(
        access
            .memberships(acme.id, ada.id)
            .await
            .expect("memberships"),
        [],
        "a deleted project's roles are no powers"
    );
    assert_eq!(
        access
            .access_list(acme.id, secret.id)
            .await
            .expect("access"),
        None
    );
}

/// A batch item for `p` as the domain would build it (history for versioned actions).
fn item(p: &Project, action: BulkAction, actor: &User) -> BulkItem {
    let mut next = p.clone();
    next.version += 1;
    let entry = match action {
        BulkAction::Archive => {
            next.status = ProjectStatus::Archived;
            Some(history(&next, &["status"], actor))
        }
        BulkAction::TransferOwner { to } => {
            next.owner_id = to;
            Some(history(&next, &["owner_id"], actor))
        }
        _ => None,
    };
    BulkItem {
        id: p.id,
        expected_version: p.version,
        entry,
        audit: audit(p.tenant_id),
        owner_powers: true,
    }
}

fn batch(action: BulkAction, items: Vec<BulkItem>) -> BulkBatch {
    BulkBatch {
        action,
        at: Utc::now().trunc_subsecs(6),
        items,
    }
}

pub(crate) async fn bulk_changes_apply_to_what_is_still_as_read_and_report_the_rest<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + ProjectAccess + AuditLog,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &bob, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let mut ours = Vec::new();
    for name in ["One", "Two", "Three"] {
        let p = project(&acme, &ada, name);
        create(repo, &p, &ada).await.expect("create");
        ours.push(p);
    }
    let theirs = project(&globex, &gus, "Theirs");
    create(repo, &theirs, &gus).await.expect("create");
    let audit_before = AuditLog::head(store, acme.id)
        .await
        .expect("head")
        .map_or(0, |h| h.seq);

    // Archive: two as read, one whose version moved on, one of another tenant, one unknown.
    let mut moved_on = item(&ours[2], BulkAction::Archive, &ada);
    moved_on.expected_version = 7;
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                BulkAction::Archive,
                vec![
                    item(&ours[0], BulkAction::Archive, &ada),
                    item(&ours[1], BulkAction::Archive, &ada),
                    moved_on,
                    item(&theirs, BulkAction::Archive, &ada),
                    item(&project(&acme, &ada, "Ghost"), BulkAction::Archive, &ada),
                ],
            ),
        )
        .await
        .expect("bulk");
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused
        .iter()
        .any(|(id, e)| *id == ours[2].id && matches!(e, CoreError::PreconditionFailed(_))));
    assert!(refused
        .iter()
        .any(|(id, e)| *id == theirs.id && matches!(e, CoreError::NotFound(_))));
    for p in &ours[..2] {
        let now = repo.get(acme.id, p.id).await.expect("get").expect("live");
        assert_eq!((now.status, now.version), (ProjectStatus::Archived, 2));
        assert!(now.archived_at.is_some());
        let v2 = repo
            .version(acme.id, p.id, 2)
            .await
            .expect("v")
            .expect("v2");
        assert_eq!(v2.changed, ["status"]);
    }
    assert_eq!(
        repo.get(acme.id, ours[2].id)
            .await
            .expect("get")
            .expect("live")
            .status,
        ProjectStatus::Active
    );
    assert_eq!(
        repo.get(globex.id, theirs.id)
            .await
            .expect("get")
            .expect("live")
            .status,
        ProjectStatus::Active,
        "another tenant's project is untouched"
    );
    let audit_after = AuditLog::head(store, acme.id)
        .await
        .expect("head")
        .map_or(0, |h| h.seq);
    assert_eq!(
        audit_after - audit_before,
        2,
        "an audit row per changed project"
    );

    // Transfer to bob: he becomes owner of record with the owner role; ada stays an owner.
    let to_bob = BulkAction::TransferOwner { to: bob.id };
    let mut current = Vec::new();
    for p in &ours {
        current.push(repo.get(acme.id, p.id).await.expect("get").expect("live"));
    }
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                to_bob,
                current.iter().map(|p| item(p, to_bob, &ada)).collect(),
            ),
        )
        .await
        .expect("transfer");
    assert!(refused.is_empty(), "{refused:?}");
    for p in &ours {
        let now = repo.get(acme.id, p.id).await.expect("get").expect("live");
        assert_eq!(now.owner_id, bob.id);
        let list = ProjectAccess::access_list(store, acme.id, p.id)
            .await
            .expect("access")
            .expect("list");
        assert_eq!(list.role_of(bob.id), Some(ProjectRole::Owner));
        assert_eq!(list.role_of(ada.id), Some(ProjectRole::Owner));
    }
    let nobody = BulkAction::TransferOwner { to: UserId::new() };
    assert!(matches!(
        repo.apply_bulk(
            acme.id,
            &batch(nobody, vec![item(&current[0], nobody, &ada)])
        )
        .await,
        Err(CoreError::NotFound(_))
    ));
    let outsider = BulkAction::AddMember {
        user: gus.id,
        role: ProjectRole::Viewer,
    };
    assert!(
        matches!(
            repo.apply_bulk(
                acme.id,
                &batch(outsider, vec![item(&current[0], outsider, &ada)])
            )
            .await,
            Err(CoreError::NotFound(_))
        ),
        "another tenant's user cannot join"
    );

    // Members: adding someone already on is a conflict; the owner of record stays.
    let carol = user(&acme, "carol@example.com");
    UserRepository::create(store, &carol, None, &audit(acme.id))
        .await
        .expect("user");
    let add = BulkAction::AddMember {
        user: carol.id,
        role: ProjectRole::Editor,
    };
    let refused = repo
        .apply_bulk(acme.id, &batch(add, vec![item(&current[0], add, &ada)]))
        .await
        .expect("add");
    assert!(refused.is_empty());
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(add, current.iter().map(|p| item(p, add, &ada)).collect()),
        )
        .await
        .expect("add");
    assert_eq!(refused.len(), 1);
    assert!(matches!(refused[0], (id, CoreError::Conflict(_)) if id == ours[0].id));
    let remove_bob = BulkAction::RemoveMember { user: bob.id };
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                remove_bob,
                current.iter().map(|p| item(p, remove_bob, &ada)).collect(),
            ),
        )
        .await
        .expect("remove");
    assert_eq!(refused.len(), 3, "bob is owner of record everywhere");
    let remove_ada = BulkAction::RemoveMember { user: ada.id };
    let powerless: Vec<BulkItem> = current
        .iter()
        .map(|p| BulkItem {
            owner_powers: false,
            ..item(p, remove_ada, &bob)
        })
        .collect();
    let refused = repo
        .apply_bulk(acme.id, &batch(remove_ada, powerless))
        .await
        .expect("remove");
    assert_eq!(refused.len(), 3, "ada is an owner: {refused:?}");
    assert!(refused
        .iter()
        .all(|(_, e)| matches!(e, CoreError::Forbidden(_))));
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                remove_ada,
                current.iter().map(|p| item(p, remove_ada, &ada)).collect(),
            ),
        )
        .await
        .expect("remove");
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(
        repo.member_role(acme.id, ours[1].id, ada.id)
            .await
            .expect("role"),
        None
    );

    // Delete: gone from reads, history kept.
    let delete = BulkAction::Delete;
    let mut latest = Vec::new();
    for p in &ours {
        latest.push(repo.get(acme.id, p.id).await.expect("get").expect("live"));
    }
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                delete,
                latest.iter().map(|p| item(p, delete, &ada)).collect(),
            ),
        )
        .await
        .expect("delete");
    assert!(refused.is_empty());
    assert!(repo
        .get_many(acme.id, &ours.iter().map(|p| p.id).collect::<Vec<_>>())
        .await
        .expect("read")
        .is_empty());
    assert!(repo
        .version(acme.id, ours[0].id, 1)
        .await
        .expect("history")
        .is_some());
}

pub(crate) async fn an_idempotency_key_is_kept_with_its_project_and_only_with_it<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + IdempotencyKeys,
{
    let repo: &dyn ProjectRepository = store;
    let keys: &dyn IdempotencyKeys = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    for u in [&ada, &bob] {
        UserRepository::create(store, u, None, &audit(acme.id))
            .await
            .expect("user");
    }
    let record = |p: &Project, key: &str| IdempotencyRecord {
        tenant: acme.id,
        user: ada.id,
        scope: "projects.create".into(),
        key: IdempotencyKey::new(key, "f1".into()).expect("key"),
        resource_id: p.id.as_uuid(),
        created_at: Utc::now().trunc_subsecs(6),
    };
    let first = project(&acme, &ada, "Vostok");
    let member = |p: &Project| ProjectMember {
        project_id: p.id,
        user_id: ada.id,
        role: ProjectRole::Owner,
        added_at: p.created_at,
    };
    repo.create(
        &first,
        &member(&first),
        &history(&first, &["created"], &ada),
        &audit(acme.id),
        Some(record(&first, "k1")),
    )
    .await
    .expect("create");
    let found = keys
        .find(acme.id, ada.id, "projects.create", "k1", Utc::now())
        .await
        .expect("find")
        .expect("recorded");
    assert_eq!(found.resource_id, first.id.as_uuid());
    assert_eq!(found.key.fingerprint, "f1");
    for (user, scope, key) in [
        (bob.id, "projects.create", "k1"),
        (ada.id, "executions.start", "k1"),
        (ada.id, "projects.create", "k2"),
    ] {
        assert!(
            keys.find(acme.id, user, scope, key, Utc::now())
                .await
                .expect("find")
                .is_none(),
            "{scope} {key}"
        );
    }
    // A create that fails (the name is taken) leaves no key behind.
    let clash = project(&acme, &ada, "VOSTOK");
    assert!(matches!(
        repo.create(
            &clash,
            &member(&clash),
            &history(&clash, &["created"], &ada),
            &audit(acme.id),
            Some(record(&clash, "k2")),
        )
        .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(keys
        .find(acme.id, ada.id, "projects.create", "k2", Utc::now())
        .await
        .expect("find")
        .is_none());
    // The same key again is refused in the store too (a racing request).
    let other = project(&acme, &ada, "Voskhod");
    assert!(matches!(
        repo.create(
            &other,
            &member(&other),
            &history(&other, &["created"], &ada),
            &audit(acme.id),
            Some(record(&other, "k1")),
        )
        .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(repo.get(acme.id, other.id).await.expect("get").is_none());
}

pub(crate) async fn analytics_count_live_projects_and_name_only_visible_ones<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + ProjectAnalytics,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &bob, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let empty = ProjectAnalytics::project_stats(store, acme.id, ada.id, Utc::now())
        .await
        .expect("stats");
    assert_eq!((empty.total, empty.largest_members), (0, 0));
    assert!(empty.average_members.abs() < f64::EPSILON);
    assert_eq!(empty.created_per_day.len(), 30);

    let mut open = project(&acme, &ada, "Open");
    open.version = 3;
    let mut secret = project(&acme, &bob, "Secret");
    secret.visibility = Visibility::Private;
    secret.version = 9;
    let mut old = project(&acme, &ada, "Old");
    old.status = ProjectStatus::Archived;
    let gone = project(&acme, &ada, "Gone");
    create(repo, &open, &ada).await.expect("open");
    create(repo, &secret, &bob).await.expect("secret");
    create(repo, &old, &ada).await.expect("old");
    create(repo, &gone, &ada).await.expect("gone");
    create(repo, &project(&globex, &gus, "Theirs"), &gus)
        .await
        .expect("theirs");
    repo.add_member(
        acme.id,
        &ProjectMember {
            project_id: open.id,
            user_id: bob.id,
            role: ProjectRole::Editor,
            added_at: Utc::now().trunc_subsecs(6),
        },
        &audit(acme.id),
    )
    .await
    .expect("member");
    assert!(repo
        .delete(acme.id, gone.id, 1, &audit(acme.id))
        .await
        .expect("delete"));

    let stats = ProjectAnalytics::project_stats(store, acme.id, ada.id, Utc::now())
        .await
        .expect("stats");
    assert_eq!(
        stats.total, 3,
        "deleted and other tenants' projects do not count"
    );
    assert_eq!(stats.by_status["active"], 2);
    assert_eq!(stats.by_status["archived"], 1);
    assert_eq!(stats.by_visibility["private"], 1);
    assert_eq!(stats.by_visibility["tenant"], 2);
    assert_eq!(stats.created_per_day.last().expect("today").count, 3);
    let named: Vec<&str> = stats.most_changed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(named, ["Open", "Old"], "ada cannot see Secret");
    assert_eq!(stats.most_changed[0].version, 3);
    assert_eq!(stats.largest_members, 2);
    assert!((stats.average_members - 4.0 / 3.0).abs() < 1e-9);
    let bobs = ProjectAnalytics::project_stats(store, acme.id, bob.id, Utc::now())
        .await
        .expect("stats");
    assert_eq!(bobs.most_changed[0].name, "Secret", "a member sees it");
}

pub(crate) async fn every_sort_pages_through_every_project_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository,
{
    let repo: &dyn ProjectRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(acme.id))
        .await
        .expect("user");
    let base = Utc::now().trunc_subsecs(6);
    let mut made = Vec::new();
    // Names out of creation order, one pair equal but for case, and two equal update times.
    for (i, (name, minutes)) in [
        ("delta", 5),
        ("alpha", 1),
        ("charlie", 5),
        ("Bravo", 3),
        ("echo", 2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = project(&acme, &ada, name);
        p.updated_at = base + Duration::minutes(minutes);
        p.created_at = base + Duration::seconds(i64::try_from(i).expect("small"));
        create(repo, &p, &ada).await.expect("create");
        made.push(p);
    }
    let by = |key: &dyn Fn(&Project) -> (String, ProjectId)| {
        let mut sorted = made.clone();
        sorted.sort_by_key(|p| key(p));
        sorted.into_iter().map(|p| p.name).collect::<Vec<_>>()
    };
    let created = by(&|p| (String::new(), p.id));
    let named = by(&|p| (p.name.to_lowercase(), p.id));
    let updated = by(&|p| (p.updated_at.to_rfc3339(), p.id));
    let reversed = |mut v: Vec<String>| {
        v.reverse();
        v
    };
    for (sort, expected) in [
        (ProjectSort::Created, created.clone()),
        (ProjectSort::CreatedDesc, reversed(created)),
        (ProjectSort::Name, named.clone()),
        (ProjectSort::NameDesc, reversed(named)),
        (ProjectSort::Updated, updated.clone()),
        (ProjectSort::UpdatedDesc, reversed(updated)),
    ] {
        let mut seen = Vec::new();
        let mut page = PageRequest::new(Some(2), None).expect("page");
        loop {
            let got = repo
                .list(
                    acme.id,
                    ProjectFilter {
                        sort,
                        ..ProjectFilter::default()
                    },
                    page,
                )
                .await
                .expect("list");
            seen.extend(got.items.into_iter().map(|p| p.name));
            match got.next_cursor {
                Some(cursor) => page = PageRequest::new(Some(2), Some(cursor)).expect("page"),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{sort:?}");
    }
    // A cursor of one sort is refused by every other.
    for (from, to) in [
        (ProjectSort::Name, ProjectSort::Updated),
        (ProjectSort::Created, ProjectSort::Name),
        (ProjectSort::Updated, ProjectSort::NameDesc),
        (ProjectSort::Name, ProjectSort::CreatedDesc),
    ] {
        let first = repo
            .list(
                acme.id,
                ProjectFilter {
                    sort: from,
                    ..ProjectFilter::default()
                },
                PageRequest::new(Some(1), None).expect("page"),
            )
            .await
            .expect("list");
        assert!(
            matches!(
                repo.list(
                    acme.id,
                    ProjectFilter {
                        sort: to,
                        ..ProjectFilter::default()
                    },
                    PageRequest::new(Some(1), first.next_cursor).expect("page"),
                )
                .await,
                Err(CoreError::Validation(_))
            ),
            "{from:?} cursor used for {to:?}"
        );
    }
    let first = repo
        .list(
            acme.id,
            ProjectFilter {
                sort: ProjectSort::Name,
                ..ProjectFilter::default()
            },
            PageRequest::new(Some(1), None).expect("page"),
        )
        .await
        .expect("list");
    assert!(matches!(
        repo.list(
            acme.id,
            ProjectFilter {
                sort: ProjectSort::Updated,
                ..ProjectFilter::default()
            },
            PageRequest::new(Some(1), first.next_cursor).expect("page"),
        )
        .await,
        Err(CoreError::Validation(_))
    ));
}

pub(crate) async fn every_change_stages_its_event_in_its_own_transaction<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + Outbox + Clone + 'static,
{
    let repo: &dyn ProjectRepository = store;
    let outbox: &dyn Outbox = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(acme.id))
        .await
        .expect("user");
    let now = Utc::now();
    let apollo = project(&acme, &ada, "Apollo");
    let entry = usvc_core::AuditEntry::system(acme.id, "project.created", now)
        .on(usvc_core::ResourceRef::one("project", apollo.id))
        .details(serde_json::json!({"name": "Apollo"}));
    repo.create(
        &apollo,
        &ProjectMember {
            project_id: apollo.id,
            user_id: ada.id,
            role: ProjectRole::Owner,
            added_at: apollo.created_at,
        },
        &history(&apollo, &["created"], &ada),
        &entry,
        None,
    )
    .await
    .expect("create");
    let events = outbox.claim(100, now).await.expect("claim");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "project.created");
    assert_eq!(events[0].tenant, acme.id);
    assert_eq!(events[0].payload["project_id"], apollo.id.to_string());
    assert_eq!(events[0].payload["name"], "Apollo");
    assert!(
        outbox.claim(100, now).await.expect("claim").is_empty(),
        "taken once"
    );

    // A change that rolls back announces nothing.
    let clash = project(&acme, &ada, "APOLLO");
    assert!(create(repo, &clash, &ada).await.is_err());
    assert!(outbox.claim(100, now).await.expect("claim").is_empty());

    // A bulk change stages one event per project it changed; concurrent relays split them.
    let mut more = Vec::new();
    for i in 0..30 {
        let p = project(&acme, &ada, &format!("P{i}"));
        create(repo, &p, &ada).await.expect("create");
        more.push(p);
    }
    let archive = BulkAction::Archive;
    let refused = repo
        .apply_bulk(
            acme.id,
            &batch(
                archive,
                more.iter().map(|p| item(p, archive, &ada)).collect(),
            ),
        )
        .await
        .expect("bulk");
    assert!(refused.is_empty());
    let relays: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = Vec::new();
                loop {
                    let batch = Outbox::claim(&store, 7, Utc::now()).await.expect("claim");
                    if batch.is_empty() {
                        return taken;
                    }
                    taken.extend(batch.into_iter().map(|e| (e.id, e.kind)));
                }
            })
        })
        .collect();
    let mut taken = Vec::new();
    for relay in relays {
        taken.extend(relay.await.expect("join"));
    }
    assert_eq!(taken.len(), 60, "30 creates and 30 archives, each once");
    let ids: std::collections::HashSet<_> = taken.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 60, "no event taken twice");
}

pub(crate) async fn the_census_counts_live_things_across_tenants<S>(store: &S)
where
    S: TenantRepository
        + UserRepository
        + ProjectRepository
        + usvc_core::ports::WorkflowRepository
        + usvc_core::ports::ExecutionRepository
        + usvc_core::ports::ServiceCensus,
{
    let census: &dyn usvc_core::ports::ServiceCensus = store;
    let before = census.counts().await.expect("count");
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let mut off = user(&globex, "off@example.com");
    off.status = usvc_core::UserStatus::Disabled;
    for u in [&ada, &off] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let live = project(&acme, &ada, "Live");
    let mut shelved = project(&acme, &ada, "Shelved");
    shelved.status = ProjectStatus::Archived;
    for p in [&live, &shelved] {
        create(store, p, &ada).await.expect("project");
    }
    let w = crate::executions::workflow(store, &globex).await;
    let running = crate::executions::execution(&globex, w, Vec::new());
    usvc_core::ports::ExecutionRepository::start(store, &running, None, None)
        .await
        .expect("start");
    let after = census.counts().await.expect("count");
    assert_eq!(after.tenants - before.tenants, 2);
    assert_eq!(
        after.active_users - before.active_users,
        1,
        "not the disabled one"
    );
    assert_eq!(
        after.active_projects - before.active_projects,
        1,
        "not the archived one"
    );
    assert_eq!(after.running_workflows - before.running_workflows, 1);
}

/// Creates that arrive together (which a store may write as one batch, one statement and one
/// commit, whatever their tenants) each commit whole: project, owner, version 1, audit entry
/// in its own tenant's chain, and event. One whose name clashes with another of the same
/// moment fails alone, as `Conflict`, and writes nothing; every other create of its moment
/// still commits, and the same name in another tenant is no clash.
pub(crate) async fn concurrent_creates_commit_each_whole_and_a_clash_fails_alone<S>(store: &S)
where
    S: TenantRepository + UserRepository + ProjectRepository + AuditLog + Outbox,
{
    let repo: &dyn ProjectRepository = store;
    let outbox: &dyn Outbox = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let later = Utc::now() + Duration::hours(1);
    outbox.claim(1_000, later).await.expect("the users' events");
    let chained = |t| async move { store.chain(t, 0, 1_000).await.expect("chain").len() };
    let (acme_before, globex_before) = (chained(acme.id).await, chained(globex.id).await);

    // Forty creates, the tenants taking turns (each name once per tenant), and a clash.
    let mut projects: Vec<(Project, &User)> = (0..40)
        .map(|i| {
            let (t, owner) = if i % 2 == 0 {
                (&acme, &ada)
            } else {
                (&globex, &gus)
            };
            (project(t, owner, &format!("Batch {}", i / 2)), owner)
        })
        .collect();
    projects.push((project(&acme, &ada, "BATCH 7"), &ada));
    let outcomes =
        futures::future::join_all(projects.iter().map(|(p, owner)| create(repo, p, owner))).await;

    let failed: Vec<(&Project, &CoreError)> = projects
        .iter()
        .zip(&outcomes)
        .filter_map(|((p, _), outcome)| outcome.as_ref().err().map(|e| (p, e)))
        .collect();
    assert_eq!(failed.len(), 1, "only the clash fails: {failed:?}");
    let (loser, error) = failed[0];
    assert!(matches!(error, CoreError::Conflict(_)), "{error:?}");
    assert!(
        loser.tenant_id == acme.id && loser.name.eq_ignore_ascii_case("batch 7"),
        "{loser:?}"
    );
    assert_eq!(repo.get(acme.id, loser.id).await.expect("get"), None);
    assert_eq!(repo.version(acme.id, loser.id, 1).await.expect("v"), None);

    let created: Vec<(&Project, &User)> = projects
        .iter()
        .filter(|(p, _)| p.id != loser.id)
        .map(|(p, owner)| (p, *owner))
        .collect();
    for (p, owner) in &created {
        let t = p.tenant_id;
        assert_eq!(repo.get(t, p.id).await.expect("get").as_ref(), Some(*p));
        assert_eq!(
            repo.member_role(t, p.id, owner.id).await.expect("role"),
            Some(ProjectRole::Owner)
        );
        let first = repo.version(t, p.id, 1).await.expect("v1");
        assert_eq!(first.map(|v| v.snapshot).as_ref(), Some(*p));
    }
    assert_eq!(
        (chained(acme.id).await, chained(globex.id).await),
        (acme_before + 20, globex_before + 20),
        "one audit entry per create in its own tenant's chain, none for the clash"
    );
    let events = outbox.claim(1_000, later).await.expect("claim");
    assert_eq!(
        events.len(),
        created.len(),
        "one event per create, none for the clash"
    );
    for (tenant, count) in [(acme.id, 20), (globex.id, 20)] {
        assert_eq!(
            events.iter().filter(|e| e.tenant == tenant).count(),
            count,
            "each event in its own tenant"
        );
    }
}
