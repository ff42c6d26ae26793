//! `OAuthClientRepository`: a tenant's OAuth clients.

use crate::audit;
use chrono::{SubsecRound, Utc};
use serde_json::json;
use usvc_core::ports::{OAuthClientRepository, OAuthGrantRepository, TenantRepository};
use usvc_core::{
    ClientAuthMethod, ClientId, ClientKind, CoreError, GrantType, IdTokenAlg, OAuthClient, Tenant,
};

use crate::users::tenant;

fn client(t: &Tenant, name: &str) -> OAuthClient {
    let now = Utc::now().trunc_subsecs(6);
    OAuthClient {
        id: ClientId::new(),
        tenant_id: t.id,
        name: name.into(),
        kind: ClientKind::Confidential,
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: Some("ab".repeat(32)),
        jwks: None,
        redirect_uris: vec!["https://app.example.com/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: vec!["openid".into(), "email".into()],
        roles: vec![],
        trusted: false,
        id_token_alg: IdTokenAlg::RS256,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) async fn clients_round_trip_and_stay_in_their_tenant<S>(store: &S)
where
    S: TenantRepository + OAuthClientRepository,
{
    let clients: &dyn OAuthClientRepository = store;
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let grafana = client(&acme, "Grafana");
    clients
        .create(&grafana, &audit(acme.id))
        .await
        .expect("create");
    let other = client(&globex, "Grafana");
    clients
        .create(&other, &audit(globex.id))
        .await
        .expect("same name, other tenant");
    assert_eq!(
        clients.get(grafana.id).await.expect("get"),
        Some(grafana.clone()),
        "every field reads back as stored"
    );
    assert_eq!(
        clients.list(acme.id).await.expect("list"),
        std::slice::from_ref(&grafana)
    );

    // Everything but id, tenant, kind and creation changes; lists and keys read back.
    let mut changed = grafana.clone();
    changed.name = "Grafana (prod)".into();
    changed.auth_method = ClientAuthMethod::PrivateKeyJwt;
    changed.secret_hash = None;
    changed.jwks = Some(json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc"}]}));
    changed
        .redirect_uris
        .push("http://127.0.0.1:9000/cb".into());
    changed.post_logout_redirect_uris = vec!["https://app.example.com/bye".into()];
    changed.grant_types = vec![GrantType::AuthorizationCode, GrantType::ClientCredentials];
    changed.roles = vec!["viewer".into()];
    changed.trusted = true;
    changed.id_token_alg = IdTokenAlg::EdDSA;
    changed.updated_at = Utc::now().trunc_subsecs(6);
    clients
        .update(&changed, &audit(acme.id))
        .await
        .expect("update");
    assert_eq!(
        clients.get(grafana.id).await.expect("get"),
        Some(changed.clone())
    );

    // Another tenant can neither change nor delete it.
    let mut stolen = changed.clone();
    stolen.tenant_id = globex.id;
    assert!(matches!(
        clients.update(&stolen, &audit(globex.id)).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        clients
            .delete(globex.id, grafana.id, &audit(globex.id))
            .await,
        Err(CoreError::NotFound(_))
    ));
    assert_eq!(
        clients.get(grafana.id).await.expect("get"),
        Some(changed),
        "untouched by the other tenant"
    );

    clients
        .delete(acme.id, grafana.id, &audit(acme.id))
        .await
        .expect("delete");
    assert_eq!(clients.get(grafana.id).await.expect("get"), None);
    assert!(clients.list(acme.id).await.expect("list").is_empty());
    assert!(matches!(
        clients.delete(acme.id, grafana.id, &audit(acme.id)).await,
        Err(CoreError::NotFound(_))
    ));
    assert_eq!(
        clients.list(globex.id).await.expect("list"),
        vec![other],
        "the other tenant's client is still there"
    );
}

fn code(t: &Tenant, issued: chrono::DateTime<Utc>) -> usvc_core::AuthorizationCode {
    usvc_core::AuthorizationCode {
        hash: format!(
            "{}{}",
            uuid::Uuid::now_v7().simple(),
            uuid::Uuid::now_v7().simple()
        ),
        tenant_id: t.id,
        client_id: ClientId::new(),
        user_id: usvc_core::UserId::new(),
        browser_session: usvc_core::SessionId::new(),
        redirect_uri: "https://app.example.com/cb".into(),
        code_challenge: None,
        scope: vec!["openid".into()],
        nonce: None,
        auth_time: issued,
        amr: vec!["pwd".into()],
        issuer: "https://id.example.com".into(),
        created_at: issued,
        expires_at: issued + chrono::Duration::seconds(60),
        redeemed_at: None,
        session_id: None,
    }
}

pub(crate) async fn old_codes_are_forgotten<S>(store: &S)
where
    S: TenantRepository + OAuthGrantRepository,
{
    let grants: &dyn OAuthGrantRepository = store;
    let now = Utc::now().trunc_subsecs(6);
    let acme = tenant(store, "acme").await;
    let ancient = code(&acme, now - chrono::Duration::days(3));
    let recent = code(&acme, now - chrono::Duration::hours(1));
    for c in [&ancient, &recent] {
        grants.issue_code(c, &audit(acme.id)).await.expect("issue");
    }
    grants
        .issue_code(&code(&acme, now), &audit(acme.id))
        .await
        .expect("issue");
    assert_eq!(grants.find_code(ancient.hash.clone()).await.unwrap(), None);
    assert_eq!(
        grants.find_code(recent.hash.clone()).await.unwrap(),
        Some(recent),
        "an expired code is kept a day: a late reuse still revokes its grant"
    );
}
