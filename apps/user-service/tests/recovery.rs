//! Mailed links over HTTP: forgotten passwords and email verification.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use serde_json::json;
use support::{call, login};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn a_forgotten_password_is_reset_once_with_the_mailed_link(t: TestApp) {
    let app = t.service().await;
    let (old_token, old_refresh) = login(
        &app,
        "default",
        support::ADMIN_EMAIL,
        support::ADMIN_PASSWORD,
    )
    .await;

    let forgot = |email: &str| json!({"email": email});
    let (status, known) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(forgot(support::ADMIN_EMAIL)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, unknown) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(forgot("nobody@example.com")),
    )
    .await;
    assert_eq!(
        (status, &unknown),
        (StatusCode::ACCEPTED, &known),
        "the same answer"
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(json!({"tenant": "no-such-tenant", "email": support::ADMIN_EMAIL})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(t.mail.to("nobody@example.com").is_empty());
    let mail = t.mail.to(support::ADMIN_EMAIL);
    assert_eq!(mail.len(), 1, "one mail, to the real account only");
    assert_eq!(mail[0].subject, "Reset your password");
    assert!(
        mail[0]
            .text
            .contains("http://localhost:8008/reset-password?token="),
        "{}",
        mail[0].text
    );
    let token = t.mail.token_for(support::ADMIN_EMAIL).expect("a link");

    let reset = |t: &str, p: &str| json!({"token": t, "new_password": p});
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(reset(&token, "password1")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "new_password");
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(reset("forged", NEW_PASSWORD)),
    )
    .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("token"))
    );

    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(reset(&token, NEW_PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(reset(&token, "yet another passphrase")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "single use");

    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&old_token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every session ended");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": old_refresh})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"email": support::ADMIN_EMAIL, "password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    login(&app, "default", support::ADMIN_EMAIL, NEW_PASSWORD).await;

    // Only the newest link works.
    call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(forgot(support::ADMIN_EMAIL)),
    )
    .await;
    let first = t.mail.token_for(support::ADMIN_EMAIL).unwrap();
    call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(forgot(support::ADMIN_EMAIL)),
    )
    .await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(reset(&first, "yet another passphrase")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "superseded");
}

async fn an_address_is_verified_with_the_mailed_link_only_while_it_is_the_accounts(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({"self_registration": true})),
    )
    .await;

    let password = "a long and unusual passphrase";
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "new@example.com", "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = t
        .mail
        .token_for("new@example.com")
        .expect("registration mails a link");
    let (member, _) = login(&app, "default", "new@example.com", password).await;
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&member),
        None,
    )
    .await;
    assert_eq!(me["email_verified"], false);

    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/verify-email",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&member),
        None,
    )
    .await;
    assert_eq!(
        me["email_verified"], true,
        "the cached profile was refreshed"
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/verify-email",
        None,
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "single use");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/verify-email/send",
        Some(&member),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "already verified");

    // A link sent to an address the account no longer has proves nothing.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/verify-email/send",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let old_address = t.mail.token_for(support::ADMIN_EMAIL).expect("link");
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    let id = me["id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(&root),
        Some(json!({"email": "owner@example.org"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/verify-email",
        None,
        Some(json!({"token": old_address})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(me["email_verified"], false);
}

on_both_stores!(a_forgotten_password_is_reset_once_with_the_mailed_link);
on_both_stores!(an_address_is_verified_with_the_mailed_link_only_while_it_is_the_accounts);
