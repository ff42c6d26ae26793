//! Test support: raw SQL on a database file, past every port, for tests that play an
//! attacker with database access (editing the audit trail).

use std::path::Path;

use diesel::{Connection as _, RunQueryDsl as _, SqliteConnection};
use usvc_core::CoreError;

/// Runs `sql` (one or more statements) on the database file at `path`.
pub fn execute(path: &Path, sql: &str) -> Result<usize, CoreError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| CoreError::Unavailable(format!("test sqlite: {e}")))?;
    diesel::sql_query(sql)
        .execute(&mut conn)
        .map_err(|e| CoreError::Internal(e.to_string()))
}
