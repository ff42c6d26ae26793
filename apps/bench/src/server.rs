//! A server of the suite's own: `usvc-bench suite` starts `user-service` on an empty database
//! (a fresh SQLite file, or a Postgres database it recreates), with the bench account as its
//! bootstrap admin and the per-IP login limit off (on for one memory-ceiling run), and stops
//! it at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::load::Target;
use crate::scenarios::Credentials;

/// The database the suite recreates on a Postgres server: its own name, so it never drops a
/// database it was pointed at.
pub const SUITE_DATABASE: &str = "usvc_bench_suite";

/// The account the suite's server is bootstrapped with.
pub fn credentials() -> Credentials {
    Credentials {
        tenant: "default".to_owned(),
        email: "bench@example.com".to_owned(),
        password: "bench password 123".to_owned(),
    }
}

/// A running server and what it was started on.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub target: Target,
    /// Its `DATABASE_URL`, for the `raw-commit` yardstick and `idle`.
    pub database_url: String,
    /// Its data directory (and SQLite file), removed at the end.
    dir: PathBuf,
}

/// A port nobody listens on now.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `postgres://…/NAME?…` with NAME replaced by `database`. A URL naming its database in the
/// query (`?dbname=…`, which the driver prefers to the path) is refused: the suite must run on
/// its own database, never on the one the URL names.
fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    if query.is_some_and(|q| q.split('&').any(|kv| kv.trim().starts_with("dbname"))) {
        bail!("give --postgres without ?dbname= (the suite uses a database of its own)");
    }
    let scheme_end = base.find("://").context("a Postgres URL has a scheme")? + 3;
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// Drops and creates [`SUITE_DATABASE`] on the server `url` names; its URL.
async fn fresh_postgres(url: &str) -> anyhow::Result<String> {
    let admin = with_database(url, "postgres")?;
    let mut conn = AsyncPgConnection::establish(&admin)
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    // Two statements, two batches: neither may run inside a transaction block.
    for statement in [
        format!("DROP DATABASE IF EXISTS {SUITE_DATABASE} WITH (FORCE)"),
        format!("CREATE DATABASE {SUITE_DATABASE}"),
    ] {
        conn.batch_execute(&statement)
            .await
            .with_context(|| format!("recreating the database {SUITE_DATABASE}"))?;
    }
    with_database(url, SUITE_DATABASE)
}

impl Server {
    /// Starts `binary` on an empty database: SQLite in a new directory when `postgres` is
    /// `None`, else [`SUITE_DATABASE`] recreated on that Postgres server, with
    /// `AUTH_RATE_LIMIT=auth_rate_limit` (0: the per-IP login limit off). Waits until it is
    /// ready.
    pub async fn start(
        binary: &Path,
        postgres: Option<&str>,
        auth_rate_limit: u32,
    ) -> anyhow::Result<Self> {
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("usvc-bench-suite-{}-{n}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let database_url = match postgres {
            Some(url) => fresh_postgres(url).await?,
            None => format!("sqlite://{}", dir.join("bench.db").display()),
        };
        let port = free_port()?;
        let target = Target::parse(&format!("http://127.0.0.1:{port}"))?;
        let account = credentials();
        let child = Command::new(binary)
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("DATABASE_URL", &database_url)
            .env("DATA_DIR", &dir)
            .env("BOOTSTRAP_ADMIN_EMAIL", &account.email)
            .env("BOOTSTRAP_ADMIN_PASSWORD", &account.password)
            .env("AUTH_RATE_LIMIT", auth_rate_limit.to_string())
            .env("LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut server = Self {
            child,
            target,
            database_url,
            dir,
        };
        server.ready().await?;
        Ok(server)
    }

    async fn ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok((200, _)) = self.target.get("/health/ready").await {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited before it was ready ({status})");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the server did not become ready within 120 s")
    }

    /// A field of its `/proc/PID/status` (`VmRSS:`), without the unit.
    fn status(&self, name: &str) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("reading the server's /proc status")?;
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .with_context(|| format!("no {name} in /proc status"))?;
        Ok(line.trim().trim_end_matches("kB").trim().parse()?)
    }

    /// Its resident memory now and at its peak, in MB (`VmRSS`, `VmHWM`).
    pub fn memory_mb(&self) -> anyhow::Result<(f64, f64)> {
        Ok((
            self.status("VmRSS:")? / 1024.0,
            self.status("VmHWM:")? / 1024.0,
        ))
    }

    /// Its threads now.
    pub fn threads(&self) -> anyhow::Result<u64> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a count
        Ok(self.status("Threads:")? as u64)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_suite_names_its_own_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgresql://h:5432", "x").unwrap(),
            "postgresql://h:5432/x"
        );
        assert!(with_database("postgres:///?host=/run/postgresql&dbname=prod", "x").is_err());
        assert!(with_database("postgres://h/db?sslmode=disable&dbname=prod", "x").is_err());
    }
}
