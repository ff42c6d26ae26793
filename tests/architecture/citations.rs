//! Comments and docs cite only documents a reader of the repository has.

use std::path::Path;

use crate::walk::{files, root};

/// Comments and docs cite documents a reader of the repository has: every `docs/….md` and every
/// source file (`crates/…/x.rs`, …) named in code, migrations, deployment files or docs exists, every `ADR NNNN` has its file, and nothing
/// points outside the repository (a design file kept beside it, say).
#[test]
fn comments_and_docs_cite_only_documents_in_the_repository() {
    let root = root();
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
        for top in [
            "apps/",
            "crates/",
            "infrastructure/",
            "tests/",
            "examples/",
            "deploy/",
            "migrations/",
        ] {
            for (at, _) in text.match_indices(top) {
                // A path of its own, not the tail of another (`../../infrastructure/…`).
                if at > 0 && !text[..at].ends_with([' ', '`', '(', '"', '\'', '|', '\n']) {
                    continue;
                }
                let cited: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || "/_.-".contains(*c))
                    .collect();
                let cited = cited.trim_end_matches('.');
                let source = [".rs", ".toml", ".sql", ".cfg", ".yml"]
                    .iter()
                    .any(|e| cited.ends_with(e));
                if source && !cited.contains('*') && !root.join(cited).exists() {
                    problems.push(format!("{shown} cites {cited}, which does not exist"));
                }
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
