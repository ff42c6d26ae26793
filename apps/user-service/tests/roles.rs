//! Custom roles over HTTP: define, assign, redefine (applies at the next request), delete.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

async fn custom_roles_grant_exactly_their_permissions(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;

    let define = |name: &str, permissions: &[&str]| json!({"name": name, "description": "reads users and analytics", "permissions": permissions});
    let (status, role) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&root),
        Some(define("analyst", &["analytics:read", "users:read"])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let role_id = role["id"].as_str().unwrap().to_owned();
    for (body, field) in [
        (define("admin", &["users:read"]), "name"),
        (define("ops", &["users:fly"]), "permissions[0]"),
        (define("ops", &["users:manage_owners"]), "permissions[0]"),
    ] {
        let (status, problem) =
            call(&app, Method::POST, "/api/v1/roles", Some(&root), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&root),
        Some(define("analyst", &["users:read"])),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A user holding only the custom role can do exactly what it grants.
    let (status, ana) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "ana@example.com", "password": PASSWORD, "roles": ["analyst"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ana}");
    let ana_id = ana["id"].as_str().unwrap().to_owned();
    let (token, _) = login(&app, "default", "ana@example.com", PASSWORD).await;
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/users",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "granted by the custom role");
    let (status, _) = call(&app, Method::GET, "/api/v1/users", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&token),
        Some(json!({"email": "x@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not granted");
    let (_, answer) = call(
        &app,
        Method::POST,
        "/api/v1/authz/check",
        Some(&token),
        Some(json!({"action": "analytics:read", "resource": {"type": "tenant"}})),
    )
    .await;
    assert_eq!(
        answer,
        json!({"allowed": true, "reason": "granted by role analyst"})
    );

    // Redefining it applies at the next request; its name is fixed.
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        Some(define("analyst", &["users:read"])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/users",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the removed permission is gone at once"
    );
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        Some(define("renamed", &["users:read"])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Listing shows the built-in roles and this one; the roles of others are not for members.
    let (_, list) = call(&app, Method::GET, "/api/v1/roles", Some(&root), None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "admin", "member", "viewer", "analyst"]);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&token),
        Some(define("x-role", &["users:read"])),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "roles:manage needed");

    // Assignment replaces the set; unknown names are refused; a held role cannot be deleted.
    let (status, problem) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/users/{ana_id}/roles"),
        Some(&root),
        Some(json!({"roles": ["analyst", "wizard"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "ana holds it");
    let (status, user) = call(
        &app,
        Method::PUT,
        &format!("/api/v1/users/{ana_id}/roles"),
        Some(&root),
        Some(json!({"roles": ["viewer"]})),
    )
    .await;
    assert_eq!(
        (status, user["roles"].clone()),
        (StatusCode::OK, json!(["viewer"]))
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/roles/not-an-id",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_both_stores!(custom_roles_grant_exactly_their_permissions);
