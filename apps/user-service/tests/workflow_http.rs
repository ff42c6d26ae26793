//! Workflow `http` steps against a local server, on SQLite and Postgres: retries with
//! backoff and one `Idempotency-Key` across attempts, a retried execution that then
//! succeeds, step timeouts, and the egress policy refusing loopback unless allowed.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::json;
use support::call;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the local server saw: per request, its path, `Idempotency-Key` and arrival time.
type Seen = Arc<Mutex<Vec<(String, String, DateTime<Utc>)>>>;

/// A tiny HTTP server on 127.0.0.1: `/flaky` answers 503 twice, then 200 with JSON;
/// `/recovering` 500 once, then 200; `/slow` answers after 3 s; anything else 500.
/// Returns its base URL.
async fn server(seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let key = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("idempotency-key:")
                            .map(|v| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let calls = {
                    let mut seen = seen.lock().unwrap();
                    seen.push((path.clone(), key, Utc::now()));
                    seen.iter().filter(|(p, _, _)| *p == path).count()
                };
                let (status, body) = match path.as_str() {
                    "/flaky" if calls <= 2 => ("503 Service Unavailable", "busy".to_owned()),
                    "/flaky" | "/recovering" if calls > 1 => {
                        ("200 OK", r#"{"ok": true}"#.to_owned())
                    }
                    "/slow" | "/slow-ok" => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        ("200 OK", "{}".to_owned())
                    }
                    _ => ("500 Internal Server Error", "down".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    base
}

async fn http_steps_retry_time_out_and_respect_the_egress_policy(
    allowed: TestApp,
    refusing: TestApp,
) {
    let seen: Seen = Arc::default();
    let base = server(seen.clone()).await;
    let (app, root) = allowed.serve_as_owner().await;

    // Fails twice, then succeeds: three attempts, backing off, one key for all.
    let (status, saved) = call(&app, Method::POST, "/api/v1/workflows", Some(&root), Some(json!({
        "name": "hook", "steps": [
            {"id": "call", "kind": "http", "retry": {"max_attempts": 3, "initial": "1s"},
             "with": {"url": format!("{base}/flaky"), "method": "POST", "body": {"n": "{{ inputs.n }}"}}}
        ]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    let id = saved["id"].as_str().unwrap();
    let (status, done) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/executions?wait=30"),
        Some(&root),
        Some(json!({"inputs": {"n": 5}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "succeeded", "{done}");
    let step = &done["steps"][0];
    assert_eq!(step["attempts"], 3);
    assert_eq!(step["output"], json!({"status": 200, "body": {"ok": true}}));
    let calls: Vec<(String, String, DateTime<Utc>)> = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    let keys: Vec<&str> = calls.iter().map(|(_, k, _)| k.as_str()).collect();
    assert!(
        !keys[0].is_empty() && keys.iter().all(|k| *k == keys[0]),
        "{keys:?}"
    );
    // Exponential: the second wait (about 2 s) is longer than the first (about 1 s).
    let first_wait = calls[1].2 - calls[0].2;
    let second_wait = calls[2].2 - calls[1].2;
    assert!(
        first_wait >= chrono::Duration::milliseconds(700),
        "{first_wait}"
    );
    assert!(second_wait > first_wait, "{first_wait} then {second_wait}");
    let execution = done["execution_id"].as_str().unwrap();
    let (_, timeline) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{execution}/timeline"),
        Some(&root),
        None,
    )
    .await;
    let retried: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step_id"] == "call" && e["status"] == "ready")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(retried, ["HTTP 503: busy", "HTTP 503: busy"], "{timeline}");

    // A step timeout fails the attempt.
    let (_, saved) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&root),
        Some(json!({
        "name": "slow", "steps": [
            {"id": "call", "kind": "http", "timeout": "1s", "with": {"url": format!("{base}/slow")}}
        ]})),
    )
    .await;
    let slow = saved["id"].as_str().unwrap();
    let (_, failed) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{slow}/executions?wait=30"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["steps"][0]["error"]
            .as_str()
            .unwrap()
            .contains("timed out after 1000 ms"),
        "{failed}"
    );

    // A call that outlives its lease (3 s against 2 s) is not taken over from a live worker:
    // the heartbeat renews the lease, and the call is made once.
    let (_, saved) = call(&app, Method::POST, "/api/v1/workflows", Some(&root), Some(json!({
        "name": "long", "steps": [
            {"id": "call", "kind": "http", "timeout": "10s", "with": {"url": format!("{base}/slow-ok"), "timeout": "10s"}}
        ]}))).await;
    let long = saved["id"].as_str().unwrap();
    let (_, done) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{long}/executions?wait=30"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["steps"][0]["attempts"], 1);
    let long_calls = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _, _)| p == "/slow-ok")
        .count();
    assert_eq!(long_calls, 1);

    // A failed execution, retried once its target recovered, succeeds; the step before the
    // failure is not run again.
    let (_, saved) = call(&app, Method::POST, "/api/v1/workflows", Some(&root), Some(json!({
        "name": "recovering", "steps": [
            {"id": "prepare", "kind": "transform", "with": {"at": "{{ execution.id }}"}},
            {"id": "call", "kind": "http", "depends_on": ["prepare"], "with": {"url": format!("{base}/recovering")}}
        ]}))).await;
    let recovering = saved["id"].as_str().unwrap();
    let (_, failed) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{recovering}/executions?wait=30"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let execution = failed["execution_id"].as_str().unwrap();
    let prepared = failed["steps"][0]["finished_at"].clone();
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/retry"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let done = loop {
        let (_, e) = call(
            &app,
            Method::GET,
            &format!("/api/v1/executions/{execution}"),
            Some(&root),
            None,
        )
        .await;
        if e["status"] == "succeeded" {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "{e}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(done["steps"][0]["finished_at"], prepared);
    assert_eq!(done["steps"][1]["output"]["body"], json!({"ok": true}));

    // The egress policy: without WORKFLOW_HTTP_ALLOW, loopback is refused and nothing is sent.
    let before = seen.lock().unwrap().len();
    let (guarded, root2) = refusing.serve_as_owner().await;
    let (_, saved) = call(&guarded, Method::POST, "/api/v1/workflows", Some(&root2), Some(json!({
        "name": "probe", "steps": [
            {"id": "call", "kind": "http", "with": {"url": format!("{base}/flaky")}},
            {"id": "metadata", "kind": "http", "with": {"url": "http://169.254.169.254/latest/meta-data/"}}
        ], "on_failure": "continue"}))).await;
    let probe = saved["id"].as_str().unwrap();
    let (_, refused) = call(
        &guarded,
        Method::POST,
        &format!("/api/v1/workflows/{probe}/executions?wait=30"),
        Some(&root2),
        None,
    )
    .await;
    assert_eq!(refused["status"], "failed", "{refused}");
    for step in refused["steps"].as_array().unwrap() {
        let error = step["error"].as_str().unwrap();
        assert!(
            error.contains("refused") && error.contains("WORKFLOW_HTTP_ALLOW"),
            "{error}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "no request left the service"
    );
}

/// Loopback allowed, and a 2 s lease, so a 3 s call outlives several leases.
const ALLOW_LOOPBACK: &[(&str, &str)] = &[
    ("WORKFLOW_HTTP_ALLOW", "127.0.0.1/32"),
    ("WORKFLOW_LEASE", "2"),
];

/// An app whose egress policy allows loopback targets, and one with the default policy, each
/// on a database of its own (so neither's worker runs the other's steps).
#[actix_web::test]
async fn http_steps_on_sqlite() {
    http_steps_retry_time_out_and_respect_the_egress_policy(
        TestApp::sqlite()
            .with_settings(ALLOW_LOOPBACK)
            .start()
            .await,
        TestApp::sqlite().start().await,
    )
    .await;
}

#[actix_web::test]
async fn http_steps_on_postgres() {
    let (Some(allowed), Some(refusing)) = (
        TestApp::postgres()
            .with_settings(ALLOW_LOOPBACK)
            .start_if_available()
            .await,
        TestApp::postgres().start_if_available().await,
    ) else {
        return;
    };
    http_steps_retry_time_out_and_respect_the_egress_policy(allowed, refusing).await;
}
