//! `usvc-bench suite`: every scenario with its yardstick, from an empty database, in one run,
//! as one table of ratios (issue 17's goals beside them). It starts its own server
//! (`server.rs`), so the figures of two runs compare: same account, same empty store, same
//! order, same durations.
//!
//! The order matters and is fixed: reads first (nothing written yet), then the login flood
//! (memory is read right after it), the writes, the workflow engine at 1, 16 and 64
//! connections (the tenant's quotas lifted first), the peak memory of the whole run, the
//! idle window after the load has settled, and last the memory ceiling (`memory.rs`) on two
//! servers of its own, the per-IP login limit off and on.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::load::{self, Plan};
use crate::report::Report;
use crate::scenarios;
use crate::server::{self, Server};
use crate::{hash_rate, idle, memory, vacuum};

/// What the suite is told.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `user-service` binary to start.
    pub server: PathBuf,
    /// A Postgres server to run on (the suite recreates its own database there); SQLite in a
    /// new directory when `None`.
    pub postgres: Option<String>,
    /// Measured seconds per scenario.
    pub seconds: f64,
    /// Seconds of the idle window (and of the memory ceiling's idle wait).
    pub idle_seconds: f64,
    /// Seconds of the memory ceiling's login flood.
    pub flood_seconds: f64,
}

/// One line of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What was measured (`refresh`, `workflow-run`, `peak RSS`, …).
    pub scenario: String,
    /// Concurrent connections (0: not a load figure).
    pub connections: usize,
    /// Operations per second, or the figure itself for a non-load row (MB, transactions/s).
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// Median latency in ms, for load rows.
    pub p50_ms: Option<f64>,
    /// Requests that failed.
    pub errors: u64,
    /// What it is compared with, measured in the same run.
    pub yardstick: Option<String>,
    /// The yardstick's figure (same unit as `ratio_of`).
    pub yardstick_value: Option<f64>,
    /// `value / yardstick` (throughput) or `p50 / yardstick p50` (latency).
    pub ratio: Option<f64>,
    /// The goal (issue 17), in words.
    pub goal: Option<&'static str>,
    /// Whether the goal holds in this run.
    pub met: Option<bool>,
}

impl Row {
    fn figure(scenario: &str, value: f64, unit: &'static str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            connections: 0,
            value,
            unit,
            p50_ms: None,
            errors: 0,
            yardstick: None,
            yardstick_value: None,
            ratio: None,
            goal: None,
            met: None,
        }
    }

    fn goal(mut self, goal: &'static str, met: bool) -> Self {
        self.goal = Some(goal);
        self.met = Some(met);
        self
    }
}

/// The whole suite's result.
#[derive(Debug, Serialize)]
pub struct Suite {
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    /// Measured seconds per scenario.
    pub seconds: f64,
    /// The table.
    pub rows: Vec<Row>,
    /// What the reader should know about how it was measured.
    pub notes: Vec<String>,
}

/// Runs one scenario (with its baseline interleaved) against the suite's server.
async fn measure(
    server: &Server,
    options: &Options,
    scenario: &str,
    baseline: Option<&str>,
    connections: usize,
) -> anyhow::Result<Report> {
    let plan = Plan {
        target: server.target.clone(),
        scenario: scenarios::find(scenario)?,
        baseline: baseline.map(scenarios::find).transpose()?,
        connections,
        duration: Duration::from_secs_f64(options.seconds),
        requests: None,
        warmup: Duration::from_secs(1),
        bearer: None,
        credentials: server::credentials(),
        database_url: Some(server.database_url.clone()),
    };
    let results = load::run(&plan)
        .await
        .with_context(|| format!("{scenario} at {connections} connections"))?;
    Ok(Report::new(&plan, &results))
}

/// A load row from a report: the scenario's throughput, against its baseline's.
fn load_row(report: &Report, connections: usize) -> Row {
    let line = &report.lines[0];
    let base = report.lines.get(1);
    Row {
        scenario: line.scenario.to_owned(),
        connections,
        value: line.throughput_rps,
        unit: "ops/s",
        p50_ms: Some(line.p50_ms),
        errors: line.errors,
        yardstick: base.map(|b| b.scenario.to_owned()),
        yardstick_value: base.map(|b| b.throughput_rps),
        ratio: base.map(|b| line.throughput_rps / b.throughput_rps),
        goal: None,
        met: None,
    }
}

/// Runs the suite.
#[allow(clippy::too_many_lines)] // one sequence, read top to bottom
pub async fn run(options: &Options) -> anyhow::Result<Suite> {
    let server = Server::start(&options.server, options.postgres.as_deref(), 0).await?;
    let mut rows = Vec::new();
    let say = |what: &str| eprintln!("usvc-bench suite: {what}");

    say("health-live, profile");
    rows.push(load_row(
        &measure(&server, options, "health-live", None, 64).await?,
        64,
    ));
    rows.push(load_row(
        &measure(&server, options, "profile", Some("health-live"), 64).await?,
        64,
    ));

    say("raw hash rate, login");
    let hashes = hash_rate::measure(Duration::from_secs_f64(options.seconds / 2.0)).await?;
    let mut login = load_row(&measure(&server, options, "login", None, 16).await?, 16);
    login.yardstick = Some("argon2id verify".to_owned());
    login.yardstick_value = Some(hashes);
    login.ratio = Some(login.value / hashes);
    rows.push(login);
    let (after_logins, _) = server.memory_mb()?;
    rows.push(
        Row::figure("RSS after the login flood", after_logins, "MB")
            .goal("<= 200 MB", after_logins <= 200.0),
    );

    say("refresh, project-create");
    for scenario in ["refresh", "project-create"] {
        let report = measure(&server, options, scenario, Some("raw-commit"), 16).await?;
        let row = load_row(&report, 16);
        let met = row.ratio.is_some_and(|r| r >= 0.5);
        rows.push(row.goal(">= 0.5x raw-commit", met));
    }

    say("workflow-run at 1, 16, 64 connections");
    load::raise_quotas(&server.target, &server::credentials()).await?;
    let mut notes = Vec::new();
    let vacuum = || async {
        if options.postgres.is_some() {
            vacuum::if_autovacuum_is_off(&server.database_url).await
        } else {
            Ok(false)
        }
    };
    if vacuum().await? {
        notes.push(
            "autovacuum is off on this Postgres server: the suite ran VACUUM ANALYZE on its \
             database before each workflow-run scenario (dead row versions left in the queue \
             indexes would slow the engine as no deployment with autovacuum on sees)"
                .to_owned(),
        );
    }
    let single = measure(&server, options, "workflow-run", Some("raw-commit"), 1).await?;
    let mut row = load_row(&single, 1);
    let (p50, raw_p50) = (single.lines[0].p50_ms, single.lines[1].p50_ms);
    "workflow-run p50".clone_into(&mut row.scenario);
    row.value = p50;
    row.unit = "ms";
    row.yardstick_value = Some(raw_p50);
    row.ratio = Some(p50 / raw_p50);
    let met = p50 <= 10.0 && p50 / raw_p50 <= 25.0;
    rows.push(row.goal("<= 10 ms and <= 25x raw-commit p50", met));
    // No yardstick interleaved at 16 and 64: the executions started in one slice keep the
    // engine writing through the next, so raw-commit would measure the engine's backlog.
    vacuum().await?;
    let row = load_row(
        &measure(&server, options, "workflow-run", None, 16).await?,
        16,
    );
    rows.push(row);
    vacuum().await?;
    let row = load_row(
        &measure(&server, options, "workflow-run", None, 64).await?,
        64,
    );
    let met = row.value >= 500.0;
    rows.push(row.goal(">= 500 exec/s", met));

    let (_, peak) = server.memory_mb()?;
    rows.push(Row::figure("peak RSS of the run", peak, "MB").goal("<= 200 MB", peak <= 200.0));

    say("letting the load settle, then the idle window");
    tokio::time::sleep(Duration::from_secs(15)).await;
    let quiet = idle::watch(
        &server.target,
        Some(&server.database_url),
        Duration::from_secs_f64(options.idle_seconds),
    )
    .await?;
    rows.push(Row::figure(
        "idle store work",
        quiet.store_work_per_second,
        "units/s",
    ));
    if let Some(tx) = quiet.transactions_per_second {
        rows.push(Row::figure("idle transactions", tx, "tx/s").goal("<= 1 tx/s", tx <= 1.0));
    }
    let (idle_rss, _) = server.memory_mb()?;
    rows.push(Row::figure("RSS after idling", idle_rss, "MB").goal("< 100 MB", idle_rss < 100.0));
    drop(server);

    for (limit, label) in [(0, "limit off"), (memory::LIMIT_ON, "limit on")] {
        say(&format!("memory ceiling, per-IP login {label}"));
        let phases = memory::Phases {
            flood: Duration::from_secs_f64(options.flood_seconds),
            profiles: Duration::from_secs_f64(options.seconds),
            idle: Duration::from_secs_f64(options.idle_seconds),
        };
        let ceiling =
            memory::measure(&options.server, options.postgres.as_deref(), limit, phases).await?;
        let name = |what: &str| format!("ceiling, {label}: {what}");
        rows.push(
            Row::figure(&name("RSS after the flood"), ceiling.after_flood, "MB")
                .goal("<= 200 MB", ceiling.after_flood <= 200.0),
        );
        #[allow(clippy::cast_precision_loss)] // a thread count
        let threads = ceiling.threads_after_flood as f64;
        rows.push(Row::figure(
            &name("threads after the flood"),
            threads,
            "threads",
        ));
        rows.push(
            Row::figure(
                &name("RSS after full-cache profiles"),
                ceiling.after_profiles,
                "MB",
            )
            .goal("<= 200 MB", ceiling.after_profiles <= 200.0),
        );
        rows.push(
            Row::figure(&name("RSS after idling"), ceiling.after_idle, "MB")
                .goal("< 100 MB", ceiling.after_idle < 100.0),
        );
        rows.push(
            Row::figure(&name("peak RSS"), ceiling.peak, "MB")
                .goal("<= 200 MB", ceiling.peak <= 200.0),
        );
    }
    notes.push(format!(
        "memory ceiling: a server of its own per row group, {}-connection login flood for {} s, \
         then the full-cache profile load (lookup-full: {} users, 100 per request) for {} s, \
         then {} s idle; per-IP limit off is AUTH_RATE_LIMIT=0, on is {}",
        memory::CONNECTIONS,
        options.flood_seconds,
        scenarios::FULL_CACHE_USERS,
        options.seconds,
        options.idle_seconds,
        memory::LIMIT_ON
    ));

    Ok(Suite {
        store: if options.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        seconds: options.seconds,
        rows,
        notes,
    })
}

impl Suite {
    /// The table, Markdown (so it pastes into docs/benchmarks.md as it is).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "store: {}, {} s per scenario\n\n\
             | scenario | conns | figure | p50 ms | errors | yardstick (same run) | ratio | goal | met |\n\
             |---|---:|---:|---:|---:|---|---:|---|---|",
            self.store, self.seconds
        );
        for r in &self.rows {
            let conns = if r.connections == 0 {
                String::new()
            } else {
                r.connections.to_string()
            };
            let p50 = r.p50_ms.map(|p| format!("{p:.2}")).unwrap_or_default();
            let yardstick = match (&r.yardstick, r.yardstick_value) {
                (Some(name), Some(v)) if r.unit == "ms" => format!("{name} p50 {v:.2} ms"),
                (Some(name), Some(v)) => format!("{name} {v:.0}/s"),
                _ => String::new(),
            };
            let ratio = r.ratio.map(|x| format!("{x:.3}")).unwrap_or_default();
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {conns} | {:.1} {} | {p50} | {} | {yardstick} | {ratio} | {} | {met} |",
                r.scenario,
                r.value,
                r.unit,
                r.errors,
                r.goal.unwrap_or(""),
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "\nNote: {note}.");
        }
        out
    }
}
