//! Test support: a fresh, migrated database per test, dropped when the test ends (even when it
//! panics). Used by the conformance and end-to-end suites under `tests/`.

use std::sync::atomic::{AtomicBool, Ordering};

use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};
use usvc_core::CoreError;

use crate::backend::Connection;

/// Where tests find Postgres: `TEST_DATABASE_URL` (a database the tests may create others
/// beside). Unset: `None`, and Postgres tests skip — unless `REQUIRE_POSTGRES=1` (CI), which
/// turns the skip into a failure so the Postgres half can never silently stop running.
pub fn test_database_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let required = std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    assert!(
        url.is_some() || !required,
        "REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set"
    );
    if url.is_none() {
        eprintln!("skipping Postgres: TEST_DATABASE_URL is not set");
    }
    url
}

/// A database created for one test.
pub struct TestDatabase {
    /// Connection URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A new empty database next to the one `admin_url` names.
    pub async fn create(admin_url: &str) -> Result<Self, CoreError> {
        let name = format!("usvc_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = Connection::establish(admin_url)
            .await
            .map_err(|e| CoreError::Unavailable(format!("test postgres: {e}")))?;
        sweep_leftovers(&mut admin).await;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| CoreError::Unavailable(format!("create test database: {e}")))?;
        Ok(Self {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// Runs raw SQL as the database owner, past every port: for tests that play an attacker
    /// with database access (editing the audit trail).
    pub async fn execute(&self, sql: &str) -> Result<usize, CoreError> {
        let mut conn = Connection::establish(&self.url)
            .await
            .map_err(|e| CoreError::Unavailable(format!("test postgres: {e}")))?;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// [`TestDatabase::create`] from `TEST_DATABASE_URL`, or `None` to skip (see
    /// [`test_database_url`]).
    pub async fn from_env() -> Option<Self> {
        let admin = test_database_url()?;
        match Self::create(&admin).await {
            Ok(db) => Some(db),
            Err(e) => panic!("TEST_DATABASE_URL is set but unusable: {e}"),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside a runtime; a plain thread with its own runtime can block freely.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut admin = Connection::establish(&admin_url).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// Test databases older than an hour were left by a killed run (a SIGKILL skips `Drop`):
/// drop them, once per test process. Names embed a UUID v7, which carries its creation time.
async fn sweep_leftovers(admin: &mut Connection) {
    static SWEPT: AtomicBool = AtomicBool::new(false);
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let Ok(names) =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'usvc\\_test\\_%'")
            .load::<DatabaseName>(admin)
            .await
    else {
        return;
    };
    let hour_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().saturating_sub(3600));
    for DatabaseName { datname } in names {
        let created = datname
            .strip_prefix("usvc_test_")
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| ts.to_unix().0);
        if created.is_some_and(|secs| secs < hour_ago) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"))
                .execute(admin)
                .await;
        }
    }
}

/// `postgres://u@h:5432/old?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h", "x"), "postgres://h/x");
    }
}
