//! A PostgreSQL server of the suite's own: `initdb` into a temporary directory, started on a
//! free port, so the suite can stop and restart it under load without touching the machine's
//! server that every other test uses.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A running PostgreSQL cluster; stopped (immediately) when dropped.
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`, if PostgreSQL's server programs are here.
fn server_programs() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin"))
        .collect();
    candidates.sort();
    candidates.reverse(); // the newest version first
    candidates.push(PathBuf::from("/usr/local/bin"));
    candidates.push(PathBuf::from("/usr/bin"));
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgServer {
    /// Creates and starts a server with a database `usvc`; `None` when PostgreSQL's server
    /// programs are not installed.
    pub fn start() -> Option<Self> {
        let bin = server_programs()?;
        let dir = tempfile::tempdir().expect("temp dir");
        // initdb refuses to run as root: the cluster then belongs to the `postgres` user.
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(status.success(), "chown the data directory to postgres");
        }
        let server = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = server.data().display().to_string();
        let out = server
            .program("initdb")
            .args(["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .args(["--no-sync", "--locale=C"])
            .output()
            .expect("initdb");
        check(&out, "initdb");
        server.start_again();
        server.psql("postgres", "CREATE DATABASE usvc");
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn program(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// The URL of database `usvc`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/usvc", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Starts the (stopped) server and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .program("pg_ctl")
            .args(["-D", &self.data().display().to_string()])
            .args(["-l", &self.log().display().to_string()])
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl start");
        check(&out, "pg_ctl start");
    }

    /// Stops the server the way an orchestrator restarting it would: `fast` (every session
    /// is terminated, the data is flushed).
    pub fn stop(&self) {
        let out = self
            .program("pg_ctl")
            .args(["-D", &self.data().display().to_string()])
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .expect("pg_ctl stop");
        check(&out, "pg_ctl stop");
    }

    /// Runs `sql` in `database` with psql; its unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1"])
                .args(["-At", "-c", sql])
                .output()
                .expect("psql");
            if out.status.success() || Instant::now() > deadline {
                check(&out, sql);
                return String::from_utf8_lossy(&out.stdout).trim().to_owned();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self
            .program("pg_ctl")
            .args(["-D", &self.data().display().to_string()])
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
