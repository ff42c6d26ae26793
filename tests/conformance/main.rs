//! The store conformance suite: every repository port, the same assertions on SQLite and on
//! Postgres (when `TEST_DATABASE_URL` is set; required in CI by `REQUIRE_POSTGRES=1`).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

mod action_tokens;
mod audit;
mod executions;
mod health;
mod invalidation;
mod login_throttle;
mod mfa;
mod platform;
mod projects;
mod rate_limits;
mod roles;
mod sessions;
mod signing_keys;
mod tenants;
mod triggers;
mod user_admin;
mod user_analytics;
mod users;
mod workflows;
