//! Workflow triggers on SQLite and Postgres: domain events start executions through the
//! outbox — once per workflow and event, even with two processes on one database — filters
//! and pauses hold them back; schedules fire each tick once however many processes race.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use user_service::wiring::acting::{ActingAuthorizer, ActingPeople};

use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::{call, define};
use usvc_cache::CacheSpec;
use usvc_core::ports::Clock;

/// A workflow's executions, newest first (with their steps).
async fn executions<S, B>(app: &S, token: &str, workflow: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, page) = call(
        app,
        Method::GET,
        &format!("/api/v1/workflows/{workflow}/executions?limit=200"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Waits (at most 20 s) until `done` holds of the workflow's executions.
async fn until_executions<S, B>(
    app: &S,
    token: &str,
    workflow: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = executions(app, token, workflow).await;
        if done(&found) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_project<S, B>(app: &S, token: &str, name: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, project) = call(
        app,
        Method::POST,
        "/api/v1/projects",
        Some(token),
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    project["id"].as_str().unwrap().to_owned()
}

fn names(found: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = found
        .iter()
        .map(|e| {
            e["inputs"]["event"]["payload"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    names.sort();
    names
}

async fn events_start_each_workflow_once(first: TestApp) {
    // A second process on the same database runs its own trigger loop.
    let second = first.replica().start().await;
    let (app, other) = (first.service().await, second.service().await);
    let root = support::owner_token(&app).await;
    let id = define(
        &app,
        &root,
        json!({"name": "on new projects",
               "triggers": [{"type": "event", "event": "project.created",
                             "filter": "event.payload.name != 'quiet'"}],
               "steps": [{"id": "note", "kind": "transform",
                          "with": {"project": "{{ inputs.event.payload.project_id }}",
                                   "type": "{{ inputs.event.type }}"}}]}),
    )
    .await;

    // Every event of the type starts one execution, whichever process relays it.
    let mut projects = Vec::new();
    for i in 0..6 {
        let app_i = if i % 2 == 0 { &app } else { &other };
        projects.push(create_project(app_i, &root, &format!("p{i}")).await);
    }
    let found = until_executions(&app, &root, &id, |found| {
        found.len() >= 6 && found.iter().all(|e| e["status"] == "succeeded")
    })
    .await;
    let (_, first_run) = call(
        &app,
        Method::GET,
        &format!(
            "/api/v1/executions/{}",
            found[0]["execution_id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(first_run["trigger"], "event");
    assert_eq!(first_run["steps"][0]["output"]["type"], "project.created");
    assert!(projects.contains(
        &first_run["steps"][0]["output"]["project"]
            .as_str()
            .unwrap()
            .to_owned()
    ));

    // A filter that does not hold starts nothing; a paused workflow starts nothing, and
    // resuming does not replay what happened meanwhile.
    create_project(&app, &root, "quiet").await;
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/pause"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    create_project(&other, &root, "while paused").await;
    // Resumed at once: the event of the pause counts for nothing, looked at or not yet.
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/resume"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    create_project(&app, &root, "after").await;
    let found = until_executions(&app, &root, &id, |found| {
        found
            .iter()
            .any(|e| e["inputs"]["event"]["payload"]["name"] == "after")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let found_later = executions(&app, &root, &id).await;
    assert_eq!(found.len(), found_later.len(), "nothing more came");
    assert_eq!(
        names(&found_later),
        ["after", "p0", "p1", "p2", "p3", "p4", "p5"],
        "one execution per event, none for `quiet` or while paused"
    );

    // Event triggers see every event of the tenant, so saving one takes `audit:read`: a
    // member may save schedules, not listeners.
    let (member, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&member),
        Some(
            json!({"name": "spy", "triggers": [{"type": "event", "event": "project.created"}],
                    "steps": [{"id": "a", "kind": "noop"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&member),
        Some(
            json!({"name": "nightly", "triggers": [{"type": "schedule", "cron": "0 2 * * *"}],
                    "steps": [{"id": "a", "kind": "noop"}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // A workflow's `event` step starts the workflows listening to that type; a workflow
    // that would start itself is refused.
    let listener = define(
        &app,
        &root,
        json!({"name": "on shipments",
               "triggers": [{"type": "event", "event": "order.shipped"}],
               "steps": [{"id": "seen", "kind": "transform",
                          "with": {"order": "{{ inputs.event.payload.order }}"}}]}),
    )
    .await;
    let shipper = define(
        &app,
        &root,
        json!({"name": "ship",
               "steps": [{"id": "announce", "kind": "event",
                          "with": {"type": "order.shipped", "payload": {"order": "{{ inputs.order }}"}}}]}),
    )
    .await;
    let (status, started) = call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{shipper}/executions?wait=20"),
        Some(&root),
        Some(json!({"inputs": {"order": 7}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let emitted = &started["steps"][0]["output"];
    assert_eq!(emitted["type"], "order.shipped");
    let found = until_executions(&app, &root, &listener, |found| {
        found.len() == 1 && found[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(found[0]["inputs"]["event"]["id"], emitted["event_id"]);
    assert_eq!(
        found[0]["inputs"]["event"]["payload"],
        json!({"order": 7, "workflow_chain": 1})
    );
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/workflows",
        Some(&root),
        Some(json!({"name": "echo", "triggers": [{"type": "event", "event": "order.shipped"}],
                    "steps": [{"id": "again", "kind": "event", "with": {"type": "order.shipped"}}]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "steps[0].with.type");

    // Identity events go through the outbox for triggers too.
    let welcome = define(
        &app,
        &root,
        json!({"name": "welcome",
               "triggers": [{"type": "event", "event": "user.created"}],
               "steps": [{"id": "hello", "kind": "transform",
                          "with": {"user": "{{ inputs.event.payload.user_id }}"}}]}),
    )
    .await;
    let (_, user) = support::join(&other, &root, "new@example.com", &["member"]).await;
    let found = until_executions(&app, &root, &welcome, |found| {
        found.len() == 1 && found[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(
        found[0]["inputs"]["event"]["payload"]["user_id"],
        json!(user)
    );
    assert_eq!(found[0]["inputs"]["event"]["payload"]["source"], "admin");
}

on_both_stores!(events_start_each_workflow_once);

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A trigger service of "another replica" over `state`'s database, on `clock`.
fn replica(
    state: &user_service::http::state::AppState,
    clock: Arc<TestClock>,
) -> usvc_workflow::TriggerService {
    let people = ActingPeople::new(state.db.users.clone(), state.db.tenants.clone());
    let engine = Arc::new(usvc_workflow::Engine::new(usvc_workflow::EnginePorts {
        offload: Arc::new(usvc_runtime::BlockingPool),
        executions: state.db.executions.clone(),
        workflows: state.db.workflows.clone(),
        clock,
        versions: state.caches.create(CacheSpec::WORKFLOW_VERSIONS),
        kinds: usvc_workflow::Kinds::builtin(),
        env: usvc_workflow::StepEnv {
            http: Arc::new(usvc_egress::EgressClient::new(Vec::new()).unwrap()),
            events: state.db.outbox.clone(),
            projects: Arc::new(
                user_service::wiring::workflow_projects::WorkflowProjects::new(
                    state.projects.clone(),
                    people.clone(),
                ),
            ),
        },
    }));
    usvc_workflow::TriggerService::new(usvc_workflow::TriggerPorts {
        triggers: state.db.triggers.clone(),
        engine,
        // What it starts wakes the app's worker, as a replica's start wakes every worker.
        signal: state.worker.clone(),
        quotas: state.quotas.clone(),
        access: Arc::new(ActingAuthorizer::new(people, state.authorizer.clone())),
    })
}

async fn a_schedule_fires_each_tick_once(t: TestApp) {
    // Two replicas' trigger services on a clock of their own; the app's own loop (on the
    // real clock) is stopped, as at a shutdown.
    t.state.triggers.stop().await;
    let t0: DateTime<Utc> = "2025-03-03T08:58:30Z".parse().unwrap();
    let clock = Arc::new(TestClock(Mutex::new(t0)));
    let (a, b) = (
        replica(&t.state, clock.clone()),
        replica(&t.state, clock.clone()),
    );
    let (app, root) = t.serve_as_owner().await;
    let id = define(
        &app,
        &root,
        json!({"name": "morning report",
               "triggers": [{"type": "schedule", "cron": "0 10 * * *", "timezone": "Europe/Paris"}],
               "steps": [{"id": "report", "kind": "transform", "with": {"tick": "{{ inputs.schedule.tick }}"}}]}),
    )
    .await;
    // The first pass plans the next tick (10:00 Paris is 09:00 UTC in March).
    let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(pa.unwrap().started + pb.unwrap().started, 0);
    let next = a.next_tick().await.unwrap();
    assert_eq!(next, Some("2025-03-03T09:00:00Z".parse().unwrap()));

    // At the tick both replicas run; one execution starts.
    *clock.0.lock().unwrap() = "2025-03-03T09:00:01Z".parse().unwrap();
    let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(pa.unwrap().started + pb.unwrap().started, 1);
    let found = until_executions(&app, &root, &id, |found| {
        found.len() == 1 && found[0]["status"] == "succeeded"
    })
    .await;
    assert_eq!(found[0]["trigger"], "schedule");
    assert_eq!(
        found[0]["inputs"]["schedule"]["tick"],
        "2025-03-03T09:00:00+00:00"
    );
    assert_eq!(
        a.next_tick().await.unwrap(),
        Some("2025-03-04T09:00:00Z".parse().unwrap())
    );

    // Three days without a process: the missed ticks fire once, then it moves on from now.
    *clock.0.lock().unwrap() = "2025-03-07T12:00:00Z".parse().unwrap();
    let (pa, pb) = tokio::join!(a.run_once(), b.run_once());
    assert_eq!(pa.unwrap().started + pb.unwrap().started, 1);
    assert_eq!(
        a.next_tick().await.unwrap(),
        Some("2025-03-08T09:00:00Z".parse().unwrap())
    );

    // Paused: the tick passes and nothing starts; resumed: it plans afresh.
    call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/pause"),
        Some(&root),
        None,
    )
    .await;
    *clock.0.lock().unwrap() = "2025-03-08T09:00:05Z".parse().unwrap();
    assert_eq!(a.run_once().await.unwrap().started, 0);
    call(
        &app,
        Method::POST,
        &format!("/api/v1/workflows/{id}/resume"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(a.run_once().await.unwrap().started, 0, "planned, not fired");
    assert_eq!(
        a.next_tick().await.unwrap(),
        Some("2025-03-09T09:00:00Z".parse().unwrap())
    );
    let found = until_executions(&app, &root, &id, |found| found.len() == 2).await;
    assert_eq!(found.len(), 2);
}

on_both_stores!(a_schedule_fires_each_tick_once);

/// Creates a project with `visibility` as the holder of `token`; its id.
async fn project_with<S, B>(app: &S, token: &str, name: &str, visibility: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, project) = call(
        app,
        Method::POST,
        "/api/v1/projects",
        Some(token),
        Some(json!({ "name": name, "visibility": visibility })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    project["id"].as_str().unwrap().to_owned()
}

/// Triggered runs act as the workflow's saver (the event's author is data), a private
/// project's events start only workflows whose saver may read it, and an execution started by
/// one is visible only to those who may read the project (or the audit trail).
async fn triggered_runs_act_as_the_saver_and_private_projects_stay_private(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (ada, ada_id) = support::join(&app, &root, "ada@example.com", &["admin"]).await;
    let (mia, mia_id) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (vic, vic_id) = support::join(&app, &root, "vic@example.com", &["viewer"]).await;
    let id = define(
        &app,
        &ada,
        json!({"name": "mark new projects",
               "triggers": [{"type": "event", "event": "project.created"}],
               "steps": [{"id": "mark", "kind": "project.update",
                          "if": "inputs.event.payload.visibility == 'tenant'",
                          "with": {"project_id": "{{ inputs.event.payload.project_id }}",
                                   "description": "seen by automation"}}]}),
    )
    .await;

    // A tenant project of Mia's: the step runs as Ada, who saved the workflow.
    let open = project_with(&app, &mia, "open", "tenant").await;
    let found = until_executions(&app, &ada, &id, |f| {
        f.iter().any(|e| e["status"] == "succeeded")
    })
    .await;
    assert_eq!(
        found[0]["inputs"]["event"]["actor"],
        json!(mia_id),
        "the author is data"
    );
    let (_, trail) = call(
        &app,
        Method::GET,
        &format!("/api/v1/audit?resource=project:{open}&action=project.updated"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(trail["items"][0]["actor"]["id"], json!(ada_id), "{trail}");

    // A private project Ada is not on starts nothing; one she is on starts a run that Vic
    // (no member, no audit trail) cannot see, while Ada and the owner can.
    let hidden = project_with(&app, &mia, "hidden", "private").await;
    // Events are handled in order: a later project's run tells when the others were.
    let later = project_with(&app, &mia, "later", "tenant").await;
    let found = until_executions(&app, &ada, &id, |f| {
        f.iter()
            .any(|e| e["inputs"]["event"]["payload"]["project_id"] == json!(later))
    })
    .await;
    let about = |project: &str| {
        found
            .iter()
            .filter(|e| e["inputs"]["event"]["payload"]["project_id"] == json!(project))
            .count()
    };
    assert_eq!(
        about(&hidden),
        0,
        "a private project's event starts nothing its saver cannot see"
    );

    let second = project_with(&app, &mia, "second", "private").await;
    call(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{second}/members"),
        Some(&mia),
        Some(json!({"user_id": ada_id, "role": "viewer"})),
    )
    .await;
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{second}"),
        Some(&mia),
        Some(json!({"description": "now"})),
    )
    .await;
    let watcher = define(
        &app,
        &ada,
        json!({"name": "watch changes",
               "triggers": [{"type": "event", "event": "project.updated"}],
               "steps": [{"id": "note", "kind": "transform",
                          "with": {"name": "{{ inputs.event.payload.project_id }}"}},
                         {"id": "review", "kind": "approval",
                          "with": {"title": "Review {{ inputs.event.payload.project_id }}",
                                   "assignee_role": "viewer"}}]}),
    )
    .await;
    call(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{second}"),
        Some(&mia),
        Some(json!({"description": "again"})),
    )
    .await;
    let runs = until_executions(&app, &ada, &watcher, |f| !f.is_empty()).await;
    let run = runs[0]["execution_id"].as_str().unwrap().to_owned();
    assert_eq!(
        runs[0]["inputs"]["event"]["payload"]["project_id"],
        json!(second)
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member of the project");
    assert_eq!(
        support::audit_actions(
            &app,
            &root,
            &format!("actor={vic_id}&resource=project:{second}&outcome=denied")
        )
        .await,
        ["authz.denied"],
        "the refusal is on the audit trail, though answered as absence"
    );
    assert!(
        executions(&app, &vic, &watcher).await.is_empty(),
        "nor listed"
    );
    let (_, workflow) = call(
        &app,
        Method::GET,
        &format!("/api/v1/workflows/{watcher}"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(
        workflow["last_execution"],
        Value::Null,
        "nor shown as the workflow's last: {workflow}"
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}/timeline"),
        Some(&vic),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a member reads it");
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the tenant's owner is not a member: private to them too, while the project exists"
    );

    // The run's approval is for viewers, but Vic may not read what it is about: it is not
    // listed to him, nor can he open or answer it. A member of the project sees it.
    let tasks = |token: &str, query: &str| {
        let app = &app;
        let (token, query) = (token.to_owned(), query.to_owned());
        async move {
            let (status, page) = call(
                app,
                Method::GET,
                &format!("/api/v1/tasks{query}"),
                Some(&token),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["items"].as_array().unwrap().clone()
        }
    };
    let mut review = Vec::new();
    for _ in 0..100 {
        review = tasks(&ada, "?assignee=all").await;
        if !review.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(review.len(), 1, "{review:?}");
    let task = review[0]["id"].as_str().unwrap().to_owned();
    assert!(tasks(&vic, "").await.is_empty(), "not listed to Vic");
    assert!(
        tasks(&root, "?assignee=all").await.is_empty(),
        "nor to the owner"
    );
    for (method, path) in [
        (Method::GET, format!("/api/v1/tasks/{task}")),
        (Method::POST, format!("/api/v1/tasks/{task}/complete")),
    ] {
        let body = (method == Method::POST).then(|| json!({"decision": "approve"}));
        let (status, _) = call(&app, method, &path, Some(&vic), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Ada sees it (a member, `workflows:read`) but it is for viewers: refused, and audited.
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/tasks/{task}/complete"),
        Some(&ada),
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        support::audit_actions(
            &app,
            &root,
            &format!("actor={ada_id}&resource=task:{task}&outcome=denied")
        )
        .await,
        ["authz.denied"]
    );

    // Once the project is gone, its events are what the audit trail already shows its readers.
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/projects/{second}"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/executions/{run}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the owner reads the audit trail");
}

on_both_stores!(triggered_runs_act_as_the_saver_and_private_projects_stay_private);

/// Events about users (sign-ups, sessions, sign-ins) start only the workflows of savers who
/// may read the users directory now: automation reads no more than its author.
async fn user_events_start_only_workflows_whose_saver_reads_users(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, role) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&root),
        Some(
            json!({"name": "automator", "description": "automation without the directory",
                    "permissions": ["workflows:read", "workflows:write", "audit:read",
                                    "projects:create", "projects:read"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (otto, _) = support::join(&app, &root, "otto@example.com", &["automator"]).await;
    let watcher = |name: &str| {
        json!({"name": name,
               "triggers": [{"type": "event", "event": "user.created"},
                            {"type": "event", "event": "project.created"}],
               "steps": [{"id": "note", "kind": "transform",
                          "with": {"seen": "{{ inputs.event.type }}"}}]})
    };
    let blind = define(&app, &otto, watcher("otto's")).await;
    let sighted = define(&app, &root, watcher("root's")).await;

    support::join(&app, &root, "new@example.com", &["member"]).await;
    create_project(&app, &otto, "sentinel").await;
    let kinds = |found: &[Value]| -> Vec<String> {
        let mut kinds: Vec<String> = found
            .iter()
            .map(|e| e["inputs"]["event"]["type"].as_str().unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds
    };
    // Root's runs tell when both events were handled (each event meets every trigger at once).
    let root_runs = until_executions(&app, &root, &sighted, |f| f.len() == 2).await;
    assert_eq!(kinds(&root_runs), ["project.created", "user.created"]);
    // Read by root, who may read users (Otto would not be shown such a run anyway).
    assert_eq!(
        kinds(&executions(&app, &root, &blind).await),
        ["project.created"],
        "the user's event started nothing of Otto's"
    );

    // Without `audit:read` (what saving an event trigger took), Otto's triggers fall silent.
    let (status, body) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/roles/{}", role["id"].as_str().unwrap()),
        Some(&root),
        Some(
            json!({"name": "automator", "description": "automation, demoted",
                    "permissions": ["workflows:read", "workflows:write",
                                    "projects:create", "projects:read"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    create_project(&app, &otto, "after the demotion").await;
    until_executions(&app, &root, &sighted, |f| f.len() == 3).await;
    assert_eq!(
        executions(&app, &root, &blind).await.len(),
        1,
        "the demoted saver's workflow started nothing"
    );
}

on_both_stores!(user_events_start_only_workflows_whose_saver_reads_users);
