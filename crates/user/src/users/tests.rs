use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use usvc_core::ports::{
    MockAuditLog, MockAuthorizer, MockClock, MockEventPublisher, MockPasswordHasher,
    MockRoleRepository, MockSessionRepository, MockTenantRepository, MockUserAnalytics,
    MockUserRepository,
};
use usvc_core::{
    AuditEntry, CoreError, DomainEvent, Email, NewTenant, Origin, Password, Principal, SessionId,
    Tenant, TenantId, User, UserId, UserStatus,
};

use super::*;
use crate::builtin_roles::decide;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .expect("time")
}

fn acme() -> Tenant {
    NewTenant::parse("acme", "Acme")
        .expect("valid")
        .into_tenant(now())
}

fn user(tenant: TenantId, email: &str, roles: &[&str]) -> User {
    User::new(
        tenant,
        Email::parse(email).expect("email"),
        roles.iter().map(|r| (*r).to_owned()).collect(),
        now(),
    )
}

fn caller(of: &User) -> Principal {
    Principal {
        user: of.id,
        tenant: of.tenant_id,
        session: SessionId::new(),
        roles: of.roles.clone(),
        origin: usvc_core::Origin::default(),
    }
}

struct Mocks {
    tenants: MockTenantRepository,
    users: MockUserRepository,
    sessions: MockSessionRepository,
    hasher: MockPasswordHasher,
    events: Arc<Mutex<Vec<DomainEvent>>>,
    analytics: MockUserAnalytics,
    roles: MockRoleRepository,
    audit: Arc<Mutex<Vec<AuditEntry>>>,
    /// Users who hold the platform grant.
    platform_admins: Vec<UserId>,
}

impl Mocks {
    fn new() -> Self {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_, p| Ok(format!("argon2-of-{}", p.expose().len())));
        hasher
            .expect_accepts_hash()
            .returning(|h| h.starts_with("$argon2id$") || h.starts_with("$2b$"));
        Self {
            tenants: MockTenantRepository::new(),
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            hasher,
            events: Arc::default(),
            audit: Arc::default(),
            analytics: MockUserAnalytics::new(),
            roles: {
                let mut roles = MockRoleRepository::new();
                roles.expect_list().returning(|_| Ok(Vec::new()));
                roles
            },
            platform_admins: Vec::new(),
        }
    }

    fn service(self) -> (UserService, Arc<Mutex<Vec<DomainEvent>>>) {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let mut authorizer = MockAuthorizer::new();
        authorizer
            .expect_authorize()
            .returning(|p, action, _| match decide(&p.roles, action) {
                d if d.allowed => Ok(()),
                d => Err(CoreError::Forbidden(d.reason)),
            });
        authorizer
            .expect_check()
            .returning(|p, action, _| Ok(decide(&p.roles, action)));
        let seen = self.events.clone();
        let mut events = MockEventPublisher::new();
        events.expect_publish().returning(move |e| {
            seen.lock().expect("lock").push(e);
            Ok(())
        });
        let recorded = self.audit.clone();
        let mut audit = MockAuditLog::new();
        audit.expect_append().returning(move |e| {
            recorded.lock().expect("lock").push(e);
            Ok(())
        });
        let bus: Arc<dyn usvc_core::ports::Invalidation> =
            Arc::new(usvc_cache::LocalInvalidation::new());
        let service = UserService::new(UserPorts {
            tenants: Arc::new(self.tenants),
            users: Arc::new(self.users),
            sessions: Arc::new(self.sessions),
            hasher: Arc::new(self.hasher),
            clock: Arc::new(clock),
            authorizer: Arc::new(authorizer),
            events: Arc::new(events),
            audit: Arc::new(audit),
            profiles: usvc_cache::NamedCache::new(
                usvc_cache::CacheSpec::USER_PROFILES,
                bus.clone(),
            ),
            live_sessions: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::USER_SESSIONS, bus),
            analytics: Arc::new(self.analytics),
            roles: Arc::new(self.roles),
            platform: {
                let holders = self.platform_admins;
                let mut platform = usvc_core::ports::MockPlatformAdmins::new();
                platform
                    .expect_is_platform_admin()
                    .returning(move |u| Ok(holders.contains(&u)));
                Arc::new(platform)
            },
            projects: {
                // Nobody here is a member of any project.
                let mut projects = usvc_core::ports::MockProjectAccess::new();
                projects
                    .expect_memberships()
                    .returning(|_, _| Ok(Vec::new()));
                Arc::new(projects)
            },
        });
        (service, self.events)
    }
}

fn kinds(events: &Arc<Mutex<Vec<DomainEvent>>>) -> Vec<String> {
    events
        .lock()
        .expect("lock")
        .iter()
        .map(|e| e.kind.clone())
        .collect()
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        password: Some(Password::new("correct horse battery staple")),
        ..NewUser::default()
    }
}

#[tokio::test]
async fn an_admin_creates_a_member_with_a_hashed_password_and_it_is_announced() {
    let t = acme();
    let admin = user(t.id, "root@example.com", &["admin"]);
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_create()
        .withf(|u, hash, _| {
            u.roles == ["member"] && u.email.as_str() == "bob@example.com" && hash.is_some()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (service, events) = mocks.service();
    let created = service
        .create(&caller(&admin), new_user("bob@example.com"))
        .await
        .expect("created");
    assert_eq!(created.tenant_id, t.id, "always in the caller's tenant");
    assert_eq!(kinds(&events), ["user.created"]);
}

#[tokio::test]
async fn members_cannot_create_users_and_admins_cannot_make_owners() {
    let t = acme();
    let member = user(t.id, "m@example.com", &["member"]);
    let admin = user(t.id, "a@example.com", &["admin"]);
    let mut mocks = Mocks::new();
    mocks.users.expect_create().never();
    let (service, events) = mocks.service();
    let refused = service
        .create(&caller(&member), new_user("x@example.com"))
        .await;
    assert!(
        matches!(refused, Err(CoreError::Forbidden(_))),
        "{refused:?}"
    );
    let owner = NewUser {
        roles: Some(vec!["owner".into()]),
        ..new_user("y@example.com")
    };
    let refused = service.create(&caller(&admin), owner).await;
    assert!(
        matches!(refused, Err(CoreError::Forbidden(_))),
        "{refused:?}"
    );
    assert!(kinds(&events).is_empty());
}

#[tokio::test]
async fn bad_input_is_reported_field_by_field_and_nothing_is_stored() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let mut mocks = Mocks::new();
    mocks.users.expect_create().never();
    let (service, _) = mocks.service();
    let bad = NewUser {
        email: "bob@example.com".into(),
        password: Some(Password::new("password1")),
        roles: Some(vec!["root".into()]),
        profile: ProfileChanges {
            locale: Some(Some("??".into())),
            ..ProfileChanges::default()
        },
        ..NewUser::default()
    };
    match service.create(&caller(&admin), bad).await {
        Err(CoreError::Validation(fields)) => {
            let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, ["roles", "password", "locale"]);
        }
        other => panic!("expected validation, got {other:?}"),
    }
}

#[tokio::test]
async fn the_last_active_owner_cannot_be_demoted_or_deleted() {
    let t = acme();
    let owner = user(t.id, "o@example.com", &["owner"]);
    let mut mocks = Mocks::new();
    let stored = owner.clone();
    mocks
        .users
        .expect_get()
        .returning(move |_, _| Ok(Some(stored.clone())));
    // The store checks, in the write's own transaction, that an owner remains.
    mocks
        .users
        .expect_update()
        .withf(|_, _, guard, _| *guard)
        .times(1)
        .returning(|_, _, _, _| Ok(UpdateOutcome::LastOwner));
    mocks
        .users
        .expect_erase()
        .withf(|_, _, _, guard, _| *guard)
        .times(1)
        .returning(|_, _, _, _, _| Err(CoreError::Conflict("last active owner".into())));
    let (service, _) = mocks.service();
    let demote = AdminChanges {
        roles: Some(vec!["member".into()]),
        ..AdminChanges::default()
    };
    let outcome = service.update(&caller(&owner), owner.id, demote).await;
    assert!(
        matches!(outcome, Err(CoreError::Conflict(_))),
        "{outcome:?}"
    );
    let outcome = service.delete(&caller(&owner), owner.id).await;
    assert!(
        matches!(outcome, Err(CoreError::Conflict(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn disabling_a_user_ends_every_session_and_refreshes_the_cached_profile() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let target = user(t.id, "bob@example.com", &["member"]);
    let mut mocks = Mocks::new();
    let stored = target.clone();
    mocks
        .users
        .expect_get()
        .returning(move |_, _| Ok(Some(stored.clone())));
    mocks
        .users
        .expect_update()
        .withf(|u, _, guard, _| u.status == UserStatus::Disabled && !guard)
        .times(1)
        .returning(|_, _, _, _| Ok(UpdateOutcome::Updated));
    let tid = target.id;
    mocks
        .sessions
        .expect_revoke_all()
        .withf(move |_, u, except, reason, _, _| {
            *u == tid && except.is_none() && reason == "account_disabled"
        })
        .times(1)
        .returning(|_, _, _, _, _, _| Ok(vec![SessionId::new(), SessionId::new()]));
    let (service, events) = mocks.service();
    let updated = service
        .update(
            &caller(&admin),
            target.id,
            AdminChanges {
                status: Some(UserStatus::Disabled),
                ..AdminChanges::default()
            },
        )
        .await
        .expect("updated");
    assert_eq!(updated.status, UserStatus::Disabled);
    assert_eq!(
        kinds(&events),
        ["user.updated", "session.revoked", "session.revoked"]
    );
}

#[tokio::test]
async fn lookup_answers_from_the_cache_then_one_query_in_request_order() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let known: Vec<User> = (0..3)
        .map(|i| user(t.id, &format!("u{i}@example.com"), &["member"]))
        .collect();
    let unknown = UserId::new();
    let mut mocks = Mocks::new();
    let all = known.clone();
    let queries = Arc::new(Mutex::new(Vec::new()));
    let log = queries.clone();
    // The first lookup loads every miss in one query; the second is served from the cache
    // and asks the store only for the id it could not find.
    mocks
        .users
        .expect_get_many()
        .times(2)
        .returning(move |_, ids| {
            log.lock().expect("lock").push(ids.clone());
            Ok(all
                .iter()
                .filter(|u| ids.contains(&u.id))
                .cloned()
                .collect())
        });
    let (service, _) = mocks.service();
    let ids = vec![known[2].id, unknown, known[0].id, known[1].id, known[2].id];
    let first = service
        .lookup(&caller(&admin), ids.clone())
        .await
        .expect("lookup");
    let order: Vec<_> = first.users.iter().map(|u| u.id).collect();
    assert_eq!(order, [known[2].id, known[0].id, known[1].id]);
    assert_eq!(first.missing, [unknown]);
    let again = service.lookup(&caller(&admin), ids).await.expect("cached");
    assert_eq!(again, first);
    let queries = queries.lock().expect("lock").clone();
    assert_eq!(
        queries[0].len(),
        4,
        "one query for all misses, each id once"
    );
    assert_eq!(queries[1], [unknown]);

    let too_many = vec![UserId::new(); MAX_LOOKUP_IDS + 1];
    assert!(matches!(
        service.lookup(&caller(&admin), too_many).await,
        Err(CoreError::Validation(_))
    ));
}

#[tokio::test]
async fn import_reports_every_row_and_stores_only_the_valid_ones_at_once() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let mut mocks = Mocks::new();
    mocks
        .users
        .expect_taken_emails()
        .returning(|_, _| Ok(vec!["taken@example.com".into()]));
    let stored = Arc::new(Mutex::new(Vec::new()));
    let sink = stored.clone();
    mocks
        .users
        .expect_create_many()
        .times(1)
        .returning(move |rows, _| {
            sink.lock().expect("lock").extend(rows);
            Ok(())
        });
    let (service, events) = mocks.service();
    let row = |email: &str| ImportRow {
        email: email.into(),
        password_hash: Some("$2b$10$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz1".into()),
        ..ImportRow::default()
    };
    let rows = vec![
        row("one@example.com"),
        row("not-an-email"),
        row("ONE@example.com"),
        row("taken@example.com"),
        ImportRow {
            password_hash: Some("md5:5f4dcc3b".into()),
            ..row("two@example.com")
        },
        ImportRow {
            password: Some(Password::new("correct horse battery staple")),
            password_hash: None,
            ..row("three@example.com")
        },
    ];
    let outcomes = service.import(&caller(&admin), rows).await.expect("import");
    let created: Vec<bool> = outcomes
        .iter()
        .map(|o| matches!(o, ImportOutcome::Created(_)))
        .collect();
    assert_eq!(created, [true, false, false, false, false, true]);
    let stored = stored.lock().expect("lock");
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1].1.as_deref(),
        Some("argon2-of-28"),
        "plain passwords are hashed"
    );
    assert_eq!(kinds(&events), ["user.created", "user.created"]);
}

#[tokio::test]
async fn registration_needs_an_open_tenant_and_never_reveals_a_taken_email() {
    let mut closed = acme();
    closed.settings.self_registration = false;
    let mut mocks = Mocks::new();
    let c = closed.clone();
    mocks
        .tenants
        .expect_get_by_slug()
        .returning(move |_| Ok(Some(c.clone())));
    mocks.users.expect_create().never();
    let (service, _) = mocks.service();
    let visitor = Registration {
        tenant: "acme".into(),
        email: "eve@example.com".into(),
        password: Password::new("correct horse battery staple"),
        profile: ProfileChanges::default(),
    };
    assert!(matches!(
        service.register(visitor.clone(), &Origin::default()).await,
        Err(CoreError::Forbidden(_))
    ));

    let mut open = acme();
    open.settings.self_registration = true;
    let mut mocks = Mocks::new();
    mocks
        .tenants
        .expect_get_by_slug()
        .returning(move |_| Ok(Some(open.clone())));
    mocks
        .users
        .expect_create()
        .returning(|_, _, _| Err(CoreError::Conflict("taken".into())));
    let (service, events) = mocks.service();
    assert_eq!(
        service.register(visitor, &Origin::default()).await,
        Ok(None),
        "no error to tell apart"
    );
    assert!(kinds(&events).is_empty());
}

#[tokio::test]
async fn deleting_a_user_erases_it_and_ends_its_sessions_everywhere() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let target = user(t.id, "bob@example.com", &["member"]);
    let mut mocks = Mocks::new();
    let stored = target.clone();
    mocks
        .users
        .expect_get()
        .returning(move |_, _| Ok(Some(stored.clone())));
    let tid = target.id;
    mocks
        .users
        .expect_erase()
        .withf(move |_, id, _, guard, _| *id == tid && !guard)
        .times(1)
        .returning(|_, _, _, _, _| Ok(vec![SessionId::new()]));
    let (service, events) = mocks.service();
    service
        .delete(&caller(&admin), target.id)
        .await
        .expect("deleted");
    assert_eq!(kinds(&events), ["session.revoked", "user.deleted"]);
}

#[tokio::test]
async fn analytics_are_for_admins_and_scoped_to_the_callers_tenant() {
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let member = user(t.id, "m@example.com", &["member"]);
    let mut mocks = Mocks::new();
    let tenant = t.id;
    mocks
        .analytics
        .expect_user_stats()
        .withf(move |id, at| *id == tenant && *at == now())
        .times(1)
        .returning(|_, _| {
            Ok(usvc_core::UserStats {
                total: 3,
                by_status: std::collections::BTreeMap::new(),
                active_1d: 1,
                active_7d: 2,
                active_30d: 3,
                mfa_enabled: 1,
                signups_per_day: Vec::new(),
                logins_per_day: Vec::new(),
                failed_logins_per_day: Vec::new(),
            })
        });
    let (service, _) = mocks.service();
    assert_eq!(
        service.analytics(&caller(&admin)).await.map(|s| s.total),
        Ok(3)
    );
    assert!(matches!(
        service.analytics(&caller(&member)).await,
        Err(CoreError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_change_that_lost_a_race_is_re_read_and_re_applied() {
    let t = acme();
    let ada = user(t.id, "ada@example.com", &["member"]);
    let mut mocks = Mocks::new();
    // Between the first read and write an admin made Ada a viewer.
    let reads = Arc::new(Mutex::new(0));
    let count = reads.clone();
    let first = ada.clone();
    let mut demoted = ada.clone();
    demoted.roles = vec!["viewer".into()];
    demoted.updated_at = now() + chrono::Duration::seconds(1);
    mocks.users.expect_get().returning(move |_, _| {
        let mut n = count.lock().expect("lock");
        *n += 1;
        Ok(Some(if *n == 1 {
            first.clone()
        } else {
            demoted.clone()
        }))
    });
    let stale = ada.updated_at;
    let writes = Arc::new(Mutex::new(Vec::new()));
    let log = writes.clone();
    mocks
        .users
        .expect_update()
        .returning(move |u, expected, _, _| {
            log.lock().expect("lock").push(u.clone());
            Ok(if expected == stale {
                UpdateOutcome::Stale
            } else {
                UpdateOutcome::Updated
            })
        });
    let (service, _) = mocks.service();
    let saved = service
        .update_own_profile(
            &caller(&ada),
            ProfileChanges {
                display_name: Some(Some("Ada".into())),
                ..ProfileChanges::default()
            },
        )
        .await
        .expect("saved on the second try");
    assert_eq!(saved.roles, ["viewer"], "the concurrent demotion is kept");
    assert_eq!(saved.display_name.as_deref(), Some("Ada"));
    assert_eq!(writes.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn permission_questions_are_checked_for_wording_and_answered_for_the_subject() {
    use super::permission_questions::Question;
    let t = acme();
    let admin = user(t.id, "a@example.com", &["admin"]);
    let viewer = user(t.id, "v@example.com", &["viewer"]);
    let mut mocks = Mocks::new();
    let stored = viewer.clone();
    mocks
        .users
        .expect_get()
        .returning(move |_, _| Ok(Some(stored.clone())));
    let (service, _) = mocks.service();
    let q = |user: Option<UserId>, action: &str, kind: &str| Question {
        user,
        action: action.into(),
        resource_type: kind.into(),
        resource_id: None,
    };
    let answers = service
        .check(
            &caller(&admin),
            vec![
                q(None, "users:delete", "user"),
                q(Some(viewer.id), "users:delete", "user"),
            ],
        )
        .await
        .expect("answers");
    let allowed: Vec<bool> = answers.iter().map(|d| d.allowed).collect();
    assert_eq!(
        allowed,
        [true, false],
        "the second is about the viewer's roles"
    );
    let bad = service
        .check(&caller(&admin), vec![q(None, "users:fly", "user")])
        .await;
    assert!(matches!(bad, Err(CoreError::Validation(_))), "{bad:?}");
}
