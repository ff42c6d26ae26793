//! Tenant administration over HTTP: the platform grant, creating a tenant with its owner in
//! one step, changing and disabling tenants.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

async fn platform_admins_run_tenants_and_nobody_else_can(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;

    // The bootstrap admin holds the platform grant.
    let (status, page) = call(&app, Method::GET, "/api/v1/tenants", Some(&root), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["slug"], "default");
    let default_id = page["items"][0]["id"].as_str().unwrap().to_owned();

    // A tenant and its owner in one step; the owner logs in with the slug.
    let new_tenant = |slug: &str, email: &str| json!({"slug": slug, "name": "Acme", "owner": {"email": email, "password": PASSWORD}});
    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(new_tenant("acme", "boss@acme.test")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["tenant"]["slug"], "acme");
    assert_eq!(created["tenant"]["status"], "active");
    assert_eq!(created["owner"]["email"], "boss@acme.test");
    let acme_id = created["tenant"]["id"].as_str().unwrap().to_owned();
    let (boss, boss_refresh) = login(&app, "acme", "boss@acme.test", PASSWORD).await;
    let (status, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&boss),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["roles"], json!(["owner"]));

    // Every bad field at once; a taken slug writes nothing, not even the owner.
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(
            json!({"slug": "Not A Slug", "name": " ", "owner": {"email": "nope", "password": "x"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["slug", "name", "owner.email"], "{problem}");
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(json!({"slug": "weak", "name": "Weak", "owner": {"email": "a@weak.test", "password": "password"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["errors"][0]["field"], "owner.password", "{problem}");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/tenants",
        Some(&root),
        Some(new_tenant("acme", "second@acme.test")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": "acme", "email": "second@acme.test", "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the clashing owner was not kept"
    );

    // A tenant owner's `*` does not reach the platform.
    for (method, path, body) in [
        (Method::GET, "/api/v1/tenants".to_owned(), None),
        (
            Method::POST,
            "/api/v1/tenants".to_owned(),
            Some(new_tenant("evil", "x@evil.test")),
        ),
        (Method::GET, format!("/api/v1/tenants/{default_id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/tenants/{default_id}"),
            Some(json!({"status": "disabled"})),
        ),
    ] {
        let (status, problem) = call(&app, method, &path, Some(&boss), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
    }
    let (status, _) = call(&app, Method::GET, "/api/v1/tenants", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Reading and changing one tenant.
    let acme_path = format!("/api/v1/tenants/{acme_id}");
    let (status, acme) = call(&app, Method::GET, &acme_path, Some(&root), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(acme["name"], "Acme");
    for missing in [
        format!("/api/v1/tenants/{}", uuid::Uuid::now_v7()),
        "/api/v1/tenants/not-an-id".to_owned(),
    ] {
        let (status, _) = call(&app, Method::GET, &missing, Some(&root), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
    let (status, acme) = call(
        &app,
        Method::PATCH,
        &acme_path,
        Some(&root),
        Some(json!({"name": "Acme Inc", "settings": {"self_registration": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{acme}");
    assert_eq!(acme["name"], "Acme Inc");
    assert_eq!(acme["settings"]["self_registration"], true);
    assert_eq!(acme["settings"]["mfa_required"], false, "untouched");
    for (body, field) in [
        (json!({"status": "paused"}), "status"),
        (json!({"name": ""}), "name"),
        (
            json!({"settings": {"session_idle_secs": 5}}),
            "settings.session_idle_secs",
        ),
    ] {
        let (status, problem) =
            call(&app, Method::PATCH, &acme_path, Some(&root), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, problem) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/tenants/{default_id}"),
        Some(&root),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not the tenant you are in: {problem}"
    );

    // Disabling stops the tenant's sessions at once and its logins; enabling lets them in.
    let (status, acme) = call(
        &app,
        Method::PATCH,
        &acme_path,
        Some(&root),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(acme["status"], "disabled");
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&boss),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": boss_refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": "acme", "email": "boss@acme.test", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::PATCH,
        &acme_path,
        Some(&root),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (boss, _) = login(&app, "acme", "boss@acme.test", PASSWORD).await;

    // Acme's own trail says who made and changed it, and what its owner was refused.
    let (status, trail) = call(
        &app,
        Method::GET,
        "/api/v1/audit?resource=tenant",
        Some(&boss),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let rows = trail["items"].as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "tenant.updated",
            "tenant.updated",
            "tenant.updated",
            "authz.denied",
            "authz.denied",
            "authz.denied",
            "authz.denied",
            "tenant.created"
        ]
    );
    let (_, root_me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    for row in rows {
        let expected = if row["action"] == "authz.denied" {
            &me["id"]
        } else {
            &root_me["id"]
        };
        assert_eq!(&row["actor"]["id"], expected, "{row}");
    }
}
on_both_stores!(platform_admins_run_tenants_and_nobody_else_can);
