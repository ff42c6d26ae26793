//! What the HTTP tests share: [`TestApp`] (the real application stack on a fresh database,
//! built as `serve` builds it), requests and logins, the catalogue of actions.
//! (Each test binary uses a different subset of these helpers.)
#![allow(dead_code)]

mod test_app;

use std::collections::HashMap;
use std::sync::Arc;

use actix_http::body::MessageBody;
use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::Error;
use serde_json::{json, Value};
use usvc_config::{Config, ConfigSources};

#[allow(unused_imports)] // each test binary uses a different part
pub use test_app::{Mailbox, TestApp, TestDatabase};

/// The bootstrap owner every test state starts with.
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// Their password.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A configuration with the given database URL (and the bootstrap owner above).
pub fn config(database_url: &str) -> Config {
    config_with(database_url, &[])
}

/// [`config`] with more settings.
pub fn config_with(database_url: &str, settings: &[(&str, &str)]) -> Config {
    let env: HashMap<String, String> = [
        ("DATABASE_URL", database_url),
        ("BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
        ("BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
    ]
    .iter()
    .chain(settings)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    Config::load(&ConfigSources { file: None, env }).expect("valid config")
}

/// A secret box under a fresh master key.
pub fn secret_box() -> Arc<dyn usvc_core::ports::SecretBox> {
    Arc::new(usvc_security::AesGcmSecretBox::new(
        &usvc_security::MasterKey::generate().expect("key"),
    ))
}

/// One request through the app: method, path, optional bearer token and JSON body; the status
/// and the JSON answer (`null` when the body is not JSON).
pub async fn call<S, B>(
    app: &S,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let mut req = actix_web::test::TestRequest::default()
        .method(method)
        .uri(uri);
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = body {
        req = req.set_json(body);
    }
    let res = actix_web::test::call_service(app, req.to_request()).await;
    let status = res.status();
    let bytes = actix_web::test::read_body(res).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Saves a workflow `definition` (as the holder of `token`); its id.
pub async fn define<S, B>(app: &S, token: &str, definition: Value) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let (status, saved) = call(
        app,
        Method::POST,
        "/api/v1/workflows",
        Some(token),
        Some(definition),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    saved["id"].as_str().unwrap().to_owned()
}

/// Logs in; returns (access token, refresh token).
pub async fn login<S, B>(app: &S, tenant: &str, email: &str, password: &str) -> (String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let (status, body) = call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": tenant, "email": email, "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "login {email}: {body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// An access token of the bootstrap owner of tenant `default`.
pub async fn owner_token<S, B>(app: &S) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    login(app, "default", ADMIN_EMAIL, ADMIN_PASSWORD).await.0
}

/// The password [`join`] gives the users it creates.
pub const USER_PASSWORD: &str = "a long and unusual passphrase";

/// Creates a user of the default tenant with `roles` (as `admin`, an access token allowed to)
/// and logs them in; returns (access token, user id).
pub async fn join<S, B>(app: &S, admin: &str, email: &str, roles: &[&str]) -> (String, String)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let (status, user) = call(
        app,
        Method::POST,
        "/api/v1/users",
        Some(admin),
        Some(json!({"email": email, "password": USER_PASSWORD, "roles": roles})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (token, _) = login(app, "default", email, USER_PASSWORD).await;
    (token, user["id"].as_str().unwrap().to_owned())
}

/// The actions of the audit rows `query` selects (`resource=project:…`), newest first.
pub async fn audit_actions<S, B>(app: &S, token: &str, query: &str) -> Vec<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let (status, trail) = call(
        app,
        Method::GET,
        &format!("/api/v1/audit?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

/// The same scenario on SQLite and on Postgres: `scenario(app)` runs once per store, each on a
/// fresh database (Postgres when `TEST_DATABASE_URL` is set; required in CI).
#[allow(unused_macros)] // each test binary uses the support module differently
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                super::$scenario(super::support::TestApp::sqlite().start().await).await;
            }

            #[actix_web::test]
            async fn postgres() {
                let Some(app) = super::support::TestApp::postgres()
                    .start_if_available()
                    .await
                else {
                    return;
                };
                super::$scenario(app).await;
            }
        }
    };
}

/// The catalogue of actions (docs/security.md), written out here so the tests do not take
/// the implementation's word for it.
pub const CATALOGUE: [&str; 21] = [
    "users:read",
    "users:write",
    "users:delete",
    "users:import",
    "users:manage_owners",
    "roles:manage",
    "tenant:read",
    "tenant:write",
    "analytics:read",
    "audit:read",
    "projects:create",
    "projects:read",
    "projects:write",
    "projects:delete",
    "projects:manage_members",
    "workflows:read",
    "workflows:write",
    "workflows:execute",
    "tasks:complete",
    "clients:manage",
    "tenants:manage",
];

/// The tenant actions of the catalogue: all but the platform grant, `tenants:manage`.
pub fn tenant_actions() -> impl Iterator<Item = &'static str> {
    CATALOGUE.into_iter().filter(|a| *a != "tenants:manage")
}
