//! Kinds own their semantics: gating, branches, human tasks and emitted events are methods a
//! kind implements (`crates/workflow/src/kinds/`), so the planner and the validator never test
//! a kind's name. Adding a kind is one file and one line in `Kinds::builtin`.

use crate::walk::root;

/// The names the built-in kinds answer to, read from their files.
fn kind_names() -> Vec<String> {
    let dir = root().join("crates/workflow/src/kinds");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("kinds").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("kind");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("fn name(&self) -> &'static str {") {
            rest = &rest[at..];
            let open = rest.find('"').expect("a name") + 1;
            let close = open + rest[open..].find('"').expect("its end");
            names.push(rest[open..close].to_owned());
            rest = &rest[close..];
        }
    }
    names
}

#[test]
fn the_planner_and_the_validator_name_no_kind() {
    let names = kind_names();
    assert!(names.len() >= 9, "found the kinds: {names:?}");
    let mut problems = Vec::new();
    for file in [
        "plan.rs",
        "definition.rs",
        "engine.rs",
        "executions.rs",
        "tasks.rs",
    ] {
        let text =
            std::fs::read_to_string(root().join("crates/workflow/src").join(file)).expect("source");
        // Unit tests write definitions, with kinds; the code above them may not.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        // A line that mentions a kind and one of the names (`step.kind == "approval"`); the
        // same word elsewhere (`event`, the trigger filter's variable) is not a kind.
        for (n, line) in code.lines().enumerate() {
            for name in &names {
                if line.contains("kind") && line.contains(&format!("\"{name}\"")) {
                    problems.push(format!(
                        "crates/workflow/src/{file}:{}: tests the kind name \"{name}\"",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
