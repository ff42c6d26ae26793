//! The hostile-input suite against the real binary: schemathesis generates thousands of
//! requests from `/openapi.json` (valid ones, invalid ones, boundary values, odd encodings)
//! and holds every answer to the spec: no 5xx, every status and body documented, what the
//! schema refuses refused, what it accepts accepted (the exceptions, each with its reason,
//! are in `tests/hostile/schemathesis.toml`). The process must still be serving afterwards
//! and must not have caught a single panic.
//!
//! schemathesis is a Python tool: `.ci/run` installs the pinned version
//! (`tests/hostile/requirements.txt`) and sets `SCHEMATHESIS` and `REQUIRE_SCHEMATHESIS=1`.
//! Elsewhere the test runs when `schemathesis` is on `PATH` (or `SCHEMATHESIS` names it) and
//! says "skipping" otherwise. `HOSTILE_EXAMPLES` sets the examples per operation (20) and
//! `HOSTILE_SEED` the seed (1, so a failure reproduces).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::service::Service;

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "a long and hostile-proof passphrase";

/// The schemathesis executable, if there is one to run.
fn schemathesis() -> Option<PathBuf> {
    let candidate =
        std::env::var_os("SCHEMATHESIS").map_or_else(|| "schemathesis".into(), PathBuf::from);
    let works = Command::new(&candidate)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("REQUIRE_SCHEMATHESIS").is_none(),
        "REQUIRE_SCHEMATHESIS is set but {} does not run",
        candidate.display()
    );
    eprintln!("skipping the hostile-input suite: schemathesis is not installed (see .ci/run)");
    None
}

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[test]
fn generated_hostile_requests_find_nothing_and_the_service_keeps_serving() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(
        dir.path(),
        &[
            ("BOOTSTRAP_ADMIN_EMAIL", EMAIL),
            ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            // The per-IP login limit would answer most auth requests with 429 and hide them.
            ("AUTH_RATE_LIMIT", "1000000"),
        ],
    );
    let (status, body) = service.send(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": EMAIL, "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    let login: Value = serde_json::from_str(&body).expect("json");
    let token = login["access_token"].as_str().expect("token");

    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("hostile/schemathesis.toml");
    let work = tempfile::tempdir().expect("schemathesis work dir");
    let output = Command::new(&schemathesis)
        .current_dir(work.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("http://{}/openapi.json", service.addr)])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &setting("HOSTILE_EXAMPLES", "20")])
        .args(["--seed", &setting("HOSTILE_SEED", "1")])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--request-timeout", "10", "--no-color"])
        // These end the session the suite runs with; tests/auth covers them.
        .args([
            "--exclude-path-regex",
            r"^/api/v1/auth/(logout|logout-all|sessions/\{session_id\}|password/change)$",
        ])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "it ran: {report}");

    let (status, body) = service.get("/health/live");
    assert_eq!(status, 200, "still serving after the run: {body}");
    let logs = service.stderr().join("\n");
    assert!(
        !logs.contains("panicked"),
        "no handler panicked during the run:\n{logs}"
    );
}
