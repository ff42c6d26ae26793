//! Spawning the binary and talking HTTP/1.1 to it with nothing but the standard library.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `user-service` executable built by this `cargo test` run.
pub fn binary() -> PathBuf {
    built("user-service")
}

/// The workspace executable `name` built by this `cargo test` run.
pub fn built(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/e2e-<hash> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let binary = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the whole suite (cargo test --workspace), which builds it",
        binary.display()
    );
    binary
}

/// A running service; killed when dropped.
pub struct Service {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    stderr: mpsc::Receiver<String>,
}

impl Service {
    /// Starts `user-service` in `dir` with `env` (plus `PORT=0`) and waits until it listens.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary());
        command
            .current_dir(dir)
            .env_clear()
            .env("PORT", "0")
            .env("LOG_LEVEL", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn user-service");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let addr = line
                    .strip_prefix("listening on http://")
                    .or_else(|| line.strip_prefix("listening on https://"));
                if let Some(addr) = addr {
                    let _ = addr_tx.send(addr.to_owned());
                }
            }
        });
        let Ok(addr) = addr_rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let logs: Vec<String> = err_rx.try_iter().collect();
            panic!("user-service did not start:\n{}", logs.join("\n"));
        };
        Self {
            child,
            addr,
            stderr: err_rx,
        }
    }

    /// `GET path` → (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        request(&self.addr, "GET", path)
    }

    /// A request with optional bearer token and JSON body → (status, body).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&serde_json::Value>,
    ) -> (u16, String) {
        send(&self.addr, method, path, token, json)
    }

    /// What the service has written to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Sends a signal (`TERM`, `INT`) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; returns its exit code and everything it logged.
    pub fn wait(mut self, timeout: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                std::thread::sleep(Duration::from_millis(100)); // let the log reader drain
                let logs: Vec<String> = self.stderr.try_iter().collect();
                return (status.code(), logs.join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "user-service did not exit in time"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a fresh connection → (status, body).
pub fn request(addr: &str, method: &str, path: &str) -> (u16, String) {
    send(addr, method, path, None, None)
}

/// One HTTP/1.1 request with an optional bearer token and JSON body → (status, body).
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&serde_json::Value>,
) -> (u16, String) {
    let body = json.map(ToString::to_string);
    let content = body.as_deref().map(|b| ("application/json", b));
    send_text(addr, method, path, token, content)
}

/// One HTTP/1.1 request with an optional bearer token and a body of the given content type
/// → (status, body).
pub fn send_text(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    content: Option<(&str, &str)>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let body = content.map(|(_, b)| b).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        let _ = write!(head, "Authorization: Bearer {token}\r\n");
    }
    if let Some((content_type, _)) = content {
        let _ = write!(head, "Content-Type: {content_type}\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .expect("write request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read response");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls `path` until it answers `status` (or the deadline passes); returns what it last said.
pub fn wait_for_status(
    service: &Service,
    path: &str,
    status: u16,
    within: Duration,
) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        let answer = service.get(path);
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
