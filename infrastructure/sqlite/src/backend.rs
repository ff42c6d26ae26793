//! What the shared query modules need to know about SQLite.

use diesel::SqliteConnection;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

/// The async connection type the pool hands out.
pub(crate) type Connection = SyncConnectionWrapper<SqliteConnection>;
/// The pool.
pub(crate) type Pool = diesel_async::pooled_connection::deadpool::Pool<Connection>;
/// How ids are stored: UUID text.
pub(crate) use crate::sql_uuid::SqlUuid as DbId;
/// The diesel backend, for boxed queries in the shared modules.
pub(crate) type Backend = diesel::sqlite::Sqlite;
