//! The production shape, proved on this machine without Docker: three replicas of the real
//! binary on one PostgreSQL (a server of the suite's own, so it can be restarted), sharing one
//! `MASTER_KEY`, behind the real HAProxy running the deployment's configuration
//! (`deploy/haproxy/haproxy.cfg`), under continuous mixed load from `usvc-bench`:
//!
//! 1. a rolling restart (SIGTERM, drain, a new process) loses no request;
//! 2. a SIGKILLed replica fails only requests it had in flight, its workflow steps are taken
//!    over, and no step's success is recorded twice;
//! 3. a PostgreSQL restart answers 503 with Retry-After while it is down and recovers without
//!    restarting a replica;
//! 4. logout, demotion, disable and key rotation made through the balancer hold on every
//!    replica within a second;
//!
//! and after all of it every write the load generator saw acknowledged is in the database and
//! the audit chain verifies. The figures are printed (`cargo test -p usvc-tests --test
//! cluster -- --nocapture`) and recorded in `docs/operations.md`.
//!
//! Needs HAProxy and PostgreSQL's server programs; `.ci/run` installs HAProxy and sets
//! `REQUIRE_CLUSTER=1`, so there a missing one fails instead of skipping.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a failed set-up should panic loudly.
#![allow(clippy::too_many_lines)] // a scenario reads best as one story, top to bottom.

mod checks;
mod cluster;
mod load;
mod postgres_server;
#[allow(dead_code)] // the end-to-end suite's helpers; this suite uses some of them
#[path = "../e2e/service.rs"]
mod service;

use std::time::{Duration, Instant};

use cluster::Cluster;
use load::{Load, CONNECTIONS};
use postgres_server::PgServer;

/// The suite's tests start servers on fixed ports and load the machine: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This test's turn, then HAProxy and a PostgreSQL of our own (or why not).
fn turn_and_prerequisites() -> Option<(
    std::sync::MutexGuard<'static, ()>,
    PgServer,
    std::path::PathBuf,
)> {
    let turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (pg, haproxy) = prerequisites()?;
    Some((turn, pg, haproxy))
}

/// HAProxy and a PostgreSQL of our own, or why not.
fn prerequisites() -> Option<(PgServer, std::path::PathBuf)> {
    let required = std::env::var_os("REQUIRE_CLUSTER").is_some();
    let missing = |what: &str| {
        assert!(!required, "REQUIRE_CLUSTER is set but {what} is missing");
        eprintln!("skipping the cluster suite: {what} is missing");
    };
    let Some(haproxy) = cluster::haproxy() else {
        missing("haproxy (apt-get install haproxy)");
        return None;
    };
    let Some(pg) = PgServer::start() else {
        missing("PostgreSQL's server programs (initdb, pg_ctl)");
        return None;
    };
    Some((pg, haproxy))
}

/// Lets the load run on its own for a moment (before and after a fault).
fn settle() {
    std::thread::sleep(Duration::from_secs(3));
}

#[test]
fn three_replicas_behind_haproxy_survive_restarts_kills_and_a_database_restart_under_load() {
    let Some((_turn, pg, haproxy)) = turn_and_prerequisites() else {
        return;
    };
    let started = Instant::now();
    let mut cluster = Cluster::start(pg, 3, &haproxy);
    eprintln!(
        "cluster: {} replicas behind {} in {:.1} s",
        cluster.size(),
        cluster.lb_addr,
        started.elapsed().as_secs_f64()
    );
    cluster.lift_start_quotas();
    let mut acknowledged = Vec::new();

    // 1. Rolling restart: each replica in turn drains, stops and is replaced.
    let load = Load::start(&cluster, 600);
    settle();
    let rolling = Instant::now();
    for i in 0..cluster.size() {
        cluster.stop_replica(i);
        cluster.start_replica(i);
        cluster.wait_for_rotation(i, true);
    }
    let rolling = rolling.elapsed();
    settle();
    let seen = load.stop();
    eprintln!(
        "rolling restart of 3 replicas in {:.1} s: {} requests ({:.0}/s), {} failed {:?}",
        rolling.as_secs_f64(),
        seen.succeeded,
        seen.throughput,
        seen.errors,
        seen.failures
    );
    assert!(seen.succeeded > 0, "{:?}", seen.failures);
    assert_eq!(
        seen.errors,
        0,
        "a rolling restart fails no request: {:?} {:#?}",
        seen.failures,
        cluster.lb_failures()
    );
    acknowledged.extend(seen.acknowledged);

    // 2. A replica SIGKILLed under load, then replaced.
    let load = Load::start(&cluster, 600);
    settle();
    cluster.kill_replica(1);
    settle();
    cluster.start_replica(1);
    cluster.wait_for_rotation(1, true);
    settle();
    let seen = load.stop();
    eprintln!(
        "replica SIGKILLed: {} requests ({:.0}/s), {} failed {:?}",
        seen.succeeded, seen.throughput, seen.errors, seen.failures
    );
    // A request cut off on the killed replica is answered 502 by HAProxy, or, when it was
    // not the first on its client connection, the connection is closed without an answer
    // (so that a client may retry an idempotent request): "transport" to the load generator.
    assert_eq!(
        seen.failures_except(&["502", "transport"]),
        0,
        "only requests cut off on the killed replica fail: {:?}",
        seen.failures
    );
    assert!(
        seen.errors <= CONNECTIONS,
        "at most one request in flight per connection was on the killed replica: {:?}",
        seen.failures
    );
    acknowledged.extend(seen.acknowledged);
    let taken_over = checks::every_execution_ends(&cluster.pg);
    eprintln!("{taken_over} step attempt(s) were taken over from the killed replica");

    // 3. PostgreSQL restarted under load.
    let admin = cluster.login(cluster::ADMIN, cluster::PASSWORD);
    let load = Load::start(&cluster, 600);
    settle();
    cluster.pg.stop();
    std::thread::sleep(Duration::from_secs(3));
    cluster.pg.start_again();
    let back = Instant::now();
    let recovery = checks::first_write_after(&cluster, &admin);
    let recovery = recovery.duration_since(back);
    settle();
    let seen = load.stop();
    eprintln!(
        "PostgreSQL restarted (3 s down): {} requests, {} failed {:?}; writes again {:.2} s after it was back",
        seen.succeeded,
        seen.errors,
        seen.failures,
        recovery.as_secs_f64()
    );
    assert_eq!(
        seen.failures_except(&["503 retry-after"]),
        0,
        "while the database is down the answer is 503 with Retry-After: {:?} {:#?}",
        seen.failures,
        cluster.lb_failures()
    );
    assert!(seen.errors > 0, "the outage was seen: {:?}", seen.failures);
    acknowledged.extend(seen.acknowledged);
    checks::every_execution_ends(&cluster.pg);

    // Nothing acknowledged was lost, no step succeeded twice, the audit chain holds.
    let kept = checks::acknowledged_writes_are_stored(&cluster.pg, &acknowledged);
    eprintln!("{kept} acknowledged writes are all in the database");
    checks::no_step_succeeded_twice(&cluster.pg);
    let (status, body) = cluster.send("GET", "/api/v1/audit/verify", Some(&admin), None);
    assert_eq!(status, 200, "{body}");
    let verdict: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(verdict["valid"], true, "{verdict}");
    eprintln!("audit chain valid over {} rows", verdict["checked"]);

    // 4. Revocations through the balancer hold on every replica within a second.
    checks::revocations_reach_every_replica(&cluster);
    checks::key_rotation_reaches_every_replica(&cluster);
    eprintln!(
        "cluster suite done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_local_cluster_script_starts_replicas_behind_one_address_and_stops_them() {
    let Some((_turn, pg, _)) = turn_and_prerequisites() else {
        return;
    };
    let port = postgres_server::free_port();
    let stats_port = postgres_server::free_port();
    let repository = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut script = std::process::Command::new(repository.join("deploy/local-cluster"))
        .current_dir(&repository)
        .args(["--replicas", "2", "--port", &port.to_string()])
        .env("DATABASE_URL", pg.url())
        .env("MASTER_KEY", cluster::MASTER_KEY)
        .env("USER_SERVICE_BIN", service::binary())
        .env("LB_STATS", format!("127.0.0.1:{stats_port}"))
        .env("BOOTSTRAP_ADMIN_EMAIL", cluster::ADMIN)
        .env("BOOTSTRAP_ADMIN_PASSWORD", cluster::PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("run deploy/local-cluster");
    let stdout = script.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let ready = loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.contains("replicas ready behind") => break line,
            Ok(_) => {}
            Err(e) => {
                let _ = script.kill();
                panic!("deploy/local-cluster never said it was ready: {e}");
            }
        }
    };
    assert!(
        ready.contains(&format!("http://127.0.0.1:{port}")),
        "{ready}"
    );
    let lb = format!("127.0.0.1:{port}");
    let (status, body) = service::request(&lb, "GET", "/health/ready");
    assert_eq!(status, 200, "{body}");
    let body = serde_json::json!({"email": cluster::ADMIN, "password": cluster::PASSWORD});
    let (status, text) = service::send(&lb, "POST", "/api/v1/auth/login", None, Some(&body));
    assert_eq!(
        status, 200,
        "the owner logs in through the balancer: {text}"
    );

    // Ctrl-C: every replica drains and stops, then the script exits.
    let stopped = std::process::Command::new("kill")
        .args(["-INT", &script.id().to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while script.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "the script did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::net::TcpStream::connect(&lb).is_err(),
        "the balancer is gone"
    );
    for replica in ["127.0.0.1:8101", "127.0.0.1:8102"] {
        assert!(
            std::net::TcpStream::connect(replica).is_err(),
            "{replica} is gone"
        );
    }
}
