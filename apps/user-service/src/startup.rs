//! The tokio runtime and logger settings derived from the configuration.

use usvc_config::{Config, Environment};
use usvc_logger::{LogFormat, LoggerConfig};

/// Headroom of the blocking pool beyond database connections, hashes and workflow steps:
/// the engine's offloaded validation, files.
const BLOCKING_HEADROOM: usize = 8;

/// The multi-threaded runtime the server's accept loop and every store query run on (actix
/// workers run their own single-threaded runtimes and hand store work to this one).
///
/// Its blocking pool is bounded by what can use it at once (a SQLite query per pooled
/// connection, a hash per hashing slot, a name lookup per workflow step in flight — `http`
/// steps resolve on it, and a lookup cannot be cancelled — and some headroom) instead of
/// tokio's 512: under a login
/// flood the pool grew to 60 threads, each with its own allocator cache, for no work that
/// could run any sooner (ADR 0023). Work beyond the bound waits for a thread, as it would
/// wait for a connection or a hashing slot anyway.
pub fn build(config: &Config) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers.max(2))
        .max_blocking_threads(blocking_threads(config))
        .thread_name("usvc-runtime")
        .enable_all()
        .build()?;
    Ok(runtime)
}

/// The most threads workflow steps evaluate templates on at once: evaluation is CPU work, so
/// more threads than a few per core only add memory (issue 17's ceiling); steps beyond it wait
/// their turn in the pool's queue.
const TEMPLATE_THREADS: usize = 16;

/// The blocking pool's bound: connections + hashing slots + template evaluations of workflow
/// steps + [`BLOCKING_HEADROOM`].
pub fn blocking_threads(config: &Config) -> usize {
    config.db_pool_size
        + crate::wiring::services::hash_concurrency()
        + config.workflow_concurrency.min(TEMPLATE_THREADS)
        + BLOCKING_HEADROOM
}

/// Logging follows `ENV` and `LOG_LEVEL`.
pub fn logger_config(config: &Config) -> LoggerConfig {
    LoggerConfig {
        format: match config.environment {
            Environment::Development => LogFormat::Pretty,
            Environment::Production => LogFormat::Json,
        },
        level: config.log_level.as_str().to_owned(),
        otlp_endpoint: config.otlp_endpoint.clone(),
        service_name: config.otel_service_name.clone(),
    }
}
