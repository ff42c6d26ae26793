//! `usvc-postgres`: every repository port on PostgreSQL, for production and any number of
//! replicas sharing one database.
//!
//! diesel-async `AsyncPgConnection` in a deadpool pool; queries live in
//! `infrastructure/shared-queries` and are compiled here against this crate's [`schema`].
//! Postgres-only pieces: migrations under an advisory lock (replicas may start together) and
//! [`PgInvalidation`], cache invalidation across replicas over `LISTEN/NOTIFY`.

mod backend;
// The query modules shared with the other store (one list: infrastructure/shared-queries/modules.rs).
include!("../../shared-queries/modules.rs");

mod connect;
mod invalidation;
mod open;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod together;

pub use invalidation::PgInvalidation;
pub use open::{migrate, open};
pub use store::{Store as PgStore, StoreOptions};
