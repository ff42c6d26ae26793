//! `MfaRepository`: TOTP credentials, single-use steps and recovery codes, challenges.

use crate::audit;
use chrono::{Duration, SubsecRound, Utc};
use usvc_core::ports::{MfaRepository, TenantRepository, UserRepository};
use usvc_core::{ChallengePurpose, CoreError, MfaChallenge, Tenant, TotpCredential, User};

use crate::users::{tenant, user};

async fn enrolled<S>(store: &S) -> (Tenant, User)
where
    S: TenantRepository + UserRepository + MfaRepository,
{
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(ada.tenant_id))
        .await
        .expect("user");
    (acme, ada)
}

fn credential(u: &User, secret: &[u8]) -> TotpCredential {
    TotpCredential {
        user_id: u.id,
        tenant_id: u.tenant_id,
        sealed_secret: secret.to_vec(),
        confirmed_at: None,
        last_used_step: 0,
        created_at: Utc::now().trunc_subsecs(6),
    }
}

pub(crate) async fn totp_enrolment_confirms_once_and_each_step_is_used_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + MfaRepository,
{
    let mfa: &dyn MfaRepository = store;
    let users: &dyn UserRepository = store;
    let (acme, ada) = enrolled(store).await;
    let now = Utc::now().trunc_subsecs(6);
    mfa.begin_totp(&credential(&ada, b"first"))
        .await
        .expect("begin");
    mfa.begin_totp(&credential(&ada, b"second"))
        .await
        .expect("restart while pending");
    let pending = mfa.totp(acme.id, ada.id).await.expect("get").expect("some");
    assert_eq!(
        (pending.sealed_secret.as_slice(), pending.confirmed_at),
        (&b"second"[..], None)
    );
    assert!(
        !mfa.use_totp_step(acme.id, ada.id, 5).await.expect("use"),
        "not confirmed yet"
    );

    let hashes: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    mfa.confirm_totp(acme.id, ada.id, 100, hashes, now, &audit(acme.id))
        .await
        .expect("confirm");
    assert!(
        users
            .get(acme.id, ada.id)
            .await
            .expect("get")
            .expect("some")
            .mfa_enabled
    );
    assert!(matches!(
        mfa.confirm_totp(acme.id, ada.id, 101, vec![], now, &audit(acme.id))
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        mfa.begin_totp(&credential(&ada, b"third")).await,
        Err(CoreError::Conflict(_))
    ));
    assert!(
        !mfa.use_totp_step(acme.id, ada.id, 100).await.expect("use"),
        "the confirming step"
    );
    assert!(
        !mfa.use_totp_step(acme.id, ada.id, 99).await.expect("use"),
        "an older step"
    );
    assert!(mfa.use_totp_step(acme.id, ada.id, 101).await.expect("use"));
    assert!(
        !mfa.use_totp_step(acme.id, ada.id, 101).await.expect("use"),
        "a replay"
    );

    let globex = tenant(store, "globex").await;
    assert_eq!(
        mfa.totp(globex.id, ada.id).await.expect("get"),
        None,
        "tenant-scoped"
    );
    assert!(!mfa
        .use_totp_step(globex.id, ada.id, 500)
        .await
        .expect("use"));
}

pub(crate) async fn recovery_codes_are_single_use_and_replaceable<S>(store: &S)
where
    S: TenantRepository + UserRepository + MfaRepository,
{
    let mfa: &dyn MfaRepository = store;
    let users: &dyn UserRepository = store;
    let (acme, ada) = enrolled(store).await;
    let now = Utc::now().trunc_subsecs(6);
    assert!(
        matches!(
            mfa.replace_recovery_codes(acme.id, ada.id, vec!["x".into()], &audit(acme.id))
                .await,
            Err(CoreError::NotFound(_)),
        ),
        "no codes without TOTP"
    );
    mfa.begin_totp(&credential(&ada, b"s"))
        .await
        .expect("begin");
    mfa.confirm_totp(
        acme.id,
        ada.id,
        1,
        vec!["a".into(), "b".into()],
        now,
        &audit(acme.id),
    )
    .await
    .expect("confirm");
    assert_eq!(
        mfa.recovery_codes_left(acme.id, ada.id)
            .await
            .expect("left"),
        2
    );
    let globex = tenant(store, "globex").await;
    assert!(!mfa
        .use_recovery_code(globex.id, ada.id, "a".into(), now)
        .await
        .expect("use"));
    assert!(mfa
        .use_recovery_code(acme.id, ada.id, "a".into(), now)
        .await
        .expect("use"));
    assert!(
        !mfa.use_recovery_code(acme.id, ada.id, "a".into(), now)
            .await
            .expect("use"),
        "once"
    );
    assert_eq!(
        mfa.recovery_codes_left(acme.id, ada.id)
            .await
            .expect("left"),
        1
    );
    mfa.replace_recovery_codes(acme.id, ada.id, vec!["c".into()], &audit(acme.id))
        .await
        .expect("replace");
    assert!(
        !mfa.use_recovery_code(acme.id, ada.id, "b".into(), now)
            .await
            .expect("use"),
        "replaced"
    );
    assert!(mfa
        .use_recovery_code(acme.id, ada.id, "c".into(), now)
        .await
        .expect("use"));

    assert!(mfa
        .disable(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("disable"));
    assert!(!mfa
        .disable(acme.id, ada.id, &audit(acme.id))
        .await
        .expect("again"));
    assert_eq!(mfa.totp(acme.id, ada.id).await.expect("get"), None);
    assert!(
        !users
            .get(acme.id, ada.id)
            .await
            .expect("get")
            .expect("some")
            .mfa_enabled
    );
    assert_eq!(
        mfa.recovery_codes_left(acme.id, ada.id)
            .await
            .expect("left"),
        0
    );
}

pub(crate) async fn challenges_expire_count_attempts_and_are_consumed_once<S>(store: &S)
where
    S: TenantRepository + UserRepository + MfaRepository + Clone + 'static,
{
    let mfa: &dyn MfaRepository = store;
    let (acme, ada) = enrolled(store).await;
    let now = Utc::now().trunc_subsecs(6);
    let challenge = MfaChallenge {
        hash: "mfa-1".into(),
        tenant_id: acme.id,
        user_id: ada.id,
        purpose: ChallengePurpose::Enroll,
        created_at: now,
        expires_at: now + Duration::minutes(5),
        attempts: 0,
        ip: Some("203.0.113.9".into()),
        user_agent: None,
    };
    mfa.create_challenge(&challenge).await.expect("create");
    let first = mfa
        .take_attempt("mfa-1".into(), now, 5)
        .await
        .expect("take");
    assert_eq!(
        first,
        Some(MfaChallenge {
            attempts: 1,
            ..challenge.clone()
        }),
        "the attempt is counted before anything is checked"
    );
    assert_eq!(
        mfa.take_attempt("nope".into(), now, 5).await.expect("take"),
        None
    );
    assert_eq!(
        mfa.take_attempt("mfa-1".into(), now + Duration::minutes(6), 5)
            .await
            .expect("take"),
        None,
        "expired"
    );
    // Parallel guesses: of ten, exactly the four attempts left are granted.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_attempt("mfa-1".into(), now, 5).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        if task.await.expect("join").expect("take").is_some() {
            granted += 1;
        }
    }
    assert_eq!(granted, 4);
    assert_eq!(
        mfa.take_attempt("mfa-1".into(), now, 5)
            .await
            .expect("take"),
        None,
        "at the limit"
    );
    assert!(mfa
        .consume_challenge("mfa-1".into(), now)
        .await
        .expect("consume"));
    assert!(!mfa
        .consume_challenge("mfa-1".into(), now)
        .await
        .expect("again"));
    assert_eq!(
        mfa.take_attempt("mfa-1".into(), now, 10)
            .await
            .expect("take"),
        None,
        "consumed"
    );
}
