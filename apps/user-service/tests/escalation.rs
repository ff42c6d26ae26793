//! Nobody grants what they do not hold, on SQLite and Postgres: every pair of (caller's role,
//! role or permission handed out), built-in and custom, through every path that widens
//! someone's powers — defining or redefining a role, creating a user, changing a user's roles,
//! importing — succeeds exactly when the caller holds everything handed out, and each refusal
//! is audited.
//! Then the issue's attacks: a `roles:manage`-only role rewriting itself, `users:write`
//! handing out `admin` or taking over an admin's account, a tenant owner changing a holder of
//! the platform grant, opening self-registration, and project roles.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use std::collections::BTreeSet;

use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{call, join, login};

/// What each built-in role holds (docs/security.md's table).
fn built_in(role: &str) -> BTreeSet<&'static str> {
    match role {
        "owner" => support::tenant_actions().collect(),
        "admin" => support::tenant_actions()
            .filter(|a| *a != "users:manage_owners")
            .collect(),
        "member" => [
            "users:read",
            "tenant:read",
            "projects:create",
            "projects:read",
            "workflows:read",
            "workflows:write",
            "workflows:execute",
            "tasks:complete",
        ]
        .into(),
        "viewer" => [
            "users:read",
            "tenant:read",
            "projects:read",
            "workflows:read",
        ]
        .into(),
        other => panic!("not a built-in role: {other}"),
    }
}

/// The custom role holding just `action`, by name (`only-users-read`).
fn single(action: &str) -> String {
    format!("only-{}", action.replace([':', '_'], "-"))
}

async fn status_of<S, B>(
    app: &S,
    method: Method,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    call(app, method, uri, Some(token), Some(body)).await
}

async fn nobody_grants_what_they_do_not_hold(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    // One custom role per action (but `users:manage_owners`, which only owners hold and no
    // custom role may carry): the building blocks, and what is handed out.
    let singles: Vec<&str> = support::tenant_actions()
        .filter(|a| *a != "users:manage_owners")
        .collect();
    for &action in &singles {
        let (status, body) = status_of(
            &app,
            Method::POST,
            "/api/v1/roles",
            &root,
            json!({"name": single(action), "description": "one action", "permissions": [action]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The callers: every built-in role, and custom roles holding one administrative power
    // (and what it needs to read) and nothing else.
    let custom_callers: [(&str, &[&str]); 4] = [
        ("role-manager", &["roles:manage"]),
        ("user-writer", &["users:read", "users:write"]),
        ("user-importer", &["users:read", "users:import"]),
        (
            "auditor-manager",
            &["roles:manage", "audit:read", "users:read"],
        ),
    ];
    for (name, permissions) in custom_callers {
        let (status, body) = status_of(
            &app,
            Method::POST,
            "/api/v1/roles",
            &root,
            json!({"name": name, "description": "caller", "permissions": permissions}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut callers: Vec<(String, BTreeSet<&str>)> = ["owner", "admin", "member", "viewer"]
        .iter()
        .map(|r| ((*r).to_owned(), built_in(r)))
        .collect();
    callers.extend(
        custom_callers
            .iter()
            .map(|(name, p)| ((*name).to_owned(), p.iter().copied().collect())),
    );
    // What is handed out: each built-in role, and each single-action role.
    let mut grants: Vec<(String, BTreeSet<&str>)> = ["owner", "admin", "member", "viewer"]
        .iter()
        .map(|r| ((*r).to_owned(), built_in(r)))
        .collect();
    grants.extend(singles.iter().map(|a| (single(a), [*a].into())));

    let (victim_token, victim) =
        join(&app, &root, "victim@example.com", &[&single("users:read")]).await;
    drop(victim_token);
    let mut refusals = 0usize;
    for (n, (caller_role, holds)) in callers.iter().enumerate() {
        let email = format!("caller{n}@example.com");
        let (token, _) = join(&app, &root, &email, &[caller_role.as_str()]).await;
        // A role of the tenant's for the caller to redefine: it grants `roles:manage`, which
        // every caller who may manage roles holds, so only what it is redefined to decides.
        let target = format!("target{n}");
        let (status, body) = status_of(
            &app,
            Method::POST,
            "/api/v1/roles",
            &root,
            json!({"name": target, "permissions": ["roles:manage"]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let target_id = body["id"].as_str().unwrap().to_owned();
        for (m, (granted, gives)) in grants.iter().enumerate() {
            let covered = gives.is_subset(holds);
            let context = format!("{caller_role} handing out {granted}");

            // Defining a role with those permissions.
            let permissions: Vec<&str> = gives.iter().copied().collect();
            let defines =
                holds.contains("roles:manage") && covered && !gives.contains("users:manage_owners");
            let (status, body) = status_of(
                &app,
                Method::POST,
                "/api/v1/roles",
                &token,
                json!({"name": format!("r{n}x{m}"), "description": "attempt", "permissions": permissions}),
            )
            .await;
            if gives.contains("users:manage_owners") {
                assert!(status.is_client_error(), "{context}: define: {body}");
            } else {
                assert_eq!(
                    status == StatusCode::CREATED,
                    defines,
                    "{context}: define {status} {body}"
                );
            }
            refusals += usize::from(status == StatusCode::FORBIDDEN);

            // Redefining a role to those permissions.
            let (status, body) = status_of(
                &app,
                Method::PUT,
                &format!("/api/v1/roles/{target_id}"),
                &token,
                json!({"name": target, "permissions": permissions}),
            )
            .await;
            if gives.contains("users:manage_owners") {
                assert!(status.is_client_error(), "{context}: redefine: {body}");
            } else {
                assert_eq!(
                    status == StatusCode::OK,
                    defines,
                    "{context}: redefine {status} {body}"
                );
            }
            refusals += usize::from(status == StatusCode::FORBIDDEN);
            if status == StatusCode::OK {
                let (status, body) = status_of(
                    &app,
                    Method::PUT,
                    &format!("/api/v1/roles/{target_id}"),
                    &root,
                    json!({"name": target, "permissions": ["roles:manage"]}),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }

            // Creating a user with the role.
            let creates = holds.contains("users:write") && covered;
            let (status, body) = status_of(
                &app,
                Method::POST,
                "/api/v1/users",
                &token,
                json!({"email": format!("new{n}x{m}@example.com"), "roles": [granted]}),
            )
            .await;
            assert_eq!(
                status == StatusCode::CREATED,
                creates,
                "{context}: create {status} {body}"
            );
            refusals += usize::from(status == StatusCode::FORBIDDEN);

            // Adding the role to an existing user.
            let (status, body) = status_of(
                &app,
                Method::PUT,
                &format!("/api/v1/users/{victim}/roles"),
                &token,
                json!({"roles": [single("users:read"), granted]}),
            )
            .await;
            assert_eq!(
                status == StatusCode::OK,
                creates,
                "{context}: assign {status} {body}"
            );
            refusals += usize::from(status == StatusCode::FORBIDDEN);
            if status == StatusCode::OK {
                let (status, body) = status_of(
                    &app,
                    Method::PUT,
                    &format!("/api/v1/users/{victim}/roles"),
                    &root,
                    json!({"roles": [single("users:read")]}),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }

            // Importing a user with the role.
            let imports = holds.contains("users:import");
            let (status, body) = status_of(
                &app,
                Method::POST,
                "/api/v1/users/import",
                &token,
                json!([{"email": format!("imported{n}x{m}@example.com"), "roles": [granted]}]),
            )
            .await;
            if imports {
                assert_eq!(status, StatusCode::OK, "{context}: import {body}");
                assert_eq!(
                    body["results"][0]["status"] == "created",
                    covered,
                    "{context}: import {body}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{context}: import {body}");
            }
        }
    }
    assert!(refusals > 100, "the matrix refuses a lot: {refusals}");

    // Every refusal is on the audit trail.
    let (_, trail) = call(
        &app,
        Method::GET,
        "/api/v1/audit?action=authz.denied&limit=200",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        trail["items"].as_array().unwrap().len(),
        200,
        "more than a page of refusals"
    );
}

on_both_stores!(nobody_grants_what_they_do_not_hold);

async fn the_issue_attacks_fail_and_leave_a_trail(t: TestApp) {
    let app = t.service().await;
    let (root, root_id) = {
        let (token, _) = login(
            &app,
            "default",
            support::ADMIN_EMAIL,
            support::ADMIN_PASSWORD,
        )
        .await;
        let (_, me) = call(
            &app,
            Method::GET,
            "/api/v1/users/profile",
            Some(&token),
            None,
        )
        .await;
        (token, me["id"].as_str().unwrap().to_owned())
    };

    // 1. A role holding only `roles:manage` rewrites itself to read the audit trail.
    let (status, role) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "role-keeper", "description": "manages roles", "permissions": ["roles:manage"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let role_id = role["id"].as_str().unwrap();
    let (keeper, keeper_id) = join(&app, &root, "keeper@example.com", &["role-keeper"]).await;
    let (status, problem) = status_of(
        &app,
        Method::PUT,
        &format!("/api/v1/roles/{role_id}"),
        &keeper,
        json!({"name": "role-keeper", "description": "more", "permissions": ["roles:manage", "audit:read", "users:write", "users:delete"]}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("audit:read"),
        "{problem}"
    );
    let (status, _) = call(&app, Method::GET, "/api/v1/audit", Some(&keeper), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the next request still cannot read the trail"
    );
    let (_, role_now) = call(
        &app,
        Method::GET,
        &format!("/api/v1/roles/{role_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        role_now["permissions"],
        json!(["roles:manage"]),
        "unchanged"
    );
    let denied = support::audit_actions(
        &app,
        &root,
        &format!("action=authz.denied&actor={keeper_id}"),
    )
    .await;
    assert_eq!(
        denied.len(),
        2,
        "both refusals are audited: the rewrite and the read"
    );

    // 2. `users:write` hands out `admin`, or takes over an admin by changing their email.
    let (status, role) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "user-writer", "description": "edits users", "permissions": ["users:read", "users:write"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (writer, writer_id) = join(&app, &root, "writer@example.com", &["user-writer"]).await;
    let (status, problem) = status_of(
        &app,
        Method::PUT,
        &format!("/api/v1/users/{writer_id}/roles"),
        &writer,
        json!({"roles": ["user-writer", "admin"]}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "not to themselves: {problem}"
    );
    let (_, admin_id) = join(&app, &root, "boss@example.com", &["admin"]).await;
    for change in [
        json!({"email": "writer+boss@example.com"}),
        json!({"status": "disabled"}),
        json!({"roles": ["viewer"]}),
        json!({"display_name": "Not the boss"}),
    ] {
        let (status, problem) = status_of(
            &app,
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            &writer,
            change.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{change}: {problem}");
    }
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{admin_id}"),
        Some(&writer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Users within the writer's own powers are theirs to manage.
    let (_, peer_id) = join(&app, &root, "peer@example.com", &["user-writer"]).await;
    let (status, body) = status_of(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{peer_id}"),
        &writer,
        json!({"display_name": "Peer"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // 3. The platform grant's holder is protected like an owner: another owner of the tenant
    //    cannot change their email, roles or status, nor remove them.
    let (other_owner, other_owner_id) = join(&app, &root, "co-owner@example.com", &["owner"]).await;
    for change in [
        json!({"email": "co-owner+root@example.com"}),
        json!({"roles": ["owner", "viewer"]}),
        json!({"status": "disabled"}),
    ] {
        let (status, problem) = status_of(
            &app,
            Method::PATCH,
            &format!("/api/v1/users/{root_id}"),
            &other_owner,
            change.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{change}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("platform"),
            "{problem}"
        );
    }
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{root_id}"),
        Some(&other_owner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    //    Nor take actions away from a custom role the holder holds (widening it is harmless).
    let (status, ops) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "ops", "description": "ops", "permissions": ["audit:read", "users:read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ops}");
    let ops = ops["id"].as_str().unwrap().to_owned();
    let (status, body) = status_of(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{root_id}"),
        &root,
        json!({"roles": ["owner", "ops"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let redefine = |permissions: &[&str]| json!({"name": "ops", "description": "ops", "permissions": permissions});
    let (status, problem) = status_of(
        &app,
        Method::PUT,
        &format!("/api/v1/roles/{ops}"),
        &other_owner,
        redefine(&["users:read"]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("platform"),
        "{problem}"
    );
    assert_eq!(
        support::audit_actions(
            &app,
            &root,
            &format!("actor={other_owner_id}&resource=role:{ops}&outcome=denied")
        )
        .await,
        ["authz.denied"]
    );
    for (who, permissions) in [
        (
            &other_owner,
            &["audit:read", "users:read", "analytics:read"][..],
        ),
        (&root, &["users:read"][..]),
    ] {
        let (status, body) = status_of(
            &app,
            Method::PUT,
            &format!("/api/v1/roles/{ops}"),
            who,
            redefine(permissions),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{permissions:?}: {body}");
    }

    // 4. Opening self-registration hands out `member`: not for a role that only writes the
    //    tenant's settings.
    let (status, role) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "settings-keeper", "description": "settings", "permissions": ["tenant:read", "tenant:write"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (keeper, _) = join(&app, &root, "settings@example.com", &["settings-keeper"]).await;
    let (status, problem) = status_of(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        &keeper,
        json!({"self_registration": true}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, body) = status_of(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        &keeper,
        json!({"mfa_required": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "other settings stay theirs: {body}");
    let (admin, _) = login(&app, "default", "boss@example.com", support::USER_PASSWORD).await;
    let (status, body) = status_of(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        &admin,
        json!({"self_registration": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // 5. Project roles: managing members does not let one hand out editing.
    let (status, role) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "member-manager", "description": "members", "permissions": ["projects:read", "projects:manage_members", "users:read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (manager, _) = join(&app, &root, "manager@example.com", &["member-manager"]).await;
    let (status, project) = status_of(
        &app,
        Method::POST,
        "/api/v1/projects",
        &root,
        json!({"name": "Shared", "visibility": "tenant"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let project = project["id"].as_str().unwrap();
    let (status, problem) = status_of(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project}/members"),
        &manager,
        json!({"user_id": peer_id, "role": "editor"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, body) = status_of(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project}/members"),
        &manager,
        json!({"user_id": peer_id, "role": "viewer"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Nor in bulk.
    let (status, bulk) = status_of(
        &app,
        Method::POST,
        "/api/v1/projects/bulk",
        &manager,
        json!({"action": "add_member", "ids": [project], "params": {"user_id": peer_id, "role": "editor"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    assert_eq!(bulk["results"][0]["error"]["status"], 403, "{bulk}");
    // Deleting a project without editing it does not let one make an owner (who edits), one
    // at a time or by transfer.
    let (status, role) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &root,
        json!({"name": "owner-maker", "description": "owners", "permissions": ["projects:read", "projects:delete", "projects:manage_members", "users:read"]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{role}");
    let (owner_maker, _) = join(&app, &root, "owner-maker@example.com", &["owner-maker"]).await;
    let (status, problem) = status_of(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project}/members"),
        &owner_maker,
        json!({"user_id": peer_id, "role": "owner"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, bulk) = status_of(
        &app,
        Method::POST,
        "/api/v1/projects/bulk",
        &owner_maker,
        json!({"action": "transfer_owner", "ids": [project], "params": {"user_id": peer_id}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    assert_eq!(bulk["results"][0]["error"]["status"], 403, "{bulk}");
    let (_, members) = call(
        &app,
        Method::GET,
        &format!("/api/v1/projects/{project}/members"),
        Some(&root),
        None,
    )
    .await;
    assert!(
        members.to_string().contains("\"viewer\"") && !members.to_string().contains("\"editor\""),
        "the peer is still a viewer: {members}"
    );
    // An editor edits, but does not decide who reads: making the project private would shut
    // the tenant's owners and admins out.
    let (editor, editor_id) = join(&app, &root, "editor@example.com", &["member"]).await;
    let (status, body) = status_of(
        &app,
        Method::POST,
        &format!("/api/v1/projects/{project}/members"),
        &root,
        json!({"user_id": editor_id, "role": "editor"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (change, expected) in [
        (json!({"visibility": "private"}), StatusCode::FORBIDDEN),
        (json!({"description": "edited"}), StatusCode::OK),
    ] {
        let (status, body) = status_of(
            &app,
            Method::PATCH,
            &format!("/api/v1/projects/{project}"),
            &editor,
            change.clone(),
        )
        .await;
        assert_eq!(status, expected, "{change}: {body}");
    }
    // Nor does a tenant admin reach a private project by taking over its owner: a new email
    // (then a password reset) would make them the owner.
    let (vault_owner, vault_owner_id) =
        join(&app, &root, "vault-owner@example.com", &["member"]).await;
    let (status, vault) = status_of(
        &app,
        Method::POST,
        "/api/v1/projects",
        &vault_owner,
        json!({"name": "Vault", "visibility": "private"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{vault}");
    let (taker, taker_id) = join(&app, &root, "taker@example.com", &["admin"]).await;
    for (change, expected) in [
        (
            json!({"email": "taker+vault@example.com"}),
            StatusCode::FORBIDDEN,
        ),
        (json!({"display_name": "Vault owner"}), StatusCode::OK),
    ] {
        let (status, body) = status_of(
            &app,
            Method::PATCH,
            &format!("/api/v1/users/{vault_owner_id}"),
            &taker,
            change.clone(),
        )
        .await;
        assert_eq!(status, expected, "{change}: {body}");
    }
    assert_eq!(
        support::audit_actions(
            &app,
            &root,
            &format!(
                "actor={taker_id}&outcome=denied&resource=project:{}",
                vault["id"].as_str().unwrap()
            )
        )
        .await,
        ["authz.denied"]
    );

    // 6. An admin reaching for owners' powers, through a role or an import, is refused and
    // the refusal is audited (not only reported as a bad field).
    let (admin, _) = join(&app, &root, "reacher@example.com", &["admin"]).await;
    let (status, problem) = status_of(
        &app,
        Method::POST,
        "/api/v1/roles",
        &admin,
        json!({"name": "crown", "permissions": ["users:read", "users:manage_owners"]}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, report) = status_of(
        &app,
        Method::POST,
        "/api/v1/users/import",
        &admin,
        json!([{"email": "crowned@example.com", "password": "a long enough passphrase", "roles": ["owner"]}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rejected"], 1, "{report}");
    let (_, denied) = call(
        &app,
        Method::GET,
        "/api/v1/audit?outcome=denied&limit=200",
        Some(&root),
        None,
    )
    .await;
    let owners_refused = denied["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["details"]["action"] == "users:manage_owners")
        .count();
    assert!(owners_refused >= 2, "both refusals audited: {denied}");

    // Ending another user's session: answered as a missing session, recorded as a refusal.
    let (_, signed_in) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"tenant": "default", "email": support::ADMIN_EMAIL,
                    "password": support::ADMIN_PASSWORD})),
    )
    .await;
    let session = signed_in["session_id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{session}"),
        Some(&writer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        support::audit_actions(
            &app,
            &root,
            &format!("actor={writer_id}&outcome=denied&resource=session:{session}")
        )
        .await,
        ["authz.denied"]
    );

    // The attackers are still what they were.
    let (_, keeper_now) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{keeper_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(keeper_now["roles"], json!(["role-keeper"]));
    let (_, writer_now) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{writer_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(writer_now["roles"], json!(["user-writer"]));
    let (status, _) = call(&app, Method::GET, "/health/live", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

on_both_stores!(the_issue_attacks_fail_and_leave_a_trail);
