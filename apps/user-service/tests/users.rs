//! User administration, profiles, lookup, import, registration, password change and tenant
//! settings over HTTP — the success paths and every way in that must stay shut: bad input,
//! the wrong role, another tenant's ids, and each rejected token.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use support::{call, login};

use std::sync::Arc;

use actix_http::body::MessageBody;
use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::{test, Error};
use serde_json::{json, Value};

const PASSWORD: &str = "a long and unusual passphrase";

/// Creates a user as `token`; returns its id.
async fn create<S, B>(app: &S, token: &str, email: &str, roles: &[&str]) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let (status, body) = call(
        app,
        Method::POST,
        "/api/v1/users",
        Some(token),
        Some(json!({"email": email, "password": PASSWORD, "roles": roles})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn an_admin_creates_reads_lists_and_erases_users(t: TestApp) {
    let mut events = t.state.events.subscribe();
    let (app, root) = t.serve_as_owner().await;

    let (status, created) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({
            "email": "Grace@Example.com", "password": PASSWORD, "roles": ["member"],
            "display_name": "Grace Hopper", "locale": "en-US", "metadata": {"team": "cobol"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["email"], "Grace@Example.com");
    assert_eq!(created["roles"], json!(["member"]));
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(events.recv().await.expect("event").kind, "user.logged_in");
    assert_eq!(events.recv().await.expect("event").kind, "user.created");

    let (status, again) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "grace@EXAMPLE.com"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "emails are unique case-insensitively: {again}"
    );

    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        (status, got["display_name"].clone()),
        (StatusCode::OK, json!("Grace Hopper"))
    );

    let (grace, _) = login(&app, "default", "grace@example.com", PASSWORD).await;
    let (status, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&grace),
        None,
    )
    .await;
    assert_eq!(
        (status, me["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );

    for uri in [
        "/api/v1/users?limit=1",
        "/api/v1/users?q=gra",
        "/api/v1/users?role=member&status=active",
    ] {
        let (status, page) = call(&app, Method::GET, uri, Some(&root), None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        assert_eq!(
            page["items"].as_array().map(Vec::len),
            Some(1),
            "{uri}: {page}"
        );
    }
    let (_, first) = call(
        &app,
        Method::GET,
        "/api/v1/users?limit=1",
        Some(&root),
        None,
    )
    .await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let (_, second) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users?limit=1&cursor={cursor}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(second["items"][0]["id"], json!(id));
    assert_eq!(second["next_cursor"], Value::Null);

    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&grace),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an erased user's token stops at once"
    );
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "grace@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn bad_input_gets_a_400_naming_each_field_and_changes_nothing(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let cases = [
        (
            Method::POST,
            "/api/v1/users",
            json!({"email": "nope", "password": PASSWORD}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/api/v1/users",
            json!({"email": "x@example.com", "password": "password1", "roles": ["root"], "avatar_url": "ftp://x"}),
            vec!["roles", "password", "avatar_url"],
        ),
        (
            Method::POST,
            "/api/v1/users",
            json!({"email": "x@example.com", "is_admin": true}),
            // A field of no known shape is named too (`invalid_body`).
            vec!["is_admin"],
        ),
        (
            Method::POST,
            "/api/v1/users/profile",
            json!({"locale": "not a locale", "metadata": [1]}),
            vec!["locale", "metadata"],
        ),
        (
            Method::PATCH,
            "/api/v1/users/profile",
            json!({"roles": ["viewer"]}),
            vec!["roles"],
        ),
        (
            Method::PATCH,
            "/api/v1/users/profile",
            json!({"id": "0190c1a0-0000-7000-8000-000000000000"}),
            vec!["id"],
        ),
        (
            Method::POST,
            "/api/v1/users/lookup",
            json!({"ids": ["x"]}),
            vec!["ids[0]"],
        ),
        (
            Method::PATCH,
            "/api/v1/tenant/settings",
            json!({"session_absolute_secs": 5}),
            vec!["session_absolute_secs"],
        ),
        (
            Method::POST,
            "/api/v1/users/import",
            json!({"email": "not-an-array@example.com"}),
            vec![],
        ),
        (
            Method::POST,
            "/api/v1/users/import",
            json!([]),
            vec!["users"],
        ),
    ];
    for (method, uri, body, expected) in cases {
        let (status, problem) =
            call(&app, method.clone(), uri, Some(&root), Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {uri} {body}: {problem}"
        );
        assert_eq!(problem["status"], 400);
        assert_eq!(
            fields(&problem),
            expected,
            "{method} {uri} {body}: {problem}"
        );
    }
    for uri in [
        "/api/v1/users?status=gone",
        "/api/v1/users?limit=0",
        "/api/v1/users?cursor=%25%25",
        "/api/v1/users?extra=1",
    ] {
        let (status, problem) = call(&app, Method::GET, uri, Some(&root), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {problem}");
    }
    let (_, page) = call(&app, Method::GET, "/api/v1/users", Some(&root), None).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "nothing was created"
    );
    let too_many: Vec<String> = (0..1001)
        .map(|_| "0190c1a0-0000-7000-8000-000000000000".into())
        .collect();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users/lookup",
        Some(&root),
        Some(json!({"ids": too_many})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn own_profile_updates_are_partial_null_clears_and_read_only_echoes_pass(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, me) = call(
        &app,
        Method::POST,
        "/api/v1/users/profile",
        Some(&root),
        Some(json!({"given_name": "Ada", "family_name": "Byron", "timezone": "Europe/London"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["given_name"], "Ada");

    // GET-modify-send: everything read-only comes back unchanged and is accepted.
    let mut edited = me.clone();
    edited["family_name"] = Value::Null;
    edited["display_name"] = json!("Ada Lovelace");
    let (status, me) = call(
        &app,
        Method::PATCH,
        "/api/v1/users/profile",
        Some(&root),
        Some(edited),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["family_name"], Value::Null, "null clears");
    assert_eq!(me["given_name"], "Ada", "absent stays");
    assert_eq!(me["display_name"], "Ada Lovelace");
    let (_, fresh) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        fresh["display_name"], "Ada Lovelace",
        "the cached profile was refreshed"
    );
}

async fn roles_decide_and_a_demotion_or_disable_applies_to_the_next_request(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let admin_id = create(&app, &root, "second@example.com", &["admin"]).await;
    let viewer_id = create(&app, &root, "viewer@example.com", &["viewer"]).await;
    let (second, _) = login(&app, "default", "second@example.com", PASSWORD).await;
    let (viewer, viewer_refresh) = login(&app, "default", "viewer@example.com", PASSWORD).await;

    // A viewer reads the directory but changes nothing.
    let (status, _) = call(&app, Method::GET, "/api/v1/users", Some(&viewer), None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, uri, body) in [
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            Some(json!({"email": "z@example.com"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{admin_id}"),
            Some(json!({"display_name": "x"})),
        ),
        (Method::DELETE, format!("/api/v1/users/{admin_id}"), None),
        (
            Method::POST,
            "/api/v1/users/import".to_owned(),
            Some(json!([{"email": "z@example.com"}])),
        ),
        (
            Method::PATCH,
            "/api/v1/tenant/settings".to_owned(),
            Some(json!({"self_registration": true})),
        ),
    ] {
        let (status, problem) = call(&app, method.clone(), &uri, Some(&viewer), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {problem}");
        assert_eq!(problem["code"], "forbidden");
    }
    // An admin cannot make owners.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{viewer_id}"),
        Some(&second),
        Some(json!({"roles": ["owner"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Demote the second admin: its very next request runs as a viewer.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(&root),
        Some(json!({"roles": ["viewer"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&second),
        Some(json!({"email": "y@example.com"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the token still says admin; the profile does not"
    );

    // Disable the viewer: the access token and the refresh token stop at once.
    let (status, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{viewer_id}"),
        Some(&root),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("disabled"))
    );
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&viewer),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": viewer_refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The last owner stays an owner.
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    let owner_id = me["id"].as_str().unwrap();
    let (status, problem) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{owner_id}"),
        Some(&root),
        Some(json!({"roles": ["admin"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/users/{owner_id}"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn another_tenants_users_do_not_exist_for_me(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let hasher = user_service::wiring::services::hasher().expect("hasher");
    let other = usvc_user::provision(
        &user_service::wiring::services::bootstrap_ports(&t.state.db, &hasher, &t.state.clock),
        "globex",
        "ceo@globex.com",
        "owner",
        Some(usvc_core::Password::new(PASSWORD)),
    )
    .await
    .expect("other tenant");
    let foreign = other.user.id.to_string();
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"display_name": "pwned"}))),
        (Method::DELETE, None),
    ] {
        let (status, problem) = call(
            &app,
            method.clone(),
            &format!("/api/v1/users/{foreign}"),
            Some(&root),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {problem}");
    }
    let (status, found) = call(
        &app,
        Method::POST,
        "/api/v1/users/lookup",
        Some(&root),
        Some(json!({"ids": [foreign]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["items"], json!([]));
    assert_eq!(found["missing"], json!([foreign]));
    let (_, page) = call(&app, Method::GET, "/api/v1/users?q=ceo", Some(&root), None).await;
    assert_eq!(page["items"], json!([]));
    // The other tenant's owner logs in to their tenant and sees only it.
    let (ceo, _) = login(&app, "globex", "ceo@globex.com", PASSWORD).await;
    let (_, page) = call(&app, Method::GET, "/api/v1/users", Some(&ceo), None).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let (_, tenant) = call(&app, Method::GET, "/api/v1/tenant", Some(&ceo), None).await;
    assert_eq!(tenant["slug"], "globex");
}

async fn lookup_returns_request_order_and_lists_the_missing(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let a = create(&app, &root, "a@example.com", &["member"]).await;
    let b = create(&app, &root, "b@example.com", &["member"]).await;
    let unknown = usvc_core::UserId::new().to_string();
    for _ in 0..2 {
        let (status, found) = call(
            &app,
            Method::POST,
            "/api/v1/users/lookup",
            Some(&root),
            Some(json!({"ids": [b, unknown, a]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let ids: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [b.as_str(), a.as_str()]);
        assert_eq!(found["missing"], json!([unknown]));
    }
}

async fn import_reports_each_row_and_imported_bcrypt_users_log_in(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let bcrypt = bcrypt::hash("tr0ub4dor&3", 4).expect("bcrypt"); // as another system exported it
    let (status, report) = call(
        &app,
        Method::POST,
        "/api/v1/users/import",
        Some(&root),
        Some(json!([
            {"email": "legacy@example.com", "password_hash": bcrypt, "display_name": "Legacy"},
            {"email": "admin@example.com"},
            {"email": "weak@example.com", "password": "password1"},
            {"email": "fresh@example.com", "password": PASSWORD, "roles": ["viewer"]},
            {"email": "LEGACY@example.com"},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].clone(), report["rejected"].clone()),
        (json!(2), json!(3))
    );
    let statuses: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["created", "rejected", "rejected", "created", "rejected"]
    );
    assert_eq!(report["results"][2]["errors"][0]["field"], "password");
    login(&app, "default", "legacy@example.com", "tr0ub4dor&3").await;
    // The second login verifies the argon2id hash the first one wrote.
    login(&app, "default", "legacy@example.com", "tr0ub4dor&3").await;
    login(&app, "default", "fresh@example.com", PASSWORD).await;

    let big: Vec<Value> = (0..10_001)
        .map(|i| json!({"email": format!("u{i}@example.com")}))
        .collect();
    let req = test::TestRequest::post()
        .uri("/api/v1/users/import")
        .insert_header(("Authorization", format!("Bearer {root}")))
        .set_json(big)
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn registration_opens_with_the_tenant_setting_and_never_reveals_accounts(t: TestApp) {
    let app = t.service().await;
    let visitor = json!({"email": "new@example.com", "password": PASSWORD, "display_name": "New"});
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(visitor.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "closed by default");

    let root = support::owner_token(&app).await;
    let (status, tenant) = call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({"self_registration": true, "session_idle_secs": 600})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    assert_eq!(tenant["settings"]["self_registration"], true);
    assert_eq!(
        tenant["settings"]["session_absolute_secs"], 43200,
        "untouched"
    );

    let (status, first) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(visitor.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, second) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(visitor),
    )
    .await;
    assert_eq!(
        (status, &second),
        (StatusCode::ACCEPTED, &first),
        "a taken address looks the same"
    );
    let (status, taken) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": support::ADMIN_EMAIL, "password": PASSWORD})),
    )
    .await;
    assert_eq!((status, &taken), (StatusCode::ACCEPTED, &first));
    let (status, weak) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "w@example.com", "password": "W@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{weak}");

    let (member, _) = login(&app, "default", "new@example.com", PASSWORD).await;
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&member),
        None,
    )
    .await;
    assert_eq!(me["roles"], json!(["member"]));
    let (_, sessions) = call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&member),
        None,
    )
    .await;
    let session = &sessions["items"][0];
    let created =
        chrono::DateTime::parse_from_rfc3339(session["created_at"].as_str().unwrap()).unwrap();
    let ends =
        chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        (ends - created).num_seconds(),
        600,
        "the tenant's idle lifetime applies"
    );
}

async fn a_password_change_needs_the_current_password_and_ends_other_sessions(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    create(&app, &root, "ada@example.com", &["member"]).await;
    let (laptop, _) = login(&app, "default", "ada@example.com", PASSWORD).await;
    let (phone, phone_refresh) = login(&app, "default", "ada@example.com", PASSWORD).await;

    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/change",
        Some(&laptop),
        Some(change("wrong password here", "another fine passphrase")),
    )
    .await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::BAD_REQUEST, vec!["current_password".to_owned()])
    );
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/change",
        Some(&laptop),
        Some(change(PASSWORD, "qwertyuiop")),
    )
    .await;
    assert_eq!(
        (status, fields(&problem)),
        (StatusCode::BAD_REQUEST, vec!["new_password".to_owned()])
    );

    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/change",
        Some(&laptop),
        Some(change(PASSWORD, "another fine passphrase")),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&laptop),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the session that changed it stays");
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&phone),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every other session ends");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": phone_refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "ada@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    login(
        &app,
        "default",
        "ada@example.com",
        "another fine passphrase",
    )
    .await;
}

/// Every authenticated endpoint refuses each kind of bad token the same way: 401 problem.
#[actix_web::test]
async fn every_rejected_token_case_is_a_401_on_every_new_endpoint() {
    use usvc_core::ports::{Clock, TokenRequest, TokenService};
    use usvc_security::{JwtConfig, JwtService, SigningKey};

    struct At(chrono::DateTime<chrono::Utc>);
    impl Clock for At {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            self.0
        }
    }

    let t = TestApp::sqlite().start().await;
    let (app, root) = t.serve_as_owner().await;
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    let (_, sessions) = call(
        &app,
        Method::GET,
        "/api/v1/auth/sessions",
        Some(&root),
        None,
    )
    .await;
    let request = TokenRequest {
        user: me["id"].as_str().unwrap().parse().unwrap(),
        tenant: me["tenant_id"].as_str().unwrap().parse().unwrap(),
        session: sessions["items"][0]["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        roles: vec!["owner".into()],
        client_id: None,
        scope: None,
    };
    let config = support::config("sqlite::memory:");
    let ours =
        usvc_security::key_ring::load(t.state.db.signing_keys.as_ref(), t.secrets().as_ref())
            .await
            .expect("keys")
            .remove(0);
    let mint = |jwt: JwtConfig, at: chrono::DateTime<chrono::Utc>, key: &SigningKey| {
        JwtService::new(jwt, Arc::new(At(at)), key, &[])
            .expect("svc")
            .issue(&request)
            .expect("issue")
            .token
    };
    let now = chrono::Utc::now();
    let base = user_service::wiring::keys::jwt_config(&config);
    let valid = mint(base.clone(), now, &ours);
    let impostor = SigningKey::from_seed(ours.kid().to_owned(), [7u8; 32], now);
    let stranger = SigningKey::generate(now).expect("key");
    let b64 = |v: Value| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload = valid.split('.').nth(1).unwrap().to_owned();
    let hs256 = {
        use base64::Engine as _;
        use hmac::Mac as _;
        let signing_input = format!(
            "{}.{payload}",
            b64(json!({"alg": "HS256", "typ": "JWT", "kid": ours.kid()}))
        );
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(ours.public_key().as_bytes()).unwrap();
        mac.update(signing_input.as_bytes());
        let sig =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{sig}")
    };
    let rejected = [
        (
            "expired",
            mint(base.clone(), now - chrono::Duration::hours(2), &ours),
        ),
        (
            "not yet valid",
            mint(base.clone(), now + chrono::Duration::hours(2), &ours),
        ),
        ("forged under our kid", mint(base.clone(), now, &impostor)),
        ("unknown kid", mint(base.clone(), now, &stranger)),
        (
            "other issuer",
            mint(
                JwtConfig {
                    issuer: "https://evil.example".into(),
                    ..base.clone()
                },
                now,
                &ours,
            ),
        ),
        (
            "other audience",
            mint(
                JwtConfig {
                    audience: "someone-else".into(),
                    ..base.clone()
                },
                now,
                &ours,
            ),
        ),
        (
            "alg none",
            format!(
                "{}.{payload}.",
                b64(json!({"alg": "none", "typ": "JWT", "kid": ours.kid()}))
            ),
        ),
        ("HS256 with the public key", hs256),
    ];
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/users/profile".into(), None),
        (
            Method::PATCH,
            "/api/v1/users/profile".into(),
            Some(json!({})),
        ),
        (Method::GET, "/api/v1/users".into(), None),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(json!({"email": "x@example.com"})),
        ),
        (Method::GET, format!("/api/v1/users/{}", request.user), None),
        (
            Method::PATCH,
            format!("/api/v1/users/{}", request.user),
            Some(json!({})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{}", request.user),
            None,
        ),
        (
            Method::POST,
            "/api/v1/users/lookup".into(),
            Some(json!({"ids": []})),
        ),
        (Method::POST, "/api/v1/users/import".into(), Some(json!([]))),
        (
            Method::POST,
            "/api/v1/auth/password/change".into(),
            Some(json!({"current_password": "a", "new_password": "b"})),
        ),
        (Method::GET, "/api/v1/tenant".into(), None),
        (
            Method::PATCH,
            "/api/v1/tenant/settings".into(),
            Some(json!({})),
        ),
    ];
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&valid),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "the minting itself is right");
    for (why, token) in &rejected {
        for (method, uri, body) in &endpoints {
            let (status, problem) =
                call(&app, method.clone(), uri, Some(token), body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{why}: {method} {uri}: {problem}"
            );
        }
    }
    for (method, uri, body) in &endpoints {
        let (status, _) = call(&app, method.clone(), uri, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no token: {method} {uri}");
    }
    // A revoked session's token, signed correctly, is refused too.
    let (status, _) = call(&app, Method::POST, "/api/v1/auth/logout", Some(&root), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::GET, "/api/v1/users", Some(&valid), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked session");
}

async fn analytics_count_users_logins_and_failures_from_the_database(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let bob = create(&app, &root, "bob@example.com", &["member"]).await;
    create(&app, &root, "carol@example.com", &["viewer"]).await;
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{bob}"),
        Some(&root),
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    login(&app, "default", "carol@example.com", PASSWORD).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "carol@example.com", "password": "not the password"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, figures) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/users",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{figures}");
    assert_eq!(figures["total"], 3);
    assert_eq!(
        figures["by_status"],
        json!({"active": 2, "disabled": 1, "locked": 0})
    );
    assert_eq!(figures["active"]["1d"], 2, "admin and carol logged in");
    assert_eq!(figures["mfa"]["enabled"], 0);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let last = |series: &str| figures[series].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        figures["signups_per_day"].as_array().map(Vec::len),
        Some(30)
    );
    assert_eq!(last("signups_per_day"), json!({"day": today, "count": 3}));
    assert_eq!(last("logins_per_day")["count"], 2);
    assert_eq!(last("failed_logins_per_day")["count"], 1);
    assert_eq!(figures["failed_logins_30d"], 1);

    let (carol, _) = login(&app, "default", "carol@example.com", PASSWORD).await;
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/analytics/users",
        Some(&carol),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer sees no analytics");
}

/// Postgres cannot store U+0000: such input must be a 4xx on both stores, never a 500.
async fn nul_characters_are_refused_with_a_4xx(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "a\u{0}@example.com", "password": "whatever it is"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (method, uri, body) in [
        (
            Method::PATCH,
            "/api/v1/users/profile",
            json!({"metadata": {"k": "a\u{0}b"}}),
        ),
        (
            Method::POST,
            "/api/v1/users",
            json!({"email": "b\u{0}@example.com"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/password/forgot",
            json!({"email": "c\u{0}@example.com"}),
        ),
    ] {
        let (status, problem) = call(&app, method.clone(), uri, Some(&root), Some(body)).await;
        assert!(
            status.is_client_error() || status == StatusCode::ACCEPTED,
            "{method} {uri}: {status} {problem}"
        );
    }
    for uri in ["/api/v1/users?q=%00", "/api/v1/users?role=%00"] {
        let (status, _) = call(&app, Method::GET, uri, Some(&root), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
    }
}

on_both_stores!(an_admin_creates_reads_lists_and_erases_users);
on_both_stores!(nul_characters_are_refused_with_a_4xx);
on_both_stores!(bad_input_gets_a_400_naming_each_field_and_changes_nothing);
on_both_stores!(own_profile_updates_are_partial_null_clears_and_read_only_echoes_pass);
on_both_stores!(roles_decide_and_a_demotion_or_disable_applies_to_the_next_request);
on_both_stores!(another_tenants_users_do_not_exist_for_me);
on_both_stores!(lookup_returns_request_order_and_lists_the_missing);
on_both_stores!(import_reports_each_row_and_imported_bcrypt_users_log_in);
on_both_stores!(registration_opens_with_the_tenant_setting_and_never_reveals_accounts);
on_both_stores!(a_password_change_needs_the_current_password_and_ends_other_sessions);
on_both_stores!(analytics_count_users_logins_and_failures_from_the_database);
