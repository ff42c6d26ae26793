//! `usvc-sqlite`: every repository port on SQLite, the zero-setup default.
//!
//! Connections are `SyncConnectionWrapper<SqliteConnection>` in a deadpool pool, tuned with WAL,
//! `busy_timeout` and foreign keys. Queries live in `infrastructure/shared-queries` and are
//! compiled here against this crate's [`schema`]; only connection set-up and migrations are
//! SQLite-specific.

mod backend;
// The query modules shared with the other store (one list: infrastructure/shared-queries/modules.rs).
include!("../../shared-queries/modules.rs");

mod backup;
mod open;
mod schema;
mod sql_uuid;

pub use backup::backup;
pub use open::{migrate, open, path_of, PRAGMAS};

#[cfg(feature = "testing")]
pub mod testing;
pub use store::{Store as SqliteStore, StoreOptions};

#[cfg(test)]
mod tests;
