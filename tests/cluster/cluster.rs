//! Replicas of the real binary on one PostgreSQL, sharing one `MASTER_KEY`, behind the real
//! HAProxy with the deployment's own configuration (`deploy/haproxy/haproxy.cfg`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::postgres_server::{free_port, PgServer};
use crate::service::Service;

/// The bootstrap owner every replica shares.
pub const ADMIN: &str = "ops@example.com";
/// Its password.
pub const PASSWORD: &str = "a long and unusual passphrase";
/// One key for every replica: the signing keys in the database are sealed with it.
pub const MASTER_KEY: &str = "Y2x1c3Rlci10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXM=";
/// Seconds a replica drains after SIGTERM: above HAProxy's two failed checks 500 ms apart.
pub const DRAIN: &str = "3";

/// The HAProxy program, if installed.
pub fn haproxy() -> Option<PathBuf> {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// The deployment's HAProxy configuration.
pub fn haproxy_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy/haproxy.cfg")
}

/// The running cluster; everything is stopped when dropped.
pub struct Cluster {
    /// The database server.
    pub pg: PgServer,
    dir: tempfile::TempDir,
    ports: Vec<u16>,
    replicas: Vec<Option<Service>>,
    lb: Child,
    /// The one address clients use.
    pub lb_addr: String,
    stats_addr: String,
    lb_log: tempfile::NamedTempFile,
}

impl Cluster {
    /// PostgreSQL, `n` replicas (the first migrates and creates the signing key, the others
    /// start beside it), and HAProxy in front, every replica in rotation.
    pub fn start(pg: PgServer, n: usize, haproxy: &std::path::Path) -> Self {
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let lb_addr = format!("127.0.0.1:{}", free_port());
        let stats_addr = format!("127.0.0.1:{}", free_port());
        let lb_log = tempfile::NamedTempFile::new().expect("log file");
        let mut command = Command::new(haproxy);
        command
            .args(["-db", "-f"])
            .arg(haproxy_config())
            .env("USVC_LB_BIND", &lb_addr)
            .env("USVC_LB_STATS", &stats_addr)
            .stdout(Stdio::from(append(lb_log.path())))
            .stderr(Stdio::from(append(lb_log.path())));
        for (i, port) in ports.iter().enumerate() {
            command.env(
                format!("USVC_REPLICA_{}", i + 1),
                format!("127.0.0.1:{port}"),
            );
        }
        let lb = command.spawn().expect("start haproxy");
        let mut cluster = Self {
            pg,
            dir: tempfile::tempdir().expect("temp dir"),
            ports,
            replicas: (0..n).map(|_| None).collect(),
            lb,
            lb_addr,
            stats_addr,
            lb_log,
        };
        for i in 0..n {
            cluster.start_replica(i);
        }
        for i in 0..n {
            cluster.wait_for_rotation(i, true);
        }
        cluster
    }

    /// The balancer's log lines of requests not answered 2xx or not ended normally (HAProxy's
    /// termination state, `----` when all went well, says who closed what).
    pub fn lb_failures(&self) -> Vec<String> {
        std::fs::read_to_string(self.lb_log.path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" user_service "))
            .filter(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                fields.len() > 9 && (!fields[5].starts_with('2') || fields[9] != "----")
            })
            .map(str::to_owned)
            .collect()
    }

    /// How many replicas the cluster has (running or not).
    pub fn size(&self) -> usize {
        self.ports.len()
    }

    /// The environment every replica gets.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("DATABASE_URL", self.pg.url()),
            ("MASTER_KEY", MASTER_KEY.to_owned()),
            ("BOOTSTRAP_ADMIN_EMAIL", ADMIN.to_owned()),
            ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD.to_owned()),
            // Every client arrives from the balancer's address: no per-IP login limit here.
            ("AUTH_RATE_LIMIT", "0".to_owned()),
            ("SHUTDOWN_DRAIN", DRAIN.to_owned()),
            // The balancer is on this host: its X-Forwarded-For names the client.
            ("TRUSTED_PROXIES", "127.0.0.1/32".to_owned()),
            // Short leases, so a killed replica's steps are taken over within the test.
            ("WORKFLOW_LEASE", "3".to_owned()),
            ("DB_TIMEOUT", "2".to_owned()),
            ("WORKERS", "2".to_owned()),
            ("LOG_LEVEL", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts replica `i` on its port (it must not be running).
    pub fn start_replica(&mut self, i: usize) {
        assert!(self.replicas[i].is_none(), "replica {i} is running");
        let port = self.ports[i].to_string();
        let env = self.env();
        let mut pairs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.push(("PORT", &port));
        self.replicas[i] = Some(Service::start(self.dir.path(), &pairs));
    }

    /// SIGTERM to replica `i`; waits for it to drain and exit 0.
    pub fn stop_replica(&mut self, i: usize) {
        let replica = self.replicas[i].take().expect("running");
        replica.signal("TERM");
        let (code, logs) = replica.wait(Duration::from_secs(60));
        assert_eq!(code, Some(0), "replica {i} after SIGTERM:\n{logs}");
    }

    /// SIGKILL to replica `i`: no drain, no shutdown, leases left behind.
    pub fn kill_replica(&mut self, i: usize) {
        let replica = self.replicas[i].take().expect("running");
        replica.signal("KILL");
        let _ = replica.wait(Duration::from_secs(30));
    }

    /// Replica `i`, talked to directly (not through the balancer).
    pub fn replica(&self, i: usize) -> &Service {
        self.replicas[i].as_ref().expect("running")
    }

    /// Each replica's state as HAProxy sees it (`UP`, `DOWN`, `UP 1/2`, …), by server name.
    pub fn rotation(&self) -> Vec<(String, String)> {
        let (status, body) = crate::service::request(&self.stats_addr, "GET", "/stats;csv");
        assert_eq!(status, 200, "{body}");
        let csv = dechunk(&body);
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
        let (proxy, server, state) = (column("pxname"), column("svname"), column("status"));
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > state && f[proxy] == "replicas" && f[server] != "BACKEND")
            .map(|f| (f[server].to_owned(), f[state].to_owned()))
            .collect()
    }

    /// Waits until HAProxy has replica `i` in rotation (`up`) or out of it.
    pub fn wait_for_rotation(&self, i: usize, up: bool) {
        let name = format!("replica{}", i + 1);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let rotation = self.rotation();
            let state = rotation.iter().find(|(n, _)| *n == name).map(|(_, s)| s);
            if state.is_some_and(|s| (s == "UP") == up) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never went {}: {rotation:?}",
                if up { "UP" } else { "DOWN" }
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A request through the balancer with an optional bearer token and JSON body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> (u16, String) {
        crate::service::send(&self.lb_addr, method, path, token, json)
    }

    /// Logs in through the balancer; the access token.
    pub fn login(&self, email: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password});
        let (status, text) = self.send("POST", "/api/v1/auth/login", None, Some(&body));
        assert_eq!(status, 200, "{text}");
        let pair: serde_json::Value = serde_json::from_str(&text).expect("json");
        pair["access_token"].as_str().expect("token").to_owned()
    }

    /// Lifts the tenant's workflow start quotas (as its platform admin): the load starts more
    /// executions a minute than the default quota (600) lets through now that the engine
    /// keeps up, and this suite is about faults, not quotas (their 429s are tested apart).
    pub fn lift_start_quotas(&self) {
        let token = self.login(ADMIN, PASSWORD);
        let (status, text) = self.send("GET", "/api/v1/tenant", Some(&token), None);
        assert_eq!(status, 200, "{text}");
        let tenant: serde_json::Value = serde_json::from_str(&text).expect("json");
        let id = tenant["id"].as_str().expect("tenant id");
        let quotas =
            serde_json::json!({"starts_per_minute": 100_000, "running_executions": 100_000});
        let path = format!("/api/v1/tenants/{id}/quotas");
        let (status, text) = self.send("PUT", &path, Some(&token), Some(&quotas));
        assert_eq!(status, 200, "{text}");
    }

    /// Runs `user-service ARGS` against the cluster's database (the CLI an operator uses).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new(crate::service::binary());
        command.current_dir(self.dir.path()).env_clear().args(args);
        for (k, v) in self.env() {
            command.env(k, v);
        }
        let out = command.output().expect("run user-service");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "user-service {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

fn append(path: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open the log")
}

/// The payload of a `Transfer-Encoding: chunked` body (HAProxy's stats page is one); other
/// bodies as they are.
fn dechunk(body: &str) -> String {
    let mut rest = body;
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    if out.is_empty() {
        body.to_owned()
    } else {
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.replicas.clear();
        let _ = self.lb.kill();
        let _ = self.lb.wait();
    }
}
