//! End-to-end tests against the spawned `user-service` binary.
