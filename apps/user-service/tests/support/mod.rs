//! Builds the real application stack for `actix_web::test`, on a fresh SQLite database.
//! (Each test binary uses a different subset of these helpers.)
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use actix_http::body::MessageBody;
use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::Error;
use serde_json::{json, Value};
use tempfile::TempDir;
use user_service::http::state::AppState;
use user_service::wiring::{self, Database};
use usvc_config::{Config, ConfigSources};

/// Store work runs on a multi-threaded runtime, as in the server (actix test runtimes are
/// single-threaded, like actix workers).
fn store_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("store runtime")
    })
}

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

/// A migrated SQLite database under `dir` behind the app's ports.
pub async fn database(dir: &TempDir) -> Database {
    connect(config(&format!(
        "sqlite://{}/test.db",
        dir.path().display()
    )))
    .await
}

/// Connects (and migrates) what `config` names, as the server does.
pub async fn connect(config: Config) -> Database {
    store_runtime()
        .spawn(async move { wiring::connect(&config).await })
        .await
        .expect("join")
        .expect("connect")
}

/// Application state on a connected database, wired as `serve` wires it: a key ring under a
/// fresh master key, the bootstrap owner, the auth service.
pub async fn state_on(db: Database) -> AppState {
    state_sealed_by(db, secret_box()).await
}

/// A secret box under a fresh master key.
pub fn secret_box() -> Arc<dyn usvc_core::ports::SecretBox> {
    Arc::new(usvc_security::AesGcmSecretBox::new(
        &usvc_security::MasterKey::generate().expect("key"),
    ))
}

/// The same, with the key ring sealed by `secrets` (tests that mint their own tokens with
/// the service's key keep it).
pub async fn state_sealed_by(
    db: Database,
    secrets: Arc<dyn usvc_core::ports::SecretBox>,
) -> AppState {
    state_with(db, secrets, Outbox::default()).await
}

/// The mail the service sent, kept for the test to read (links included).
#[derive(Clone, Default)]
pub struct Outbox(Arc<std::sync::Mutex<Vec<usvc_core::ports::Message>>>);

#[async_trait::async_trait]
impl usvc_core::ports::Notifier for Outbox {
    async fn send(&self, message: usvc_core::ports::Message) -> Result<(), usvc_core::CoreError> {
        self.0.lock().expect("outbox").push(message);
        Ok(())
    }
}

impl Outbox {
    /// Every message sent to `to`, oldest first.
    pub fn to(&self, to: &str) -> Vec<usvc_core::ports::Message> {
        self.0
            .lock()
            .expect("outbox")
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .cloned()
            .collect()
    }

    /// The token in the newest link sent to `to`.
    pub fn token_for(&self, to: &str) -> Option<String> {
        let last = self.to(to).pop()?;
        let start = last.text.find("?token=")? + "?token=".len();
        Some(
            last.text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

/// Application state on a fresh database whose mail lands in the returned outbox.
pub async fn state_with_outbox() -> (AppState, TempDir, Outbox) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = database(&dir).await;
    let outbox = Outbox::default();
    (
        state_with(db, secret_box(), outbox.clone()).await,
        dir,
        outbox,
    )
}

async fn state_with(
    db: Database,
    secrets: Arc<dyn usvc_core::ports::SecretBox>,
    outbox: Outbox,
) -> AppState {
    state_configured(db, secrets, outbox, &[]).await
}

/// Application state on `db` with extra `settings` (`WORKFLOW_HTTP_ALLOW`, …).
pub async fn state_configured(
    db: Database,
    secrets: Arc<dyn usvc_core::ports::SecretBox>,
    outbox: Outbox,
    settings: &[(&str, &str)],
) -> AppState {
    let config = config_with("sqlite::memory:", settings);
    store_runtime()
        .spawn(async move {
            let tokens = user_service::wiring::keys::start(
                &config,
                db.signing_keys.clone(),
                secrets.clone(),
                db.invalidation.as_ref(),
            )
            .await
            .expect("key ring");
            let hasher = user_service::wiring::services::hasher().expect("hasher");
            user_service::wiring::services::bootstrap(&config, &db, &hasher)
                .await
                .expect("bootstrap");
            AppState::assemble(&config, db, tokens, hasher, secrets, Arc::new(outbox))
        })
        .await
        .expect("join")
}

/// Application state on a fresh database (keep the directory alive for the test).
pub async fn state() -> (AppState, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = database(&dir).await;
    (state_on(db).await, dir)
}

/// The same state with the database probe replaced.
pub fn with_health(
    mut state: AppState,
    health: Arc<dyn usvc_core::ports::HealthCheck>,
) -> AppState {
    state.db.health = health;
    state
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

/// What keeps a test's database alive: a temporary directory or a Postgres database.
pub enum Guard {
    /// SQLite under a temporary directory.
    Sqlite(TempDir),
    /// A Postgres database of its own, dropped with the guard.
    Postgres(usvc_postgres::testing::TestDatabase),
}

impl Guard {
    /// Runs one raw SQL statement on the test's database, past every port (an attacker or a
    /// careless operator with database access).
    pub async fn execute(&self, sql: &str) -> Result<usize, usvc_core::CoreError> {
        match self {
            Self::Sqlite(dir) => usvc_sqlite::testing::execute(&dir.path().join("test.db"), sql),
            Self::Postgres(db) => db.execute(sql).await,
        }
    }
}

/// Application state on a fresh Postgres database (mail into the outbox), or `None` when
/// `TEST_DATABASE_URL` is not set (with `REQUIRE_POSTGRES=1` that is a failure instead).
pub async fn postgres_state() -> Option<(AppState, Guard, Outbox)> {
    let db = usvc_postgres::testing::TestDatabase::from_env().await?;
    let database = connect(config(&db.url)).await;
    let outbox = Outbox::default();
    let state = state_with(database, secret_box(), outbox.clone()).await;
    Some((state, Guard::Postgres(db), outbox))
}

/// The same scenario on SQLite and on Postgres: `scenario(state, outbox)` runs once per store.
#[allow(unused_macros)] // each test binary uses the support module differently
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            #[actix_web::test]
            async fn sqlite() {
                let (state, _dir, outbox) = super::support::state_with_outbox().await;
                super::$scenario(state, outbox).await;
            }

            #[actix_web::test]
            async fn postgres() {
                let Some((state, _db, outbox)) = super::support::postgres_state().await else {
                    return;
                };
                super::$scenario(state, outbox).await;
            }
        }
    };
}

/// The catalogue of actions (docs/security.md), written out here so the tests do not take
/// the implementation's word for it.
pub const CATALOGUE: [&str; 20] = [
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
    "tenants:manage",
];

/// The tenant actions of the catalogue: all but the platform grant, `tenants:manage`.
pub fn tenant_actions() -> impl Iterator<Item = &'static str> {
    CATALOGUE.into_iter().filter(|a| *a != "tenants:manage")
}
