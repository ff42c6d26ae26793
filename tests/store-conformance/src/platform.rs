//! `TenantRepository::create_with_owner` and `update`, and `PlatformAdmins`.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{
    AuditLog, PlatformAdmins, SessionRepository, TenantRepository, UserRepository,
};
use usvc_core::{CoreError, Email, NewTenant, TenantStatus, User, UserId};

use crate::sessions::session;
use crate::users::{tenant, user};

pub(crate) async fn a_tenant_and_its_owner_are_created_together_or_not_at_all<S>(store: &S)
where
    S: TenantRepository + UserRepository + AuditLog,
{
    let tenants: &dyn TenantRepository = store;
    let acme = NewTenant::parse("acme", "Acme")
        .expect("valid")
        .into_tenant(Utc::now());
    let boss = user(&acme, "boss@acme.test");
    let entries = [audit(acme.id), audit(acme.id)];
    tenants
        .create_with_owner(&acme, &boss, "$argon2id$h".into(), &entries)
        .await
        .expect("create");
    let (found, hash) = store
        .find_for_login(acme.id, &Email::parse("boss@acme.test").expect("email"))
        .await
        .expect("find")
        .expect("the owner exists");
    assert_eq!(found.id, boss.id);
    assert_eq!(hash.as_deref(), Some("$argon2id$h"));
    assert_eq!(store.chain(acme.id, 0, 10).await.expect("chain").len(), 2);

    // A taken slug: neither the tenant nor its owner is written.
    let again = NewTenant::parse("acme", "Other")
        .expect("valid")
        .into_tenant(Utc::now());
    let other = user(&again, "other@acme.test");
    assert!(matches!(
        tenants
            .create_with_owner(&again, &other, "h".into(), &[audit(again.id)])
            .await,
        Err(CoreError::Conflict(_))
    ));
    assert_eq!(
        UserRepository::get(store, again.id, other.id)
            .await
            .expect("get"),
        None
    );
}

pub(crate) async fn disabling_a_tenant_revokes_its_sessions_and_stale_saves_are_refused<S>(
    store: &S,
) where
    S: TenantRepository + UserRepository + SessionRepository,
{
    let tenants: &dyn TenantRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let mut live = Vec::new();
    for t in [&acme, &globex] {
        let u = user(t, "ada@example.com");
        UserRepository::create(store, &u, None, &audit(t.id))
            .await
            .expect("user");
        let s = session(t, &u, Duration::hours(1));
        SessionRepository::create(store, &s, format!("refresh-{}", s.id), &audit(s.tenant_id))
            .await
            .expect("session");
        live.push(s);
    }

    let renamed = usvc_core::Tenant {
        name: "Acme Inc".into(),
        updated_at: (acme.updated_at + Duration::seconds(1)).trunc_subsecs(6),
        ..acme.clone()
    };
    assert_eq!(
        tenants
            .update(&renamed, acme.updated_at, &audit(acme.id))
            .await
            .expect("rename"),
        Some(vec![]),
        "a rename revokes nothing"
    );
    assert_eq!(
        tenants
            .update(&renamed, acme.updated_at, &audit(acme.id))
            .await
            .expect("stale"),
        None,
        "saved from an old read: refused"
    );
    let disabled = usvc_core::Tenant {
        status: TenantStatus::Disabled,
        updated_at: renamed.updated_at + Duration::seconds(1),
        ..renamed.clone()
    };
    assert_eq!(
        tenants
            .update(&disabled, renamed.updated_at, &audit(acme.id))
            .await
            .expect("disable"),
        Some(vec![live[0].id])
    );
    assert_eq!(tenants.get(acme.id).await.expect("get"), Some(disabled));
    let acme_session = SessionRepository::get(store, acme.id, live[0].id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        acme_session.revoked_reason.as_deref(),
        Some("tenant_disabled")
    );
    let globex_session = SessionRepository::get(store, globex.id, live[1].id)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        globex_session.revoked_at, None,
        "other tenants are untouched"
    );

    // A login that finishes after the disable opens nothing.
    let late_user = UserRepository::get(store, acme.id, live[0].user_id)
        .await
        .expect("get")
        .expect("user");
    let late = session(&acme, &late_user, Duration::hours(1));
    assert!(matches!(
        SessionRepository::create(store, &late, "refresh-late".into(), &audit(acme.id)).await,
        Err(CoreError::Unauthenticated(_))
    ));
    assert_eq!(
        SessionRepository::get(store, acme.id, late.id)
            .await
            .expect("get"),
        None
    );
}

pub(crate) async fn the_platform_grant_is_held_by_live_users_only<S>(store: &S)
where
    S: TenantRepository + UserRepository + PlatformAdmins,
{
    let platform: &dyn PlatformAdmins = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada: User = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(acme.id))
        .await
        .expect("user");
    assert!(!platform.is_platform_admin(ada.id).await.expect("ask"));
    assert!(
        matches!(
            platform.grant(globex.id, ada.id, &audit(globex.id)).await,
            Err(CoreError::NotFound(_))
        ),
        "a user is granted in their own tenant only"
    );
    assert!(matches!(
        platform
            .grant(acme.id, UserId::new(), &audit(acme.id))
            .await,
        Err(CoreError::NotFound(_))
    ));
    platform
        .grant(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("grant");
    platform
        .grant(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("granting twice is fine");
    assert!(platform.is_platform_admin(ada.id).await.expect("ask"));
    // Ada holds `member`: a holder holds it in her tenant, not in another, nor any other role.
    assert!(platform
        .holder_has_role(acme.id, "member".into())
        .await
        .expect("ask"));
    assert!(!platform
        .holder_has_role(acme.id, "admin".into())
        .await
        .expect("ask"));
    assert!(!platform
        .holder_has_role(globex.id, "member".into())
        .await
        .expect("ask"));
    assert!(platform
        .revoke(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("revoke"));
    assert!(!platform.is_platform_admin(ada.id).await.expect("ask"));
    assert!(!platform
        .revoke(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("revoke again"));

    platform
        .grant(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("grant");
    UserRepository::erase(store, acme.id, ada.id, Utc::now(), false, &audit(acme.id))
        .await
        .expect("erase");
    assert!(
        !platform.is_platform_admin(ada.id).await.expect("ask"),
        "an erased user holds nothing"
    );
    assert!(!platform
        .holder_has_role(acme.id, "member".into())
        .await
        .expect("ask"));
}
