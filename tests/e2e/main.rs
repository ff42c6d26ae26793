//! End-to-end tests against the real `user-service` binary: started as a user would start it,
//! driven over HTTP, stopped with a signal.
//!
//! The binary is the one `cargo test --workspace` builds beside this test executable.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

mod bench_suite;
mod browser;
mod cli;
mod deploy;
mod hostile;
mod keys;
mod login;
mod oidc;
mod postgres;
mod roles;
mod service;
mod sqlite;
mod tls;
mod traces;
mod workflows;
