//! `PasskeyRepository`: users' passkeys.

use chrono::{SubsecRound, Utc};
use serde_json::json;
use usvc_core::ports::{PasskeyRepository, TenantRepository, UserRepository};
use usvc_core::{CoreError, Passkey, PasskeyId, User};

use crate::audit;
use crate::users::{tenant, user};

fn passkey(owner: &User, credential_id: &str) -> Passkey {
    Passkey {
        id: PasskeyId::new(),
        tenant_id: owner.tenant_id,
        user_id: owner.id,
        name: "Laptop".into(),
        credential_id: credential_id.into(),
        credential: json!({"cred": {"counter": 0}}),
        created_at: Utc::now().trunc_subsecs(6),
        last_used_at: None,
    }
}

pub(crate) async fn passkeys_belong_to_their_user_and_go_with_them<S>(store: &S)
where
    S: TenantRepository + UserRepository + PasskeyRepository,
{
    let keys: &dyn PasskeyRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ada = user(&acme, "ada@example.com");
    let gus = user(&globex, "gus@example.com");
    for u in [&ada, &gus] {
        UserRepository::create(store, u, None, &audit(u.tenant_id))
            .await
            .expect("user");
    }
    let laptop = passkey(&ada, "cred-1");
    let phone = passkey(&ada, "cred-2");
    for p in [&laptop, &phone] {
        keys.create(p, &audit(acme.id)).await.expect("create");
    }
    assert!(
        matches!(
            keys.create(&passkey(&gus, "cred-1"), &audit(globex.id))
                .await,
            Err(CoreError::Conflict(_))
        ),
        "a credential id is registered once, service-wide"
    );
    assert_eq!(
        keys.list(acme.id, ada.id).await.unwrap(),
        [laptop.clone(), phone.clone()]
    );
    assert_eq!(
        keys.list(globex.id, ada.id).await.unwrap(),
        [],
        "another tenant sees none"
    );
    assert_eq!(
        keys.find_by_credential("cred-2".into()).await.unwrap(),
        Some(phone.clone())
    );
    assert_eq!(
        keys.find_by_credential("cred-9".into()).await.unwrap(),
        None
    );

    // Only its owner's calls reach it.
    assert!(!keys
        .rename(
            globex.id,
            gus.id,
            laptop.id,
            "Mine".into(),
            &audit(globex.id)
        )
        .await
        .unwrap());
    assert!(!keys
        .delete(acme.id, gus.id, laptop.id, &audit(acme.id))
        .await
        .unwrap());
    assert!(keys
        .rename(
            acme.id,
            ada.id,
            laptop.id,
            "Work laptop".into(),
            &audit(acme.id)
        )
        .await
        .unwrap());
    let used_at = Utc::now().trunc_subsecs(6);
    let stored = laptop.credential.clone();
    assert!(keys
        .record_use(
            laptop.id,
            stored.clone(),
            json!({"cred": {"counter": 7}}),
            used_at
        )
        .await
        .unwrap());
    assert!(
        !keys
            .record_use(laptop.id, stored, json!({"cred": {"counter": 5}}), used_at)
            .await
            .unwrap(),
        "a use verified against the credential as it was before does not overwrite the newer"
    );
    let read = keys
        .find_by_credential("cred-1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.name, "Work laptop");
    assert_eq!(read.credential, json!({"cred": {"counter": 7}}));
    assert_eq!(read.last_used_at, Some(used_at));
    assert!(keys
        .delete(acme.id, ada.id, phone.id, &audit(acme.id))
        .await
        .unwrap());
    assert!(!keys
        .delete(acme.id, ada.id, phone.id, &audit(acme.id))
        .await
        .unwrap());
    assert!(
        !keys
            .record_use(phone.id, phone.credential.clone(), json!({}), used_at)
            .await
            .unwrap(),
        "a passkey removed mid-sign-in records no use"
    );

    // Erasing the user erases their passkeys.
    UserRepository::erase(store, acme.id, ada.id, Utc::now(), false, &audit(acme.id))
        .await
        .expect("erase");
    assert_eq!(
        keys.find_by_credential("cred-1".into()).await.unwrap(),
        None
    );
    assert_eq!(keys.list(acme.id, ada.id).await.unwrap(), []);
}
