//! Two `user-service` processes on one Postgres share the workflow work; one is killed
//! (SIGKILL, no shutdown) in the middle of 500 executions of a 10-step workflow. Every
//! execution still succeeds, and every step's success is recorded exactly once.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use usvc_postgres::testing::TestDatabase;

use crate::service::Service;

const EXECUTIONS: usize = 500;
const ADMIN: &str = "ops@example.com";
const PASSWORD: &str = "a long and unusual passphrase";

fn call(
    service: &Service,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Value {
    let (status, text) = service.send(method, path, token, body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// 10 steps: one transform fanning out to eight in parallel, joined by a tenth.
fn fan_out() -> Value {
    let mut steps =
        vec![json!({"id": "split", "kind": "transform", "with": {"n": "{{ inputs.n }}"}})];
    let branches: Vec<String> = (1..=8).map(|i| format!("b{i}")).collect();
    for (i, id) in branches.iter().enumerate() {
        steps.push(
            json!({"id": id, "kind": "transform", "depends_on": ["split"],
            "with": {"v": format!("{{{{ steps.split.output.n + {i} }}}}")}}),
        );
    }
    steps.push(
        json!({"id": "join", "kind": "transform", "depends_on": branches,
        "with": {"last": "{{ steps.b8.output.v }}"}}),
    );
    json!({"name": "fan-out", "steps": steps})
}

#[test]
fn executions_survive_a_killed_replica_and_each_step_succeeds_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestDatabase::from_env()) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("BOOTSTRAP_ADMIN_EMAIL", ADMIN),
        ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
        ("AUTH_RATE_LIMIT", "0"),
        // A short lease, so the killed process's steps are taken over within the test.
        ("WORKFLOW_LEASE", "3"),
        ("WORKFLOW_CONCURRENCY", "16"),
        ("LOG_LEVEL", "warn"),
    ];
    // Started one after the other: the first creates the master key both use.
    let survivor = Service::start(dir.path(), &env);
    let victim = Service::start(dir.path(), &env);
    let login = call(
        &survivor,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"tenant": "default", "email": ADMIN, "password": PASSWORD})),
    );
    let token = login["access_token"].as_str().unwrap().to_owned();
    let saved = call(
        &survivor,
        "POST",
        "/api/v1/workflows",
        Some(&token),
        Some(&fan_out()),
    );
    let workflow = saved["id"].as_str().unwrap().to_owned();

    // Starts go to both processes and both workers claim; halfway through the starts, the
    // second process is killed (SIGKILL: no shutdown, its leases simply stop being renewed).
    let mut victim = Some(victim);
    let mut ids = Vec::with_capacity(EXECUTIONS);
    for n in 0..EXECUTIONS {
        if n == EXECUTIONS / 2 {
            let killed = victim.take().unwrap();
            killed.signal("KILL");
            drop(killed);
        }
        let via = match &victim {
            Some(v) if n % 2 == 1 => v,
            _ => &survivor,
        };
        let started = call(
            via,
            "POST",
            &format!("/api/v1/workflows/{workflow}/executions"),
            Some(&token),
            Some(&json!({"inputs": {"n": n}})),
        );
        ids.push(started["execution_id"].as_str().unwrap().to_owned());
    }

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let summary = call(
            &survivor,
            "GET",
            &format!("/api/v1/workflows/{workflow}"),
            Some(&token),
            None,
        );
        if summary["executions"]["succeeded"] == EXECUTIONS {
            assert_eq!(summary["executions"]["failed"], 0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all executions ended: {}",
            summary["executions"]
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let mut retaken = 0;
    for (n, id) in ids.iter().enumerate() {
        let execution = call(
            &survivor,
            "GET",
            &format!("/api/v1/executions/{id}"),
            Some(&token),
            None,
        );
        assert_eq!(execution["status"], "succeeded");
        assert_eq!(execution["output"]["join"]["last"], n + 7, "{execution}");
        let timeline = call(
            &survivor,
            "GET",
            &format!("/api/v1/executions/{id}/timeline"),
            Some(&token),
            None,
        );
        let entries = timeline.as_array().unwrap();
        for step in execution["steps"].as_array().unwrap() {
            let name = &step["id"];
            let successes = entries
                .iter()
                .filter(|e| &e["step_id"] == name && e["status"] == "succeeded")
                .count();
            assert_eq!(successes, 1, "{id} {name}: {timeline}");
            if step["attempts"].as_i64().unwrap() > 1 {
                retaken += 1;
            }
        }
    }
    eprintln!("{retaken} step attempts were taken over from the killed process");
    drop(survivor);
    drop(db);
}
