//! Tenant isolation: every endpoint that takes an id, an email or a name answers a caller of
//! tenant A about tenant B's things exactly as it answers about things that do not exist.
//! Each probe is sent twice, with B's real value and with a made-up one, and the two answers
//! must be identical (status and body, the probed value aside).
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // one walk over the whole API reads best as one list.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};
use support::{call, login};

const PASSWORD: &str = "a long and unusual passphrase";

/// One request shape; `{}` in the path or the body stands for the probed value.
struct Probe {
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
}

const fn probe(method: Method, path: &'static str, body: Option<&'static str>) -> Probe {
    Probe { method, path, body }
}

/// Every endpoint that names a user, role, session or tenant by id.
fn id_probes() -> Vec<Probe> {
    vec![
        probe(Method::GET, "/api/v1/users/{}", None),
        probe(
            Method::PATCH,
            "/api/v1/users/{}",
            Some(r#"{"display_name": "x"}"#),
        ),
        probe(Method::DELETE, "/api/v1/users/{}", None),
        probe(
            Method::PUT,
            "/api/v1/users/{}/roles",
            Some(r#"{"roles": ["viewer"]}"#),
        ),
        probe(Method::GET, "/api/v1/roles/{}", None),
        probe(
            Method::PUT,
            "/api/v1/roles/{}",
            Some(r#"{"name": "x", "description": "", "permissions": ["users:read"]}"#),
        ),
        probe(Method::DELETE, "/api/v1/roles/{}", None),
        probe(Method::DELETE, "/api/v1/auth/sessions/{}", None),
        probe(Method::GET, "/api/v1/oauth/clients/{}", None),
        probe(
            Method::PUT,
            "/api/v1/oauth/clients/{}",
            Some(r#"{"name": "x", "redirect_uris": ["https://a.example/cb"]}"#),
        ),
        probe(Method::POST, "/api/v1/oauth/clients/{}/secret", None),
        probe(Method::DELETE, "/api/v1/oauth/clients/{}", None),
        probe(Method::GET, "/api/v1/tenants/{}", None),
        probe(
            Method::PATCH,
            "/api/v1/tenants/{}",
            Some(r#"{"name": "x"}"#),
        ),
        probe(
            Method::POST,
            "/api/v1/users/lookup",
            Some(r#"{"ids": ["{}"]}"#),
        ),
        probe(
            Method::POST,
            "/api/v1/authz/check",
            Some(r#"{"user_id": "{}", "action": "users:read", "resource": {"type": "user"}}"#),
        ),
        probe(
            Method::POST,
            "/api/v1/authz/check",
            Some(r#"{"action": "users:delete", "resource": {"type": "user", "id": "{}"}}"#),
        ),
        probe(
            Method::POST,
            "/api/v1/authz/check-batch",
            Some(
                r#"{"checks": [{"user_id": "{}", "action": "users:read", "resource": {"type": "user"}}]}"#,
            ),
        ),
        probe(Method::GET, "/api/v1/projects/{}", None),
        probe(Method::PUT, "/api/v1/projects/{}", Some(r#"{"name": "x"}"#)),
        probe(
            Method::PATCH,
            "/api/v1/projects/{}",
            Some(r#"{"description": "x"}"#),
        ),
        probe(Method::DELETE, "/api/v1/projects/{}", None),
        probe(Method::POST, "/api/v1/projects/{}/archive", None),
        probe(Method::POST, "/api/v1/projects/{}/unarchive", None),
        probe(Method::GET, "/api/v1/projects?member={}", None),
        probe(Method::GET, "/api/v1/projects/{}/members", None),
        probe(
            Method::POST,
            "/api/v1/projects/{}/members",
            Some(r#"{"user_id": "0190c6a2-0000-7000-8000-000000000001", "role": "viewer"}"#),
        ),
        probe(
            Method::PATCH,
            "/api/v1/projects/{}/members/0190c6a2-0000-7000-8000-000000000001",
            Some(r#"{"role": "viewer"}"#),
        ),
        probe(
            Method::DELETE,
            "/api/v1/projects/{}/members/0190c6a2-0000-7000-8000-000000000001",
            None,
        ),
        probe(
            Method::POST,
            "/api/v1/projects/bulk",
            Some(r#"{"action": "archive", "ids": ["{}"]}"#),
        ),
        probe(
            Method::POST,
            "/api/v1/projects/bulk",
            Some(
                r#"{"action": "add_member", "ids": ["{a}"], "params": {"user_id": "{}", "role": "viewer"}}"#,
            ),
        ),
        probe(Method::GET, "/api/v1/projects/{}/versions", None),
        probe(Method::GET, "/api/v1/projects/{}/versions/1", None),
        probe(
            Method::GET,
            "/api/v1/projects/{}/versions/1/diff?against=1",
            None,
        ),
        probe(Method::POST, "/api/v1/projects/{}/versions/1/restore", None),
        // Tenant A's own project with B's user in it.
        probe(
            Method::POST,
            "/api/v1/projects/{a}/members",
            Some(r#"{"user_id": "{}", "role": "viewer"}"#),
        ),
        probe(
            Method::PATCH,
            "/api/v1/projects/{a}/members/{}",
            Some(r#"{"role": "viewer"}"#),
        ),
        probe(Method::DELETE, "/api/v1/projects/{a}/members/{}", None),
        probe(
            Method::POST,
            "/api/v1/authz/check",
            Some(r#"{"action": "projects:read", "resource": {"type": "project", "id": "{}"}}"#),
        ),
        probe(Method::GET, "/api/v1/audit?actor={}", None),
        probe(Method::GET, "/api/v1/audit?resource=user:{}", None),
    ]
}

/// Every endpoint that finds an account or a role by email or name.
fn name_probes() -> Vec<Probe> {
    vec![
        probe(Method::GET, "/api/v1/users?q={}", None),
        probe(
            Method::POST,
            "/api/v1/auth/login",
            Some(
                r#"{"tenant": "acme", "email": "{}", "password": "a long and unusual passphrase"}"#,
            ),
        ),
        probe(
            Method::POST,
            "/api/v1/auth/password/forgot",
            Some(r#"{"tenant": "acme", "email": "{}"}"#),
        ),
        probe(Method::GET, "/api/v1/users?role={}", None),
        probe(Method::GET, "/api/v1/projects?q={}", None),
    ]
}

/// The answer to `probe` with `value` filled in (and `{a}` with tenant A's project), the
/// value masked in the answer.
async fn answer<S, B>(
    app: &S,
    token: &str,
    probe: &Probe,
    value: &str,
    a_project: &str,
) -> (StatusCode, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_http::body::MessageBody,
{
    let path = probe.path.replace("{a}", a_project).replace("{}", value);
    let body = probe.body.map(|b| {
        let b = b.replace("{a}", a_project).replace("{}", value);
        serde_json::from_str::<Value>(&b).expect("probe body")
    });
    let (status, answer) = call(app, probe.method.clone(), &path, Some(token), body).await;
    (status, answer.to_string().replace(value, "<probed>"))
}

async fn tenant_b_is_invisible_to_tenant_a(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    // Two tenants, neither holding the platform grant.
    for (slug, owner) in [("acme", "boss@acme.test"), ("globex", "boss@globex.test")] {
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/tenants",
            Some(&root),
            Some(json!({"slug": slug, "name": slug, "owner": {"email": owner, "password": PASSWORD}})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (a_owner, _) = login(&app, "acme", "boss@acme.test", PASSWORD).await;
    let (b_owner, _) = login(&app, "globex", "boss@globex.test", PASSWORD).await;

    // Tenant A: a viewer, for the weakest caller's view.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&a_owner),
        Some(json!({"email": "vic@acme.test", "password": PASSWORD, "roles": ["viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (a_viewer, _) = login(&app, "acme", "vic@acme.test", PASSWORD).await;

    // Tenant A: a project of its owner's.
    let (status, a_project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&a_owner),
        Some(json!({"name": "acmeplan"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{a_project}");
    let a_project = a_project["id"].as_str().unwrap().to_owned();

    // Tenant B: a user, a custom role, a live session, and the tenant itself.
    let (status, b_user) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&b_owner),
        Some(json!({"email": "secret.agent@globex.test", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, b_role) = call(
        &app,
        Method::POST,
        "/api/v1/roles",
        Some(&b_owner),
        Some(json!({"name": "globexspy", "description": "", "permissions": ["users:read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b_role}");
    let (status, b_project) = call(
        &app,
        Method::POST,
        "/api/v1/projects",
        Some(&b_owner),
        Some(json!({"name": "globexsecretplan", "visibility": "tenant"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b_project}");
    let (status, b_client) = call(
        &app,
        Method::POST,
        "/api/v1/oauth/clients",
        Some(&b_owner),
        Some(json!({"name": "Globex app", "redirect_uris": ["https://globex.test/cb"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b_client}");
    let (_, b_sessions) = call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&b_owner),
        None,
    )
    .await;
    let (_, b_tenant) = call(&app, Method::GET, "/api/v1/tenant", Some(&b_owner), None).await;
    let (_, b_me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&b_owner),
        None,
    )
    .await;
    let b_ids = [
        b_user["id"].as_str().unwrap().to_owned(),
        b_me["id"].as_str().unwrap().to_owned(),
        b_role["id"].as_str().unwrap().to_owned(),
        b_sessions["items"][0]["id"].as_str().unwrap().to_owned(),
        b_tenant["id"].as_str().unwrap().to_owned(),
        b_project["id"].as_str().unwrap().to_owned(),
        b_client["client_id"].as_str().unwrap().to_owned(),
    ];
    let b_names = [
        "secret.agent@globex.test",
        "boss@globex.test",
        "secret.agent",
        "globexspy",
        "globexsecretplan",
    ];

    let made_up_id = || uuid::Uuid::now_v7().to_string();
    let mut walked = 0;
    for caller in [&a_owner, &a_viewer] {
        for probe in id_probes() {
            for real in &b_ids {
                let theirs = answer(&app, caller, &probe, real, &a_project).await;
                let nobodys = answer(&app, caller, &probe, &made_up_id(), &a_project).await;
                assert_eq!(
                    theirs, nobodys,
                    "{} {} tells B's {real} from a made-up id",
                    probe.method, probe.path
                );
                assert_ne!(
                    theirs.0,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "{} {}",
                    probe.method,
                    probe.path
                );
                walked += 1;
            }
        }
        for probe in name_probes() {
            for real in b_names {
                let theirs = answer(&app, caller, &probe, real, &a_project).await;
                // Fresh each time, like B's names are to A: a repeated one would be locked out.
                let made_up = if real.contains('@') {
                    format!("made.up{walked}@nowhere.test")
                } else {
                    format!("madeup{walked}")
                };
                let nobodys = answer(&app, caller, &probe, &made_up, &a_project).await;
                assert_eq!(
                    theirs, nobodys,
                    "{} {} tells B's {real} from a made-up name",
                    probe.method, probe.path
                );
                walked += 1;
            }
        }
    }
    // The owner, who may do everything in A, gets 404 for B's users, roles and sessions.
    for (probe, real) in [
        (probe(Method::GET, "/api/v1/users/{}", None), &b_ids[0]),
        (probe(Method::DELETE, "/api/v1/roles/{}", None), &b_ids[2]),
        (
            probe(Method::DELETE, "/api/v1/auth/sessions/{}", None),
            &b_ids[3],
        ),
        (probe(Method::GET, "/api/v1/projects/{}", None), &b_ids[5]),
    ] {
        let (status, _) = answer(&app, &a_owner, &probe, real, &a_project).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{}", probe.path);
    }
    assert!(walked > 150, "{walked} probes");

    // And nothing of B changed.
    let (status, still) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{}", b_ids[0]),
        Some(&b_owner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["display_name"], b_user["display_name"]);
    assert_eq!(still["roles"], json!(["member"]));
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/roles/{}", b_ids[2]),
        Some(&b_owner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
on_both_stores!(tenant_b_is_invisible_to_tenant_a);
