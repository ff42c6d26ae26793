//! `ActionTokenRepository`: mailed single-use tokens and what redeeming them does.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{
    ActionTokenRepository, SessionRepository, TenantRepository, UserRepository,
};
use usvc_core::{ActionPurpose, ActionToken, Email, Session, SessionId, User};

use crate::users::{tenant, user};

fn token(u: &User, hash: &str, purpose: ActionPurpose, minutes: i64) -> ActionToken {
    let now = Utc::now().trunc_subsecs(6);
    ActionToken {
        hash: hash.into(),
        tenant_id: u.tenant_id,
        user_id: u.id,
        purpose,
        email: u.email.as_str().to_owned(),
        created_at: now,
        expires_at: now + Duration::minutes(minutes),
    }
}

pub(crate) async fn a_reset_token_sets_the_password_and_ends_sessions_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + SessionRepository + ActionTokenRepository,
{
    let tokens: &dyn ActionTokenRepository = store;
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    users
        .create(&ada, Some("$old".into()), &audit(ada.tenant_id))
        .await
        .expect("user");
    let now = Utc::now().trunc_subsecs(6);
    let session = Session {
        id: SessionId::new(),
        tenant_id: acme.id,
        user_id: ada.id,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: now + Duration::minutes(30),
        absolute_expires_at: now + Duration::hours(1),
        revoked_at: None,
        revoked_reason: None,
        ip: None,
        user_agent: None,
    };
    SessionRepository::create(store, &session, "r".into(), &audit(session.tenant_id))
        .await
        .expect("session");

    tokens
        .issue(&token(&ada, "t1", ActionPurpose::PasswordReset, 30))
        .await
        .expect("issue");
    tokens
        .issue(&token(&ada, "t2", ActionPurpose::PasswordReset, 30))
        .await
        .expect("issue");
    assert_eq!(
        tokens
            .find("t1".into(), ActionPurpose::PasswordReset, now)
            .await
            .expect("find"),
        None,
        "superseded"
    );
    assert!(
        tokens
            .find("t2".into(), ActionPurpose::EmailVerification, now)
            .await
            .expect("find")
            .is_none(),
        "purpose"
    );
    assert!(
        tokens
            .find(
                "t2".into(),
                ActionPurpose::PasswordReset,
                now + Duration::minutes(31)
            )
            .await
            .expect("find")
            .is_none(),
        "expired"
    );
    assert!(tokens
        .find("t2".into(), ActionPurpose::PasswordReset, now)
        .await
        .expect("find")
        .is_some());

    let revoked = tokens
        .redeem_password_reset("t2".into(), "$new".into(), now, &audit(ada.tenant_id))
        .await
        .expect("redeem");
    assert_eq!(revoked, Some(vec![session.id]));
    let (_, hash) = users
        .find_for_login(acme.id, &Email::parse("ada@example.com").expect("email"))
        .await
        .expect("find")
        .expect("some");
    assert_eq!(hash.as_deref(), Some("$new"));
    let ended = SessionRepository::get(store, acme.id, session.id)
        .await
        .expect("get")
        .expect("some");
    assert_eq!(ended.revoked_reason.as_deref(), Some("password_reset"));
    assert_eq!(
        tokens
            .redeem_password_reset("t2".into(), "$x".into(), now, &audit(ada.tenant_id))
            .await
            .expect("again"),
        None
    );
}

pub(crate) async fn a_verification_token_proves_only_the_address_it_was_sent_to<S>(store: &S)
where
    S: TenantRepository + UserRepository + ActionTokenRepository,
{
    let tokens: &dyn ActionTokenRepository = store;
    let users: &dyn UserRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "Ada@example.com");
    users
        .create(&ada, None, &audit(ada.tenant_id))
        .await
        .expect("user");
    let now = Utc::now().trunc_subsecs(6);
    tokens
        .issue(&token(&ada, "v1", ActionPurpose::EmailVerification, 60))
        .await
        .expect("issue");
    assert!(tokens
        .redeem_email_verification("v1".into(), now, &audit(ada.tenant_id))
        .await
        .expect("redeem"));
    assert!(
        users
            .get(acme.id, ada.id)
            .await
            .expect("get")
            .expect("some")
            .email_verified
    );
    assert!(!tokens
        .redeem_email_verification("v1".into(), now, &audit(ada.tenant_id))
        .await
        .expect("again"));

    let mut moved = users
        .get(acme.id, ada.id)
        .await
        .expect("get")
        .expect("some");
    tokens
        .issue(&token(&moved, "v2", ActionPurpose::EmailVerification, 60))
        .await
        .expect("issue");
    let read_at = moved.updated_at;
    moved.email = Email::parse("ada@elsewhere.org").expect("email");
    moved.email_verified = false;
    moved.updated_at = read_at + Duration::seconds(1);
    users
        .update(&moved, read_at, false, &audit(moved.tenant_id))
        .await
        .expect("update");
    assert!(
        !tokens
            .redeem_email_verification("v2".into(), now, &audit(ada.tenant_id))
            .await
            .expect("redeem"),
        "the address changed"
    );
    assert!(
        !users
            .get(acme.id, ada.id)
            .await
            .expect("get")
            .expect("some")
            .email_verified
    );
}
