//! `ConsentRepository`: a user's standing consents, one per application, widened in place,
//! withdrawn once, gone with the user.

use chrono::{SubsecRound, Utc};
use usvc_core::ports::{ConsentRepository, TenantRepository, UserRepository};
use usvc_core::{ClientId, OAuthConsent, User};

use crate::audit;
use crate::users::{tenant, user};

fn consent(owner: &User, client: ClientId, scope: &[&str]) -> OAuthConsent {
    OAuthConsent {
        tenant_id: owner.tenant_id,
        user_id: owner.id,
        client_id: client,
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        granted_at: Utc::now().trunc_subsecs(6),
    }
}

pub(crate) async fn consents_are_one_per_application_and_go_with_their_user<S>(store: &S)
where
    S: TenantRepository + UserRepository + ConsentRepository,
{
    let consents: &dyn ConsentRepository = store;
    let acme = tenant(store, "acme").await;
    let ada = user(&acme, "ada@example.com");
    UserRepository::create(store, &ada, None, &audit(acme.id))
        .await
        .expect("user");
    let (app, other) = (ClientId::new(), ClientId::new());
    assert_eq!(consents.find(acme.id, ada.id, app).await.unwrap(), None);
    let first = consent(&ada, app, &["openid"]);
    consents
        .remember(&first, &audit(acme.id))
        .await
        .expect("remember");
    let wider = consent(&ada, app, &["openid", "email"]);
    consents
        .remember(&wider, &audit(acme.id))
        .await
        .expect("widen");
    let elsewhere = consent(&ada, other, &["openid"]);
    consents
        .remember(&elsewhere, &audit(acme.id))
        .await
        .expect("another");
    assert_eq!(
        consents.find(acme.id, ada.id, app).await.unwrap(),
        Some(wider.clone()),
        "one consent per application, replaced"
    );
    assert_eq!(consents.list(acme.id, ada.id).await.unwrap().len(), 2);
    let globex = tenant(store, "globex").await;
    assert_eq!(
        consents.find(globex.id, ada.id, app).await.unwrap(),
        None,
        "another tenant sees none"
    );

    let now = Utc::now().trunc_subsecs(6);
    assert_eq!(
        consents
            .forget(acme.id, ada.id, app, now, &audit(acme.id))
            .await
            .unwrap(),
        Some(Vec::new()),
        "withdrawn (no live grant to end)"
    );
    assert_eq!(
        consents
            .forget(acme.id, ada.id, app, now, &audit(acme.id))
            .await
            .unwrap(),
        None,
        "once"
    );

    UserRepository::erase(store, acme.id, ada.id, Utc::now(), false, &audit(acme.id))
        .await
        .expect("erase");
    assert_eq!(consents.list(acme.id, ada.id).await.unwrap(), []);
}
