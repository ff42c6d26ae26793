//! The zero-setup default: SQLite under ./data.

use std::time::Duration;

use crate::service::Service;

#[test]
fn serves_health_on_sqlite_with_no_setup_and_creates_its_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[]);
    let (status, body) = service.get("/health");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body["status"], "healthy");
    assert!(
        dir.path().join("data/user-service.db").exists(),
        "the default database file"
    );
}

#[test]
fn sigterm_and_sigint_stop_gracefully_with_exit_code_0() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let service = Service::start(dir.path(), &[]);
        assert_eq!(service.get("/health/live").0, 200);
        service.signal(signal);
        let (code, logs) = service.wait(Duration::from_secs(30));
        assert_eq!(code, Some(0), "exit code after SIG{signal}; logs:\n{logs}");
        assert!(logs.contains("shutting down"), "{logs}");
        assert!(logs.contains("stopped"), "{logs}");
    }
}

#[test]
fn sigterm_with_a_drain_says_draining_serves_on_then_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[("SHUTDOWN_DRAIN", "3")]);
    assert_eq!(service.get("/health/ready").0, 200);
    service.signal("TERM");
    let (status, body) =
        crate::service::wait_for_status(&service, "/health/ready", 503, Duration::from_secs(2));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"status\":\"draining\""), "{body}");
    let (status, body) = service.get("/health");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"status\":\"draining\""), "{body}");
    // Requests are still served while the balancer takes the replica out.
    assert_eq!(service.get("/health/live").0, 200);
    assert_eq!(service.get("/openapi.json").0, 200);
    let (code, logs) = service.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{logs}");
    let draining = logs.find("draining").expect("the drain is logged");
    let stopping = logs.find("shutting down").expect("then the stop");
    assert!(draining < stopping, "{logs}");
}

#[test]
fn metrics_show_request_and_cache_series_after_a_few_requests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[]);
    for path in ["/health", "/health/detailed", "/health/detailed"] {
        service.get(path);
    }
    let (status, text) = service.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        text.contains(
            "usvc_http_requests_total{method=\"GET\",route=\"/health/detailed\",status=\"200\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("usvc_cache_hits_total{cache=\"analytics\"} 1"),
        "{text}"
    );
}
