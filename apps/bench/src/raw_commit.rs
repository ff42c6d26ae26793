//! The `raw-commit` yardstick: one single-row INSERT, committed, straight into the database
//! the server uses (no HTTP, no pool, no domain). Interleaved with a write scenario it shows
//! what share of the database's own commit rate the service keeps.

use anyhow::Context as _;
use diesel::connection::SimpleConnection as _;
use diesel::sql_types::Text;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// A scratch table, dropped at the end of the run; a row the size of a small project's.
const TABLE: &str = "bench_raw_commits";

/// One connection of the run.
pub enum RawCommit {
    /// `postgres://…`
    Postgres(Box<AsyncPgConnection>),
    /// `sqlite://PATH`, with the service's PRAGMAs.
    Sqlite(Box<SyncConnectionWrapper<diesel::SqliteConnection>>),
}

impl RawCommit {
    /// Opens a connection like the service's to `url`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut conn = SyncConnectionWrapper::<diesel::SqliteConnection>::establish(path)
                .await
                .with_context(|| format!("opening {path}"))?;
            conn.spawn_blocking(|c| c.batch_execute(usvc_sqlite::PRAGMAS))
                .await
                .context("applying the service's PRAGMAs")?;
            Ok(Self::Sqlite(Box::new(conn)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let conn = AsyncPgConnection::establish(url)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            Ok(Self::Postgres(Box::new(conn)))
        } else {
            anyhow::bail!("--database-url must be sqlite://PATH or postgres://…")
        }
    }

    /// Creates the scratch table (once per run, before the workers start).
    pub async fn prepare(url: &str) -> anyhow::Result<()> {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, \
             name TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL)"
        );
        match Self::connect(url).await? {
            Self::Postgres(mut c) => c.batch_execute(&ddl).await?,
            Self::Sqlite(mut c) => c.batch_execute(&ddl).await?,
        }
        Ok(())
    }

    /// Drops the scratch table.
    pub async fn clean_up(url: &str) -> anyhow::Result<()> {
        let ddl = format!("DROP TABLE IF EXISTS {TABLE}");
        match Self::connect(url).await? {
            Self::Postgres(mut c) => c.batch_execute(&ddl).await?,
            Self::Sqlite(mut c) => c.batch_execute(&ddl).await?,
        }
        Ok(())
    }

    /// One INSERT in its own (autocommit) transaction.
    pub async fn insert_one(&mut self, seq: u64) -> anyhow::Result<()> {
        let id = uuid::Uuid::now_v7().to_string();
        let name = format!("raw {seq} {id}");
        let payload = r#"{"description":"","tags":["bench"],"settings":{},"visibility":"tenant"}"#;
        let now = format!("{:?}", std::time::SystemTime::now());
        let placeholders = match self {
            Self::Postgres(_) => "($1, $2, $3, $4, $5)",
            Self::Sqlite(_) => "(?, ?, ?, ?, ?)",
        };
        let query = diesel::sql_query(format!(
            "INSERT INTO {TABLE} (id, tenant_id, name, payload, created_at) VALUES {placeholders}"
        ))
        .bind::<Text, _>(id.clone())
        .bind::<Text, _>(id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(payload)
        .bind::<Text, _>(now);
        match self {
            Self::Postgres(c) => query.execute(&mut **c).await?,
            Self::Sqlite(c) => query.execute(&mut **c).await?,
        };
        Ok(())
    }
}
