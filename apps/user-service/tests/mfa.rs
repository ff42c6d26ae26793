//! TOTP over HTTP: enrolment, login with a code or a recovery code, replays, the five-try
//! limit on an `mfa_token`, turning it off, and tenants that require MFA.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

#[macro_use]
mod support;

use support::TestApp;

use actix_web::http::{Method, StatusCode};
use actix_web::test;
use serde_json::{json, Value};
use support::{call, login};
use totp_rs::{Algorithm, Secret, TOTP};

/// The code an authenticator app would show for `secret` at `steps` steps from now.
fn code(secret: &str, steps: i64) -> String {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32");
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new());
    let now = chrono::Utc::now().timestamp() + steps * 30;
    totp.generate(u64::try_from(now).expect("after 1970"))
}

fn password_login(tenant: &str, email: &str, password: &str) -> Value {
    json!({"tenant": tenant, "email": email, "password": password})
}

async fn totp_enrolment_then_logins_with_codes_and_recovery_codes(t: TestApp) {
    let (app, token) = t.serve_as_owner().await;

    // From a session, setting up MFA takes the password: a stolen session cannot pin its
    // thief's authenticator on the account.
    // (Tried on another account: a wrong password counts toward its lockout.)
    let (eve, _) = support::join(&app, &token, "eve@example.com", &["member"]).await;
    for body in [None, Some(json!({"password": "not the password"}))] {
        let (status, problem) = call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/totp/enroll",
            Some(&eve),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "password", "{problem}");
    }
    let (status, enrol) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/enroll",
        Some(&token),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(enrol["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(enrol["qr_svg"].as_str().unwrap().contains("<svg"));

    let confirm = |c: String| json!({"code": c});
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/confirm",
        Some(&token),
        Some(confirm("000000".into())),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, done) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/confirm",
        Some(&token),
        Some(confirm(code(&secret, 0))),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let recovery: Vec<String> = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(recovery.len(), 10);
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(me["mfa_enabled"], true);
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/enroll",
        Some(&token),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "already on");

    // The password alone now yields a challenge, not tokens.
    let challenge = |app| async move {
        let (status, body) = call(
            app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(password_login(
                "default",
                support::ADMIN_EMAIL,
                support::ADMIN_PASSWORD,
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["mfa_required"], true, "{body}");
        assert!(body.get("access_token").is_none());
        body["mfa_token"].as_str().unwrap().to_owned()
    };
    let verify = |t: &str, c: &str| json!({"mfa_token": t, "code": c});
    let mfa_token = challenge(&app).await;
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/verify",
            None,
            Some(verify(&mfa_token, "123456"))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // The code used to confirm cannot be used again (a replay), even within its step.
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/verify",
            None,
            Some(verify(&mfa_token, &code(&secret, 0)))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // Regenerating needs a current code; the old recovery codes stop working.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/recovery-codes",
        Some(&token),
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, fresh) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/recovery-codes",
        Some(&token),
        Some(json!({"code": code(&secret, 1)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    let mfa_token = challenge(&app).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&mfa_token, &recovery[5])),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replaced");
    let new_code = fresh["recovery_codes"][0].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&mfa_token, new_code)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let recovery: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // A recovery code works once, in any case and spacing.
    let mfa_token = challenge(&app).await;
    let typed = recovery[3].to_lowercase().replace('-', " ");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&mfa_token, &typed)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mfa_token = challenge(&app).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&mfa_token, &recovery[3])),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "spent");

    // Off: needs proof; then the password alone logs in again.
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/auth/mfa/totp",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/auth/mfa/totp",
        Some(&token),
        Some(json!({"password": "not my password"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/auth/mfa/totp",
        Some(&token),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    login(
        &app,
        "default",
        support::ADMIN_EMAIL,
        support::ADMIN_PASSWORD,
    )
    .await;
}

async fn a_tenant_that_requires_mfa_makes_users_enrol_before_they_get_tokens(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let password = "a long and unusual passphrase";
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        Some(&root),
        Some(json!({"email": "bob@example.com", "password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({"mfa_required": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(password_login("default", "bob@example.com", password)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            body["mfa_required"].clone(),
            body["enrollment_required"].clone()
        ),
        (json!(true), json!(true))
    );
    let mfa_token = body["mfa_token"].as_str().unwrap();
    // An enrolment token cannot be spent as a verification.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(json!({"mfa_token": mfa_token, "code": "123456"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, enrol) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/enroll",
        None,
        Some(json!({"mfa_token": mfa_token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{enrol}");
    let secret = enrol["secret"].as_str().unwrap();
    let (status, done) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/confirm",
        None,
        Some(json!({"mfa_token": mfa_token, "code": code(secret, 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["recovery_codes"].as_array().map(Vec::len), Some(10));
    let bob = done["tokens"]["access_token"]
        .as_str()
        .expect("the login completes");
    let (status, me) = call(&app, Method::GET, "/api/v1/users/profile", Some(bob), None).await;
    assert_eq!(
        (status, me["mfa_enabled"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        "/api/v1/auth/mfa/totp",
        Some(bob),
        Some(json!({"password": password})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "required by the tenant");
    let trail = support::audit_actions(
        &app,
        &root,
        &format!("actor={}&outcome=denied", me["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(trail, ["authz.denied"], "the refusal is audited");
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/totp/enroll",
        None,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "neither a bearer token nor an mfa_token"
    );
    // The next login asks for a code; one from the next step (clock drift) is accepted once.
    let bob_login = || password_login("default", "bob@example.com", password);
    let (_, body) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(bob_login()),
    )
    .await;
    assert_eq!(body["enrollment_required"], false, "{body}");
    let next = code(secret, 1);
    let verify = |t: &str, c: &str| json!({"mfa_token": t, "code": c});
    let second = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, pair) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&second, &next)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let (_, body) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(bob_login()),
    )
    .await;
    let third = body["mfa_token"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&third, &next)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");

    // Five wrong codes kill the token, even for a right code after them, and wrong codes
    // count towards the account's lockout like wrong passwords.
    for _ in 0..4 {
        call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/verify",
            None,
            Some(verify(&third, "999999")),
        )
        .await;
    }
    let recovery = done["recovery_codes"][0].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(&third, recovery)),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "five wrong codes: the token is dead"
    );
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(bob_login()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account name is locked"
    );
}

on_both_stores!(totp_enrolment_then_logins_with_codes_and_recovery_codes);
on_both_stores!(a_tenant_that_requires_mfa_makes_users_enrol_before_they_get_tokens);

/// A request's status and `Retry-After` (seconds).
async fn retry_after<S, B>(
    app: &S,
    uri: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Option<u64>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut req = test::TestRequest::post().uri(uri).set_json(body);
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let res = test::call_service(app, req.to_request()).await;
    let after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (res.status(), after)
}

/// A new member of the default tenant with TOTP on: their token and their TOTP secret.
async fn member_with_totp<S, B>(app: &S, admin: &str, email: &str) -> (String, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (token, _) = support::join(app, admin, email, &["member"]).await;
    let (_, enrol) = call(
        app,
        Method::POST,
        "/api/v1/auth/mfa/totp/enroll",
        Some(&token),
        Some(json!({"password": support::USER_PASSWORD})),
    )
    .await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let (status, _) = call(
        app,
        Method::POST,
        "/api/v1/auth/mfa/totp/confirm",
        Some(&token),
        Some(json!({"code": code(&secret, 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    (token, secret)
}

/// Wrong second factors count toward the account's lockout across logins: the right password
/// does not wipe them (else every login would buy five more guesses at a six-digit code), and
/// regenerating recovery codes with a stolen session is limited the same way.
async fn wrong_codes_keep_counting_across_logins(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (token, secret) = member_with_totp(&app, &root, "ida@example.com").await;
    let credentials = password_login("default", "ida@example.com", support::USER_PASSWORD);
    // Six digits that are not a code the authenticator shows around now.
    let wrong = |i: usize| {
        let current: Vec<String> = (-2..=2).map(|s| code(&secret, s)).collect();
        (i * 7919 + 13..i * 7919 + 20)
            .map(|n| format!("{:06}", n % 1_000_000))
            .find(|c| !current.contains(c))
            .unwrap()
    };
    let mut guesses = 0;
    // Log in with the right password and guess until the account locks.
    let locked_after = loop {
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(credentials.clone()),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break guesses;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
        let (status, _) = call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/verify",
            None,
            Some(json!({"mfa_token": mfa_token, "code": wrong(guesses)})),
        )
        .await;
        guesses += 1;
        assert!(status.is_client_error());
        assert!(guesses < 20, "the right password must not reset the count");
    };
    assert_eq!(locked_after, 5, "four free failures, locked at the fifth");
    // The lock runs out; the next wrong code (after a right password) locks it again at
    // once, for longer: the count went on.
    let (_, wait) = retry_after(&app, "/api/v1/auth/login", None, credentials.clone()).await;
    tokio::time::sleep(std::time::Duration::from_secs(wait.unwrap_or(1) + 1)).await;
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(credentials.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(json!({"mfa_token": mfa_token, "code": wrong(99)})),
    )
    .await;
    let (status, wait) = retry_after(&app, "/api/v1/auth/login", None, credentials.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(wait.unwrap() >= 2, "a longer lock: {wait:?}");

    // A session (Ida's, from before) guessing codes to regenerate recovery codes locks the
    // account the same way.
    tokio::time::sleep(std::time::Duration::from_secs(wait.unwrap() + 1)).await;
    let (status, _) = retry_after(
        &app,
        "/api/v1/auth/mfa/recovery-codes",
        Some(&token),
        json!({"code": wrong(5)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "wrong, and now locked");
    let (status, _) = retry_after(
        &app,
        "/api/v1/auth/mfa/recovery-codes",
        Some(&token),
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits out the lock"
    );
}

on_both_stores!(wrong_codes_keep_counting_across_logins);

/// Guesses sent all at once are counted one after another: the lock check, the code check
/// and the count of the failure run one attempt at a time per account, so a burst gets no
/// more guesses than a sequence (four free failures, the fifth locks).
async fn guesses_sent_at_once_are_counted_one_by_one(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let (_, secret) = member_with_totp(&app, &root, "burst@example.com").await;
    let current: Vec<String> = (-2..=2).map(|s| code(&secret, s)).collect();
    let wrong: Vec<String> = (100_000..)
        .map(|n: u32| n.to_string())
        .filter(|c| !current.contains(c))
        .take(12)
        .collect();
    // Three challenges (five tries each) carry twelve guesses, sent together.
    let credentials = password_login("default", "burst@example.com", support::USER_PASSWORD);
    let mut challenges = Vec::new();
    for _ in 0..3 {
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(credentials.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        challenges.push(body["mfa_token"].as_str().unwrap().to_owned());
    }
    let burst = wrong.iter().enumerate().map(|(i, guess)| {
        let body = json!({"mfa_token": challenges[i % 3], "code": guess});
        retry_after(&app, "/api/v1/auth/mfa/verify", None, body)
    });
    let answers = futures::future::join_all(burst).await;
    let wrong_code = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (wrong_code, locked),
        (5, 7),
        "five codes checked, the rest refused: {answers:?}"
    );
}

on_both_stores!(guesses_sent_at_once_are_counted_one_by_one);

/// A software passkey answering a registration the service began (it makes no discoverable
/// credentials, so it is handed the options with resident keys off; the answer is checked
/// exactly as a phone's).
fn create_passkey(
    device: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    options: &Value,
) -> Value {
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let mut options: webauthn_rs::prelude::CreationChallengeResponse =
        serde_json::from_value(options.clone()).unwrap();
    let chosen = options.public_key.authenticator_selection.as_mut().unwrap();
    chosen.require_resident_key = false;
    chosen.resident_key = None;
    let origin = webauthn_rs::prelude::Url::parse("http://localhost:8008").unwrap();
    serde_json::to_value(device.do_registration(origin, options).unwrap()).unwrap()
}

/// Registers a passkey called "Phone" on `device` for the bearer of `token`; the credential
/// the device created.
async fn register_passkey<S, B>(
    app: &S,
    token: &str,
    device: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let (status, begun) = call(
        app,
        Method::POST,
        "/api/v1/auth/passkeys/registration",
        Some(token),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    let created = create_passkey(device, &begun["options"]);
    let (status, saved) = call(
        app,
        Method::POST,
        "/api/v1/auth/passkeys",
        Some(token),
        Some(json!({"state": begun["state"], "name": "Phone", "credential": created})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    created
}

/// The software device's answer to a ceremony's options (`allowCredentials` named).
fn answer_passkey(
    device: &mut webauthn_authenticator_rs::softpasskey::SoftPasskey,
    options: &Value,
) -> webauthn_rs::prelude::PublicKeyCredential {
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let options: webauthn_rs::prelude::RequestChallengeResponse =
        serde_json::from_value(options.clone()).unwrap();
    let origin = webauthn_rs::prelude::Url::parse("http://localhost:8008").unwrap();
    device.do_authentication(origin, options).unwrap()
}

async fn users_register_name_and_remove_their_passkeys(t: TestApp) {
    let (app, owner) = t.serve_as_owner().await;
    // A session alone adds no passkey: the password proves it is still its user's.
    for body in [json!({}), json!({"password": "not the password"})] {
        let (status, problem) = call(
            &app,
            Method::POST,
            "/api/v1/auth/passkeys/registration",
            Some(&owner),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert!(problem.to_string().contains("password"), "{problem}");
    }
    let (status, begun) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys/registration",
        Some(&owner),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    let selection = &begun["options"]["publicKey"]["authenticatorSelection"];
    assert_eq!(
        selection["residentKey"], "required",
        "discoverable: {selection}"
    );
    assert_eq!(selection["userVerification"], "required");
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let credential = create_passkey(&mut device, &begun["options"]);
    let state = begun["state"].as_str().unwrap();

    // Refused: a bad name, a state that is not one, another user's state.
    for (body, field) in [
        (
            json!({"state": state, "name": " ", "credential": credential}),
            "name",
        ),
        (
            json!({"state": "forged", "name": "Laptop", "credential": credential}),
            "state",
        ),
        (
            json!({"state": state, "name": "Laptop", "credential": {"id": "x"}}),
            "credential",
        ),
    ] {
        let (status, problem) = call(
            &app,
            Method::POST,
            "/api/v1/auth/passkeys",
            Some(&owner),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (member, _) = support::join(&app, &owner, "mia@example.com", &["member"]).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys",
        Some(&member),
        Some(json!({"state": state, "name": "Stolen", "credential": credential})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a state is its beginner's only"
    );

    let (status, made) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys",
        Some(&owner),
        Some(json!({"state": state, "name": "  Laptop ", "credential": credential})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["name"], "Laptop");
    assert!(made.get("credential").is_none(), "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys",
        Some(&owner),
        Some(json!({"state": state, "name": "Again", "credential": credential})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a begun registration adds one passkey"
    );

    // A second registration excludes the device's passkey already registered.
    let (_, again) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys/registration",
        Some(&owner),
        Some(json!({"password": support::ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(
        again["options"]["publicKey"]["excludeCredentials"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let (_, list) = call(
        &app,
        Method::GET,
        "/api/v1/auth/passkeys",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, theirs) = call(
        &app,
        Method::GET,
        "/api/v1/auth/passkeys",
        Some(&member),
        None,
    )
    .await;
    assert_eq!(theirs["items"], json!([]), "each sees their own");
    let path = format!("/api/v1/auth/passkeys/{id}");
    for (token, expected) in [(&member, StatusCode::NOT_FOUND), (&owner, StatusCode::OK)] {
        let (status, _) = call(
            &app,
            Method::PATCH,
            &path,
            Some(token),
            Some(json!({"name": "Work laptop"})),
        )
        .await;
        assert_eq!(status, expected);
    }
    let (status, _) = call(&app, Method::DELETE, &path, Some(&member), None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nobody removes another's passkey"
    );
    let (_, list) = call(
        &app,
        Method::GET,
        "/api/v1/auth/passkeys",
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(list["items"][0]["name"], "Work laptop");
    let (status, _) = call(&app, Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::DELETE, &path, Some(&owner), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let trail = support::audit_actions(&app, &owner, "action=passkey.registered").await;
    assert_eq!(trail.len(), 1);
    assert_eq!(
        support::audit_actions(&app, &owner, "action=passkey.renamed")
            .await
            .len(),
        1
    );
    assert_eq!(
        support::audit_actions(&app, &owner, "action=passkey.removed")
            .await
            .len(),
        1
    );
}
on_both_stores!(users_register_name_and_remove_their_passkeys);

async fn a_passkey_alone_signs_its_user_in_once_per_challenge(t: TestApp) {
    let (app, owner) = t.serve_as_owner().await;
    let (_, me) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(&owner),
        None,
    )
    .await;
    let me = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let created = register_passkey(&app, &owner, &mut device).await;

    // No name typed: the options name no credential; the device answers with its own.
    let (status, sign_in) = call(
        &app,
        Method::POST,
        "/api/v1/auth/passkeys/sign-in",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sign_in}");
    assert_eq!(
        sign_in["options"]["publicKey"]["allowCredentials"],
        json!([])
    );
    // The software device makes no discoverable credentials: it is told which one to use,
    // and its answer carries the user handle a phone's would.
    let mut options = sign_in["options"].clone();
    options["publicKey"]["allowCredentials"] =
        json!([{"type": "public-key", "id": created["rawId"]}]);
    let mut answer = answer_passkey(&mut device, &options);
    answer.response.user_handle = Some(me.as_bytes().to_vec());
    let login = json!({"state": sign_in["state"], "credential": answer});
    let (status, tokens) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login/passkey",
        None,
        Some(login.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, profile) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(access),
        None,
    )
    .await;
    assert_eq!(
        (status, profile["id"].as_str()),
        (StatusCode::OK, Some(me.to_string().as_str()))
    );
    let (_, passkeys) = call(
        &app,
        Method::GET,
        "/api/v1/auth/passkeys",
        Some(&owner),
        None,
    )
    .await;
    assert!(
        passkeys["items"][0]["last_used_at"].is_string(),
        "{passkeys}"
    );

    // The same answer again is refused (and audited), as is a state this service never sealed.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login/passkey",
        None,
        Some(login),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/login/passkey",
        None,
        Some(json!({"state": "forged", "credential": answer})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let failures = support::audit_actions(&app, &owner, "action=auth.login_failed").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
}
on_both_stores!(a_passkey_alone_signs_its_user_in_once_per_challenge);

/// A passkey answers the second factor of a password login: in a tenant that requires MFA it
/// stands in for TOTP (no enrolment asked), its answer is bound to its own login, taken once,
/// and a refusal counts like a wrong code.
async fn a_passkey_answers_the_second_factor_of_a_password_login(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let created = register_passkey(&app, &root, &mut device).await;
    let (status, _) = call(
        &app,
        Method::PATCH,
        "/api/v1/tenant/settings",
        Some(&root),
        Some(json!({"mfa_required": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let owner_login = password_login("default", support::ADMIN_EMAIL, support::ADMIN_PASSWORD);
    let begin = || {
        call(
            &app,
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(owner_login.clone()),
        )
    };

    let (status, first) = begin().await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (&first["enrollment_required"], &first["methods"]),
        (&json!(false), &json!(["passkey"])),
        "the passkey is the second factor: {first}"
    );
    let allowed = &first["passkey"]["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], created["rawId"], "{first}");
    let answer = answer_passkey(&mut device, &first["passkey"]["options"]);
    let verify = |token: &Value,
                  state: &Value,
                  answer: &webauthn_rs::prelude::PublicKeyCredential| {
        json!({"mfa_token": token, "passkey": {"state": state, "credential": answer}})
    };

    // Another login's ceremony does not answer this one; neither nor both of code and
    // passkey is a bad request.
    let (_, second) = begin().await;
    for body in [
        verify(&second["mfa_token"], &first["passkey"]["state"], &answer),
        json!({"mfa_token": second["mfa_token"]}),
        json!({"mfa_token": second["mfa_token"], "code": "123456",
               "passkey": {"state": second["passkey"]["state"], "credential": answer}}),
    ] {
        let (status, problem) = call(
            &app,
            Method::POST,
            "/api/v1/auth/mfa/verify",
            None,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    }
    // The answer to the first ceremony, sent with the second login's state, is refused.
    let (status, problem) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(verify(
            &second["mfa_token"],
            &second["passkey"]["state"],
            &answer,
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");

    let body = verify(&first["mfa_token"], &first["passkey"]["state"], &answer);
    let (status, tokens) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::GET,
        "/api/v1/users/profile",
        Some(access),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Taken once.
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/mfa/verify",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let failures = support::audit_actions(&app, &root, "action=auth.login_failed").await;
    assert_eq!(
        failures.len(),
        1,
        "the refused answer is audited: {failures:?}"
    );
    let (_, trail) = call(
        &app,
        Method::GET,
        "/api/v1/audit?action=auth.login",
        Some(&root),
        None,
    )
    .await;
    assert_eq!(
        trail["items"][0]["details"]["method"], "passkey_mfa",
        "{trail}"
    );
}
on_both_stores!(a_passkey_answers_the_second_factor_of_a_password_login);

/// A password reset starts the account over from the password: its passkeys (a way in without
/// it) are removed with the sessions, so one planted by whoever held the account is gone.
async fn a_password_reset_removes_the_passkeys(t: TestApp) {
    let (app, root) = t.serve_as_owner().await;
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    register_passkey(&app, &root, &mut device).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/forgot",
        None,
        Some(json!({"email": support::ADMIN_EMAIL})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = t.mail.token_for(support::ADMIN_EMAIL).expect("a link");
    let new_password = "a brand new and unusual passphrase";
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/v1/auth/password/reset",
        None,
        Some(json!({"token": token, "new_password": new_password})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (access, _) = login(&app, "default", support::ADMIN_EMAIL, new_password).await;
    let (_, list) = call(
        &app,
        Method::GET,
        "/api/v1/auth/passkeys",
        Some(&access),
        None,
    )
    .await;
    assert_eq!(list["items"], json!([]), "{list}");
}
on_both_stores!(a_password_reset_removes_the_passkeys);
