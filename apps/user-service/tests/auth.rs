//! The login flow over HTTP: login, the authenticated profile, refresh with rotation and reuse
//! detection, logout — and every way in that must stay shut.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

#[macro_use]
mod support;

use support::TestApp;

use actix_http::body::MessageBody;
use actix_http::Request;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{test, Error};
use serde_json::{json, Value};

async fn post<S, B>(app: &S, uri: &str, body: Value) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let res = test::call_service(
        app,
        test::TestRequest::post()
            .uri(uri)
            .set_json(body)
            .to_request(),
    )
    .await;
    let status = res.status();
    let bytes = test::read_body(res).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn get_with<S, B>(app: &S, uri: &str, token: &str) -> ServiceResponse<B>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let req = test::TestRequest::get()
        .uri(uri)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .to_request();
    test::call_service(app, req).await
}

fn admin_login() -> Value {
    json!({"email": support::ADMIN_EMAIL, "password": support::ADMIN_PASSWORD})
}

async fn the_bootstrap_owner_logs_in_reads_the_profile_refreshes_and_logs_out(t: TestApp) {
    let app = t.service().await;

    let (status, pair) = post(&app, "/api/v1/auth/login", admin_login()).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert!(pair["expires_in"].as_u64().is_some_and(|s| s > 0));
    let access = pair["access_token"].as_str().expect("access").to_owned();
    let refresh = pair["refresh_token"].as_str().expect("refresh").to_owned();

    let res = get_with(&app, "/api/v1/users/profile", &access).await;
    assert_eq!(res.status(), StatusCode::OK);
    let profile: Value = test::read_body_json(res).await;
    assert_eq!(profile["email"], support::ADMIN_EMAIL);
    assert_eq!(profile["roles"], json!(["owner"]));
    assert_eq!(profile["status"], "active");
    assert!(
        profile["last_login_at"].is_string(),
        "the login was recorded"
    );

    let (status, next) = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_ne!(next["refresh_token"], pair["refresh_token"], "rotated");
    assert_eq!(next["session_id"], pair["session_id"], "same session");
    let access2 = next["access_token"].as_str().expect("access").to_owned();

    let req = test::TestRequest::post()
        .uri("/api/v1/auth/logout")
        .insert_header(("Authorization", format!("Bearer {access2}")))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::NO_CONTENT
    );
    for token in [&access, &access2] {
        let res = get_with(&app, "/api/v1/users/profile", token).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "tokens of a logged-out session die"
        );
    }
    let (status, _) = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": next["refresh_token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn wrong_tenant_email_or_password_all_get_the_same_401(t: TestApp) {
    let app = t.service().await;
    let attempts = [
        json!({"email": support::ADMIN_EMAIL, "password": "wrong password"}),
        json!({"email": "nobody@example.com", "password": support::ADMIN_PASSWORD}),
        json!({"tenant": "other", "email": support::ADMIN_EMAIL, "password": support::ADMIN_PASSWORD}),
        json!({"tenant": "NOT a slug", "email": support::ADMIN_EMAIL, "password": support::ADMIN_PASSWORD}),
        json!({"email": "not-an-email", "password": support::ADMIN_PASSWORD}),
    ];
    let mut bodies = Vec::new();
    for attempt in attempts {
        let (status, body) = post(&app, "/api/v1/auth/login", attempt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["code"], "unauthenticated");
        bodies.push(body["detail"].clone());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one answer for all: {bodies:?}"
    );
}

async fn bad_login_bodies_are_400_problems(t: TestApp) {
    let app = t.service().await;
    for body in [
        json!({"email": support::ADMIN_EMAIL}),
        json!({"email": support::ADMIN_EMAIL, "password": "x", "admin": true}),
        json!({"email": 42, "password": "x"}),
    ] {
        let (status, problem) = post(&app, "/api/v1/auth/login", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["code"], "invalid_body");
    }
}

async fn a_replayed_refresh_token_revokes_the_session(t: TestApp) {
    let app = t.service().await;
    let (_, pair) = post(&app, "/api/v1/auth/login", admin_login()).await;
    let first = pair["refresh_token"].clone();
    let (status, next) = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": first}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, problem) = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": first}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{problem}"
    );
    // The thief's replay killed the session for the holder of the newer tokens too.
    let (status, _) = post(
        &app,
        "/api/v1/auth/refresh",
        json!({"refresh_token": next["refresh_token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let res = get_with(
        &app,
        "/api/v1/users/profile",
        next["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn the_profile_needs_a_valid_bearer_token(t: TestApp) {
    let app = t.service().await;
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/users/profile")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    for header in [
        "Basic YWRtaW46YWRtaW4=",
        "Bearer",
        "Bearer not.a.jwt",
        "Token abc",
    ] {
        let req = test::TestRequest::get()
            .uri("/api/v1/users/profile")
            .insert_header(("Authorization", header))
            .to_request();
        assert_eq!(
            test::call_service(&app, req).await.status(),
            StatusCode::UNAUTHORIZED,
            "{header}"
        );
    }
    // A token that is well formed but has never been issued by us.
    let forged = "eyJhbGciOiJub25lIiwia2lkIjoieCJ9.eyJzdWIiOiJ4In0.";
    let res = get_with(&app, "/api/v1/users/profile", forged).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn repeated_failures_lock_the_account_name_with_retry_after_even_for_unknown_emails(
    t: TestApp,
) {
    let app = t.service().await;
    for email in [support::ADMIN_EMAIL, "nobody@example.com"] {
        for _ in 0..5 {
            let (status, _) = post(
                &app,
                "/api/v1/auth/login",
                json!({"email": email, "password": "wrong password"}),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let req = test::TestRequest::post()
            .uri("/api/v1/auth/login")
            .set_json(json!({"email": email, "password": support::ADMIN_PASSWORD}))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{email}: locked, even with the right password"
        );
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert_eq!(retry, Some(1), "{email}: the first lock lasts one second");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["code"], "rate_limited");
    }
    // The lock passes; the right password works and clears the count.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = post(&app, "/api/v1/auth/login", admin_login()).await;
    assert_eq!(status, StatusCode::OK);
}

async fn users_list_end_and_end_all_their_sessions(t: TestApp) {
    let app = t.service().await;
    let (_, laptop) = post(&app, "/api/v1/auth/login", admin_login()).await;
    let (_, phone) = post(&app, "/api/v1/auth/login", admin_login()).await;
    let laptop_token = laptop["access_token"].as_str().unwrap().to_owned();
    let phone_token = phone["access_token"].as_str().unwrap().to_owned();

    let res = get_with(&app, "/api/v1/auth/sessions", &laptop_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = test::read_body_json(res).await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop["session_id"]);
    assert!(items
        .iter()
        .all(|s| s["expires_at"].is_string() && s.get("ip").is_some()));

    let delete = |uri: String, token: String| {
        test::TestRequest::delete()
            .uri(&uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request()
    };
    let phone_session = phone["session_id"].as_str().unwrap();
    let res = test::call_service(
        &app,
        delete(
            format!("/api/v1/auth/sessions/{phone_session}"),
            laptop_token.clone(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = get_with(&app, "/api/v1/users/profile", &phone_token).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the lost phone's token is dead"
    );

    let unknown = uuid::Uuid::now_v7();
    let res = test::call_service(
        &app,
        delete(
            format!("/api/v1/auth/sessions/{unknown}"),
            laptop_token.clone(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = test::call_service(
        &app,
        delete(
            "/api/v1/auth/sessions/not-a-uuid".into(),
            laptop_token.clone(),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let req = test::TestRequest::post()
        .uri("/api/v1/auth/logout-all")
        .insert_header(("Authorization", format!("Bearer {laptop_token}")))
        .to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = get_with(&app, "/api/v1/users/profile", &laptop_token).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

on_both_stores!(the_bootstrap_owner_logs_in_reads_the_profile_refreshes_and_logs_out);
on_both_stores!(wrong_tenant_email_or_password_all_get_the_same_401);
on_both_stores!(bad_login_bodies_are_400_problems);
on_both_stores!(a_replayed_refresh_token_revokes_the_session);
on_both_stores!(the_profile_needs_a_valid_bearer_token);
on_both_stores!(repeated_failures_lock_the_account_name_with_retry_after_even_for_unknown_emails);
on_both_stores!(users_list_end_and_end_all_their_sessions);
