//! Architecture rules, checked from the repository's files: which crate may depend on which
//! (`crate_dependencies`), no import cycles between a crate's modules and no HTTP outside the
//! app's `http` module (`module_imports`), citations of documents in the repository only
//! (`citations`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.

mod citations;
mod crate_dependencies;
mod module_imports;
mod shared_queries;
mod step_kinds;
mod walk;
