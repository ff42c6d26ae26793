//! Connecting and migrating.

use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncMigrationHarness, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::runtime::Handle;
use usvc_core::CoreError;

use crate::backend::Connection;
use crate::connect::connect;
use crate::store::{Store, StoreOptions};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Held while migrating, so replicas starting together migrate one after the other.
const MIGRATION_LOCK: i64 = 0x7573_7663_6d69_6772; // "usvcmigr"

/// A pool on `url`. Connections are made lazily, so this succeeds while the database is down;
/// call [`migrate`] (which needs it up) before serving.
///
/// A connection going back into use is not pinged (`RecyclingMethod::Fast`): the ping was a
/// round trip, and a transaction on the server, before every unit of work — on the hot path
/// and, at idle, most of the database load. A connection the server closed is still never
/// handed out (its client task has ended, which `is_broken` sees). One lost silently on the
/// network (no FIN or RST: a failover, a dropped route) now fails one unit of work at the
/// query timeout, where the ping would have failed at the pool's recycle timeout and been
/// replaced: TCP keepalives on the connections are the follow-up (docs/benchmarks.md).
pub fn open(url: &str, options: StoreOptions, runtime: Handle) -> Result<Store, CoreError> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    Store::build(
        AsyncDieselConnectionManager::<Connection>::new_with_config(url, config),
        options,
        runtime,
    )
}

/// Applies pending migrations under an advisory lock; returns how many ran. Connecting may
/// take at most `connect_timeout`.
pub async fn migrate(
    url: &str,
    connect_timeout: std::time::Duration,
    runtime: &Handle,
) -> Result<usize, CoreError> {
    let url = url.to_owned();
    let task = runtime.spawn(async move {
        let unavailable = |e: &dyn std::fmt::Display| {
            CoreError::Unavailable(format!("postgres migration failed: {e}"))
        };
        let mut conn = connect(&url, connect_timeout, "postgres migration").await?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .execute(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(MIGRATIONS)
            .map(|done| done.len())
            .map_err(|e| unavailable(&e));
        let mut conn = harness.into_inner();
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .execute(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        applied
    });
    let applied = task
        .await
        .map_err(|e| CoreError::Internal(format!("migration task failed: {e}")))??;
    if applied > 0 {
        tracing::info!(applied, "postgres migrations applied");
    }
    Ok(applied)
}
