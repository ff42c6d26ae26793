//! The permission check API other services use.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

fn ask(user: Option<&str>, action: &str, kind: &str) -> Value {
    json!({"user_id": user, "action": action, "resource": {"type": kind}})
}

async fn checks_answer_with_reasons_for_the_caller_and_for_others(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, viewer) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "v@example.com", "password": PASSWORD, "roles": ["viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let viewer_id = viewer["id"].as_str().unwrap().to_owned();
    let (vtoken, _) = login(&app, "default", "v@example.com", PASSWORD).await;

    let (status, answer) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        Some(&vtoken),
        Some(ask(None, "projects:write", "project")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({"allowed": false, "reason": "no role of yours (viewer) grants projects:write"})
    );
    let (_, answer) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        Some(&root),
        Some(ask(Some(&viewer_id), "projects:read", "project")),
    )
    .await;
    assert_eq!(
        answer,
        json!({"allowed": true, "reason": "granted by role viewer"})
    );

    let (status, batch) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check-batch",
        Some(&root),
        Some(json!({"checks": [
            ask(None, "users:delete", "user"),
            ask(Some(&viewer_id), "users:delete", "user"),
            {"action": "audit:read", "resource": {"type": "audit", "id": "x"}},
        ]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    let allowed: Vec<bool> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, true]);

    // Bad wording: 400 naming the field; too many: 400; other tenants' ids: 404.
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check-batch",
        Some(&root),
        Some(json!({"checks": [ask(None, "users:read", "user"), ask(None, "users:fly", "spaceship")]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["checks[1].action", "checks[1].resource.type"]);
    let many: Vec<Value> = (0..101).map(|_| ask(None, "users:read", "user")).collect();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check-batch",
        Some(&root),
        Some(json!({"checks": many})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for unknown in [usvc_core::UserId::new().to_string(), "not-an-id".to_owned()] {
        let (status, _) = call(
            &app,
            Method::POST,
            "/api/v1/authz/check",
            Some(&root),
            Some(ask(Some(&unknown), "users:read", "user")),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    }

    // A demotion changes the answer at the next request.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{viewer_id}"),
        Some(&root),
        Some(json!({"roles": ["member"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, answer) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        Some(&vtoken),
        Some(ask(None, "projects:create", "project")),
    )
    .await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        None,
        Some(ask(None, "projects:create", "project")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

on_both_stores!(checks_answer_with_reasons_for_the_caller_and_for_others);

/// A private project answers like a missing one to whoever may not read it — about
/// themselves or about a member — with the same reason, so the check API tells nothing of
/// its existence or its members; members get real answers.
async fn private_projects_answer_like_missing_ones_to_outsiders(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (mia, mia_id) = support::join(&app, &root, "mia@example.com", &["member"]).await;
    let (ada, _) = support::join(&app, &root, "ada@example.com", &["admin"]).await;
    let (status, project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&mia),
        Some(json!({"name": "hush", "visibility": "private"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let private = project["id"].as_str().unwrap().to_owned();
    let missing = uuid::Uuid::now_v7().to_string();
    let about = |user: Option<&str>, id: &str| json!({"user_id": user, "action": "projects:write", "resource": {"type": "project", "id": id}});
    for user in [None, Some(mia_id.as_str())] {
        let (_, real) = call(
            &app,
            Method::POST,
            "/api/v1/authz/check",
            Some(&ada),
            Some(about(user, &private)),
        )
        .await;
        let (_, made_up) = call(
            &app,
            Method::POST,
            "/api/v1/authz/check",
            Some(&ada),
            Some(about(user, &missing)),
        )
        .await;
        assert_eq!(
            real, made_up,
            "an admin outside the project learns nothing ({user:?})"
        );
        assert_eq!(
            real,
            json!({"allowed": false, "reason": "there is no such project"})
        );
    }
    let (_, answer) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        Some(&mia),
        Some(about(None, &private)),
    )
    .await;
    assert_eq!(answer["allowed"], true, "{answer}");
}

on_both_stores!(private_projects_answer_like_missing_ones_to_outsiders);
