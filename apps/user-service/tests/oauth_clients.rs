//! The OAuth client registry over HTTP (`/api/v1/oauth/clients`): registration with a secret
//! shown once, validation naming each field, who may manage clients, what roles a client may
//! be given, tenant isolation and the audit trail.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{audit_actions, call, join};

const CLIENTS: &str = "/api/v1/oauth/clients";

async fn clients_are_registered_changed_and_removed(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let grafana = json!({
        "name": "Grafana",
        "redirect_uris": ["https://grafana.example.com/login/generic_oauth"],
    });
    let (status, created) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(grafana.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 40, "a long random secret: {secret}");
    assert_eq!(created["kind"], "confidential");
    assert_eq!(created["auth_method"], "client_secret_basic");
    assert_eq!(
        created["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(created["scopes"], json!(["openid", "profile", "email"]));
    assert_eq!(created["id_token_alg"], "RS256");

    // The secret is shown once: neither a read nor the list has it.
    let (status, read) = call(
        &app,
        Method::GET,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(read.get("client_secret").is_none(), "{read}");
    let (_, list) = call(&app, Method::GET, CLIENTS, Some(&root), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("client_secret").is_none());

    // A read sent back with a change is a valid replacement; the secret stays.
    let mut changed = read.clone();
    changed["name"] = json!("Grafana (prod)");
    changed["trusted"] = json!(true);
    let (status, updated) = call(
        &app,
        Method::PUT,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        Some(changed),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Grafana (prod)");
    assert!(
        updated.get("client_secret").is_none(),
        "no new secret: {updated}"
    );

    // The kind is fixed.
    let mut public = read.clone();
    public["kind"] = json!("public");
    let (status, problem) = call(
        &app,
        Method::PUT,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        Some(public),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "kind");

    // A rotated secret is new.
    let (status, rotated) = call(
        &app,
        Method::POST,
        &format!("{CLIENTS}/{id}/secret"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["client_secret"].as_str().unwrap();
    assert_ne!(second, secret);

    // A public client gets no secret, and cannot rotate one.
    let (status, spa) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(json!({"name": "SPA", "kind": "public", "redirect_uris": ["http://127.0.0.1:5173/cb"], "id_token_alg": "EdDSA"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{spa}");
    assert_eq!(spa["auth_method"], "none");
    assert!(spa.get("client_secret").is_none());
    let spa_id = spa["client_id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("{CLIENTS}/{spa_id}/secret"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let trail = audit_actions(&app, &root, &format!("resource=oauth_client:{id}")).await;
    assert_eq!(
        trail,
        [
            "oauth_client.deleted",
            "oauth_client.secret_rotated",
            "oauth_client.updated",
            "oauth_client.created"
        ]
    );
}
on_both_stores!(clients_are_registered_changed_and_removed);

async fn bad_definitions_are_refused_field_by_field(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    for (body, field) in [
        (
            json!({"name": "", "redirect_uris": ["https://a.example/cb"]}),
            "name",
        ),
        (
            json!({"name": "x", "redirect_uris": ["http://evil.example/cb"]}),
            "redirect_uris[0]",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example/cb#f"]}),
            "redirect_uris[0]",
        ),
        (
            json!({"name": "x", "redirect_uris": ["javascript:alert(1)"], "kind": "public"}),
            "redirect_uris[0]",
        ),
        (json!({"name": "x", "redirect_uris": []}), "redirect_uris"),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example/cb"], "scopes": ["openid", "root"]}),
            "scopes[1]",
        ),
        (
            json!({"name": "x", "kind": "public", "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
            "grant_types",
        ),
        (
            json!({"name": "x", "kind": "public", "auth_method": "client_secret_post", "redirect_uris": ["https://a.example/cb"]}),
            "auth_method",
        ),
        (
            json!({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.example/cb"]}),
            "jwks",
        ),
        (
            json!({"name": "x", "auth_method": "private_key_jwt", "redirect_uris": ["https://a.example/cb"], "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "jwks.keys[0]",
        ),
        (
            json!({"name": "x", "redirect_uris": ["https://a.example/cb"], "roles": ["viewer"]}),
            "roles",
        ),
        (
            json!({"name": "x", "grant_types": ["client_credentials"], "roles": ["no-such-role"]}),
            "roles[0]",
        ),
    ] {
        let (status, problem) =
            call(&app, Method::POST, CLIENTS, Some(&root), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    // Shape errors are 400 too, never a 500.
    for body in [
        json!({"name": "x", "grant_types": ["implicit"]}),
        json!({"name": "x", "kind": "hybrid"}),
        json!({"name": "x", "secret": "mine"}),
    ] {
        let (status, problem) =
            call(&app, Method::POST, CLIENTS, Some(&root), Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
    }
    let (_, list) = call(&app, Method::GET, CLIENTS, Some(&root), None).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
}
on_both_stores!(bad_definitions_are_refused_field_by_field);

async fn only_managers_register_and_nobody_gives_a_client_more_than_they_hold(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (member, _) = join(&app, &root, "member@example.com", &["member"]).await;
    let (admin, _) = join(&app, &root, "deputy@example.com", &["admin"]).await;
    let service_account = |roles: &[&str]| json!({"name": "robot", "grant_types": ["client_credentials"], "roles": roles});

    let (status, _) = call(&app, Method::GET, CLIENTS, Some(&member), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&member),
        Some(service_account(&[])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        Method::POST,
        CLIENTS,
        None,
        Some(service_account(&[])),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A client manager gives a client only roles whose powers they hold; no client is an
    // owner.
    let (status, role) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&root),
        Some(json!({"name": "integrator", "permissions": ["clients:manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (integrator, _) = join(&app, &root, "ivy@example.com", &["integrator"]).await;
    let (status, made) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&admin),
        Some(service_account(&["admin"])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (status, problem) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&integrator),
        Some(service_account(&["admin"])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(service_account(&["owner"])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // Nor take such a role off a client, or remove it: that takes holding it.
    let owned_id = made["client_id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("{CLIENTS}/{owned_id}"),
        Some(&integrator),
        Some(service_account(&["viewer"])),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "taking the role off takes holding it"
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{CLIENTS}/{owned_id}"),
        Some(&integrator),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A trusted client with the `api` scope would hand its registrant any signed-in user's
    // API powers without a consent page: only a caller holding every tenant action makes,
    // rotates or removes one.
    let silent = json!({"name": "silent", "redirect_uris": ["https://a.example/cb"], "trusted": true, "scopes": ["openid", "api"]});
    let (status, problem) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&admin),
        Some(silent.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, made) = call(&app, Method::POST, CLIENTS, Some(&root), Some(silent)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let silent_id = made["client_id"].as_str().unwrap();
    for (method, path) in [
        (Method::POST, format!("{CLIENTS}/{silent_id}/secret")),
        (Method::DELETE, format!("{CLIENTS}/{silent_id}")),
    ] {
        let (status, _) = call(&app, method.clone(), &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    let untrusted = json!({"name": "asks", "redirect_uris": ["https://a.example/cb"], "scopes": ["openid", "api"]});
    let (status, made) = call(&app, Method::POST, CLIENTS, Some(&admin), Some(untrusted)).await;
    assert_eq!(status, StatusCode::CREATED, "its users are asked: {made}");
    let trail = audit_actions(&app, &root, "action=authz.denied").await;
    assert!(trail.len() >= 3, "refusals are audited: {trail:?}");
}
on_both_stores!(only_managers_register_and_nobody_gives_a_client_more_than_they_hold);

async fn another_tenants_client_does_not_exist(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, created) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(json!({"name": "Mine", "redirect_uris": ["https://a.example/cb"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["client_id"].as_str().unwrap();
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(json!({"slug": "globex", "name": "Globex", "owner": {"email": "boss@globex.test", "password": support::USER_PASSWORD}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (other, _) =
        support::login(&app, "globex", "boss@globex.test", support::USER_PASSWORD).await;
    for (method, path, body) in [
        (Method::GET, format!("{CLIENTS}/{id}"), None),
        (
            Method::PUT,
            format!("{CLIENTS}/{id}"),
            Some(json!({"name": "Theirs", "redirect_uris": ["https://b.example/cb"]})),
        ),
        (Method::POST, format!("{CLIENTS}/{id}/secret"), None),
        (Method::DELETE, format!("{CLIENTS}/{id}"), None),
    ] {
        let (status, _) = call(&app, method.clone(), &path, Some(&other), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (_, list) = call(&app, Method::GET, CLIENTS, Some(&other), None).await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("{CLIENTS}/not-an-id"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
on_both_stores!(another_tenants_client_does_not_exist);

/// A form POSTed to `path`, with HTTP Basic client authentication when `client` is given;
/// the status and the JSON answer.
async fn form_post<S, B>(
    app: &S,
    path: &str,
    client: Option<(&str, &str)>,
    form: &str,
) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    use base64::Engine as _;
    let mut req = actix_web::test::TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(form.to_owned());
    if let Some((id, secret)) = client {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.insert_header(("Authorization", format!("Basic {basic}")));
    }
    let res = actix_web::test::call_service(app, req.to_request()).await;
    let status = res.status();
    let body = actix_web::test::read_body(res).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A token request with HTTP Basic client authentication.
async fn token_request<S, B>(app: &S, client: (&str, &str), form: &str) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    form_post(app, "/oauth/token", Some(client), form).await
}

async fn a_client_acts_as_its_service_account(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, made) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(json!({"name": "Nightly report", "grant_types": ["client_credentials"], "scopes": ["api"], "roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["client_id"].as_str().unwrap().to_owned();
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    let me = (id.as_str(), secret.as_str());

    let (status, tokens) = token_request(&app, me, "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "api");
    assert!(
        tokens.get("refresh_token").is_none(),
        "RFC 6749 4.4.3: {tokens}"
    );
    assert!(
        tokens.get("id_token").is_none(),
        "nobody signed in: {tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // The token is the service account's: a user with the client's id and roles, whose
    // address nobody can take.
    let (status, profile) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["id"], id.as_str());
    assert_eq!(profile["roles"], json!(["member"]));
    let address = profile["email"].as_str().unwrap().to_owned();
    assert!(address.ends_with("@service-accounts.invalid"), "{address}");
    let (status, made_project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&access),
        Some(json!({"name": "Made by a machine"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a member may create: {made_project}"
    );
    let (status, refused) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": address, "password": support::USER_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "email", "{refused}");

    // The account is its client's: its address and roles are not the users API's, it
    // registers no passkey, and no client is an owner.
    for change in [
        json!({"email": "mine@example.com"}),
        json!({"roles": ["admin"]}),
    ] {
        let (status, body) = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(&root),
            Some(change.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}: {body}");
    }
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys/registration",
        Some(&access),
        Some(json!({"password": "anything"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an application's token adds no passkey"
    );
    let (status, body) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(json!({"name": "Boss", "grant_types": ["client_credentials"], "scopes": ["api"], "roles": ["owner"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Taking a role from the client takes it from tokens already issued.
    let (_, mut definition) = call(
        &app,
        Method::GET,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        None,
    )
    .await;
    definition["roles"] = json!(["viewer"]);
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        Some(definition),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&access),
        Some(json!({"name": "Not any more"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // What it may not have: scopes about a person, a wrong secret, another grant.
    let (status, body) =
        token_request(&app, me, "grant_type=client_credentials&scope=openid").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    let (status, body) = token_request(
        &app,
        (&id, "not-the-secret"),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = token_request(
        &app,
        me,
        "grant_type=authorization_code&code=x&redirect_uri=https://a.example/cb",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );

    // Revoking the token ends it at once (RFC 7009).
    let form = format!("token={access}");
    let (status, _) = form_post(&app, "/oauth/revoke", Some(me), &form).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Disabling the account stops the client; removing the client disables the account and
    // ends its tokens.
    let (_, tokens) = token_request(&app, me, "grant_type=client_credentials").await;
    let second = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = token_request(&app, me, "grant_type=client_credentials").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = token_request(&app, me, "grant_type=client_credentials").await;
    let third = tokens["access_token"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&third),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("{CLIENTS}/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&second, &third] {
        let (status, _) = call(
            &app,
            Method::GET,
            "/api/v1/users/profile",
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (_, account) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        account["status"], "disabled",
        "its history stays: {account}"
    );

    let trail = audit_actions(&app, &root, "action=oauth_client.service_account_created").await;
    assert_eq!(trail.len(), 1, "made once: {trail:?}");
    let issued = audit_actions(&app, &root, "action=oauth.token_issued").await;
    assert_eq!(issued.len(), 3, "{issued:?}");
}
on_both_stores!(a_client_acts_as_its_service_account);

/// A compact JWS of `claims` with `header`, signed by `sign` over `header.payload`.
fn jws(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
    format!("{input}.{signature}")
}

/// A token request authenticated by `assertion` alone (no Basic header, no secret).
async fn asserted<S, B>(app: &S, assertion: &str, extra: &str) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let form = format!(
        "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}{extra}"
    );
    form_post(app, "/oauth/token", None, &form).await
}

async fn a_client_proves_itself_with_a_signed_assertion(t: TestApp) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;
    use hmac::Mac as _;

    let (app, root) = t.serve_as_owner().await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key().to_bytes();
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": "k1", "use": "sig",
                     "x": URL_SAFE_NO_PAD.encode(public)});
    let (status, made) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(
            json!({"name": "Signed", "auth_method": "private_key_jwt", "jwks": {"keys": [jwk]},
                    "grant_types": ["client_credentials"], "scopes": ["api"], "roles": ["viewer"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made.get("client_secret").is_none(), "no secret: {made}");
    let id = made["client_id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().timestamp();
    let claims = |jti: &str| {
        json!({"iss": id, "sub": id, "aud": "http://localhost:8008/oauth/token",
               "exp": now + 120, "iat": now, "jti": jti})
    };
    let ed = |claims: &Value| {
        jws(&json!({"alg": "EdDSA", "kid": "k1"}), claims, |input| {
            key.sign(input).to_bytes().to_vec()
        })
    };

    let good = ed(&claims("first"));
    let (status, tokens) = asserted(&app, &good, "").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, profile) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        tokens["access_token"].as_str(),
        None,
    )
    .await;
    assert_eq!(
        (status, profile["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );

    // Each refused with invalid_client, and audited in the client's tenant.
    let none = jws(&json!({"alg": "none"}), &claims("none"), |_| Vec::new());
    let hs256 = jws(
        &json!({"alg": "HS256", "kid": "k1"}),
        &claims("hmac"),
        |input| {
            // The classic confusion: an HMAC keyed with the client's *public* key.
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&public).unwrap();
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        },
    );
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let foreign = jws(
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &claims("foreign"),
        |input| stranger.sign(input).to_bytes().to_vec(),
    );
    let mut elsewhere = claims("elsewhere");
    elsewhere["aud"] = json!("https://other.example/oauth/token");
    let mut forever = claims("forever");
    forever["exp"] = json!(now + 86_400);
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for (what, assertion, extra, reason) in [
        ("alg none", none, "", "`none`"),
        ("HS256", hs256, "", "`HS256`"),
        (
            "another key",
            foreign,
            "",
            "none of the client's registered keys",
        ),
        (
            "a tampered signature",
            tampered,
            "",
            "none of the client's registered keys",
        ),
        ("a replay", good.clone(), "", "already used"),
        ("another audience", ed(&elsewhere), "", "aud"),
        ("a long life", ed(&forever), "", "too long"),
        (
            "another client_id",
            ed(&claims("other-id")),
            "&client_id=someone-else",
            "client_id",
        ),
    ] {
        let (status, body) = asserted(&app, &assertion, extra).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(reason), "{what}: {body}");
    }
    let (status, _) = token_request(&app, (&id, "a-guess"), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no secret opens it");
    let refusals = audit_actions(&app, &root, "action=oauth.token_refused").await;
    assert_eq!(refusals.len(), 9, "every refusal audited: {refusals:?}");
}
on_both_stores!(a_client_proves_itself_with_a_signed_assertion);

async fn the_sign_in_page_wears_the_tenants_branding(t: TestApp) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (app, root) = t.serve_as_owner().await;
    let branding = json!({"display_name": "Acme Corp", "logo_url": "https://cdn.acme.example/logo.svg",
                          "primary_color": "#ffee00", "background_color": "#0f172a"});
    let (status, tenant) = call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({ "branding": branding })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["settings"]["branding"], branding);
    // Only plain values: nothing typed here runs on the pages.
    let (status, refused) = call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({"branding": {"logo_url": "javascript:alert(1)", "primary_color": "red;}*{display:none"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["branding.logo_url", "branding.primary_color"]);

    let (_, made) = call(
        &app,
        Method::POST,
        CLIENTS,
        Some(&root),
        Some(json!({"name": "Portal", "redirect_uris": ["https://portal.example/cb"]})),
    )
    .await;
    let id = made["client_id"].as_str().unwrap();
    let req = actix_web::test::TestRequest::get()
        .uri(&format!(
            "/oauth/authorize?response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fportal.example%2Fcb&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
        ))
        .to_request();
    let res = actix_web::test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let page = String::from_utf8(actix_web::test::read_body(res).await.to_vec()).unwrap();
    // Attribute values are escaped (`/` as `&#x2f;`), which a browser reads back as written.
    assert!(
        page.contains(
            "<img class=\"logo\" src=\"https:&#x2f;&#x2f;cdn.acme.example&#x2f;logo.svg\""
        ),
        "{page}"
    );
    assert!(page.contains("Acme Corp"), "{page}");
    // The colours arrive with text that reads on them, in the one inline style the policy
    // allows by its hash.
    let style = page
        .split("<style>")
        .nth(1)
        .and_then(|rest| rest.split("</style>").next())
        .expect("the brand's style");
    assert!(
        style.contains("--accent:#ffee00;--on-accent:#000000"),
        "{style}"
    );
    assert!(style.contains("--bg:#0f172a;--on-bg:#ffffff"), "{style}");
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
    assert!(
        csp.contains(&format!("style-src 'self' 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}
on_both_stores!(the_sign_in_page_wears_the_tenants_branding);

async fn browser_applications_may_call_the_provider_across_origins(t: TestApp) {
    let app = t.service().await;
    for path in [
        "/oauth/userinfo",
        "/oauth/token",
        "/oauth/revoke",
        "/t/default/oauth/userinfo",
    ] {
        let req = actix_web::test::TestRequest::default()
            .method(Method::OPTIONS)
            .uri(path)
            .insert_header(("Origin", "https://spa.example"))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "authorization"))
            .to_request();
        let res = actix_web::test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(header("access-control-allow-origin"), "*", "{path}");
        assert!(
            header("access-control-allow-headers").contains("Authorization"),
            "{path}"
        );
        assert!(
            header("access-control-allow-credentials").is_empty(),
            "never with cookies"
        );
    }
    // The answers themselves carry the header too, refusals included.
    let req = actix_web::test::TestRequest::post()
        .uri("/oauth/token")
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload("grant_type=refresh_token&client_id=nobody")
        .to_request();
    let res = actix_web::test::call_service(&app, req).await;
    assert!(res.status().is_client_error());
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
    let req = actix_web::test::TestRequest::get()
        .uri("/oauth/userinfo")
        .insert_header(("Origin", "https://spa.example"))
        .to_request();
    let res = actix_web::test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
}
on_both_stores!(browser_applications_may_call_the_provider_across_origins);
