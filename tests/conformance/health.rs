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
