//! Builds the real application stack for `actix_web::test`, on a fresh SQLite database.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tempfile::TempDir;
use user_service::state::AppState;
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

/// A configuration with the given database URL.
pub fn config(database_url: &str) -> Config {
    let env: HashMap<String, String> =
        [("DATABASE_URL".to_owned(), database_url.to_owned())].into();
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

/// Application state on a connected database: a key ring under a fresh master key.
pub async fn state_on(db: Database) -> AppState {
    let config = config("sqlite::memory:");
    let secrets: Arc<dyn usvc_core::ports::SecretBox> = Arc::new(
        usvc_security::AesGcmSecretBox::new(&usvc_security::MasterKey::generate().expect("key")),
    );
    let repo = db.signing_keys.clone();
    let tokens = store_runtime()
        .spawn(async move { user_service::keys::start(&config, repo, secrets).await })
        .await
        .expect("join")
        .expect("key ring");
    AppState::new(db, tokens)
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
