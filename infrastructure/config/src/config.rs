//! The typed, validated configuration.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::load::{ConfigError, ConfigSources, RawValues, Source};
use crate::settings::SETTINGS;
use crate::values;

/// Development or production behaviour (log format, defaults that favour safety).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Human-readable logs.
    Development,
    /// JSON logs for collectors.
    Production,
}

/// The minimum log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something needs attention.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// The level's name as `tracing` filters spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Which store adapter `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// The embedded default.
    Sqlite,
    /// Production and multi-replica.
    Postgres,
}

/// The effective configuration. Its `Debug` output is [`Config::describe`], secrets redacted.
#[derive(Clone)]
pub struct Config {
    /// `ENV`.
    pub environment: Environment,
    /// `LOG_LEVEL`.
    pub log_level: LogLevel,
    /// `HOST`.
    pub host: IpAddr,
    /// `PORT`.
    pub port: u16,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `DATA_DIR`.
    pub data_dir: PathBuf,
    /// `DB_POOL_SIZE`.
    pub db_pool_size: usize,
    /// `DB_TIMEOUT`.
    pub db_timeout: Duration,
    /// `DB_IDLE_TIMEOUT`.
    pub db_idle_timeout: Duration,
    /// `CACHE_SIZE`.
    pub cache_size: u64,
    /// `SESSION_TTL`.
    pub session_ttl: Duration,
    /// `JWT_EXPIRY`.
    pub jwt_expiry: Duration,
    /// `JWT_ISSUER`.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`.
    pub jwt_audience: String,
    /// `TOTP_ISSUER`.
    pub totp_issuer: String,
    /// `AUTH_RATE_LIMIT` (requests per minute per client IP; 0: off).
    pub auth_rate_limit: u32,
    /// `MASTER_KEY` (base64), if configured.
    pub master_key: Option<String>,
    /// `BOOTSTRAP_ADMIN_EMAIL`.
    pub bootstrap_admin_email: String,
    /// `BOOTSTRAP_ADMIN_PASSWORD`, if configured.
    pub bootstrap_admin_password: Option<String>,
    /// `WORKERS`, with 0 resolved to the number of cores.
    pub workers: usize,
    /// `MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `SHUTDOWN_TIMEOUT`.
    pub shutdown_timeout: Duration,
    /// `SHUTDOWN_DRAIN`: after SIGTERM, how long `/health/ready` says `draining` while every
    /// request is still served, so load balancers stop sending new ones before the listener
    /// closes.
    pub shutdown_drain: Duration,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`.
    pub otel_service_name: String,
    /// `SMTP_URL`, if mail is to be sent.
    pub smtp_url: Option<String>,
    /// `MAIL_FROM`.
    pub mail_from: String,
    /// `MAIL_TO_LOG`: production may write mail (links included) to the log.
    pub mail_to_log: bool,
    /// `OPERATOR_TOKEN`: what `/metrics` and `/health/detailed` ask for, when set.
    pub operator_token: Option<String>,
    /// `TLS_CERT` and `TLS_KEY`: serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `PUBLIC_URL`, without a trailing slash.
    pub public_url: String,
    /// `WORKFLOW_CONCURRENCY`: steps one process runs at once.
    pub workflow_concurrency: usize,
    /// `WORKFLOW_LEASE`: how long a claimed step is held.
    pub workflow_lease: Duration,
    /// `WORKFLOW_PURE_BUDGET_MS`: how long a start or a recording may spend running the pure
    /// steps it takes, to record them in its own transaction (zero: never).
    pub workflow_pure_budget: Duration,
    /// `WORKFLOW_HTTP_ALLOW`: the non-public networks workflow `http` steps may reach.
    pub workflow_http_allow: Vec<ipnet::IpNet>,
    /// `TRUSTED_PROXIES`: the load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    sources: Vec<(&'static str, String, Source)>,
}

impl Config {
    /// Merges and validates the layers. The first invalid value is the error.
    pub fn load(sources: &ConfigSources) -> Result<Self, ConfigError> {
        let raw = RawValues::merge(sources)?;
        let secs = |key, min, max| {
            raw.parse(key, |v| values::number::<u64>(v, min, max))
                .map(Duration::from_secs)
        };
        let workers = raw.parse("WORKERS", |v| values::number::<usize>(v, 0, 256))?;
        let config = Self {
            environment: raw.parse("ENV", |v| match v.trim().to_ascii_lowercase().as_str() {
                "development" => Ok(Environment::Development),
                "production" => Ok(Environment::Production),
                _ => Err(()),
            })?,
            log_level: raw.parse("LOG_LEVEL", log_level)?,
            host: raw.parse("HOST", values::ip)?,
            port: raw.parse("PORT", |v| values::number::<u16>(v, 0, u16::MAX))?,
            database_url: raw.parse("DATABASE_URL", |v| {
                let v = v.trim();
                database_kind(v).map(|_| v.to_owned())
            })?,
            data_dir: raw.parse("DATA_DIR", values::non_empty)?.into(),
            db_pool_size: raw.parse("DB_POOL_SIZE", |v| values::number::<usize>(v, 1, 256))?,
            db_timeout: secs("DB_TIMEOUT", 1, 300)?,
            db_idle_timeout: secs("DB_IDLE_TIMEOUT", 1, 86_400)?,
            cache_size: raw.parse("CACHE_SIZE", |v| values::number::<u64>(v, 1, 10_000_000))?,
            session_ttl: secs("SESSION_TTL", 60, 31_536_000)?,
            jwt_expiry: secs("JWT_EXPIRY", 60, 86_400)?,
            jwt_issuer: raw.parse("JWT_ISSUER", values::non_empty)?,
            jwt_audience: raw.parse("JWT_AUDIENCE", values::non_empty)?,
            auth_rate_limit: raw.parse("AUTH_RATE_LIMIT", |v| {
                values::number::<u32>(v, 0, 1_000_000)
            })?,
            totp_issuer: raw.parse("TOTP_ISSUER", |v| {
                values::non_empty(v).and_then(|v| if v.contains(':') { Err(()) } else { Ok(v) })
            })?,
            master_key: raw.parse("MASTER_KEY", values::optional_base64_key)?,
            bootstrap_admin_email: raw.parse("BOOTSTRAP_ADMIN_EMAIL", |v| {
                let v = v.trim();
                if v.contains('@') && v.len() >= 3 {
                    Ok(v.to_owned())
                } else {
                    Err(())
                }
            })?,
            bootstrap_admin_password: raw.parse("BOOTSTRAP_ADMIN_PASSWORD", |v| {
                match v.chars().count() {
                    0 => Ok(None),
                    8..=256 => Ok(Some(v.to_owned())),
                    _ => Err(()),
                }
            })?,
            workers: if workers == 0 {
                std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
            } else {
                workers
            },
            max_body_bytes: raw.parse("MAX_BODY_BYTES", |v| {
                values::number::<usize>(v, 1024, 104_857_600)
            })?,
            shutdown_timeout: secs("SHUTDOWN_TIMEOUT", 1, 300)?,
            shutdown_drain: secs("SHUTDOWN_DRAIN", 0, 300)?,
            otlp_endpoint: raw.parse("OTEL_EXPORTER_OTLP_ENDPOINT", values::optional_http_url)?,
            smtp_url: raw.parse("SMTP_URL", values::optional_smtp_url)?,
            mail_from: raw.parse("MAIL_FROM", values::non_empty)?,
            mail_to_log: raw.parse("MAIL_TO_LOG", values::boolean)?,
            operator_token: raw.parse("OPERATOR_TOKEN", values::optional_token)?,
            tls: tls(
                raw.parse("TLS_CERT", values::optional_path)?,
                raw.parse("TLS_KEY", values::optional_path)?,
            )?,
            public_url: raw.parse("PUBLIC_URL", |v| {
                values::optional_http_url(v)?
                    .map(|u| u.trim_end_matches('/').to_owned())
                    .ok_or(())
            })?,
            otel_service_name: raw.parse("OTEL_SERVICE_NAME", values::non_empty)?,
            workflow_concurrency: raw.parse("WORKFLOW_CONCURRENCY", |v| {
                values::number::<usize>(v, 1, 1024)
            })?,
            workflow_lease: secs("WORKFLOW_LEASE", 2, 3600)?,
            workflow_pure_budget: raw.parse("WORKFLOW_PURE_BUDGET_MS", |v| {
                values::number::<u64>(v, 0, 1000).map(Duration::from_millis)
            })?,
            workflow_http_allow: raw.parse("WORKFLOW_HTTP_ALLOW", values::networks)?,
            trusted_proxies: raw.parse("TRUSTED_PROXIES", values::proxy_networks)?,
            sources: SETTINGS
                .iter()
                .map(|s| {
                    let (value, source) = raw.get(s.env).clone();
                    (s.env, value, source)
                })
                .collect(),
        };
        config.check_production()?;
        Ok(config)
    }

    /// Without a relay, mail goes to the log — reset and verification links with it. A
    /// production service must not do that unless told to.
    fn check_production(&self) -> Result<(), ConfigError> {
        if self.environment == Environment::Production
            && self.smtp_url.is_none()
            && !self.mail_to_log
        {
            return Err(ConfigError::Invalid {
                key: "SMTP_URL".into(),
                value: String::new(),
                origin: "ENV=production".into(),
                allowed: "an smtp:// or smtps:// relay in production (or MAIL_TO_LOG=true to write mail, links included, to the log)".into(),
            });
        }
        Ok(())
    }

    /// The store adapter the database URL selects.
    pub fn database_kind(&self) -> DatabaseKind {
        // The URL was validated by `load`, so the scheme is one of the two.
        database_kind(&self.database_url).unwrap_or(DatabaseKind::Sqlite)
    }

    /// `KEY = value (source)` lines for `user-service config`, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        self.sources
            .iter()
            .map(|(key, value, source)| {
                let secret = SETTINGS.iter().any(|s| s.env == *key && s.secret);
                let shown = match (secret, key.contains("URL") || key.contains("ENDPOINT")) {
                    (true, true) => values::redact_url(value),
                    (true, false) if !value.is_empty() => "***".to_owned(),
                    _ => value.clone(),
                };
                format!("{key} = {shown:?} ({source})")
            })
            .collect()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.describe()).finish()
    }
}

/// `LOG_LEVEL`'s value.
fn log_level(v: &str) -> Result<LogLevel, ()> {
    match v.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok(LogLevel::Trace),
        "debug" => Ok(LogLevel::Debug),
        "info" => Ok(LogLevel::Info),
        "warn" | "warning" => Ok(LogLevel::Warn),
        "error" => Ok(LogLevel::Error),
        _ => Err(()),
    }
}

/// Both `TLS_CERT` and `TLS_KEY`, or neither.
fn tls(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<(PathBuf, PathBuf)>, ConfigError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        (cert, _) => Err(ConfigError::Invalid {
            key: if cert.is_some() {
                "TLS_KEY"
            } else {
                "TLS_CERT"
            }
            .into(),
            value: String::new(),
            origin: "TLS_CERT / TLS_KEY".into(),
            allowed: "both TLS_CERT and TLS_KEY, or neither".into(),
        }),
    }
}

fn database_kind(url: &str) -> Result<DatabaseKind, ()> {
    if url == "sqlite::memory:" || url.strip_prefix("sqlite://").is_some_and(|p| !p.is_empty()) {
        Ok(DatabaseKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DatabaseKind::Postgres)
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> ConfigSources {
        ConfigSources {
            file: None,
            env: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn defaults_need_no_setup() {
        let config = Config::load(&env(&[])).expect("defaults are valid");
        assert_eq!(config.port, 8008);
        assert_eq!(config.host.to_string(), "127.0.0.1");
        assert_eq!(config.database_url, "sqlite://./data/user-service.db");
        assert_eq!(config.database_kind(), DatabaseKind::Sqlite);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.session_ttl, Duration::from_secs(1800));
    }

    #[test]
    fn environment_beats_file_beats_default() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(
            file,
            "port = 9000\nlog_level = \"debug\"\nenv = \"production\"\nsmtp_url = \"smtp://relay:25\""
        )
        .expect("write");
        let mut sources = env(&[("PORT", "9100")]);
        sources.file = Some(file.path().to_owned());
        let config = Config::load(&sources).expect("valid");
        assert_eq!(config.port, 9100, "environment wins over the file");
        assert_eq!(
            config.log_level,
            LogLevel::Debug,
            "file wins over the default"
        );
        assert_eq!(config.environment, Environment::Production);
        let described = config.describe().join("\n");
        assert!(
            described.contains("PORT = \"9100\" (environment)"),
            "{described}"
        );
        assert!(
            described.contains("LOG_LEVEL = \"debug\" (file "),
            "{described}"
        );
    }

    #[test]
    fn production_needs_a_mail_relay_or_an_explicit_mail_to_log() {
        let err = Config::load(&env(&[("ENV", "production")])).expect_err("links would be logged");
        assert!(err.to_string().contains("SMTP_URL"), "{err}");
        assert!(err.to_string().contains("MAIL_TO_LOG"), "{err}");
        let config = Config::load(&env(&[("ENV", "production"), ("MAIL_TO_LOG", "true")]))
            .expect("explicitly allowed");
        assert!(config.mail_to_log);
        assert!(Config::load(&env(&[
            ("ENV", "production"),
            ("SMTP_URL", "smtps://relay")
        ]))
        .is_ok());
        let err = Config::load(&env(&[("OPERATOR_TOKEN", "short")])).expect_err("too short");
        assert!(err.to_string().contains("OPERATOR_TOKEN"), "{err}");
        assert!(
            !err.to_string().contains("short"),
            "secret values are not shown: {err}"
        );
    }

    #[test]
    fn invalid_value_names_key_source_and_allowed_values() {
        let err = Config::load(&env(&[("ENV", "staging")])).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "invalid configuration: ENV = \"staging\" (from environment): \
             allowed values are development | production"
        );
        let err = Config::load(&env(&[("PORT", "99999")])).expect_err("must fail");
        assert!(err.to_string().contains("PORT"), "{err}");
        let err = Config::load(&env(&[("DATABASE_URL", "mysql://x")])).expect_err("must fail");
        assert!(err
            .to_string()
            .starts_with("invalid configuration: DATABASE_URL = \"***\""));
    }

    #[test]
    fn unknown_file_keys_are_rejected_so_typos_do_not_pass_silently() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(file, "prot = 9000").expect("write");
        let sources = ConfigSources {
            file: Some(file.path().to_owned()),
            env: HashMap::new(),
        };
        let err = Config::load(&sources).expect_err("must fail");
        assert!(err.to_string().contains("unknown key `prot`"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_the_description() {
        let config = Config::load(&env(&[("DATABASE_URL", "postgres://app:hunter2@db/users")]))
            .expect("valid");
        assert_eq!(config.database_kind(), DatabaseKind::Postgres);
        let described = config.describe().join("\n");
        assert!(!described.contains("hunter2"), "{described}");
        assert!(described.contains("postgres://app:***@db/users"));
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "Debug must redact too"
        );
        let otlp = Config::load(&env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://user:s3cret@otel.example:4318",
        )]))
        .expect("valid");
        assert!(!otlp.describe().join("\n").contains("s3cret"));
    }

    #[test]
    fn tls_takes_both_files_or_neither() {
        let config =
            Config::load(&env(&[("TLS_CERT", "/c.pem"), ("TLS_KEY", "/k.pem")])).expect("both");
        assert_eq!(config.tls, Some(("/c.pem".into(), "/k.pem".into())));
        assert_eq!(Config::load(&env(&[])).expect("neither").tls, None);
        let err = Config::load(&env(&[("TLS_CERT", "/c.pem")])).expect_err("one");
        assert!(err.to_string().contains("TLS_KEY"), "{err}");
    }
}
