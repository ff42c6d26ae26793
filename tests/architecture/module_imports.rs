//! Inside every crate the top-level modules form no cycle (each can be read, moved or split
//! knowing what it stands on), and in the app only the `http` module and the command that
//! starts the server know HTTP: wiring, runtimes and cross-domain adapters do not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::walk::{files, root};

/// Every crate of the workspace with its `src` directory.
fn crates() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for group in ["crates", "infrastructure", "apps", "tests"] {
        let dir = root().join(group);
        let mut dirs: Vec<PathBuf> = if dir.join("Cargo.toml").exists() {
            vec![dir]
        } else {
            std::fs::read_dir(&dir)
                .expect("workspace group")
                .flatten()
                .map(|e| e.path())
                .collect()
        };
        dirs.sort();
        for krate in dirs {
            if krate.join("Cargo.toml").exists() && krate.join("src").is_dir() {
                let name = krate
                    .strip_prefix(root())
                    .unwrap_or(&krate)
                    .display()
                    .to_string();
                found.push((name, krate.join("src")));
            }
        }
    }
    found
}

/// The top-level module a file belongs to (`http` for `src/http/users.rs`); `None` for the
/// crate root.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_owned();
    (!["lib", "main"].contains(&name.as_str())).then_some(name)
}

/// The leading identifier of `text`.
fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The names following `prefix` in `line` (`crate::a`, `crate::{a, b::c}` → a, b).
fn names_after(line: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in line.match_indices(prefix) {
        let rest = &line[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            names.push(ident(&item));
        } else {
            names.push(ident(rest));
        }
    }
    names
}

/// The top-level modules `file` (in module `module`) uses, from its code (not its comments).
fn uses(src: &Path, file: &Path, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).expect("read source");
    // `super::` leaves the module only from a file directly under `src`.
    let top_level = file.parent() == Some(src)
        || (file.file_name().is_some_and(|n| n == "mod.rs")
            && file.parent().and_then(Path::parent) == Some(src));
    // Multi-line `use` groups are joined, so `crate::{\n a,\n b}` reads as one.
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut found: BTreeSet<String> = names_after(&code, "crate::").into_iter().collect();
    if top_level {
        found.extend(names_after(&code, "super::"));
    }
    found.retain(|m| modules.contains(m));
    found
}

/// Each crate's graph: module → the modules it uses.
fn graphs() -> Vec<(String, BTreeMap<String, BTreeSet<String>>)> {
    crates()
        .into_iter()
        .map(|(name, src)| {
            let mut sources = Vec::new();
            files(&src, &[".rs"], &mut sources);
            let modules: BTreeSet<String> =
                sources.iter().filter_map(|f| top_module(&src, f)).collect();
            let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for file in &sources {
                if let Some(module) = top_module(&src, file) {
                    let mut used = uses(&src, file, &modules);
                    used.remove(&module);
                    graph.entry(module).or_default().extend(used);
                }
            }
            (name, graph)
        })
        .collect()
}

/// A path from `from` back to itself, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                let mut cycle = path.clone();
                cycle.push(from.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let mut cycles = Vec::new();
    for (krate, graph) in graphs() {
        for module in graph.keys() {
            if let Some(cycle) = cycle_through(&graph, module) {
                cycles.push(format!("{krate}: {}", cycle.join(" → ")));
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn in_the_app_only_http_and_the_serve_command_know_http() {
    let (_, graph) = graphs()
        .into_iter()
        .find(|(name, _)| name == "apps/user-service")
        .expect("the app");
    for (module, used) in &graph {
        if used.contains("http") {
            assert_eq!(
                module, "commands",
                "{module} imports the HTTP layer; only `commands` (which starts the server) may"
            );
        }
    }
    assert!(graph.contains_key("http") && graph.contains_key("wiring"));
}

#[test]
fn the_import_reader_sees_groups_and_paths() {
    assert_eq!(
        names_after("use crate::{a, b::{c, d}, e::f}; crate::g::h()", "crate::"),
        ["a", "b", "e", "g"]
    );
}
