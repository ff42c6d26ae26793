//! The user-administration half of `UserRepository`: update, filtered listing, batch reads,
//! bulk creation and erasure; and tenant settings.

use crate::audit;
use chrono::{SubsecRound, Utc};
use usvc_core::ports::{SessionRepository, TenantRepository, UpdateOutcome, UserRepository};
use usvc_core::{
    CoreError, Cursor, Email, PageRequest, Session, SessionId, Tenant, TenantSettings, User,
    UserFilter, UserStatus,
};

use crate::users::{tenant, user};

pub(crate) async fn updates_change_every_mutable_field_and_respect_email_uniqueness<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    users
        .create(&ada, None, &audit(ada.tenant_id))
        .await
        .expect("ada");
    users
        .create(&bob, None, &audit(bob.tenant_id))
        .await
        .expect("bob");

    let mut changed = ada.clone();
    changed.email = Email::parse("Ada@Lovelace.org").expect("email");
    changed.display_name = Some("Ada L.".into());
    changed.given_name = None;
    changed.metadata = serde_json::json!({"k": [1, 2]});
    changed.roles = vec!["admin".into()];
    changed.status = UserStatus::Locked;
    changed.updated_at = Utc::now().trunc_subsecs(6);
    changed.mfa_enabled = true;
    assert_eq!(
        users
            .update(&changed, ada.updated_at, false, &audit(changed.tenant_id))
            .await
            .expect("update"),
        UpdateOutcome::Updated
    );
    changed.mfa_enabled = false; // MFA state belongs to the MfaRepository, not to updates
    assert_eq!(
        users.get(acme.id, ada.id).await.expect("get"),
        Some(changed.clone())
    );
    let by_new_email = Email::parse("ada@lovelace.org").expect("email");
    assert!(users
        .find_for_login(acme.id, &by_new_email)
        .await
        .expect("find")
        .is_some());

    let mut clash = bob.clone();
    clash.email = Email::parse("ADA@lovelace.org").expect("email");
    assert!(matches!(
        users
            .update(&clash, bob.updated_at, false, &audit(clash.tenant_id))
            .await,
        Err(CoreError::Conflict(_))
    ));
    let mut late = bob.clone();
    late.display_name = Some("written from an old read".into());
    assert_eq!(
        users
            .update(
                &late,
                bob.updated_at - chrono::Duration::seconds(1),
                false,
                &audit(late.tenant_id)
            )
            .await
            .expect("update"),
        UpdateOutcome::Stale,
        "a write based on an older version is refused"
    );
    assert_eq!(
        users.get(acme.id, bob.id).await.expect("get"),
        Some(bob.clone()),
        "unchanged"
    );

    let globex = tenant(store, "globex").await;
    let mut foreign = bob.clone();
    foreign.tenant_id = globex.id;
    assert!(
        matches!(
            users
                .update(&foreign, bob.updated_at, false, &audit(foreign.tenant_id))
                .await,
            Ok(UpdateOutcome::Stale)
        ),
        "tenant-scoped: another tenant's user is not there to update"
    );
}

pub(crate) async fn listing_filters_by_status_role_and_prefix_and_pages_in_id_order<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let mut created = Vec::new();
    for (email, name, role, status) in [
        (
            "ada@example.com",
            "Ada Lovelace",
            "admin",
            UserStatus::Active,
        ),
        (
            "alan@example.com",
            "Alan Turing",
            "member",
            UserStatus::Active,
        ),
        (
            "grace@example.com",
            "Grace Hopper",
            "member",
            UserStatus::Disabled,
        ),
        (
            "edsger@example.com",
            "Edsger 100%_Dijkstra",
            "viewer",
            UserStatus::Active,
        ),
    ] {
        let mut u = user(&acme, email);
        u.display_name = Some(name.into());
        u.roles = vec![role.into()];
        u.status = status;
        users
            .create(&u, None, &audit(u.tenant_id))
            .await
            .expect("create");
        created.push(u);
    }
    users
        .create(&user(&globex, "ada@globex.com"), None, &audit(globex.id))
        .await
        .expect("other tenant");

    let page = |limit| PageRequest::new(Some(limit), None).expect("page");
    let emails = |items: &[User]| {
        items
            .iter()
            .map(|u| u.email.to_string())
            .collect::<Vec<_>>()
    };

    let all = users
        .list(acme.id, UserFilter::default(), page(50))
        .await
        .expect("list");
    assert_eq!(all.items.len(), 4, "the other tenant's user is not listed");
    assert!(all.next_cursor.is_none());

    let first = users
        .list(acme.id, UserFilter::default(), page(3))
        .await
        .expect("page 1");
    let cursor = first.next_cursor.clone().expect("more");
    let rest = users
        .list(
            acme.id,
            UserFilter::default(),
            PageRequest::new(Some(3), Some(cursor)).expect("page"),
        )
        .await
        .expect("page 2");
    let mut walked = emails(&first.items);
    walked.extend(emails(&rest.items));
    assert_eq!(
        walked,
        emails(&created),
        "every user once, in creation order"
    );

    let active = UserFilter {
        status: Some(UserStatus::Active),
        ..UserFilter::default()
    };
    assert_eq!(
        users
            .list(acme.id, active, page(50))
            .await
            .expect("list")
            .items
            .len(),
        3
    );
    let members = UserFilter {
        role: Some("member".into()),
        ..UserFilter::default()
    };
    assert_eq!(
        emails(
            &users
                .list(acme.id, members, page(50))
                .await
                .expect("list")
                .items
        ),
        ["alan@example.com", "grace@example.com"]
    );
    let a = UserFilter {
        prefix: Some("A".into()),
        ..UserFilter::default()
    };
    assert_eq!(
        emails(&users.list(acme.id, a, page(50)).await.expect("list").items),
        ["ada@example.com", "alan@example.com"],
        "email or name prefix, case-insensitive, this tenant only"
    );
    let hopper = UserFilter {
        prefix: Some("hop".into()),
        ..UserFilter::default()
    };
    assert!(
        users
            .list(acme.id, hopper, page(50))
            .await
            .expect("list")
            .items
            .is_empty(),
        "a prefix, not a substring"
    );
    let wildcard = UserFilter {
        prefix: Some("%".into()),
        ..UserFilter::default()
    };
    assert!(
        users
            .list(acme.id, wildcard, page(50))
            .await
            .expect("list")
            .items
            .is_empty(),
        "LIKE wildcards match literally"
    );
    let forged = PageRequest::new(Some(5), Some(Cursor::from_wire("bm9wZQ"))).expect("page");
    assert!(matches!(
        users.list(acme.id, UserFilter::default(), forged).await,
        Err(CoreError::Validation(_))
    ));
}

pub(crate) async fn batch_reads_and_email_checks_stay_in_the_tenant<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let bob = user(&acme, "bob@example.com");
    let eve = user(&globex, "eve@example.com");
    for u in [&ada, &bob, &eve] {
        users
            .create(u, None, &audit(u.tenant_id))
            .await
            .expect("create");
    }
    let mut found = users
        .get_many(
            acme.id,
            vec![bob.id, eve.id, ada.id, usvc_core::UserId::new()],
        )
        .await
        .expect("get_many");
    found.sort_by_key(|u| u.id);
    assert_eq!(found, [ada.clone(), bob.clone()]);
    assert!(users
        .get_many(acme.id, Vec::new())
        .await
        .expect("empty")
        .is_empty());

    let mut taken = users
        .taken_emails(
            acme.id,
            vec![
                "ada@example.com".into(),
                "eve@example.com".into(),
                "new@example.com".into(),
            ],
        )
        .await
        .expect("taken");
    taken.sort();
    assert_eq!(taken, ["ada@example.com"]);
}

pub(crate) async fn bulk_creation_stores_all_or_nothing<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let batch: Vec<(User, Option<String>)> = (0..300)
        .map(|i| {
            (
                user(&acme, &format!("u{i}@example.com")),
                (i % 2 == 0).then(|| format!("$argon2id$h{i}")),
            )
        })
        .collect();
    users
        .create_many(batch.clone(), &audit(batch[0].0.tenant_id))
        .await
        .expect("bulk");
    assert_eq!(users.count(Some(acme.id)).await.expect("count"), 300);
    let (_, hash) = users
        .find_for_login(acme.id, &Email::parse("u4@example.com").expect("email"))
        .await
        .expect("find")
        .expect("some");
    assert_eq!(hash.as_deref(), Some("$argon2id$h4"));

    let clash = vec![
        (user(&acme, "fresh@example.com"), None),
        (user(&acme, "U7@example.com"), None),
    ];
    assert!(matches!(
        users.create_many(clash, &audit(acme.id)).await,
        Err(CoreError::Conflict(_))
    ));
    let fresh = Email::parse("fresh@example.com").expect("email");
    assert!(
        users
            .find_for_login(acme.id, &fresh)
            .await
            .expect("find")
            .is_none(),
        "the clash rolled back the whole batch"
    );
}

pub(crate) async fn erasure_removes_personal_data_and_ends_sessions_but_keeps_the_id<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let acme = tenant(store, "acme").await;
    let mut ada = user(&acme, "ada@example.com");
    ada.display_name = Some("Ada".into());
    users
        .create(&ada, Some("$argon2id$h".into()), &audit(ada.tenant_id))
        .await
        .expect("create");
    let now = Utc::now().trunc_subsecs(6);
    let session = Session {
        id: SessionId::new(),
        tenant_id: acme.id,
        user_id: ada.id,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now + chrono::Duration::minutes(30),
        absolute_expires_at: now + chrono::Duration::hours(12),
        revoked_at: None,
        revoked_reason: None,
        ip: None,
        user_agent: None,
    };
    sessions
        .create(&session, "r1".into(), &audit(session.tenant_id))
        .await
        .expect("session");

    let globex = tenant(store, "globex").await;
    assert!(matches!(
        users
            .erase(globex.id, ada.id, now, false, &audit(globex.id))
            .await,
        Err(CoreError::NotFound(_))
    ));

    let revoked = users
        .erase(acme.id, ada.id, now, false, &audit(acme.id))
        .await
        .expect("erase");
    assert_eq!(revoked, [session.id]);
    assert_eq!(
        users.get(acme.id, ada.id).await.expect("get"),
        None,
        "gone from reads"
    );
    let email = Email::parse("ada@example.com").expect("email");
    assert!(users
        .find_for_login(acme.id, &email)
        .await
        .expect("find")
        .is_none());
    let ended = sessions
        .get(acme.id, session.id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(ended.revoked_reason.as_deref(), Some("user_deleted"));
    assert_eq!(users.count(Some(acme.id)).await.expect("count"), 0);
    assert!(matches!(
        users
            .erase(acme.id, ada.id, now, false, &audit(acme.id))
            .await,
        Err(CoreError::NotFound(_))
    ));

    // The address is free again.
    users
        .create(
            &user(&acme, "ada@example.com"),
            None,
            &audit((user(&acme, "ada@example.com")).tenant_id),
        )
        .await
        .expect("re-use");
}

pub(crate) async fn tenant_settings_round_trip(repo: &dyn TenantRepository) {
    let acme = tenant(repo, "acme").await;
    assert_eq!(acme.settings, TenantSettings::default());
    let settings = TenantSettings {
        self_registration: true,
        mfa_required: true,
        session_idle_secs: Some(600),
        session_absolute_secs: 3600,
        branding: usvc_core::Branding {
            display_name: Some("Acme Corp".into()),
            logo_url: Some("https://cdn.acme.example/logo.svg".into()),
            primary_color: Some("#0f766e".into()),
            background_color: None,
        },
    };
    let now = Utc::now().trunc_subsecs(6);
    let changed = Tenant {
        settings,
        updated_at: now,
        ..acme.clone()
    };
    assert_eq!(
        repo.update(&changed, acme.updated_at, &audit(acme.id))
            .await
            .expect("update"),
        Some(vec![])
    );
    assert_eq!(repo.get(acme.id).await.expect("get"), Some(changed.clone()));
    let missing = Tenant {
        id: usvc_core::TenantId::new(),
        ..changed
    };
    assert_eq!(
        repo.update(&missing, now, &audit(acme.id))
            .await
            .expect("update"),
        None
    );
}

pub(crate) async fn two_owners_demoting_each_other_at_once_leave_one_owner<S>(store: &S)
where
    S: TenantRepository + UserRepository + Clone + 'static,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let mut owners = Vec::new();
    for email in ["a@example.com", "b@example.com"] {
        let mut u = user(&acme, email);
        u.roles = vec!["owner".into()];
        users
            .create(&u, None, &audit(u.tenant_id))
            .await
            .expect("owner");
        owners.push(u);
    }
    for _ in 0..5 {
        let tasks: Vec<_> = owners
            .iter()
            .map(|owner| {
                let store = store.clone();
                let mut demoted = owner.clone();
                demoted.roles = vec!["admin".into()];
                demoted.updated_at = owner.updated_at + chrono::Duration::microseconds(1);
                let expected = owner.updated_at;
                tokio::spawn(async move {
                    UserRepository::update(
                        &store,
                        &demoted,
                        expected,
                        true,
                        &audit(demoted.tenant_id),
                    )
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("join").expect("update"));
        }
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [UpdateOutcome::LastOwner, UpdateOutcome::Updated],
            "exactly one demotion wins"
        );
        // Put both back as owners for the next round.
        for owner in &mut owners {
            let current = users
                .get(acme.id, owner.id)
                .await
                .expect("get")
                .expect("some");
            let mut again = current.clone();
            again.roles = vec!["owner".into()];
            again.updated_at = current.updated_at + chrono::Duration::microseconds(1);
            users
                .update(&again, current.updated_at, false, &audit(again.tenant_id))
                .await
                .expect("restore");
            *owner = again;
        }
    }
    let last = &owners[0];
    let other = &owners[1];
    users
        .erase(acme.id, other.id, Utc::now(), true, &audit(acme.id))
        .await
        .expect("one of two owners may go");
    assert!(matches!(
        users
            .erase(acme.id, last.id, Utc::now(), true, &audit(acme.id))
            .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(
        users.get(acme.id, last.id).await.expect("get").is_some(),
        "rolled back"
    );
}
