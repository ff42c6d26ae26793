//! `usvc-bench suite`, as a user runs it: it starts its own server on an empty store, runs
//! every scenario with its yardstick and prints one row per figure. Durations here are short;
//! no figure is asserted on (this machine is shared and noisy), only that each was measured,
//! against its yardstick, with no failed request.

use std::process::Command;

use crate::service::{binary, built};

/// Every row the suite prints, in order (the idle transactions only on Postgres).
const ROWS: &[&str] = &[
    "health-live",
    "profile",
    "login",
    "RSS after the login flood",
    "refresh",
    "project-create",
    "workflow-run p50",
    "workflow-run",
    "workflow-run",
    "peak RSS of the run",
    "idle store work",
    "idle transactions",
    "RSS after idling",
    "ceiling, limit off: RSS after the flood",
    "ceiling, limit off: threads after the flood",
    "ceiling, limit off: RSS after full-cache profiles",
    "ceiling, limit off: RSS after idling",
    "ceiling, limit off: peak RSS",
    "ceiling, limit on: RSS after the flood",
    "ceiling, limit on: threads after the flood",
    "ceiling, limit on: RSS after full-cache profiles",
    "ceiling, limit on: RSS after idling",
    "ceiling, limit on: peak RSS",
];

fn suite(postgres: Option<&str>) -> serde_json::Value {
    let mut command = Command::new(built("usvc-bench"));
    // Three seconds: at 64 connections a debug build's execution takes about two.
    command.args([
        "suite",
        "--seconds",
        "3",
        "--idle-seconds",
        "2",
        "--flood-seconds",
        "2",
        "--json",
        "--server",
    ]);
    command.arg(binary());
    if let Some(url) = postgres {
        command.args(["--postgres", url]);
    }
    let out = command.output().expect("run usvc-bench suite");
    assert!(
        out.status.success(),
        "usvc-bench suite failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the suite's JSON")
}

fn check(result: &serde_json::Value, store: &str) {
    assert_eq!(result["store"], store);
    let rows = result["rows"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().filter_map(|r| r["scenario"].as_str()).collect();
    let expected: Vec<&str> = ROWS
        .iter()
        .copied()
        .filter(|r| store == "postgres" || *r != "idle transactions")
        .collect();
    assert_eq!(names, expected);
    for row in rows {
        let name = &row["scenario"];
        assert_eq!(row["errors"], 0, "{name} had failed requests: {row}");
        // A figure, not a speed: on a loaded machine a debug build's 64-connection workflow
        // run may finish no execution inside a 3 s window (0 ops/s), and that is reported.
        assert!(row["value"].as_f64().is_some_and(|v| v >= 0.0), "{row}");
        if row["yardstick"].is_string() {
            assert!(row["yardstick_value"].as_f64().is_some(), "{row}");
        }
        if let Some(ratio) = row["ratio"].as_f64() {
            assert!(ratio.is_finite() && ratio >= 0.0, "{row}");
        }
    }
    for goal in [
        "refresh",
        "project-create",
        "workflow-run p50",
        "peak RSS of the run",
        "ceiling, limit off: RSS after idling",
        "ceiling, limit on: RSS after full-cache profiles",
    ] {
        let row = rows.iter().find(|r| r["scenario"] == goal).expect("row");
        assert!(
            row["met"].is_boolean(),
            "{goal} is judged against its goal: {row}"
        );
    }
}

/// One store after the other: two suites at once would only measure each other.
#[test]
fn the_suite_measures_every_scenario_from_an_empty_store_on_either_store() {
    check(&suite(None), "sqlite");
    if let Some(url) = usvc_postgres::testing::test_database_url() {
        check(&suite(Some(&url)), "postgres");
    }
}
