//! The one rule of DESIGN.md section 2, checked from the manifests: domain crates depend on
//! `usvc-core` and pure libraries only, never on infrastructure, frameworks, drivers or each
//! other.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

use std::path::Path;

/// Libraries a domain crate may use: no I/O, no framework, no driver.
const PURE: &[&str] = &[
    "usvc-core",
    "async-trait",
    "serde",
    "serde_json",
    "thiserror",
    "chrono",
    "uuid",
    "validator",
    "minijinja",
    "futures",
    "base64",
    "sha2", // the audit chain hash: computation only
    "tracing",
    "mockall",
    "jsonschema",
    "cron",
    "croner",    // cron expressions of schedule triggers: computation only
    "chrono-tz", // the IANA time-zone database, compiled in: data only
    "serde_yaml",
    "serde_path_to_error", // field paths in deserialisation errors: computation only
];

fn normal_dependencies(crate_dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_dir)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("read manifest");
    let manifest: toml::Table = text.parse().expect("parse manifest");
    manifest
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .map(|deps| deps.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn domain_crates_depend_only_on_core_and_pure_libraries() {
    for domain in ["crates/user", "crates/project", "crates/workflow"] {
        for dep in normal_dependencies(domain) {
            assert!(
                PURE.contains(&dep.as_str()),
                "{domain} depends on {dep}, which is not a pure library (DESIGN.md section 2)"
            );
        }
    }
}

#[test]
fn core_has_no_io_and_depends_on_no_other_usvc_crate() {
    for dep in normal_dependencies("crates/core") {
        assert!(
            PURE.contains(&dep.as_str()) && dep != "usvc-core",
            "usvc-core depends on {dep}"
        );
    }
}
