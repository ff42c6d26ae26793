//! An online backup of the database file: `VACUUM INTO`, which copies a consistent snapshot
//! (one read transaction) into a new, compacted file while the service keeps serving.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use usvc_core::CoreError;

use crate::open::path_of;

/// Copies the database of `url` into the new file `to` (which must not exist). Runs on a
/// blocking thread; waits up to 5 s for a writer to finish, as the service's connections do.
pub async fn backup(url: &str, to: &Path) -> Result<(), CoreError> {
    let Some(from) = path_of(url) else {
        return Err(CoreError::invalid(
            "DATABASE_URL",
            "an in-memory database has nothing to back up",
        ));
    };
    if to.exists() {
        return Err(CoreError::Conflict(format!(
            "{} exists already; back up into a new file",
            to.display()
        )));
    }
    let from = from.to_string_lossy().into_owned();
    let to = to.to_string_lossy().into_owned();
    tokio::task::spawn_blocking(move || {
        let unavailable =
            |e: &dyn std::fmt::Display| CoreError::Unavailable(format!("backup: {e}"));
        let mut conn = SqliteConnection::establish(&from).map_err(|e| unavailable(&e))?;
        conn.batch_execute("PRAGMA busy_timeout = 5000;")
            .map_err(|e| unavailable(&e))?;
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(to)
            .execute(&mut conn)
            .map_err(|e| unavailable(&e))?;
        Ok(())
    })
    .await
    .map_err(|e| CoreError::Internal(format!("backup task: {e}")))?
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[tokio::test]
    async fn the_copy_holds_what_the_database_held_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let mut conn = SqliteConnection::establish(&db.to_string_lossy()).unwrap();
        conn.batch_execute("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);")
            .unwrap();
        let url = format!("sqlite://{}", db.display());
        let copy = dir.path().join("copy.db");
        backup(&url, &copy).await.unwrap();
        let mut restored = SqliteConnection::establish(&copy.to_string_lossy()).unwrap();
        let counted: Count = diesel::sql_query("SELECT count(*) AS n FROM t")
            .get_result(&mut restored)
            .unwrap();
        assert_eq!(counted.n, 3);
        assert!(matches!(
            backup(&url, &copy).await,
            Err(CoreError::Conflict(_))
        ));
        assert!(backup("sqlite::memory:", &dir.path().join("m.db"))
            .await
            .is_err());
    }
}
