//! The store conformance suite: every repository port, the same assertions on SQLite and on
//! Postgres (when `TEST_DATABASE_URL` is set; required in CI by `REQUIRE_POSTGRES=1`).

mod health;
mod invalidation;
mod tenants;
