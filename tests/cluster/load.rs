//! `usvc-bench run mixed` through the balancer, in the background while the suite breaks
//! things, and what it saw.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::cluster::{Cluster, ADMIN, PASSWORD};

/// Connections the load generator keeps busy (each has at most one request in flight).
pub const CONNECTIONS: u64 = 6;

/// A load run in progress.
pub struct Load {
    child: Child,
    acknowledged: tempfile::NamedTempFile,
}

/// What a finished run saw.
#[derive(Debug)]
pub struct Seen {
    /// Requests answered as expected.
    pub succeeded: u64,
    /// Requests that were not.
    pub errors: u64,
    /// Those by kind: `"502"`, `"503 retry-after"`, `"transport"`, …
    pub failures: BTreeMap<String, u64>,
    /// Every write acknowledged to the load generator: `session|project|execution <id>`.
    pub acknowledged: Vec<String>,
    /// Requests per second.
    pub throughput: f64,
}

impl Seen {
    /// Failures of any kind but those in `allowed`.
    pub fn failures_except(&self, allowed: &[&str]) -> u64 {
        self.failures
            .iter()
            .filter(|(kind, _)| !allowed.contains(&kind.as_str()))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Load {
    /// Starts up to `seconds` of mixed load (logins, profile reads, project creates, workflow starts
    /// with `?wait`) through the balancer.
    pub fn start(cluster: &Cluster, seconds: u64) -> Self {
        let acknowledged = tempfile::NamedTempFile::new().expect("temp file");
        let child = Command::new(crate::service::built("usvc-bench"))
            .args(["run", "mixed", "--json", "--warmup", "0"])
            .args(["--url", &format!("http://{}", cluster.lb_addr)])
            .args(["-d", &seconds.to_string()])
            .args(["-c", &CONNECTIONS.to_string()])
            .args(["--email", ADMIN, "--password", PASSWORD])
            .arg("--acknowledged")
            .arg(acknowledged.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start usvc-bench");
        Self {
            child,
            acknowledged,
        }
    }

    /// Ends the run now (SIGINT: each connection finishes its request in flight) and reads
    /// the report.
    pub fn stop(self) -> Seen {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "usvc-bench ended before it was stopped");
        self.finish()
    }

    /// Waits for the end of the run.
    fn finish(self) -> Seen {
        let out = self.child.wait_with_output().expect("usvc-bench");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "usvc-bench failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_str(&stdout).expect("the bench's JSON report");
        let line = &report["lines"][0];
        let failures = line["failures"]
            .as_object()
            .map(|kinds| {
                kinds
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let acknowledged = std::fs::read_to_string(self.acknowledged.path())
            .expect("acknowledged writes")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Seen {
            succeeded: line["requests"].as_u64().unwrap_or_default(),
            errors: line["errors"].as_u64().unwrap_or_default(),
            failures,
            acknowledged,
            throughput: line["throughput_rps"].as_f64().unwrap_or_default(),
        }
    }
}
