//! Workflow definitions over HTTP: JSON and YAML, validation that names every field, a new
//! version per save, pause, resume, delete, roles and the tenant wall.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::{json, Value};
use support::{call, login};

/// The issue's example: a transform chain, a condition with a dependent, an approval.
fn review() -> Value {
    json!({"name": "review", "steps": [
        {"id": "start", "kind": "transform", "with": {"n": "{{ inputs.n }}"}},
        {"id": "double", "kind": "transform", "depends_on": ["start"],
         "with": {"v": "{{ steps.start.output.n * 2 }}"}},
        {"id": "gate", "kind": "condition", "depends_on": ["start"], "with": {"expr": "inputs.n > 10"}},
        {"id": "big", "kind": "noop", "depends_on": ["gate"]},
        {"id": "approve", "kind": "approval", "depends_on": ["double"],
         "with": {"assignee_role": "admin", "title": "Approve {{ inputs.n }}"}}
    ]})
}

const REVIEW_YAML: &str = r#"
name: review (yaml)
description: the same workflow, written as YAML
on_failure: continue
steps:
  - id: start
    kind: transform
    with:
      n: "{{ inputs.n }}"
  - id: notify
    kind: noop
    depends_on: [start]
    if: steps.start.output.n > 3
    retry: {max_attempts: 3, initial: 1s}
"#;

/// A request with a raw body of `content_type`; the status, the JSON answer and the `ETag`.
async fn send<S, B>(
    app: &S,
    method: Method,
    uri: &str,
    token: &str,
    content_type: &str,
    body: &str,
    if_match: Option<&str>,
) -> (StatusCode, Value, Option<String>)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let mut req = test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(body.to_owned());
    if let Some(tag) = if_match {
        req = req.insert_header(("If-Match", tag));
    }
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let etag = res
        .headers()
        .get("ETag")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = test::read_body(res).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        etag,
    )
}

async fn definitions_are_validated_versioned_and_paused(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (vic, _) = support::join(&app, &root, "vic@example.com", &["viewer"]).await;

    // JSON: saved as version 1, active, with the format's defaults filled in.
    let (status, created, etag) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/json",
        &review().to_string(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(created["status"], "active");
    assert_eq!(created["version"], 1);
    assert_eq!(created["name"], "review");
    assert_eq!(created["definition"]["on_failure"], "fail_fast");
    let path = format!("/api/v1/workflows/{}", created["id"].as_str().unwrap());
    let (_, read) = call(&app, Method::GET, &path, Some(&vic), None).await;
    assert_eq!(read["executions"]["running"], 0, "{read}");
    assert!(read["last_execution"].is_null());
    assert_eq!(
        created["definition"]["steps"][1]["depends_on"],
        json!(["start"])
    );
    let path = format!("/api/v1/workflows/{}", created["id"].as_str().unwrap());

    // YAML: the same format, the same checks, the same stored shape.
    let (status, from_yaml, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/yaml",
        REVIEW_YAML,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{from_yaml}");
    assert_eq!(from_yaml["definition"]["on_failure"], "continue");
    assert_eq!(
        from_yaml["definition"]["steps"][1]["if"],
        "steps.start.output.n > 3"
    );
    assert_eq!(
        from_yaml["definition"]["steps"][1]["retry"]["max_attempts"],
        3
    );

    // Bad documents: every problem named with its step and field; nothing saved.
    let (status, problem, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/json",
        &json!({"name": "broken", "steps": [
            {"id": "a", "kind": "transform", "depends_on": ["c"], "with": {"x": "{{ inputs.n "}},
            {"id": "b", "kind": "teleport", "depends_on": ["a"]},
            {"id": "c", "kind": "noop", "depends_on": ["b"]},
            {"id": "d", "kind": "noop", "with": {"y": "{{ steps.a.output.x }}"}}
        ]})
        .to_string(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["steps[1].kind", "steps[0].with.x"], "{problem}");
    let (status, problem, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/json",
        &json!({"name": "loop", "steps": [
            {"id": "a", "kind": "noop", "depends_on": ["b"]},
            {"id": "b", "kind": "noop", "depends_on": ["a"]},
            {"id": "c", "kind": "transform", "with": {"y": "{{ steps.a.output.x }}"}}
        ]})
        .to_string(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "steps");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("a → b → a"));
    let (status, problem, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/yaml",
        "name: typo\nsteps:\n  - id: a\n    kind: noop\n    retry: {max_attempts: lots}\n",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem["errors"][0]["field"], "steps[0].retry.max_attempts",
        "{problem}"
    );
    let (status, problem, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "application/yaml",
        "name: [unclosed",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["code"], "malformed_yaml");
    let (status, problem, _) = send(
        &app,
        Method::POST,
        "/api/v1/workflows",
        &mia,
        "text/csv",
        "name,steps",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(problem["code"], "unsupported_media_type");
    let (_, listed) = call(&app, Method::GET, "/api/v1/workflows", Some(&vic), None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");

    // A save is a new version; a stale If-Match is refused and changes nothing.
    let mut second = review();
    second["description"] = json!("now with a note");
    second["steps"][3]["with"] = json!({"note": "{{ steps.gate.output }}"});
    let (status, saved, etag) = send(
        &app,
        Method::PUT,
        &path,
        &mia,
        "application/json",
        &second.to_string(),
        Some("\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(saved["definition"]["description"], "now with a note");
    let (status, _, _) = send(
        &app,
        Method::PUT,
        &path,
        &mia,
        "application/json",
        &review().to_string(),
        Some("\"1\""),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, versions) = call(
        &app,
        Method::GET,
        &format!("{path}/versions"),
        Some(&vic),
        None,
    )
    .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1], "{versions}");
    let (status, first) = call(
        &app,
        Method::GET,
        &format!("{path}/versions/1"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(first["definition"].get("description").is_none(), "{first}");
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("{path}/versions/9"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Pause and resume; a viewer reads but changes nothing.
    let (status, paused) = call(
        &app,
        Method::POST,
        &format!("{path}/pause"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["version"], 2);
    let (_, read) = call(&app, Method::GET, &path, Some(&vic), None).await;
    assert_eq!(
        read["status"], "paused",
        "the cache must not serve the old status"
    );
    for (method, uri) in [
        (Method::POST, format!("{path}/resume")),
        (Method::DELETE, path.clone()),
    ] {
        let (status, _) = call(&app, method, &uri, Some(&vic), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _, _) = send(
        &app,
        Method::PUT,
        &path,
        &vic,
        "application/json",
        &review().to_string(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, resumed) = call(
        &app,
        Method::POST,
        &format!("{path}/resume"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["status"], "active");

    // Delete: gone from reads and listings; every change is in the audit trail.
    let (status, _) = call(&app, Method::DELETE, &path, Some(&mia), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::GET, &path, Some(&vic), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::DELETE, &path, Some(&mia), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = call(&app, Method::GET, "/api/v1/workflows", Some(&vic), None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        support::audit_actions(&app, &root, &format!("resource=workflow:{id}")).await,
        [
            "workflow.deleted",
            "workflow.resumed",
            // The viewer's three refused changes.
            "authz.denied",
            "authz.denied",
            "authz.denied",
            "workflow.paused",
            "workflow.updated",
            "workflow.created"
        ]
    );
}

on_both_stores!(definitions_are_validated_versioned_and_paused);

async fn another_tenants_workflows_do_not_exist(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(json!({"slug": "globex", "name": "Globex",
                    "owner": {"email": "boss@globex.test", "password": support::USER_PASSWORD}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (outsider, _) = login(&app, "globex", "boss@globex.test", support::USER_PASSWORD).await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&root),
        Some(review()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/v1/workflows/{}", created["id"].as_str().unwrap());

    // The other tenant's owner holds workflows:* in their own tenant, and sees nothing here.
    for (method, uri) in [
        (Method::GET, path.clone()),
        (Method::GET, format!("{path}/versions")),
        (Method::GET, format!("{path}/versions/1")),
        (Method::POST, format!("{path}/pause")),
        (Method::DELETE, path.clone()),
    ] {
        let (status, body) = call(&app, method.clone(), &uri, Some(&outsider), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}: {body}");
    }
    let (status, _) = call(&app, Method::PUT, &path, Some(&outsider), Some(review())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = call(
        &app,
        Method::GET,
        "/api/v1/workflows",
        Some(&outsider),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    let (_, read) = call(&app, Method::GET, &path, Some(&root), None).await;
    assert_eq!(
        read["status"], "active",
        "the outsider's requests changed nothing"
    );
    assert_eq!(read["version"], 1);

    // Not even a well-formed id tells anything: unknown and malformed ids answer alike.
    for uri in [
        format!("/api/v1/workflows/{}", uuid_like()),
        "/api/v1/workflows/not-an-id".to_owned(),
    ] {
        let (status, _) = call(&app, Method::GET, &uri, Some(&root), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

fn uuid_like() -> &'static str {
    "0190a0e4-0000-7000-8000-000000000000"
}

on_both_stores!(another_tenants_workflows_do_not_exist);
