//! The workflow engine over HTTP, on SQLite and Postgres: the example end to end,
//! approvals (human tasks) and their reject paths, parallel branches, `depends_on` order, conditions, `fail_fast` and `continue`, retry,
//! cancel, idempotent starts, the timeline, and a timer that survives a restart.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use std::time::Duration;

use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::{call, define, login};

/// Starts an execution, waiting up to `wait` seconds for it to end.
async fn start<S, B>(
    app: &S,
    token: &str,
    workflow: &str,
    inputs: Value,
    wait: u64,
) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    call(
        app,
        Method::POST,
        &format!("/api/v1/workflows/{workflow}/executions?wait={wait}"),
        Some(token),
        Some(json!({ "inputs": inputs })),
    )
    .await
}

/// Reads the execution until `done` holds (at most 20 s).
async fn until<S, B>(app: &S, token: &str, execution: &str, done: impl Fn(&Value) -> bool) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = call(
            app,
            Method::GET,
            &format!("/api/v1/executions/{execution}"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An execution's timeline, as `token` reads it.
async fn timeline<S, B>(app: &S, token: &str, execution: &str) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let path = format!("/api/v1/executions/{execution}/timeline");
    call(app, Method::GET, &path, Some(token), None).await
}

fn step<'a>(execution: &'a Value, id: &str) -> &'a Value {
    execution["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {execution}"))
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Answers a task as the holder of `token`.
async fn answer<S, B>(
    app: &S,
    token: &str,
    task: &str,
    decision: &str,
    data: Value,
) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    call(
        app,
        Method::POST,
        &format!("/api/v1/tasks/{task}/complete"),
        Some(token),
        Some(json!({ "decision": decision, "data": data })),
    )
    .await
}

/// Starts an execution of the example, waits for its approval, approves it as
/// `approver` with `data`, and waits for the end.
async fn run_approved<S, B>(
    app: &S,
    token: &str,
    approver: &str,
    workflow: &str,
    inputs: Value,
    data: Value,
) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, started) = start(app, token, workflow, inputs, 0).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let id = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(app, token, &id, |e| e["status"] == "waiting").await;
    let task = step(&waiting, "approve")["task_id"].as_str().unwrap();
    let (status, body) = answer(app, approver, task, "approve", data).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    until(app, token, &id, |e| e["status"] == "succeeded").await
}

/// The example.
fn review() -> Value {
    json!({"name": "review", "steps": [
        {"id": "start", "kind": "transform", "with": {"n": "{{ inputs.n }}"}},
        {"id": "double", "kind": "transform", "depends_on": ["start"], "with": {"v": "{{ steps.start.output.n * 2 }}"}},
        {"id": "gate", "kind": "condition", "depends_on": ["start"], "with": {"expr": "inputs.n > 10"}},
        {"id": "big", "kind": "noop", "depends_on": ["gate"]},
        {"id": "approve", "kind": "approval", "depends_on": ["double"],
         "with": {"assignee_role": "admin", "title": "Approve {{ inputs.n }}"}}
    ]})
}

async fn the_example_runs_and_conditions_skip_exactly_their_branch(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let id = define(&app, &root, review()).await;
    let (approver, _) = support::join(&app, &root, "approver@example.com", &["admin"]).await;

    let small = run_approved(
        &app,
        &root,
        &approver,
        &id,
        json!({"n": 3}),
        json!({"note": "fine"}),
    )
    .await;
    assert_eq!(small["status"], "succeeded", "{small}");
    assert_eq!(
        step(&small, "double")["output"],
        json!({"v": 6}),
        "a number, not text"
    );
    assert_eq!(step(&small, "gate")["output"], json!({"result": false}));
    assert_eq!(step(&small, "big")["status"], "skipped");
    assert_eq!(step(&small, "big")["skipped_because"], "condition");
    assert_eq!(step(&small, "approve")["output"], json!({"note": "fine"}));
    assert_eq!(small["output"]["approve"], json!({"note": "fine"}));
    assert_eq!(small["version"], 1);

    let large = run_approved(&app, &root, &approver, &id, json!({"n": 12}), json!({})).await;
    assert_eq!(step(&large, "big")["status"], "succeeded");
    assert_eq!(step(&large, "double")["output"], json!({"v": 24}));

    // Every state change is on the timeline, in order.
    let execution = small["execution_id"].as_str().unwrap();
    let (status, timeline) = timeline(&app, &root, execution).await;
    assert_eq!(status, StatusCode::OK);
    let entries: Vec<(String, String)> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["step_id"].as_str().unwrap_or("-").to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let at = |step: &str, status: &str| {
        entries
            .iter()
            .position(|(s, st)| s == step && st == status)
            .unwrap_or_else(|| panic!("no {step} {status} in {entries:?}"))
    };
    assert_eq!(entries[0], ("-".into(), "pending".into()));
    assert!(at("start", "ready") < at("start", "running"));
    assert!(at("start", "succeeded") < at("double", "ready"));
    assert!(at("gate", "succeeded") < at("big", "skipped"));
    assert!(at("approve", "waiting") < at("approve", "succeeded"));
    assert_eq!(entries.last().unwrap(), &("-".into(), "succeeded".into()));
    let times: Vec<DateTime<Utc>> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| time(&e["at"]))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");

    // Listing and filtering by status; a bad start is a clear 4xx and starts nothing.
    let (_, listed) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{id}/executions?status=succeeded"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(
        listed["items"][0]["execution_id"], large["execution_id"],
        "newest first"
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{id}/executions?status=sleeping"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/executions"),
        Some(&root),
        Some(json!({"inputs": [1]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/executions?wait=31"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, listed) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{id}/executions"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // The workflow's GET counts its executions and names the last.
    let (_, workflow) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        workflow["executions"],
        json!({"running": 0, "succeeded": 2, "failed": 0, "cancelled": 0})
    );
    assert_eq!(
        workflow["last_execution"]["execution_id"],
        large["execution_id"]
    );
    assert_eq!(workflow["last_execution"]["status"], "succeeded");

    // Analytics: counts, success rate, durations, the slowest steps.
    let (status, figures) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/workflows",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert_eq!(figures["by_status"]["succeeded"], 2);
    assert_eq!(figures["workflows"][0]["name"], "review");
    assert_eq!(figures["workflows"][0]["success_rate"], 1.0);
    assert!(
        figures["workflows"][0]["p95_ms"].as_i64().unwrap()
            >= figures["workflows"][0]["p50_ms"].as_i64().unwrap()
    );
    assert!(!figures["slowest_steps"].as_array().unwrap().is_empty());
    assert_eq!(figures["open_tasks"], json!({"open": 0, "overdue": 0}));

    // The engine's figures are on /metrics.
    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let scrape = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    for series in [
        "usvc_workflow_ready_steps",
        "usvc_workflow_oldest_ready_seconds",
        "usvc_workflow_steps{state=\"running\"}",
        "usvc_workflow_executions{status=\"succeeded\"}",
        "usvc_workflow_claim_seconds",
        "usvc_workflow_step_seconds_count{kind=\"transform\"}",
    ] {
        assert!(scrape.contains(series), "{series} missing from /metrics");
    }

    // Inputs are checked against the workflow's schema before anything starts.
    let typed = define(
        &app,
        &root,
        json!({"name": "typed", "steps": [{"id": "a", "kind": "noop"}],
        "inputs": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}),
    )
    .await;
    let (status, problem) = start(&app, &root, &typed, json!({"n": "three"}), 0).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "inputs.n");
    let (_, listed) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{typed}/executions"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    let (status, _) = start(&app, &root, &typed, json!({"n": 3}), 0).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // A paused workflow starts nothing.
    call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/pause"),
        Some(&root),
        None,
    )
    .await;
    let (status, _) = start(&app, &root, &id, json!({"n": 1}), 0).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

on_both_stores!(the_example_runs_and_conditions_skip_exactly_their_branch);

/// The tasks `token`'s holder sees with `query` (`?status=…`), by title.
async fn task_titles<S, B>(app: &S, token: &str, query: &str) -> Vec<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, page) = call(
        app,
        Method::GET,
        &format!("/api/v1/tasks{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_approval_blocks_until_answered_and_a_reject_fails_or_branches(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (approver, approver_id) =
        support::join(&app, &root, "approver@example.com", &["admin"]).await;
    let (member, _) = support::join(&app, &root, "member@example.com", &["member"]).await;
    let id = define(&app, &root, review()).await;

    // The execution waits for the task, however long; the steps before it ran.
    let (status, started) = start(&app, &root, &id, json!({"n": 4}), 1).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    assert_eq!(step(&waiting, "double")["status"], "succeeded");
    assert_eq!(step(&waiting, "approve")["status"], "waiting");
    let task = step(&waiting, "approve")["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, still) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{execution}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        still["status"], "waiting",
        "nothing moves without an answer"
    );

    // The task is the admins' to answer: listed for them, not for a member or the owner.
    assert_eq!(task_titles(&app, &approver, "").await, ["Approve 4"]);
    assert!(task_titles(&app, &member, "").await.is_empty());
    assert!(task_titles(&app, &root, "").await.is_empty());
    assert_eq!(
        task_titles(&app, &root, "?assignee=all").await,
        ["Approve 4"]
    );
    let (status, read) = call(
        &app,
        Method::GET,
        &format!("/api/v1/tasks/{task}"),
        Some(&approver),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        (
            &read["status"],
            &read["assignee_role"],
            &read["step_id"],
            &read["execution_id"]
        ),
        (
            &json!("open"),
            &json!("admin"),
            &json!("approve"),
            &json!(execution)
        )
    );
    let (status, problem) = answer(&app, &member, &task, "approve", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = answer(&app, &approver, &task, "maybe", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = answer(&app, &approver, &task, "approve", json!([1])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A reject without a branch fails the step and the execution; a retry asks again.
    let (status, rejected) = answer(&app, &approver, &task, "reject", json!({"why": "no"})).await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["completed_by"], json!(approver_id));
    let failed = until(&app, &root, &execution, |e| e["status"] == "failed").await;
    assert_eq!(step(&failed, "approve")["status"], "failed");
    assert!(step(&failed, "approve")["error"]
        .as_str()
        .unwrap()
        .contains("rejected"));
    let (status, _) = answer(&app, &approver, &task, "approve", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a task is answered once");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/retry"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let asked_again = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    let second = step(&asked_again, "approve")["task_id"].as_str().unwrap();
    assert_ne!(second, task, "a new task for the new attempt");
    let (status, _) = answer(&app, &approver, second, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    until(&app, &root, &execution, |e| e["status"] == "succeeded").await;
    let actions = support::audit_actions(&app, &root, "action=task.completed").await;
    assert_eq!(actions.len(), 2, "each answer is audited");

    // With `on_reject`, a reject runs that branch instead; the form checks the data.
    let refund = define(
        &app,
        &root,
        json!({"name": "refund", "steps": [
            {"id": "ask", "kind": "approval", "with": {
                "title": "Refund {{ inputs.amount }}?", "assignee": approver_id, "due": "1d",
                "form": {"type": "object", "required": ["reason"],
                         "properties": {"reason": {"type": "string", "minLength": 3}}},
                "on_reject": ["explain"]}},
            {"id": "pay", "kind": "transform", "depends_on": ["ask"], "with": {"paid": "{{ inputs.amount }}"}},
            {"id": "explain", "kind": "transform", "depends_on": ["ask"],
             "with": {"why": "{{ steps.ask.output.reason }}"}}
        ]}),
    )
    .await;
    let (_, started) = start(&app, &root, &refund, json!({"amount": 30}), 0).await;
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    let task = step(&waiting, "ask")["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, read) = call(
        &app,
        Method::GET,
        &format!("/api/v1/tasks/{task}"),
        Some(&approver),
        None,
    )
    .await;
    assert_eq!(read["title"], "Refund 30?");
    assert_eq!(read["assignee"], json!(approver_id));
    assert!(read["due_at"].is_string());
    assert_eq!(read["overdue"], false);
    let (status, problem) = answer(&app, &approver, &task, "reject", json!({"reason": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "data.reason");
    assert_eq!(
        task_titles(&app, &approver, "").await,
        ["Refund 30?"],
        "a refused answer loses nothing"
    );
    let (status, _) = answer(
        &app,
        &approver,
        &task,
        "reject",
        json!({"reason": "too much"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let done = until(&app, &root, &execution, |e| e["status"] == "succeeded").await;
    assert_eq!(step(&done, "pay")["status"], "skipped");
    assert_eq!(step(&done, "explain")["output"], json!({"why": "too much"}));
    assert_eq!(
        task_titles(&app, &approver, "?status=rejected").await,
        ["Refund 30?", "Approve 4"],
        "newest first"
    );

    // Cancelling an execution cancels its open task.
    let (_, started) = start(&app, &root, &refund, json!({"amount": 5}), 0).await;
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    let task = step(&waiting, "ask")["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/cancel"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = call(
        &app,
        Method::GET,
        &format!("/api/v1/tasks/{task}"),
        Some(&approver),
        None,
    )
    .await;
    assert_eq!(read["status"], "cancelled");
    let (status, _) = answer(&app, &approver, &task, "approve", json!({"reason": "late"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(task_titles(&app, &approver, "").await.is_empty());

    // Another tenant's owner — even holding a role of the same name — sees none of it.
    let owners_task = define(
        &app,
        &root,
        json!({"name": "owners", "steps": [
            {"id": "approve", "kind": "approval", "with": {"title": "Owners only", "assignee_role": "owner"}}]}),
    )
    .await;
    let (_, started) = start(&app, &root, &owners_task, json!({}), 0).await;
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    let task = step(&waiting, "approve")["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
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
    assert!(task_titles(&app, &outsider, "").await.is_empty());
    assert!(task_titles(&app, &outsider, "?assignee=all")
        .await
        .is_empty());
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/tasks/{task}"),
        Some(&outsider),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = answer(&app, &outsider, &task, "approve", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(task_titles(&app, &root, "").await, ["Owners only"]);
    let (status, _) = answer(&app, &root, &task, "approve", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    until(&app, &root, &execution, |e| e["status"] == "succeeded").await;
}

on_both_stores!(an_approval_blocks_until_answered_and_a_reject_fails_or_branches);

async fn independent_branches_overlap_and_joins_wait(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let id = define(
        &app,
        &root,
        json!({"name": "fan", "steps": [
            {"id": "root", "kind": "noop"},
            {"id": "left", "kind": "delay", "depends_on": ["root"], "with": {"duration": "1s"}},
            {"id": "right", "kind": "delay", "depends_on": ["root"], "with": {"duration": "1s"}},
            {"id": "join", "kind": "transform", "depends_on": ["left", "right"],
             "with": {"both": "{{ steps.left.status }}/{{ steps.right.status }}"}}
        ]}),
    )
    .await;
    let (status, done) = start(&app, &root, &id, json!({}), 20).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "succeeded");
    let (left, right, join) = (
        step(&done, "left"),
        step(&done, "right"),
        step(&done, "join"),
    );
    // The two one-second timers ran at the same time, not one after the other.
    assert!(time(&left["started_at"]) < time(&right["finished_at"]));
    assert!(time(&right["started_at"]) < time(&left["finished_at"]));
    // The join started only after both ended, and saw both.
    assert!(time(&join["started_at"]) >= time(&left["finished_at"]));
    assert!(time(&join["started_at"]) >= time(&right["finished_at"]));
    assert_eq!(join["output"]["both"], "succeeded/succeeded");
    assert!(time(&step(&done, "root")["finished_at"]) <= time(&left["started_at"]));
}

on_both_stores!(independent_branches_overlap_and_joins_wait);

/// Pure steps (transform, condition, noop) taken by a start or a recording run at once where
/// they were taken and are recorded in the same transaction: a fan-out of transforms and its
/// join end at the instant the step that unlocked them is recorded, and a workflow of
/// transforms ends in its start. Everything else about them is as if each had been claimed
/// and recorded on its own: outputs, skips, the timeline. A step of another kind (an event)
/// ends a chain and runs as usual. With no budget for it (`WORKFLOW_PURE_BUDGET_MS=0`),
/// each runs and is recorded on its own.
async fn pure_steps_run_at_once_and_show_every_state(t: TestApp, at_once: bool) {
    let (app, root) = t.serve_as_owner().await;
    let id = define(
        &app,
        &root,
        json!({"name": "chain", "steps": [
            {"id": "root", "kind": "event",
             "with": {"type": "order.started", "payload": {"n": "{{ inputs.n }}"}}},
            {"id": "a", "kind": "transform", "depends_on": ["root"],
             "with": {"v": "{{ inputs.n * 2 }}"}},
            {"id": "b", "kind": "transform", "depends_on": ["root"],
             "with": {"v": "{{ inputs.n * 3 }}"}},
            {"id": "not", "kind": "transform", "depends_on": ["root"], "if": "inputs.n > 100",
             "with": {"v": 0}},
            {"id": "gate", "kind": "condition", "depends_on": ["root"],
             "with": {"expr": "inputs.n > 100"}},
            {"id": "big", "kind": "noop", "depends_on": ["gate"]},
            {"id": "join", "kind": "transform", "depends_on": ["a", "b"],
             "with": {"sum": "{{ steps.a.output.v + steps.b.output.v }}"}},
            {"id": "tell", "kind": "event", "depends_on": ["join"],
             "with": {"type": "order.summed", "payload": {"sum": "{{ steps.join.output.sum }}"}}},
            {"id": "after", "kind": "transform", "depends_on": ["tell"],
             "with": {"type": "{{ steps.tell.output.type }}"}}
        ]}),
    )
    .await;
    let (status, done) = start(&app, &root, &id, json!({"n": 7}), 20).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(step(&done, "join")["output"], json!({"sum": 35}));
    assert_eq!(step(&done, "not")["status"], "skipped");
    assert_eq!(step(&done, "gate")["output"], json!({"result": false}));
    assert_eq!(step(&done, "big")["skipped_because"], "condition");
    assert_eq!(
        step(&done, "after")["output"],
        json!({"type": "order.summed"})
    );

    // The event steps ran as usual; each recording also ran and recorded the pure steps it
    // unlocked, and theirs: one transaction, one instant.
    let at = |id: &str| time(&step(&done, id)["finished_at"]);
    for id in ["a", "b", "not", "gate", "join", "after"] {
        assert_eq!(step(&done, id)["attempts"], 1, "{id}");
    }
    assert!(at("tell") > at("root"));
    if at_once {
        for id in ["a", "b", "not", "gate", "join"] {
            assert_eq!(at(id), at("root"), "{id}: {done}");
        }
        assert_eq!(at("after"), at("tell"), "{done}");
    } else {
        assert!(at("join") > at("root"), "{done}");
        assert!(at("after") > at("tell"), "{done}");
    }

    let execution = done["execution_id"].as_str().unwrap();
    let (_, entries) = timeline(&app, &root, execution).await;
    let of = |timeline: &Value, id: &str| -> Vec<String> {
        timeline
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["step_id"] == id || (id == "-" && e["step_id"].is_null()))
            .map(|e| e["status"].as_str().unwrap().to_owned())
            .collect()
    };
    for id in ["root", "a", "b", "gate", "join", "tell", "after"] {
        let seen = of(&entries, id);
        assert_eq!(seen, ["ready", "running", "succeeded"], "{id}: {entries}");
    }
    assert_eq!(of(&entries, "not"), ["ready", "running", "skipped"]);
    assert_eq!(of(&entries, "big"), ["skipped"]);

    // Transforms only: the start itself runs them all, and answers with the ended execution
    // even without waiting; its timeline still shows it pending, running, succeeded.
    let id = define(
        &app,
        &root,
        json!({"name": "sums", "steps": [
            {"id": "one", "kind": "transform", "with": {"v": "{{ inputs.n + 1 }}"}},
            {"id": "two", "kind": "transform", "depends_on": ["one"],
             "with": {"v": "{{ steps.one.output.v * 2 }}"}}
        ]}),
    )
    .await;
    let (status, started) = start(&app, &root, &id, json!({"n": 4}), 0).await;
    assert!(status.is_success(), "{started}");
    if at_once {
        assert_eq!(started["status"], "succeeded", "{started}");
        assert_eq!(step(&started, "two")["output"], json!({"v": 10}));
    } else {
        assert_eq!(started["status"], "running", "{started}");
    }
    let execution = started["execution_id"].as_str().unwrap();
    let done = until(&app, &root, execution, |e| e["status"] == "succeeded").await;
    assert_eq!(step(&done, "two")["output"], json!({"v": 10}));
    let (_, timeline) = timeline(&app, &root, execution).await;
    assert_eq!(
        of(&timeline, "-"),
        ["pending", "running", "succeeded"],
        "{timeline}"
    );
    assert_eq!(of(&timeline, "two"), ["ready", "running", "succeeded"]);
}

mod pure_steps_run_at_once_and_show_every_state {
    use super::support::TestApp;

    /// A budget no test machine runs out of: the chain is always run to its end.
    const AMPLE: [(&str, &str); 1] = [("WORKFLOW_PURE_BUDGET_MS", "1000")];
    const NONE: [(&str, &str); 1] = [("WORKFLOW_PURE_BUDGET_MS", "0")];

    #[actix_web::test]
    async fn sqlite() {
        let app = TestApp::sqlite().with_settings(&AMPLE).start().await;
        super::pure_steps_run_at_once_and_show_every_state(app, true).await;
        let app = TestApp::sqlite().with_settings(&NONE).start().await;
        super::pure_steps_run_at_once_and_show_every_state(app, false).await;
    }

    #[actix_web::test]
    async fn postgres() {
        for (settings, at_once) in [(AMPLE, true), (NONE, false)] {
            let Some(app) = TestApp::postgres()
                .with_settings(&settings)
                .start_if_available()
                .await
            else {
                return;
            };
            super::pure_steps_run_at_once_and_show_every_state(app, at_once).await;
        }
    }
}

/// `a` fails at run time (integer division by `inputs.zero`); `slow` is a sibling still
/// running (a timer) when it does.
fn failing(on_failure: &str) -> Value {
    json!({"name": format!("failing {on_failure}"), "on_failure": on_failure, "steps": [
        {"id": "a", "kind": "transform", "with": {"x": "{{ 1 // inputs.zero }}"}},
        {"id": "after_a", "kind": "noop", "depends_on": ["a"]},
        {"id": "slow", "kind": "delay", "with": {"duration": "1s"}},
        {"id": "after_slow", "kind": "noop", "depends_on": ["slow"]}
    ]})
}

async fn fail_fast_cancels_continue_finishes_and_retry_reruns_the_failed(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;

    let fast = define(&app, &root, failing("fail_fast")).await;
    let (status, failed) = start(&app, &root, &fast, json!({"zero": 0}), 20).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("step `a` failed"),
        "{failed}"
    );
    assert_eq!(step(&failed, "a")["status"], "failed");
    assert_eq!(step(&failed, "slow")["status"], "cancelled", "{failed}");
    assert_eq!(step(&failed, "after_slow")["status"], "cancelled");
    assert_eq!(step(&failed, "after_a")["status"], "skipped");
    assert_eq!(step(&failed, "after_a")["skipped_because"], "failure");

    let cont = define(&app, &root, failing("continue")).await;
    let (_, finished) = start(&app, &root, &cont, json!({"zero": 0}), 20).await;
    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(step(&finished, "after_a")["status"], "skipped");
    assert_eq!(step(&finished, "after_a")["skipped_because"], "failure");
    assert_eq!(
        step(&finished, "slow")["status"],
        "succeeded",
        "the other branch ran"
    );
    assert_eq!(step(&finished, "after_slow")["status"], "succeeded");

    // Retry: the failed step and what it skipped run again; the succeeded branch is kept.
    let execution = finished["execution_id"].as_str().unwrap();
    let kept = step(&finished, "slow")["finished_at"].clone();
    let (status, retried) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/retry"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(step(&retried, "slow")["finished_at"], kept);
    let again = until(&app, &root, execution, |e| e["status"] == "failed").await;
    assert_eq!(step(&again, "a")["attempts"], 1, "attempts count afresh");
    assert_eq!(
        step(&again, "slow")["finished_at"],
        kept,
        "the succeeded branch did not run again"
    );
    let (_, timeline) = timeline(&app, &root, execution).await;
    let a_runs = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step_id"] == "a" && e["status"] == "running")
        .count();
    assert_eq!(a_runs, 2, "{timeline}");
    // Only a failed execution can be retried.
    let (status, _) = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/executions/{}/retry",
            failed["execution_id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a failed fail_fast execution retries too"
    );
}

on_both_stores!(fail_fast_cancels_continue_finishes_and_retry_reruns_the_failed);

async fn cancel_stops_a_waiting_execution_and_keys_start_once(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (vic, _) = support::join(&app, &root, "vic@example.com", &["viewer"]).await;
    let id = define(
        &app,
        &root,
        json!({"name": "sleepy", "steps": [
            {"id": "nap", "kind": "delay", "with": {"duration": "1h"}},
            {"id": "after", "kind": "noop", "depends_on": ["nap"]}
        ]}),
    )
    .await;
    let (status, started) = start(&app, &root, &id, json!({}), 0).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    let waiting = until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    assert_eq!(step(&waiting, "nap")["status"], "waiting");

    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/cancel"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer cannot cancel");
    let (status, cancelled) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/cancel"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(step(&cancelled, "nap")["status"], "cancelled");
    assert_eq!(step(&cancelled, "after")["status"], "cancelled");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/cancel"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{execution}/retry"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // One execution per Idempotency-Key, even for concurrent repeats.
    let send = |inputs: Value| {
        let req = test::TestRequest::post()
            .uri(&format!("/api/v1/workflows/{id}/executions"))
            .insert_header(("Authorization", format!("Bearer {root}")))
            .insert_header(("Idempotency-Key", "start-1"))
            .set_json(json!({ "inputs": inputs }))
            .to_request();
        test::call_service(&app, req)
    };
    let (first, second) = futures::join!(send(json!({"k": 1})), send(json!({"k": 1})));
    let replayed = [&first, &second]
        .iter()
        .filter(|r| r.headers().contains_key("Idempotent-Replayed"))
        .count();
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(replayed, 1);
    let (a, b): (Value, Value) = (
        test::read_body_json(first).await,
        test::read_body_json(second).await,
    );
    assert_eq!(a["execution_id"], b["execution_id"]);
    let other = send(json!({"k": 2})).await;
    assert_eq!(
        other.status(),
        StatusCode::BAD_REQUEST,
        "the same key with other inputs"
    );
    let (_, listed) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{id}/executions"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        2,
        "the cancelled one and the keyed one"
    );
}

on_both_stores!(cancel_stops_a_waiting_execution_and_keys_start_once);

/// A timer parked by one process fires in the next one on the same database.
async fn a_timer_survives_a_restart(first: TestApp) {
    let worker = first.state.worker.clone();
    let (app, root) = first.serve_as_owner().await;
    let id = define(
        &app,
        &root,
        json!({"name": "timer", "steps": [
            {"id": "wait", "kind": "delay", "with": {"duration": "2s"}},
            {"id": "then", "kind": "transform", "depends_on": ["wait"], "with": {"ok": true}}
        ]}),
    )
    .await;
    let (_, started) = start(&app, &root, &id, json!({}), 0).await;
    let execution = started["execution_id"].as_str().unwrap().to_owned();
    until(&app, &root, &execution, |e| e["status"] == "waiting").await;
    // The process stops (its worker hands back what it holds) before the timer is due.
    worker.shutdown().await;
    drop(app);
    drop(worker);

    let second = first.replica().start().await;
    let app = second.service().await;
    let done = until(&app, &root, &execution, |e| e["status"] == "succeeded").await;
    assert_eq!(step(&done, "then")["output"], json!({"ok": true}));
    let waited =
        time(&step(&done, "wait")["finished_at"]) - time(&step(&done, "wait")["started_at"]);
    assert!(
        waited >= chrono::Duration::seconds(2),
        "the timer kept its deadline: {waited}"
    );
}

on_both_stores!(a_timer_survives_a_restart);

async fn concurrency_limits_queue_starts_per_key_and_timeouts_end_executions(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    // One execution per customer at a time.
    let id = define(
        &app,
        &root,
        json!({"name": "one at a time", "concurrency": {"limit": 1, "key": "inputs.customer"},
               "steps": [{"id": "work", "kind": "delay", "with": {"duration": "1s"}}]}),
    )
    .await;
    let mut started = Vec::new();
    for customer in ["acme", "acme", "globex"] {
        let (status, body) = start(&app, &root, &id, json!({ "customer": customer }), 0).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        started.push(body);
    }
    let queued: Vec<bool> = started
        .iter()
        .map(|e| e["queued"].as_bool().unwrap())
        .collect();
    assert_eq!(
        queued,
        [false, true, false],
        "the second acme waits its turn"
    );
    let mut done = Vec::new();
    for e in &started {
        let id = e["execution_id"].as_str().unwrap();
        done.push(until(&app, &root, id, |e| e["status"] == "succeeded").await);
    }
    let (first, second, other) = (&done[0], &done[1], &done[2]);
    assert!(
        time(&second["started_at"]) >= time(&first["finished_at"]),
        "the same key never runs twice at once"
    );
    assert!(
        time(&other["started_at"]) < time(&first["finished_at"]),
        "another key runs beside it"
    );
    assert_eq!(second["queued"], false);
    let (_, timeline) = call(
        &app,
        Method::GET,
        &format!(
            "/api/v1/executions/{}/timeline",
            second["execution_id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert!(timeline
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["detail"] == "released from the concurrency queue"));

    // A cancelled queued execution frees nothing and blocks nothing.
    let (_, a) = start(&app, &root, &id, json!({"customer": "initech"}), 0).await;
    let (_, b) = start(&app, &root, &id, json!({"customer": "initech"}), 0).await;
    let (_, c) = start(&app, &root, &id, json!({"customer": "initech"}), 0).await;
    assert_eq!(
        (a["queued"].clone(), b["queued"].clone()),
        (json!(false), json!(true))
    );
    let (status, _) = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/executions/{}/cancel",
            b["execution_id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let last = until(&app, &root, c["execution_id"].as_str().unwrap(), |e| {
        e["status"] == "succeeded"
    })
    .await;
    let a = until(&app, &root, a["execution_id"].as_str().unwrap(), |e| {
        e["status"] == "succeeded"
    })
    .await;
    assert!(time(&last["started_at"]) >= time(&a["finished_at"]));

    // An execution past its `timeout` fails, and what was open is cancelled.
    let slow = define(
        &app,
        &root,
        json!({"name": "bounded", "timeout": "1s", "steps": [
            {"id": "wait", "kind": "delay", "with": {"duration": "1h"}},
            {"id": "after", "kind": "noop", "depends_on": ["wait"]}]}),
    )
    .await;
    let (_, body) = start(&app, &root, &slow, json!({}), 0).await;
    assert!(body["deadline"].is_string(), "{body}");
    let failed = until(&app, &root, body["execution_id"].as_str().unwrap(), |e| {
        e["status"] == "failed"
    })
    .await;
    assert!(
        failed["error"].as_str().unwrap().contains("timed out"),
        "{failed}"
    );
    assert_eq!(step(&failed, "wait")["status"], "cancelled");
    assert_eq!(step(&failed, "after")["status"], "cancelled");
    // A retry gets a fresh deadline (it does not time out at once).
    let id = failed["execution_id"].as_str().unwrap();
    let (status, retried) = call(
        &app,
        Method::POST,
        &format!("/api/v1/executions/{id}/retry"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert!(time(&retried["deadline"]) > time(&failed["deadline"]));
    assert!(!retried["status"].as_str().unwrap().contains("failed"));
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&root),
        Some(json!({"name": "bad", "timeout": "soon", "steps": [{"id": "a", "kind": "noop"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "timeout");
}

on_both_stores!(concurrency_limits_queue_starts_per_key_and_timeouts_end_executions);

async fn project_steps_act_as_their_person(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let kickoff = define(
        &app,
        &root,
        json!({"name": "kickoff", "steps": [
            {"id": "create", "kind": "project.create",
             "with": {"name": "{{ inputs.name }}", "tags": ["kickoff"], "visibility": "private"}},
            {"id": "describe", "kind": "project.update", "depends_on": ["create"],
             "with": {"project_id": "{{ steps.create.output.id }}",
                      "description": "set up by {{ workflow.name }}"}}
        ]}),
    )
    .await;
    let (status, done) = start(&app, &root, &kickoff, json!({"name": "Apollo"}), 20).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "succeeded", "{done}");
    let project = step(&done, "create")["output"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, read) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["description"], "set up by kickoff");
    assert_eq!(
        read["owner_id"], done["started_by"],
        "created as the starter"
    );
    assert_eq!(read["tags"], json!(["kickoff"]));
    let actions = support::audit_actions(&app, &root, &format!("resource=project:{project}")).await;
    assert_eq!(actions, ["project.updated", "project.created"]);

    // A member's execution may do only what the member may: not change a private project
    // of someone else.
    let (member, member_id) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let touch = define(
        &app,
        &root,
        json!({"name": "touch", "steps": [
            {"id": "describe", "kind": "project.update",
             "with": {"project_id": "{{ inputs.project }}", "description": "mine now"}}]}),
    )
    .await;
    let keyed = || {
        test::TestRequest::post()
            .uri(&format!("/api/v1/workflows/{touch}/executions?wait=20"))
            .insert_header(("Authorization", format!("Bearer {member}")))
            .insert_header(("Idempotency-Key", "touch-1"))
            .set_json(json!({"inputs": { "project": project }}))
            .to_request()
    };
    let res = test::call_service(&app, keyed()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let failed: Value = test::read_body_json(res).await;
    assert_eq!(failed["status"], "failed");
    let (_, read) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(read["description"], "set up by kickoff", "nothing changed");
    // Retried by root, the step acts as root: a retry lends nobody else's rights, and
    // borrows none either.
    let (status, retried) = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/executions/{}/retry",
            failed["execution_id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["started_by"], done["started_by"], "root's now");
    let retried = until(&app, &root, failed["execution_id"].as_str().unwrap(), |e| {
        e["status"] != "running"
    })
    .await;
    assert_eq!(retried["status"], "succeeded", "{retried}");
    // Now the run holds root's private project: Mia's repeat of her keyed start does not
    // hand it back to her.
    let res = test::call_service(&app, keyed()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The project is private to root: the run that made it (its outputs hold the project,
    // and later steps may copy it) is private with it. Mia reads executions
    // (`workflows:read`) but not the project: to her the run does not exist, and her try is
    // on the audit trail.
    let run = done["execution_id"].as_str().unwrap().to_owned();
    let refusals = format!("actor={member_id}&outcome=denied&resource=project:{project}");
    let before = support::audit_actions(&app, &root, &refusals).await.len();
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&member),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        support::audit_actions(&app, &root, &refusals).await.len(),
        before + 1,
        "the try is recorded"
    );
    let (status, page) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{kickoff}/executions"),
        Some(&member),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"], json!([]), "{page}");
    let (_, workflow) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{kickoff}"),
        Some(&member),
        None,
    )
    .await;
    assert_eq!(workflow["last_execution"], Value::Null, "{workflow}");
    let (status, own) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(step(&own, "create")["output"]["name"], "Apollo", "{own}");

    // A bad field is a step failure naming it; the name is the API's rule.
    let (_, failed) = start(&app, &root, &kickoff, json!({"name": ""}), 20).await;
    assert_eq!(failed["status"], "failed");
    assert!(
        step(&failed, "create")["error"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{failed}"
    );
}

on_both_stores!(project_steps_act_as_their_person);
