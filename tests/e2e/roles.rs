//! Role changes across replicas: a custom role redefined on one replica changes decisions on
//! another within a second (the `permissions` cache is invalidated over LISTEN/NOTIFY).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::service::Service;

fn token(service: &Service, email: &str, password: &str) -> String {
    let (status, body) = service.send(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    );
    assert_eq!(status, 200, "{body}");
    let pair: Value = serde_json::from_str(&body).expect("json");
    pair["access_token"].as_str().expect("token").to_owned()
}

#[test]
fn a_custom_role_redefined_on_one_replica_applies_on_another_within_a_second() {
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
    let owner = token(&a, "owner@example.com", "replicas share everything");
    let (status, role) = a.send(
        "POST",
        "/api/v1/roles",
        Some(&owner),
        Some(&json!({"name": "analyst", "permissions": ["analytics:read", "users:read"]})),
    );
    assert_eq!(status, 201, "{role}");
    let role: Value = serde_json::from_str(&role).expect("json");
    let password = "a long and unusual passphrase";
    let (status, body) = a.send(
        "POST",
        "/api/v1/users",
        Some(&owner),
        Some(&json!({"email": "ana@example.com", "password": password, "roles": ["analyst"]})),
    );
    assert_eq!(status, 201, "{body}");
    let ana = token(&b, "ana@example.com", password);
    assert_eq!(
        b.send("GET", "/api/v1/analytics/users", Some(&ana), None).0,
        200,
        "B has loaded the definition"
    );

    let (status, body) = a.send(
        "PUT",
        &format!("/api/v1/roles/{}", role["id"].as_str().expect("id")),
        Some(&owner),
        Some(&json!({"name": "analyst", "permissions": ["users:read"]})),
    );
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(1);
    let status = loop {
        let status = b.send("GET", "/api/v1/analytics/users", Some(&ana), None).0;
        if status != 200 || Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status, 403,
        "the redefinition on A applies on B within a second"
    );
    drop((a, b));
    drop(db);
}
