//! Each built-in role is allowed exactly its part of the action catalogue and refused the
//! rest: asked through the check API for every action, and tried on a real endpoint of each
//! tenant-level action that has one.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // the expected table reads best as one list.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

/// What each role may do, written out here independently of the service's table.
fn allowed(role: &str) -> Vec<&'static str> {
    let all_but_platform = support::CATALOGUE
        .iter()
        .copied()
        .filter(|a| *a != "tenants:manage")
        .collect();
    match role {
        "owner" => all_but_platform,
        "admin" => support::CATALOGUE
            .iter()
            .copied()
            .filter(|a| !["users:manage_owners", "tenants:manage"].contains(a))
            .collect(),
        "member" => vec![
            "users:read",
            "tenant:read",
            "projects:create",
            "projects:read",
            "workflows:read",
            "workflows:write",
            "workflows:execute",
            "tasks:complete",
        ],
        "viewer" => vec![
            "users:read",
            "tenant:read",
            "projects:read",
            "workflows:read",
        ],
        other => panic!("unknown role {other}"),
    }
}

/// A request that needs exactly `action` (and nothing the body could fail on first).
fn endpoint(action: &str, victim: &str) -> Option<(Method, String, Option<serde_json::Value>)> {
    Some(match action {
        "users:read" => (Method::GET, "/api/v1/users".into(), None),
        "users:write" => (
            Method::PATCH,
            format!("/api/v1/users/{victim}"),
            Some(json!({"display_name": "Renamed"})),
        ),
        "users:delete" => (Method::DELETE, format!("/api/v1/users/{victim}"), None),
        "users:import" => (
            Method::POST,
            "/api/v1/users/import".into(),
            Some(json!([{"email": format!("i{victim}@acme.test")}])),
        ),
        "roles:manage" => (
            Method::POST,
            "/api/v1/roles".into(),
            Some(
                json!({"name": format!("r{}", victim.replace('-', "")).chars().take(20).collect::<String>(), "description": "", "permissions": ["users:read"]}),
            ),
        ),
        "clients:manage" => (Method::GET, "/api/v1/oauth/clients".into(), None),
        "tenant:read" => (Method::GET, "/api/v1/tenant".into(), None),
        "tenant:write" => (
            Method::PATCH,
            "/api/v1/tenant/settings".into(),
            Some(json!({})),
        ),
        "analytics:read" => (Method::GET, "/api/v1/analytics/users".into(), None),
        "audit:read" => (Method::GET, "/api/v1/audit/verify".into(), None),
        "tenants:manage" => (Method::GET, "/api/v1/tenants".into(), None),
        _ => return None,
    })
}

async fn each_role_gets_exactly_its_catalogue(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    // A tenant without the platform grant, so its owner is an ordinary owner.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(json!({"slug": "acme", "name": "Acme", "owner": {"email": "owner@acme.test", "password": PASSWORD}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (owner, _) = login(&app, "acme", "owner@acme.test", PASSWORD).await;

    for role in ["owner", "admin", "member", "viewer"] {
        let token = if role == "owner" {
            owner.clone()
        } else {
            let email = format!("{role}@acme.test");
            let (status, _) = call(
                &app,
                Method::POST,
                "/api/v1/users",
                Some(&owner),
                Some(json!({"email": email, "password": PASSWORD, "roles": [role]})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
            login(&app, "acme", &email, PASSWORD).await.0
        };
        let expected = allowed(role);
        for action in support::CATALOGUE {
            let (status, decision) = call(
                &app,
                Method::POST,
                "/api/v1/authz/check",
                Some(&token),
                Some(json!({"action": action, "resource": {"type": "tenant"}})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{decision}");
            assert_eq!(
                decision["allowed"],
                expected.contains(&action),
                "{role} / {action}: {decision}"
            );
            assert!(decision["reason"].as_str().is_some_and(|r| !r.is_empty()));

            // A fresh member to act on, so deletions and edits always have a target.
            let (_, victim) = call(
                &app,
                Method::POST,
                "/api/v1/users",
                Some(&owner),
                Some(json!({"email": format!("v{}@acme.test", uuid::Uuid::now_v7().simple()), "password": PASSWORD})),
            )
            .await;
            let victim = victim["id"].as_str().unwrap().to_owned();
            if let Some((method, path, body)) = endpoint(action, &victim) {
                let (status, answer) = call(&app, method.clone(), &path, Some(&token), body).await;
                if expected.contains(&action) {
                    assert!(
                        status.is_success(),
                        "{role} may {action}: {method} {path} → {status} {answer}"
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{role} may not {action}: {method} {path} → {answer}"
                    );
                }
            }
        }
    }
}
on_both_stores!(each_role_gets_exactly_its_catalogue);
