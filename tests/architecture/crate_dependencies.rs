//! The one rule of docs/design.md section 2, checked from the manifests: domain crates depend on
//! `usvc-core` and pure libraries only, never on infrastructure, frameworks, drivers or each
//! other; runtimes and adapters never on HTTP.

use crate::walk::root;

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
    "url",                 // OAuth redirect URIs parsed and compared: computation only
];

fn normal_dependencies(crate_dir: &str) -> Vec<String> {
    let path = root().join(crate_dir).join("Cargo.toml");
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
                "{domain} depends on {dep}, which is not a pure library (docs/design.md section 2)"
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

/// What only the HTTP app may use: an adapter or a runtime that needs one of these has taken a
/// piece of the app with it.
const HTTP: &[&str] = &[
    "actix-web",
    "actix-http",
    "actix-rt",
    "utoipa",
    "user-service",
];

#[test]
fn runtimes_and_adapters_know_no_http() {
    let mut dirs = vec!["crates/runtime".to_owned()];
    for entry in std::fs::read_dir(root().join("infrastructure")).expect("infrastructure") {
        let entry = entry.expect("entry");
        if entry.path().join("Cargo.toml").exists() {
            dirs.push(format!(
                "infrastructure/{}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    for dir in dirs {
        for dep in normal_dependencies(&dir) {
            assert!(
                !HTTP.contains(&dep.as_str()),
                "{dir} depends on {dep}: HTTP belongs to apps/user-service"
            );
        }
    }
}

#[test]
fn the_runtime_runs_over_ports_not_over_a_store() {
    for dep in normal_dependencies("crates/runtime") {
        assert!(
            !dep.starts_with("usvc-")
                || ["usvc-core", "usvc-workflow", "usvc-logger"].contains(&dep.as_str()),
            "crates/runtime depends on {dep}; it may use ports, the workflow domain and the logger facade only"
        );
    }
}
