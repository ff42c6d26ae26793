//! The shared query modules are listed once (`modules.rs`, which both adapters include) and
//! each is described in the directory's README: a newcomer finds every file there.

use crate::walk::root;

#[test]
fn every_shared_query_module_is_compiled_and_described() {
    let dir = root().join("infrastructure/shared-queries");
    let modules = std::fs::read_to_string(dir.join("modules.rs")).expect("modules.rs");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shared-queries").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (listed, described) = if entry.path().is_dir() {
            (format!("\"{name}/mod.rs\""), format!("`{name}/`"))
        } else if entry.path().extension().is_some_and(|e| e == "rs") && name != "modules.rs" {
            (format!("\"{name}\""), format!("`{name}`"))
        } else {
            continue;
        };
        if !modules.contains(&listed) {
            problems.push(format!(
                "{name} is not in modules.rs: neither adapter compiles it"
            ));
        }
        if !readme.contains(&described) {
            problems.push(format!("{name} is not described in README.md"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
