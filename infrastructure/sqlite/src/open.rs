//! Opening the database file, tuning each connection and running the embedded migrations.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use diesel::connection::SimpleConnection;
use diesel::{Connection as _, ConnectionError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::runtime::Handle;
use usvc_core::CoreError;

use crate::backend::Connection;
use crate::store::{Store, StoreOptions};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Applied to every new connection: `busy_timeout` first (so the rest queue rather than fail
/// when many connections open at once), WAL lets readers run beside the single writer,
/// foreign keys are off by default. Public so the benchmark's raw-commit yardstick runs with
/// exactly the service's settings.
pub const PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// The file a `sqlite://PATH` URL names, or `None` for `sqlite::memory:`.
pub fn path_of(url: &str) -> Option<PathBuf> {
    url.strip_prefix("sqlite://").map(PathBuf::from)
}

/// Opens (creating if needed, with its directory) the database of `url`; call [`migrate`]
/// before use. Queries run on `runtime`, which must be multi-threaded.
///
/// `sqlite::memory:` gets one connection, whatever `options` says: connections to a
/// shared-cache in-memory database lock whole tables and fail at once on a held lock
/// (`SQLITE_LOCKED` ignores `busy_timeout`), so a second connection would turn concurrency
/// into "database table is locked" errors. The database lives as long as the store (an idle
/// connection of its own holds it open).
pub async fn open(url: &str, options: StoreOptions, runtime: Handle) -> Result<Store, CoreError> {
    let mut options = options;
    let (target, anchor) = if let Some(path) = path_of(url) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                CoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        (path.to_string_lossy().into_owned(), None)
    } else {
        // One shared in-memory database per store. An idle connection of its own keeps it
        // alive while the pool replaces its one working connection (after a query timeout).
        options.pool_size = 1;
        let target = format!(
            "file:usvc-{}?mode=memory&cache=shared",
            uuid::Uuid::now_v7().simple()
        );
        let anchor = diesel::SqliteConnection::establish(&target)
            .map_err(|e| CoreError::Unavailable(format!("in-memory database: {e}")))?;
        let anchor: Arc<dyn std::any::Any + Send + Sync> = Arc::new(Mutex::new(anchor));
        (target, Some(anchor))
    };
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(|target| Box::pin(establish(target.to_owned())));
    // No `SELECT 1` before each unit of work (a blocking-pool hop each): a database file's
    // connection does not go away under us.
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<Connection>::new_with_config(target, config);
    let store = Store::build(manager, options, runtime)?.single_writer();
    Ok(match anchor {
        Some(anchor) => store.anchored(anchor),
        None => store,
    })
}

async fn establish(target: String) -> diesel::ConnectionResult<Connection> {
    let mut conn = Connection::establish(&target).await?;
    conn.spawn_blocking(|c| c.batch_execute(PRAGMAS))
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Applies pending migrations; returns how many ran. [`open`] calls it; `user-service migrate`
/// reports its count.
pub async fn migrate(store: &Store) -> Result<usize, CoreError> {
    let applied = store
        .run(|conn| {
            Box::pin(async move {
                conn.spawn_blocking(|c| {
                    c.run_pending_migrations(MIGRATIONS)
                        .map(|done| done.len())
                        .map_err(diesel::result::Error::QueryBuilderError)
                })
                .await
                .map_err(|e| CoreError::Unavailable(format!("sqlite migration failed: {e}")))
            })
        })
        .await?;
    if applied > 0 {
        tracing::info!(applied, "sqlite migrations applied");
    }
    Ok(applied)
}
