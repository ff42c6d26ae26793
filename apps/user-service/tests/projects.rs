//! Projects over HTTP: create, read, list, change with `ETag` / `If-Match`, archive, delete,
//! and who may do which.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::{json, Value};
use support::call;

/// A request with an `If-Match` header: status, `ETag` and body.
async fn with_if_match<S, B>(
    app: &S,
    method: Method,
    uri: &str,
    token: &str,
    etag: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_http::body::MessageBody,
{
    let mut req = test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("If-Match", etag));
    if let Some(body) = body {
        req = req.set_json(body);
    }
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let etag = res
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = test::read_body(res).await;
    (
        status,
        etag,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn projects_live_change_and_end_under_their_versions(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (vic, _) = support::join(&app, &root, "vic@example.com", &["viewer"]).await;

    // A member creates a project and owns it; a viewer may not create one.
    let (status, apollo) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&mia),
        Some(json!({"name": "Apollo 11", "tags": ["space"], "settings": {"color": "blue"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{apollo}");
    assert_eq!(apollo["slug"], "apollo-11");
    assert_eq!(apollo["version"], 1);
    assert_eq!(apollo["visibility"], "tenant");
    let id = apollo["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/projects/{id}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&vic),
        Some(json!({"name": "Nope"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "visibility": "public"}), "visibility"),
        (json!({"name": "x", "settings": [1]}), "settings"),
    ] {
        let (status, problem) = call(
            &app,
            Method::POST,
            "/api/v1/projects",
            Some(&mia),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&root),
        Some(json!({"name": "APOLLO 11"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "names are unique, case-insensitively"
    );

    // Reads carry the version as ETag; a viewer reads a tenant project, cannot change it.
    let (status, etag, _) = with_if_match(&app, Method::GET, &path, &vic, "*", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&vic),
        Some(json!({"description": "hijacked"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Changes: PATCH keeps absent fields, PUT resets them; a stale If-Match is 412.
    let (status, etag, patched) = with_if_match(
        &app,
        Method::PATCH,
        &path,
        &mia,
        "\"1\"",
        Some(json!({"description": "To the moon"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(patched["tags"], json!(["space"]));
    let (status, _, problem) = with_if_match(
        &app,
        Method::PATCH,
        &path,
        &mia,
        "\"1\"",
        Some(json!({"description": "late"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    let mut echoed = patched.clone();
    echoed["name"] = json!("Apollo XI");
    echoed.as_object_mut().unwrap().remove("tags");
    let (status, _, replaced) =
        with_if_match(&app, Method::PUT, &path, &mia, "\"2\"", Some(echoed)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "read-only fields echoed back are fine: {replaced}"
    );
    assert_eq!(replaced["name"], "Apollo XI");
    assert_eq!(replaced["tags"], json!([]), "PUT resets what it leaves out");
    assert_eq!(replaced["version"], 3);

    // Private: invisible to non-members, the tenant owner included.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&mia),
        Some(json!({"visibility": "private"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for token in [&vic, &root] {
        let (status, _) = call(&app, Method::GET, &path, Some(token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, listed) = call(&app, Method::GET, "/api/v1/projects", Some(&vic), None).await;
    assert_eq!(listed["items"], json!([]));
    let (_, mine) = call(
        &app,
        Method::GET,
        "/api/v1/projects?member=me&q=apollo",
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Archived projects are read-only until unarchived.
    let (status, archived) = call(
        &app,
        Method::POST,
        &format!("{path}/archive"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["status"], "archived");
    assert!(archived["archived_at"].is_string());
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&mia),
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, active) = call(
        &app,
        Method::POST,
        &format!("{path}/unarchive"),
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(active["status"], "active");

    // Deleting: If-Match honoured; afterwards the project is gone.
    let version = active["version"].as_i64().unwrap();
    let (status, _, _) = with_if_match(
        &app,
        Method::DELETE,
        &path,
        &mia,
        &format!("\"{}\"", version - 1),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = with_if_match(
        &app,
        Method::DELETE,
        &path,
        &mia,
        &format!("\"{version}\""),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::GET, &path, Some(&mia), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/projects/not-an-id",
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The trail has every step.
    let actions = support::audit_actions(&app, &root, &format!("resource=project:{id}")).await;
    for expected in [
        "project.created",
        "project.updated",
        "project.archived",
        "project.unarchived",
        "project.deleted",
        "authz.denied",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}
on_both_stores!(projects_live_change_and_end_under_their_versions);

/// A POST with an `Idempotency-Key`: status, `Idempotent-Replayed` and body.
async fn create_with_key<S, B>(
    app: &S,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, bool, Value)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_http::body::MessageBody,
{
    let req = test::TestRequest::post()
        .uri("/api/v1/projects")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Idempotency-Key", key))
        .set_json(body)
        .to_request();
    let res = test::call_service(app, req).await;
    let status = res.status();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    let bytes = test::read_body(res).await;
    (
        status,
        replayed,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn creates_with_one_idempotency_key_happen_once(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;

    let body = json!({"name": "Vostok", "tags": ["a"]});
    let (status, replayed, first) = create_with_key(&app, &mia, "key-1", body.clone()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, replayed, again) = create_with_key(
        &app,
        &mia,
        "key-1",
        json!({"tags": ["a"], "name": "Vostok"}),
    )
    .await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true), "{again}");
    assert_eq!(
        again["id"], first["id"],
        "the same project, not a second one"
    );
    let (status, _, problem) =
        create_with_key(&app, &mia, "key-1", json!({"name": "Voskhod"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    for bad in ["", &"k".repeat(256)] {
        let (status, _, _) = create_with_key(&app, &mia, bad, json!({"name": "Bad"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    // Keys are the caller's own: the same key from someone else is a new request.
    let (status, replayed, roots) =
        create_with_key(&app, &root, "key-1", json!({"name": "Root's"})).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{roots}");

    // Eight retries racing each other create one project.
    let racing = (0..8).map(|_| create_with_key(&app, &mia, "key-race", json!({"name": "Race"})));
    let answers = futures::future::join_all(racing).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(
        answers.iter().filter(|(_, replayed, _)| !replayed).count(),
        1
    );
    let (_, listed) = call(
        &app,
        Method::GET,
        "/api/v1/projects?q=race",
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}
on_both_stores!(creates_with_one_idempotency_key_happen_once);

/// The `/metrics` series of group commit's project creates: (writes, batches).
async fn project_create_batches<S, B>(app: &S) -> (f64, f64)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_http::body::MessageBody,
{
    let res = test::call_service(app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let metrics = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    let series = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{kind=\"project_create\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0.0, |v| v.parse::<f64>().unwrap())
    };
    (
        series("usvc_store_group_commit_writes_total"),
        series("usvc_store_group_commit_batches_total"),
    )
}

/// Creates sent at the same moment share commits (group commit): `/metrics` counts fewer
/// batches than creates, and every create answers for itself: each made project is there
/// once, and the one whose name clashes with another of its moment is refused alone.
async fn concurrent_creates_share_commits_and_answer_each_for_itself(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (writes_before, batches_before) = project_create_batches(&app).await;
    let mut names: Vec<String> = (0..24).map(|i| format!("Moment {i}")).collect();
    names.push("MOMENT 3".into());
    let creates = names.iter().map(|name| {
        call(
            &app,
            Method::POST,
            "/api/v1/projects",
            Some(&root),
            Some(json!({ "name": name })),
        )
    });
    let answers = futures::future::join_all(creates).await;
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status != StatusCode::CREATED)
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            body
        })
        .collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    let (status, listed) = call(
        &app,
        Method::GET,
        "/api/v1/projects?q=moment&limit=100",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len(), 24, "{listed}");

    let (writes, batches) = project_create_batches(&app).await;
    // Other tests of this binary may create projects meanwhile; theirs only add to both.
    assert!(writes - writes_before >= 25.0, "{writes} {writes_before}");
    assert!(
        writes - writes_before > batches - batches_before,
        "some creates shared a batch: {writes} writes in {batches} batches"
    );
}
on_both_stores!(concurrent_creates_share_commits_and_answer_each_for_itself);

async fn analytics_and_the_projects_cache_are_reported(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, _) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let mut ids = Vec::new();
    for (token, name, visibility) in [
        (&root, "Alpha", "tenant"),
        (&root, "Beta", "tenant"),
        (&mia, "Hidden", "private"),
    ] {
        let (status, project) = call(
            &app,
            Method::POST,
            "/api/v1/projects",
            Some(token),
            Some(json!({"name": name, "visibility": visibility})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(project["id"].as_str().unwrap().to_owned());
    }
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/projects/{}", ids[1]),
        Some(&root),
        Some(json!({"description": "changed"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, listed) = call(
        &app,
        Method::GET,
        "/api/v1/projects?sort=-name",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let by_name: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(by_name, ["Beta", "Alpha"]);
    let (status, problem) = call(
        &app,
        Method::GET,
        "/api/v1/projects?sort=size",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "sort");
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/projects",
        Some(&mia),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "members do not read analytics"
    );
    let (status, figures) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/projects",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert_eq!(figures["total"], 3);
    assert_eq!(figures["by_visibility"], json!({"private": 1, "tenant": 2}));
    assert_eq!(figures["by_status"], json!({"active": 3, "archived": 0}));
    assert_eq!(figures["created_per_day"].as_array().unwrap().len(), 30);
    assert_eq!(figures["created_per_day"][29]["count"], 3);
    let named: Vec<&str> = figures["most_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["Beta", "Alpha"], "the private project is not named");
    assert_eq!(figures["members"], json!({"average": 1.0, "largest": 1}));

    // Reads are served by the `projects` cache; its hit rate is on /health/detailed and /metrics.
    for _ in 0..3 {
        let (status, _) = call(
            &app,
            Method::GET,
            &format!("/api/v1/projects/{}", ids[0]),
            Some(&root),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/health/detailed")
            .to_request(),
    )
    .await;
    let health: Value = test::read_body_json(res).await;
    let cache = health["caches"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "projects"))
        .cloned()
        .expect("projects cache listed");
    assert!(cache["hits"].as_u64() >= Some(2), "{cache}");
    assert!(cache["hit_rate"].as_f64() > Some(0.0), "{cache}");
    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let metrics = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert!(
        metrics.contains("usvc_cache_hits_total{cache=\"projects\"}")
            && metrics.contains("usvc_cache_hit_ratio{cache=\"projects\"}"),
        "projects cache on /metrics"
    );
}
on_both_stores!(analytics_and_the_projects_cache_are_reported);

async fn project_changes_are_announced_through_the_outbox(t: TestApp) {
    let mut events = t.state.events.subscribe();
    let (app, root) = t.serve_as_owner().await;
    let (status, project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&root),
        Some(json!({"name": "Announced"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &app,
        Method::POST,
        &format!(
            "/api/v1/projects/{}/archive",
            project["id"].as_str().unwrap()
        ),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv())
            .await
            .expect("relayed in time")
            .expect("an event");
        if event.payload["project_id"] == project["id"] {
            seen.push(event.kind);
        }
    }
    assert_eq!(seen, ["project.created", "project.archived"]);
}
on_both_stores!(project_changes_are_announced_through_the_outbox);

/// One input shape everywhere (`usvc_core::ProjectFields`, docs/api.md § Project fields):
/// absent stays, `null` returns a field to its default, read-only fields echoed back are
/// ignored by a change (not by a creation), anything else unknown or of the wrong type is
/// refused naming the field, and nothing is written when a body is refused.
async fn one_shape_for_every_project_body(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&root),
        Some(
            json!({"name": "Apollo", "visibility": "private", "tags": ["a"],
                    "description": null, "settings": {"k": 1}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["description"], "", "null is the default");
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/projects/{id}");

    // What a client read, sent back with changes: read-only fields are ignored.
    let mut echoed = created.clone();
    echoed["visibility"] = Value::Null;
    echoed["tags"] = Value::Null;
    echoed["version"] = json!(99);
    let (status, changed) = call(&app, Method::PATCH, &uri, Some(&root), Some(echoed)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        changed["visibility"], "private",
        "a null visibility is absent: never widened by a value that went missing"
    );
    assert_eq!(changed["tags"], json!([]), "null: back to the default");
    assert_eq!(changed["settings"], json!({"k": 1}), "sent back as it was");
    assert_eq!(changed["version"], 2, "the echoed version is ignored");

    for (method, body, field) in [
        (Method::PATCH, json!({"is_admin": true}), "is_admin"),
        (Method::PATCH, json!({"tags": "space"}), "tags"),
        (Method::PATCH, json!({"tags": ["ok", 7]}), "tags[1]"),
        (Method::PUT, json!({"description": "no name"}), "name"),
        (Method::POST, json!({"name": "Gemini", "id": id}), "id"),
    ] {
        let target = if method == Method::POST {
            "/api/v1/projects"
        } else {
            uri.as_str()
        };
        let (status, problem) = call(&app, method.clone(), target, Some(&root), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{method} {problem}");
    }
    let (_, now) = call(&app, Method::GET, &uri, Some(&root), None).await;
    assert_eq!(now["version"], 2, "no refused body changed anything");
    let (_, page) = call(&app, Method::GET, "/api/v1/projects", Some(&root), None).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );

    // A replacement: absent fields return to their defaults.
    let (status, replaced) = call(
        &app,
        Method::PUT,
        &uri,
        Some(&root),
        Some(json!({"name": "Apollo 11"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["settings"], json!({}));
    assert_eq!(replaced["name"], "Apollo 11");
}

on_both_stores!(one_shape_for_every_project_body);
