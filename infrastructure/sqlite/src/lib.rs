//! `usvc-sqlite`: every repository port on SQLite, the zero-setup default.
//!
//! Connections are `SyncConnectionWrapper<SqliteConnection>` in a deadpool pool, tuned with WAL,
//! `busy_timeout` and foreign keys. Queries live in `infrastructure/shared-queries` and are
//! compiled here against this crate's [`schema`]; only connection set-up and migrations are
//! SQLite-specific.

mod backend;

#[path = "../../shared-queries/action_tokens.rs"]
mod action_tokens;
#[path = "../../shared-queries/audit.rs"]
mod audit;
mod backup;
mod open;
mod schema;
mod sql_uuid;

#[path = "../../shared-queries/errors.rs"]
mod errors;
#[path = "../../shared-queries/executions.rs"]
mod executions;
#[path = "../../shared-queries/fair_claims.rs"]
mod fair_claims;
#[path = "../../shared-queries/idempotency.rs"]
mod idempotency;
#[path = "../../shared-queries/login_throttle.rs"]
mod login_throttle;
#[path = "../../shared-queries/mfa.rs"]
mod mfa;
#[path = "../../shared-queries/outbox.rs"]
mod outbox;
#[path = "../../shared-queries/platform_admins.rs"]
mod platform_admins;
#[path = "../../shared-queries/project_access.rs"]
mod project_access;
#[path = "../../shared-queries/project_analytics.rs"]
mod project_analytics;
#[path = "../../shared-queries/project_bulk.rs"]
mod project_bulk;
#[path = "../../shared-queries/projects.rs"]
mod projects;
#[path = "../../shared-queries/quotas.rs"]
mod quotas;
#[path = "../../shared-queries/rate_limits.rs"]
mod rate_limits;
#[path = "../../shared-queries/roles.rs"]
mod roles;
#[path = "../../shared-queries/service_census.rs"]
mod service_census;
#[path = "../../shared-queries/sessions.rs"]
mod sessions;
#[path = "../../shared-queries/signing_keys.rs"]
mod signing_keys;
#[path = "../../shared-queries/store.rs"]
mod store;
#[path = "../../shared-queries/tasks.rs"]
mod tasks;
#[path = "../../shared-queries/tenants.rs"]
mod tenants;
#[path = "../../shared-queries/triggers.rs"]
mod triggers;
#[path = "../../shared-queries/user_analytics.rs"]
mod user_analytics;
#[path = "../../shared-queries/users.rs"]
mod users;
#[path = "../../shared-queries/workflows.rs"]
mod workflows;

pub use backup::backup;
pub use open::{migrate, open, path_of, PRAGMAS};

#[cfg(feature = "testing")]
pub mod testing;
pub use store::{Store as SqliteStore, StoreOptions};

#[cfg(test)]
mod tests;
