//! Logging in against the real binary: the bootstrap owner, and a logout seen by another
//! replica.

use std::time::Duration;

use serde_json::{json, Value};

use crate::service::Service;

/// Logs in over HTTP; the answer's JSON (`access_token`, …).
pub fn login(service: &Service, email: &str, password: &str) -> Value {
    let (status, body) = service.send(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

#[test]
fn first_start_prints_the_generated_owner_password_once_and_it_logs_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[]);
    std::thread::sleep(Duration::from_millis(200));
    let logs = service.stderr().join("\n");
    let line = logs
        .lines()
        .find(|l| l.contains("created tenant `default` with owner"))
        .unwrap_or_else(|| panic!("the generated password is shown: {logs}"));
    let password = line
        .split(" and password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("password");
    assert!(password.len() >= 32, "a strong password");
    assert_eq!(
        logs.matches(password).count(),
        1,
        "shown once, in that line only"
    );

    let pair = login(&service, "admin@user-service.local", password);
    let token = pair["access_token"].as_str().expect("token");
    let (status, body) = service.send("GET", "/api/v1/users/profile", Some(token), None);
    assert_eq!(status, 200, "{body}");
    drop(service);

    let again = Service::start(dir.path(), &[]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !again.stderr().join("\n").contains("created tenant"),
        "a second start creates nothing and shows nothing"
    );
}

#[test]
fn a_logout_on_one_replica_stops_the_token_on_another() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(usvc_postgres::testing::TestDatabase::from_env()) else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MASTER_KEY", "c2hhcmVkLW1hc3Rlci1rZXktZm9yLXJlcGxpY2FzISE="),
        ("BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
        ("BOOTSTRAP_ADMIN_PASSWORD", "replicas share everything"),
    ];
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = Service::start(dir_a.path(), &env);
    let b = Service::start(dir_b.path(), &env);

    let pair = login(&a, "owner@example.com", "replicas share everything");
    let token = pair["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        b.send("GET", "/api/v1/users/profile", Some(&token), None).0,
        200,
        "B verifies A's token"
    );

    assert_eq!(
        a.send("POST", "/api/v1/auth/logout", Some(&token), None).0,
        204
    );
    assert_eq!(
        within_a_second(|| b.send("GET", "/api/v1/users/profile", Some(&token), None).0),
        401,
        "the logout on A holds on B within a second"
    );
    drop((a, b));
    drop(db);
}

/// Polls `probe` for up to a second until it stops answering 200; its last status.
fn within_a_second(probe: impl Fn() -> u16) -> u16 {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let status = probe();
        if status != 200 && status != 201 || std::time::Instant::now() >= deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_demotion_a_disable_and_a_delete_on_one_replica_apply_on_another() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(usvc_postgres::testing::TestDatabase::from_env()) else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("MASTER_KEY", "c2hhcmVkLW1hc3Rlci1rZXktZm9yLXJlcGxpY2FzISE="),
        ("BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
        ("BOOTSTRAP_ADMIN_PASSWORD", "replicas share everything"),
    ];
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let a = Service::start(dir_a.path(), &env);
    let b = Service::start(dir_b.path(), &env);
    let owner = login(&a, "owner@example.com", "replicas share everything");
    let owner = owner["access_token"].as_str().expect("token").to_owned();
    let password = "a long and unusual passphrase";
    let mut ids = Vec::new();
    for email in ["second@example.com", "third@example.com"] {
        let (status, body) = a.send(
            "POST",
            "/api/v1/users",
            Some(&owner),
            Some(&json!({"email": email, "password": password, "roles": ["admin"]})),
        );
        assert_eq!(status, 201, "{body}");
        let user: Value = serde_json::from_str(&body).expect("json");
        ids.push(user["id"].as_str().expect("id").to_owned());
    }
    let second = login(&b, "second@example.com", password)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let third = login(&b, "third@example.com", password)["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    // B has cached both profiles as admins.
    for token in [&second, &third] {
        assert_eq!(b.send("GET", "/api/v1/users", Some(token), None).0, 200);
    }

    let (status, _) = a.send(
        "PATCH",
        &format!("/api/v1/users/{}", ids[0]),
        Some(&owner),
        Some(&json!({"roles": ["viewer"]})),
    );
    assert_eq!(status, 200);
    let create = json!({"email": "x@example.com"});
    assert_eq!(
        within_a_second(|| b
            .send("POST", "/api/v1/users", Some(&second), Some(&create))
            .0),
        403,
        "the demotion on A applies on B"
    );

    let (status, _) = a.send(
        "PATCH",
        &format!("/api/v1/users/{}", ids[1]),
        Some(&owner),
        Some(&json!({"status": "disabled"})),
    );
    assert_eq!(status, 200);
    assert_eq!(
        within_a_second(|| b.send("GET", "/api/v1/users/profile", Some(&third), None).0),
        401,
        "the disable on A applies on B"
    );

    let (status, _) = a.send(
        "DELETE",
        &format!("/api/v1/users/{}", ids[0]),
        Some(&owner),
        None,
    );
    assert_eq!(status, 204);
    assert_eq!(
        within_a_second(|| b
            .send("GET", "/api/v1/users/profile", Some(&second), None)
            .0),
        401,
        "the delete on A applies on B"
    );
    drop((a, b));
    drop(db);
}
