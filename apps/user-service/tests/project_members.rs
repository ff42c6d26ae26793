//! Project members over HTTP: each project role against what it may do, the owner rules,
//! private projects, other tenants, and the trail it leaves.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

async fn project_roles_decide_who_does_what_on_one_project(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let mut ids = std::collections::HashMap::new();
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("ana", "member"),
        ("ben", "member"),
        ("cat", "member"),
        ("dan", "member"),
        ("eve", "member"),
        ("vic", "viewer"),
    ] {
        let (token, id) = support::join(&app, &root, &format!("{name}@example.com"), &[role]).await;
        ids.insert(name, id);
        tokens.insert(name, token);
    }
    let t = |name: &str| tokens[name].clone();
    let (status, project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&t("ana")),
        Some(json!({"name": "Gemini"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/v1/projects/{}", project["id"].as_str().unwrap());
    let members = format!("{path}/members");
    let member = |name: &str| format!("{members}/{}", ids[name]);

    // The owner adds a maintainer, an editor and a viewer.
    for (name, role) in [("ben", "maintainer"), ("cat", "editor"), ("dan", "viewer")] {
        let (status, added) = call(
            &app,
            Method::POST,
            &members,
            Some(&t("ana")),
            Some(json!({"user_id": ids[name], "role": role})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["role"], role);
    }
    let (status, listed) = call(&app, Method::GET, &members, Some(&t("vic")), None).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a tenant project's members are visible"
    );
    let roles: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "maintainer", "editor", "viewer"]);

    // Bad input: a clear 4xx, nothing written.
    for (body, status) in [
        (
            json!({"user_id": ids["eve"], "role": "boss"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"user_id": ids["eve"]}), StatusCode::BAD_REQUEST),
        (
            json!({"user_id": "not-an-id", "role": "viewer"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"user_id": uuid::Uuid::now_v7(), "role": "viewer"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"user_id": ids["ben"], "role": "viewer"}),
            StatusCode::CONFLICT,
        ),
    ] {
        let (got, problem) = call(&app, Method::POST, &members, Some(&t("ana")), Some(body)).await;
        assert_eq!(got, status, "{problem}");
    }

    // Each project role against a change of the project's fields.
    for (name, expected) in [
        ("cat", StatusCode::OK),
        ("ben", StatusCode::OK),
        ("dan", StatusCode::FORBIDDEN),
        ("eve", StatusCode::FORBIDDEN),
        ("vic", StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call(
            &app,
            Method::PATCH,
            &path,
            Some(&t(name)),
            Some(json!({"description": format!("by {name}")})),
        )
        .await;
        assert_eq!(status, expected, "{name}: {body}");
    }
    // Who reads a project is the maintainers' call: an editor may change its fields but
    // neither open a private one to the tenant nor close it; a maintainer may do both.
    for (name, visibility, expected) in [
        ("ana", "private", StatusCode::OK),
        ("cat", "tenant", StatusCode::FORBIDDEN),
        ("ben", "tenant", StatusCode::OK),
        ("cat", "private", StatusCode::FORBIDDEN),
        ("ben", "private", StatusCode::OK),
    ] {
        let (status, body) = call(
            &app,
            Method::PATCH,
            &path,
            Some(&t(name)),
            Some(json!({"visibility": visibility})),
        )
        .await;
        assert_eq!(status, expected, "{name} → {visibility}: {body}");
    }
    // Managing members: maintainers below owner only; editors and viewers not at all.
    for (name, body, expected) in [
        (
            "cat",
            json!({"user_id": ids["eve"], "role": "viewer"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "dan",
            json!({"user_id": ids["eve"], "role": "viewer"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "ben",
            json!({"user_id": ids["eve"], "role": "owner"}),
            StatusCode::FORBIDDEN,
        ),
        (
            "ben",
            json!({"user_id": ids["eve"], "role": "viewer"}),
            StatusCode::CREATED,
        ),
    ] {
        let (status, answer) = call(&app, Method::POST, &members, Some(&t(name)), Some(body)).await;
        assert_eq!(status, expected, "{name}: {answer}");
    }
    let (status, _) = call(
        &app,
        Method::PATCH,
        &member("ana"),
        Some(&t("ben")),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a maintainer cannot demote an owner"
    );
    let (status, _) = call(&app, Method::DELETE, &path, Some(&t("ben")), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only owners delete");
    let (status, changed) = call(
        &app,
        Method::PATCH,
        &member("dan"),
        Some(&t("ben")),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["role"], "editor");
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&t("dan")),
        Some(json!({"description": "dan edits now"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the new role applies at once");

    // The owner rules: owners promote; the owner of record keeps the role.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &member("ben"),
        Some(&t("ana")),
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for token in [t("ana"), t("ben")] {
        let (status, problem) = call(
            &app,
            Method::PATCH,
            &member("ana"),
            Some(&token),
            Some(json!({"role": "editor"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        let (status, _) = call(&app, Method::DELETE, &member("ana"), Some(&token), None).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
    let (status, _) = call(
        &app,
        Method::PATCH,
        &member("vic"),
        Some(&t("ana")),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member");

    // Leaving and removing.
    let (status, _) = call(&app, Method::DELETE, &member("eve"), Some(&t("eve")), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "anyone may leave");
    let (status, _) = call(&app, Method::DELETE, &member("eve"), Some(&t("ana")), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::DELETE, &member("dan"), Some(&t("ben")), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Private: members only; dan, removed, sees nothing any more.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        Some(&t("ana")),
        Some(json!({"visibility": "private"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (name, expected) in [
        ("cat", StatusCode::OK),
        ("dan", StatusCode::NOT_FOUND),
        ("vic", StatusCode::NOT_FOUND),
    ] {
        let (status, _) = call(&app, Method::GET, &members, Some(&t(name)), None).await;
        assert_eq!(status, expected, "{name}");
    }
    let (status, _) = call(&app, Method::GET, &members, Some(&root), None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "tenant owners are not members"
    );

    // Another tenant's owner finds nothing; its users cannot be added here.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(json!({"slug": "globex", "name": "Globex", "owner": {"email": "boss@globex.test", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (boss, _) = login(&app, "globex", "boss@globex.test", PASSWORD).await;
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&boss),
        None,
    )
    .await;
    let (status, _) = call(&app, Method::GET, &members, Some(&boss), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::POST,
        &members,
        Some(&t("ana")),
        Some(json!({"user_id": me["id"], "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change is on the trail.
    let actions = support::audit_actions(
        &app,
        &root,
        &format!(
            "resource=project:{}&limit=200",
            project["id"].as_str().unwrap()
        ),
    )
    .await;
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(count("project.member_added"), 4, "{actions:?}");
    assert_eq!(count("project.member_role_changed"), 2, "{actions:?}");
    assert_eq!(count("project.member_removed"), 2, "{actions:?}");
}
on_both_stores!(project_roles_decide_who_does_what_on_one_project);
