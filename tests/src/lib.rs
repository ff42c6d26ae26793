//! Shared set-up for the suites in this crate: a store of each kind, fresh per test.
//!
//! - `conformance/`: every repository port against SQLite and Postgres, same assertions.
//! - `e2e/`: the real `user-service` binary, spawned and driven over HTTP.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

use std::time::Duration;

use tempfile::TempDir;
use tokio::runtime::Handle;
use usvc_postgres::testing::TestDatabase;
use usvc_postgres::PgStore;
use usvc_sqlite::SqliteStore;

/// Small pools and short timeouts: tests should fail fast, not hang.
pub fn test_options() -> (usize, Duration) {
    (4, Duration::from_secs(10))
}

/// A migrated SQLite store in a temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/test.db", dir.path().display());
    let (pool_size, timeout) = test_options();
    let options = usvc_sqlite::StoreOptions {
        pool_size,
        timeout,
        ..usvc_sqlite::StoreOptions::default()
    };
    let store = usvc_sqlite::open(&url, options, Handle::current())
        .await
        .expect("open sqlite");
    usvc_sqlite::migrate(&store).await.expect("migrate sqlite");
    (store, dir)
}

/// A migrated Postgres store on a database of its own, or `None` when Postgres is not
/// configured (see `usvc_postgres::testing::test_database_url`).
pub async fn postgres_store() -> Option<(PgStore, TestDatabase)> {
    let db = TestDatabase::from_env().await?;
    let (pool_size, timeout) = test_options();
    usvc_postgres::migrate(&db.url, timeout, &Handle::current())
        .await
        .expect("migrate postgres");
    let options = usvc_postgres::StoreOptions {
        pool_size,
        timeout,
        ..usvc_postgres::StoreOptions::default()
    };
    let store = usvc_postgres::open(&db.url, options, Handle::current()).expect("open postgres");
    Some((store, db))
}

/// Defines one conformance test run against both stores, as `<name>::sqlite` and
/// `<name>::postgres`. The body is an async fn taking the store by reference.
#[macro_export]
macro_rules! conformance {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _dir) = $crate::sqlite_store().await;
                super::$body(&store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((store, _db)) = $crate::postgres_store().await else {
                    return;
                };
                super::$body(&store).await;
            }
        }
    };
}

/// An audit entry for a change made directly through a repository in a test: the repositories
/// append it in the change's transaction, so the tests exercise that path too.
pub fn audit(tenant: usvc_core::TenantId) -> usvc_core::AuditEntry {
    usvc_core::AuditEntry::system(tenant, "test.change", chrono::Utc::now())
}
