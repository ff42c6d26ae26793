//! The catalogue of settings: one row each, the single source of truth for names and defaults.

/// One configurable setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Environment variable name; the TOML key is the same in lowercase.
    pub env: &'static str,
    /// The default, as text (empty: unset).
    pub default: &'static str,
    /// What is allowed, shown in errors and in the README table.
    pub allowed: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Whether `user-service config` must redact it.
    pub secret: bool,
}

impl Setting {
    /// The key in a TOML config file.
    pub fn toml_key(&self) -> String {
        self.env.to_ascii_lowercase()
    }
}

const fn s(
    env: &'static str,
    default: &'static str,
    allowed: &'static str,
    help: &'static str,
) -> Setting {
    Setting {
        env,
        default,
        allowed,
        help,
        secret: false,
    }
}

/// Every setting the service reads.
pub const SETTINGS: &[Setting] = &[
    s(
        "ENV",
        "development",
        "development | production",
        "development: readable logs; production: JSON logs",
    ),
    s(
        "LOG_LEVEL",
        "info",
        "trace | debug | info | warn | error",
        "the least severe level that is logged",
    ),
    s(
        "HOST",
        "127.0.0.1",
        "an IP address",
        "address to listen on (0.0.0.0 in containers)",
    ),
    s(
        "PORT",
        "8008",
        "0-65535 (0: any free port)",
        "port to listen on",
    ),
    Setting {
        env: "DATABASE_URL",
        default: "sqlite://./data/user-service.db",
        allowed: "sqlite://PATH, sqlite::memory:, postgres://… or postgresql://…",
        help: "which store to use; the scheme picks the adapter",
        secret: true,
    },
    s(
        "DATA_DIR",
        "./data",
        "a directory path",
        "where the embedded default keeps its files",
    ),
    s(
        "DB_POOL_SIZE",
        "10",
        "1-256",
        "most database connections per replica",
    ),
    s(
        "DB_TIMEOUT",
        "5",
        "1-300 (seconds)",
        "connect / wait-for-connection timeout",
    ),
    s(
        "DB_IDLE_TIMEOUT",
        "30",
        "1-86400 (seconds)",
        "pooled connections not handed out for this long are closed (one is kept)",
    ),
    s(
        "CACHE_SIZE",
        "1000",
        "1-10000000",
        "entries of the general caches (user-profiles, projects)",
    ),
    s(
        "SESSION_TTL",
        "1800",
        "60-31536000 (seconds)",
        "idle session lifetime and user-sessions cache TTL",
    ),
    s(
        "JWT_ISSUER",
        "user-service",
        "non-empty text (usually this service's public URL)",
        "`iss` of issued access tokens; the only issuer accepted",
    ),
    s(
        "JWT_AUDIENCE",
        "user-service",
        "non-empty text",
        "`aud` of issued access tokens; the only audience accepted",
    ),
    s(
        "AUTH_RATE_LIMIT",
        "300",
        "0-1000000 (0: off)",
        "requests per minute one client IP may make to the unauthenticated auth endpoints (login, refresh, register, MFA verify, password reset), counted in the database across replicas",
    ),
    s(
        "TOTP_ISSUER",
        "user-service",
        "non-empty text without `:`",
        "the name authenticator apps show next to the account",
    ),
    s(
        "BOOTSTRAP_ADMIN_EMAIL",
        "admin@user-service.local",
        "an email address",
        "owner of tenant `default`, created when the database has no tenant yet",
    ),
    Setting {
        env: "BOOTSTRAP_ADMIN_PASSWORD",
        default: "",
        allowed: "empty or 8-256 characters",
        help: "that owner's password; empty: a random one, printed once to stderr",
        secret: true,
    },
    Setting {
        env: "MASTER_KEY",
        default: "",
        allowed: "empty or 32 bytes in base64",
        help: "encrypts signing keys and secrets at rest; empty: DATA_DIR/master.key, made on first start (replicas must share one)",
        secret: true,
    },
    s(
        "JWT_EXPIRY",
        "900",
        "60-86400 (seconds)",
        "access token lifetime",
    ),
    s(
        "WORKERS",
        "0",
        "0-256 (0: one per core)",
        "HTTP worker threads",
    ),
    s(
        "MAX_BODY_BYTES",
        "1048576",
        "1024-104857600",
        "largest accepted request body",
    ),
    s(
        "SHUTDOWN_TIMEOUT",
        "30",
        "1-300 (seconds)",
        "grace period for in-flight requests on SIGTERM",
    ),
    s(
        "SHUTDOWN_DRAIN",
        "0",
        "0-300 (seconds)",
        "after SIGTERM, serve on while /health/ready says draining (set it above the load balancer's check interval)",
    ),
    Setting {
        env: "OTEL_EXPORTER_OTLP_ENDPOINT",
        default: "",
        allowed: "empty or an http(s):// URL",
        help: "export trace spans over OTLP/HTTP when set",
        secret: true,
    },
    Setting {
        env: "SMTP_URL",
        default: "",
        allowed: "empty, or smtp:// / smtps:// with optional user:password@",
        help: "mail relay for reset and verification mail; empty: mail is written to the log (development)",
        secret: true,
    },
    s(
        "MAIL_TO_LOG",
        "false",
        "true or false",
        "with ENV=production and no SMTP_URL, write mail (reset and verification links included) to the log instead of refusing to start",
    ),
    s(
        "TLS_CERT",
        "",
        "empty, or the path of a PEM file (the certificate chain, leaf first)",
        "serve HTTPS with this certificate (with TLS_KEY); empty: plain HTTP, TLS terminated in front",
    ),
    s(
        "TLS_KEY",
        "",
        "empty, or the path of a PEM file (PKCS#8, PKCS#1 or SEC1 private key)",
        "the private key of TLS_CERT; both or neither",
    ),
    Setting {
        env: "OPERATOR_TOKEN",
        default: "",
        allowed: "empty, or 32-512 visible characters",
        help: "when set, /metrics and /health/detailed answer only `Authorization: Bearer <token>`",
        secret: true,
    },
    s(
        "MAIL_FROM",
        "user-service <no-reply@user-service.local>",
        "an address, optionally with a display name",
        "sender of the service's mail",
    ),
    s(
        "PUBLIC_URL",
        "http://localhost:8008",
        "an http(s):// URL",
        "where users reach the service; the base of links in mail",
    ),
    s(
        "WORKFLOW_CONCURRENCY",
        "128",
        "1-1024",
        "workflow steps one process runs at once (also how many it claims at a time)",
    ),
    s(
        "WORKFLOW_LEASE",
        "60",
        "2-3600 (seconds)",
        "how long a worker holds a claimed step; a step still running past it is taken over by another worker, so keep it above step timeouts",
    ),
    s(
        "WORKFLOW_PURE_BUDGET_MS",
        "100",
        "0-1000 (milliseconds)",
        "how long starting a workflow execution, or recording a step, may spend running the pure steps (transform, condition, noop) it takes at once, to record them in the same transaction; what is left runs as usual; 0: each runs on its own",
    ),
    s(
        "WORKFLOW_HTTP_ALLOW",
        "",
        "empty, or comma-separated networks (CIDR), e.g. 10.0.0.0/8,127.0.0.1/32",
        "private, loopback and link-local networks workflow `http` steps may call; every other such target is refused",
    ),
    s(
        "TRUSTED_PROXIES",
        "",
        "empty, or comma-separated addresses or networks (CIDR) of the load balancers, e.g. 172.28.0.10/32; not /0",
        "load balancers whose X-Forwarded-For names the client (for the per-address login limit, sessions and audit); from anyone else the header is ignored",
    ),
    s(
        "OTEL_SERVICE_NAME",
        "user-service",
        "non-empty text",
        "service.name of exported spans",
    ),
];

/// Looks a setting up by its environment name.
pub(crate) fn setting(env: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.env == env)
}

#[cfg(test)]
mod tests {
    use super::SETTINGS;

    /// The README's configuration table lists every setting with its default, so the docs
    /// cannot drift from the code.
    #[test]
    fn the_readme_documents_every_setting_and_its_default() {
        let readme = include_str!("../../../README.md");
        for s in SETTINGS {
            let default = if s.default.is_empty() {
                "(unset)".to_owned()
            } else {
                format!("`{}`", s.default)
            };
            let row = format!("| `{}` | {default} |", s.env);
            assert!(
                readme.contains(&row),
                "README.md lacks the row starting {row}"
            );
        }
    }
}
