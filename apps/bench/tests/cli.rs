//! The command line as a user meets it. (Having an integration test also makes
//! `cargo test --workspace` build the `usvc-bench` binary, which the cluster suite drives.)

use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_usvc-bench"))
}

#[test]
fn list_names_every_scenario_including_the_mixed_cluster_load() {
    let out = bench().arg("list").output().expect("run usvc-bench");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "health-live",
        "login",
        "project-create",
        "workflow-run",
        "mixed",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn a_server_that_is_not_there_is_a_clear_error_not_a_hang() {
    // Port 9 (discard) on loopback: nothing listens there on a test machine.
    let out = bench()
        .args([
            "run",
            "health-live",
            "--url",
            "http://127.0.0.1:9",
            "-d",
            "1",
        ])
        .output()
        .expect("run usvc-bench");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("connecting to 127.0.0.1:9"), "{text}");
}

#[test]
fn an_unknown_scenario_names_the_known_ones() {
    let out = bench()
        .args(["run", "nope"])
        .output()
        .expect("run usvc-bench");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unknown scenario \"nope\""), "{text}");
    assert!(text.contains("mixed"), "{text}");
}
