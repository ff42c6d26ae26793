use usvc_core::ports::{HealthCheck, HealthStatus};
use usvc_tests::conformance;

async fn a_reachable_store_is_healthy_and_reports_its_pool(store: &dyn HealthCheck) {
    assert_eq!(store.name(), "database_connection");
    let health = store.check().await;
    assert_eq!(health.status, HealthStatus::Healthy, "{:?}", health.error);
    let pool = store.pool_stats().expect("a pool");
    assert_eq!(pool.max_size, usvc_tests::test_options().0 as u64);
    assert!(pool.size >= 1, "the ping opened a connection");
}
conformance!(health, a_reachable_store_is_healthy_and_reports_its_pool);

/// How long the idle-sweep test's pools keep an unused connection.
const IDLE: std::time::Duration = std::time::Duration::from_millis(300);

/// A burst opens several connections; once they sit unused for the idle timeout, all but one
/// are closed (what a load left open is given back: ADR 0029), and the pool still serves.
/// Light traffic goes on meanwhile, a check every sixth of the timeout: the pool must keep
/// handing out the same connection (the one returned last), or every connection would be
/// used within the timeout and none would ever be closed.
async fn idle_connections_are_closed_down_to_one(store: &dyn HealthCheck) {
    // One connection first (on SQLite it switches the new file to WAL alone).
    assert_eq!(store.check().await.status, HealthStatus::Healthy);
    let checks = (0..16).map(|_| store.check());
    for health in futures::future::join_all(checks).await {
        assert_eq!(health.status, HealthStatus::Healthy, "{:?}", health.error);
    }
    let opened = store.pool_stats().expect("a pool").size;
    assert!(
        opened > 1,
        "16 checks at once opened {opened} connection(s)"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut size = opened;
    while size > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(IDLE / 6).await;
        assert_eq!(store.check().await.status, HealthStatus::Healthy);
        size = store.pool_stats().expect("a pool").size;
    }
    assert_eq!(
        size, 1,
        "{opened} connections, still {size} after 10 s idle"
    );
    assert_eq!(store.check().await.status, HealthStatus::Healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_closes_idle_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/test.db", dir.path().display());
    let options = usvc_sqlite::StoreOptions {
        pool_size: 4,
        idle_timeout: IDLE,
        ..usvc_sqlite::StoreOptions::default()
    };
    let store = usvc_sqlite::open(&url, options, tokio::runtime::Handle::current())
        .await
        .expect("open sqlite");
    idle_connections_are_closed_down_to_one(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_closes_idle_connections() {
    let Some(db) = usvc_postgres::testing::TestDatabase::from_env().await else {
        return;
    };
    let options = usvc_postgres::StoreOptions {
        pool_size: 4,
        idle_timeout: IDLE,
        ..usvc_postgres::StoreOptions::default()
    };
    let store = usvc_postgres::open(&db.url, options, tokio::runtime::Handle::current())
        .expect("open postgres");
    idle_connections_are_closed_down_to_one(&store).await;
}
