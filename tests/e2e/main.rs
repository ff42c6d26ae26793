//! End-to-end tests against the real `user-service` binary: started as a user would start it,
//! driven over HTTP, stopped with a signal.
//!
//! The binary is the one `cargo test --workspace` builds beside this test executable.

mod cli;
mod postgres;
mod service;
mod sqlite;
