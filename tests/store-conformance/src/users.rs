use crate::audit;
use chrono::{Duration, Utc};
use usvc_core::ports::{TenantRepository, UserRepository};
use usvc_core::{CoreError, Email, NewTenant, Tenant, User};

/// A new tenant named and slugged `slug`, stored.
pub async fn tenant(repo: &dyn TenantRepository, slug: &str) -> Tenant {
    let tenant = NewTenant::parse(slug, slug)
        .expect("valid")
        .into_tenant(Utc::now());
    repo.create(&tenant, &audit(tenant.id))
        .await
        .expect("tenant");
    tenant
}

/// A member of `tenant` at `email` (not stored).
pub fn user(tenant: &Tenant, email: &str) -> User {
    User::new(
        tenant.id,
        Email::parse(email).expect("email"),
        vec!["member".into()],
        Utc::now(),
    )
}

pub(crate) async fn users_round_trip_and_log_in_case_insensitively<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let mut ada = user(&acme, "Ada@Example.com");
    ada.display_name = Some("Ada".into());
    ada.metadata = serde_json::json!({"team": "engines", "level": 3});
    ada.roles = vec!["admin".into(), "member".into()];
    users
        .create(&ada, Some("$argon2id$hash".into()), &audit(ada.tenant_id))
        .await
        .expect("create");

    assert_eq!(
        users.get(acme.id, ada.id).await.expect("get"),
        Some(ada.clone())
    );
    let email = Email::parse("ADA@example.COM").expect("email");
    let (found, hash) = users
        .find_for_login(acme.id, &email)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found, ada);
    assert_eq!(hash.as_deref(), Some("$argon2id$hash"));
    assert_eq!(users.count(Some(acme.id)).await.expect("count"), 1);
}

pub(crate) async fn emails_are_unique_per_tenant_case_insensitively<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    users
        .create(
            &user(&acme, "bob@example.com"),
            None,
            &audit((user(&acme, "bob@example.com")).tenant_id),
        )
        .await
        .expect("create");
    let clash = user(&acme, "BOB@example.com");
    match users
        .create(&clash, Some("hash".into()), &audit(clash.tenant_id))
        .await
    {
        Err(CoreError::Conflict(message)) => assert!(message.contains("email"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        users.get(acme.id, clash.id).await.expect("get"),
        None,
        "nothing written"
    );
    assert_eq!(users.count(Some(acme.id)).await.expect("count"), 1);
    users
        .create(
            &user(&globex, "bob@example.com"),
            None,
            &audit((user(&globex, "bob@example.com")).tenant_id),
        )
        .await
        .expect("the same email in another tenant is another user");
    assert_eq!(users.count(None).await.expect("count"), 2);
}

pub(crate) async fn other_tenants_users_are_invisible<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    users
        .create(&ada, Some("hash".into()), &audit(ada.tenant_id))
        .await
        .expect("create");
    assert_eq!(users.get(globex.id, ada.id).await.expect("get"), None);
    let email = Email::parse("ada@example.com").expect("email");
    assert_eq!(
        users.find_for_login(globex.id, &email).await.expect("find"),
        None
    );
    assert!(matches!(
        users
            .set_password_hash(globex.id, ada.id, "x".into(), Utc::now(), &audit(globex.id))
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        users.record_login(globex.id, ada.id, Utc::now()).await,
        Err(CoreError::NotFound(_))
    ));
}

pub(crate) async fn password_hashes_are_set_or_replaced_and_logins_recorded<S>(store: &S)
where
    S: TenantRepository + UserRepository,
{
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let invited = user(&acme, "new@example.com");
    users
        .create(&invited, None, &audit(invited.tenant_id))
        .await
        .expect("create");
    let email = Email::parse("new@example.com").expect("email");
    let (_, hash) = users
        .find_for_login(acme.id, &email)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(hash, None, "created without a password");
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 6);
    users
        .set_password_hash(acme.id, invited.id, "first".into(), now, &audit(acme.id))
        .await
        .expect("set");
    users
        .set_password_hash(acme.id, invited.id, "second".into(), now, &audit(acme.id))
        .await
        .expect("replace");
    let (_, hash) = users
        .find_for_login(acme.id, &email)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(hash.as_deref(), Some("second"));
    let at = now + Duration::seconds(5);
    users
        .record_login(acme.id, invited.id, at)
        .await
        .expect("record");
    let user = users
        .get(acme.id, invited.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(user.last_login_at, Some(at));
}
