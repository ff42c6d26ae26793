//! `usvc-bench`: a load generator for user-service.
//!
//! Runs a named scenario against a running server over N keep-alive HTTP/1.1 connections for a
//! duration or a request count and prints throughput, latency percentiles and errors, as a table
//! or (`--json`) as JSON. With `--baseline NAME` all connections alternate between the scenario
//! and the baseline in 250 ms slices, so both see the same machine noise and their ratio is
//! meaningful on a shared, noisy machine.

mod hash_rate;
mod idle;
mod load;
mod memory;
mod raw_commit;
mod report;
mod scenarios;
mod server;
mod suite;
mod vacuum;

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Load-test a running user-service.
#[derive(Debug, Parser)]
#[command(name = "usvc-bench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios.
    List,
    /// Run one scenario (optionally interleaved with a baseline).
    Run(Box<RunArgs>),
    /// Watch an idle server: database work and transactions per second, resident memory.
    Idle(IdleArgs),
    /// Start a server on an empty database, run every scenario with its yardstick, and
    /// print one table of ratios against issue 17's goals.
    Suite(SuiteArgs),
}

/// Where the suite runs and for how long.
#[derive(Debug, clap::Args)]
struct SuiteArgs {
    /// The `user-service` binary (default: the one beside this program).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
    /// Run on this Postgres server (any database URL on it: the suite drops and creates its
    /// own database, `usvc_bench_suite`, there). Without it: SQLite in a new directory.
    #[arg(long)]
    postgres: Option<String>,
    /// Measured seconds per scenario.
    #[arg(short, long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of the idle window, and of the memory ceiling's idle wait.
    #[arg(long, default_value_t = 60.0)]
    idle_seconds: f64,
    /// Seconds of the memory ceiling's login flood (at most 600).
    #[arg(long, default_value_t = 60.0)]
    flood_seconds: f64,
    /// Print JSON instead of a Markdown table.
    #[arg(long)]
    json: bool,
}

/// What `idle` watches, for how long.
#[derive(Debug, clap::Args)]
struct IdleArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8008")]
    url: String,
    /// The server's database (its DATABASE_URL): on Postgres its transactions are counted too.
    #[arg(long)]
    database_url: Option<String>,
    /// How long to watch, in seconds.
    #[arg(short, long, default_value_t = 60.0)]
    duration: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// What to run, against what, for how long.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Scenario name (see `usvc-bench list`).
    scenario: String,
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8008")]
    url: String,
    /// Concurrent keep-alive connections.
    #[arg(short, long, default_value_t = 16)]
    connections: usize,
    /// How long to run, in seconds (ignored when --requests is given). Ctrl-C (SIGINT) ends
    /// the run early and still reports it.
    #[arg(short, long, default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many requests in total instead of after --duration.
    #[arg(short = 'n', long)]
    requests: Option<u64>,
    /// Alternate with this scenario in 250 ms slices and report the ratio (e.g. health-live).
    #[arg(long)]
    baseline: Option<String>,
    /// Seconds of unrecorded warm-up before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Load-generator threads (keep it below the server's share of the cores).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Tenant of the account `login` and authenticated scenarios use.
    #[arg(long, default_value = "default")]
    tenant: String,
    /// Email of that account (the bootstrap owner by default).
    #[arg(
        long,
        env = "BOOTSTRAP_ADMIN_EMAIL",
        default_value = "admin@user-service.local"
    )]
    email: String,
    /// Its password.
    #[arg(long, env = "BOOTSTRAP_ADMIN_PASSWORD", default_value = "")]
    password: String,
    /// The server's database (its DATABASE_URL), for the `raw-commit` yardstick.
    #[arg(long)]
    database_url: Option<String>,
    /// Write every write the server acknowledged (`session|project|execution <id>`, one per
    /// line) to this file, to check afterwards that none was lost.
    #[arg(long)]
    acknowledged: Option<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    let outcome = match Cli::parse().command {
        Command::List => {
            for s in scenarios::all() {
                println!("{:<18} {}", s.name, s.description);
            }
            Ok(())
        }
        Command::Run(args) => run(&args),
        Command::Idle(args) => idle(&args),
        Command::Suite(args) => suite(&args),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("usvc-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn suite(args: &SuiteArgs) -> anyhow::Result<()> {
    for (name, value) in [
        ("--seconds", args.seconds),
        ("--idle-seconds", args.idle_seconds),
    ] {
        anyhow::ensure!(
            value.is_finite() && (1.0..=3600.0).contains(&value),
            "{name} must be between 1 and 3600"
        );
    }
    // The profile load after the flood uses a token taken before it: the flood must end
    // well within the token's lifetime (JWT_EXPIRY, 15 minutes by default).
    anyhow::ensure!(
        args.flood_seconds.is_finite() && (1.0..=600.0).contains(&args.flood_seconds),
        "--flood-seconds must be between 1 and 600"
    );
    let server = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("finding this program")?
            .with_file_name("user-service"),
    };
    anyhow::ensure!(
        server.is_file(),
        "no server at {} (build it: cargo build --release -p user-service, or give --server)",
        server.display()
    );
    // It runs in a directory of its own: a relative path would not name it there.
    let server = std::fs::canonicalize(&server)
        .with_context(|| format!("resolving {}", server.display()))?;
    let options = suite::Options {
        server,
        postgres: args.postgres.clone(),
        seconds: args.seconds,
        idle_seconds: args.idle_seconds,
        flood_seconds: args.flood_seconds,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the load generator")?;
    // Interrupted, the suite's future is dropped, and with it its server (killed, its
    // directory removed): a Ctrl-C or a CI timeout leaves no server behind.
    let result = runtime.block_on(async {
        tokio::select! {
            result = suite::run(&options) => result,
            signal = interrupted() => Err(anyhow::anyhow!(
                "stopped by {}; the suite's server was stopped too",
                signal?
            )),
        }
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", result.table());
    }
    Ok(())
}

/// The first SIGINT or SIGTERM (Ctrl-C elsewhere): its name.
async fn interrupted() -> anyhow::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = int.recv() => Ok("SIGINT"),
            _ = term.recv() => Ok("SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

fn idle(args: &IdleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0 && args.duration <= 86_400.0,
        "--duration must be between 0 and 86400 seconds"
    );
    let target = load::Target::parse(&args.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the watcher")?;
    let seen = runtime.block_on(idle::watch(
        &target,
        args.database_url.as_deref(),
        Duration::from_secs_f64(args.duration),
    ))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&seen)?);
    } else {
        print!("{}", seen.table());
    }
    Ok(())
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let scenario = scenarios::find(&args.scenario)?;
    let baseline = args.baseline.as_deref().map(scenarios::find).transpose()?;
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    anyhow::ensure!(
        args.duration.is_finite() && args.duration > 0.0 && args.duration <= 86_400.0,
        "--duration must be between 0 and 86400 seconds"
    );
    anyhow::ensure!(
        args.warmup.is_finite() && (0.0..=3600.0).contains(&args.warmup),
        "--warmup must be between 0 and 3600 seconds"
    );
    let plan = load::Plan {
        target: load::Target::parse(&args.url)?,
        scenario,
        baseline,
        connections: args.connections,
        duration: Duration::from_secs_f64(args.duration),
        requests: args.requests,
        warmup: Duration::from_secs_f64(args.warmup),
        credentials: scenarios::Credentials {
            tenant: args.tenant.clone(),
            email: args.email.clone(),
            password: args.password.clone(),
        },
        database_url: args.database_url.clone(),
        bearer: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("starting the load generator")?;
    let results = runtime.block_on(load::run(&plan))?;
    if let Some(path) = &args.acknowledged {
        let mut lines = results.scenario.acknowledged.join("\n");
        lines.push('\n');
        std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
    }
    let report = report::Report::new(&plan, &results);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(())
}
