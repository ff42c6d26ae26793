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

/// A configuration with a database under `dir`.
pub fn config(dir: &TempDir) -> Config {
    let env: HashMap<String, String> = [(
        "DATABASE_URL".to_owned(),
        format!("sqlite://{}/test.db", dir.path().display()),
    )]
    .into();
    Config::load(&ConfigSources { file: None, env }).expect("valid config")
}

/// A migrated SQLite database behind the app's ports.
pub async fn database(dir: &TempDir) -> Database {
    let config = config(dir);
    store_runtime()
        .spawn(async move { wiring::connect(&config).await })
        .await
        .expect("join")
        .expect("connect")
}

/// Application state on a fresh database (keep the directory alive for the test).
pub async fn state() -> (AppState, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = database(&dir).await;
    (AppState::new(db), dir)
}

/// The same state with the database probe replaced.
pub fn with_health(
    mut state: AppState,
    health: Arc<dyn usvc_core::ports::HealthCheck>,
) -> AppState {
    state.db.health = health;
    state
}
