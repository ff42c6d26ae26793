//! Tenant quotas over HTTP, on SQLite and Postgres: the platform sets them (and only the
//! platform), a tenant reads its own, saves past the definition quotas are refused field by
//! field, and starts past the execution quotas answer `429 quota_exceeded`.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{call, define};

async fn the_platform_sets_quotas_and_the_engine_keeps_them(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (ada, _) = support::join(&app, &root, "ada@example.com", &["admin"]).await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (_, tenant) = call(&app, Method::GET, "/api/v1/tenant", Some(&mia), None).await;
    let tenant_id = tenant["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tenants/{tenant_id}/quotas");

    // Defaults, readable by every member of the tenant.
    let (status, own) = call(&app, Method::GET, "/api/v1/tenant/quotas", Some(&mia), None).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["quotas"]["steps_in_flight"], 64);
    assert_eq!(own["quotas"]["step_timeout_secs"], 86_400);
    assert_eq!(own["set"]["steps_in_flight"], Value::Null);

    // Only the platform sets them: not even the tenant's admin.
    let tight = json!({"definition_steps": 3, "step_timeout_secs": 60, "event_steps": 1,
                       "starts_per_minute": 1000, "running_executions": 2});
    let (status, _) = call(&app, Method::PUT, &path, Some(&ada), Some(tight.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = call(
        &app,
        Method::PUT,
        &path,
        Some(&root),
        Some(json!({"steps_in_flight": 0, "definition_steps": 500})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["steps_in_flight", "definition_steps"]);
    let (status, set) = call(&app, Method::PUT, &path, Some(&root), Some(tight)).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["quotas"]["definition_steps"], 3);
    assert_eq!(
        set["quotas"]["steps_in_flight"], 64,
        "the rest keep their defaults"
    );
    let trail = support::audit_actions(&app, &root, "action=tenant.quotas_updated").await;
    assert_eq!(trail.len(), 1);

    // Saves past the definition quotas are refused, each field named.
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&mia),
        Some(json!({"name": "too much", "steps": [
            {"id": "a", "kind": "noop", "timeout": "2m"},
            {"id": "b", "kind": "event", "with": {"type": "order.one"}},
            {"id": "c", "kind": "event", "with": {"type": "order.two"}},
            {"id": "d", "kind": "noop"},
        ]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["steps", "steps[0].timeout", "steps"], "{problem}");

    // Executions not ended: two may wait on an approval; the third start is refused.
    let id = define(
        &app,
        &mia,
        json!({"name": "waits", "steps": [{"id": "ask", "kind": "approval",
               "with": {"title": "ok?", "assignee_role": "admin"}}]}),
    )
    .await;
    let start = format!("/api/v1/workflows/{id}/executions");
    for _ in 0..2 {
        let (status, body) = call(&app, Method::POST, &start, Some(&mia), Some(json!({}))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, problem) = call(&app, Method::POST, &start, Some(&mia), Some(json!({}))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert_eq!(problem["code"], "quota_exceeded");
    assert!(
        problem["detail"].as_str().unwrap().contains("not ended"),
        "{problem}"
    );

    // Starts per minute: with room for executions, the fourth start in a minute waits.
    let (status, _) = call(
        &app,
        Method::PUT,
        &path,
        Some(&root),
        Some(json!({"starts_per_minute": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let quick = define(
        &app,
        &mia,
        json!({"name": "quick", "steps": [{"id": "a", "kind": "noop"}]}),
    )
    .await;
    let start = format!("/api/v1/workflows/{quick}/executions");
    // (A minute boundary between the starts resets the count: then try once more.)
    for attempt in 0..2 {
        let minute = chrono::Utc::now().format("%H:%M").to_string();
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let (status, _) = call(&app, Method::POST, &start, Some(&mia), Some(json!({}))).await;
            statuses.push(status);
        }
        if chrono::Utc::now().format("%H:%M").to_string() != minute && attempt == 0 {
            continue;
        }
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(refused >= 2, "{statuses:?}");
        break;
    }
    let (status, _) = call(&app, Method::GET, "/health/live", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

on_both_stores!(the_platform_sets_quotas_and_the_engine_keeps_them);
