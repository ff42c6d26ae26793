//! Signing keys: created on first start, sealed at rest, rotated by the CLI while serving.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::service::{binary, Service};

/// The published key ids of algorithm `alg`, the signing key first.
fn kids_of(service: &Service, alg: &str) -> Vec<String> {
    let (status, body) = service.get("/.well-known/jwks.json");
    assert_eq!(status, 200, "{body}");
    let jwks: serde_json::Value = serde_json::from_str(&body).expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["alg"] == alg)
        .map(|k| k["kid"].as_str().expect("kid").to_owned())
        .collect()
}

/// The access-token keys (EdDSA).
fn kids(service: &Service) -> Vec<String> {
    kids_of(service, "EdDSA")
}

#[test]
fn rotate_keys_reaches_the_running_server_and_keys_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &[]);
    let first = kids(&service);
    assert_eq!(first.len(), 1);
    let first_rsa = kids_of(&service, "RS256");
    assert_eq!(
        first_rsa.len(),
        1,
        "an RS256 key for ID tokens from the first start"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key_file = dir.path().join("data/master.key");
        let mode = std::fs::metadata(&key_file)
            .expect("master.key")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the generated master key is owner-only"
        );
    }

    let out = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .args(["admin", "rotate-keys"])
        .output()
        .expect("run rotate-keys");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_kid = stdout
        .strip_prefix("new signing key ")
        .and_then(|rest| rest.split(';').next())
        .expect("the new kid is printed")
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(30);
    let rotated = loop {
        let now = kids(&service);
        if now.first() == Some(&new_kid) || Instant::now() > deadline {
            break now;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(
        rotated,
        [new_kid.clone(), first[0].clone()],
        "new key first, old still verifying"
    );
    let rsa = kids_of(&service, "RS256");
    assert_eq!(rsa.len(), 2, "the RS256 key is rotated with it: {rsa:?}");
    assert_eq!(rsa[1], first_rsa[0]);
    drop(service);

    let restarted = Service::start(dir.path(), &[]);
    assert_eq!(
        kids(&restarted),
        rotated,
        "the sealed keys decrypt after a restart"
    );
}

#[test]
fn a_wrong_master_key_stops_start_up_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(Service::start(dir.path(), &[])); // creates the database, its key and master.key
    let other_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let out = Command::new(binary())
        .current_dir(dir.path())
        .env_clear()
        .env("PORT", "0")
        .env("MASTER_KEY", other_key)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot decrypt signing key"), "{stderr}");
    assert!(
        !stderr.contains(other_key),
        "the key itself is never printed: {stderr}"
    );
}
