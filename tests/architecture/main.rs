//! The one rule of docs/design.md section 2, checked from the manifests: domain crates depend on
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

/// Every file under `dir` (recursively) whose name ends in one of `extensions`, skipping build
/// output and hidden directories.
fn files(dir: &Path, extensions: &[&str], found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                files(&path, extensions, found);
            }
        } else if extensions.iter().any(|e| name.ends_with(e)) {
            found.push(path);
        }
    }
}

/// Comments and docs cite documents a reader of the repository has: every `docs/….md` named in
/// code, migrations or deployment files exists, every `ADR NNNN` has its file, and nothing
/// points outside the repository (a design file kept beside it, say).
#[test]
fn comments_and_docs_cite_only_documents_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources = Vec::new();
    files(
        &root,
        &[
            ".rs",
            ".sql",
            ".toml",
            ".yml",
            ".yaml",
            ".cfg",
            ".md",
            "local-cluster",
        ],
        &mut sources,
    );
    let adrs: Vec<String> = std::fs::read_dir(root.join("docs/adr"))
        .expect("docs/adr")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut problems = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        // Spelt in pieces, so this file does not cite them itself.
        for outside in [concat!("../shared", "/"), concat!("DESIGN", ".md")] {
            if text.contains(outside) {
                problems.push(format!(
                    "{shown} cites {outside}, which is not in the repository"
                ));
            }
        }
        for (at, _) in text.match_indices("docs/") {
            let cited: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/_.-".contains(*c))
                .collect();
            let cited = cited.trim_end_matches('.');
            let markdown = Path::new(cited)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md"));
            if markdown && !root.join(cited).exists() {
                problems.push(format!("{shown} cites {cited}, which does not exist"));
            }
        }
        for (at, _) in text.match_indices("ADR ") {
            let number: String = text[at + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if number.len() == 4 && !adrs.iter().any(|a| a.starts_with(&number)) {
                problems.push(format!("{shown} cites ADR {number}, which does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
