//! The tokio runtime and logger settings derived from the configuration.

use usvc_config::{Config, Environment};
use usvc_logger::{LogFormat, LoggerConfig};

/// The multi-threaded runtime the server's accept loop and every store query run on (actix
/// workers run their own single-threaded runtimes and hand store work to this one).
pub fn build(config: &Config) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers.max(2))
        .thread_name("usvc-runtime")
        .enable_all()
        .build()?;
    Ok(runtime)
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
