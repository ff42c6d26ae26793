//! The logger's observable behaviour: operation timings reach the metrics recorder and spans
//! reach an OTLP collector.
#![allow(missing_docs)]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use usvc_logger::{LogFormat, LoggerConfig, OperationTimer, OPERATION_DURATION};

#[test]
fn operation_timer_records_a_histogram_sample_per_operation() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        OperationTimer::start("tenant.create").finish();
        drop(OperationTimer::start("tenant.create"));
        let _ = OperationTimer::start("tenant.get");
    });
    let text = handle.render();
    assert!(
        text.contains(&format!(
            "{OPERATION_DURATION}_count{{operation=\"tenant.create\"}} 2"
        )),
        "{text}"
    );
    assert!(text.contains("operation=\"tenant.get\""), "{text}");
}

/// A one-shot OTLP/HTTP collector: answers the first POST with 200 and reports its request line
/// and headers.
fn fake_collector() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut buf = vec![0u8; 64 * 1024];
            let n = stream.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            let _ = tx.send(head);
        }
    });
    (url, rx)
}

#[test]
fn spans_are_exported_over_otlp_http_when_an_endpoint_is_set() {
    let (endpoint, received) = fake_collector();
    let config = LoggerConfig {
        format: LogFormat::Json,
        level: "info".into(),
        otlp_endpoint: Some(endpoint),
        service_name: "user-service-test".into(),
    };
    let (subscriber, guard) = usvc_logger::build(&config).expect("logger");
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", request_id = "abc");
        span.in_scope(|| tracing::info!("inside"));
    });
    guard.flush();
    let head = received
        .recv_timeout(Duration::from_secs(10))
        .expect("the collector received a request");
    assert!(head.starts_with("POST /v1/traces "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/x-protobuf"),
        "{head}"
    );
}
