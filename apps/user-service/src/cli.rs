//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Enterprise user management, access control, projects and workflows over HTTP.
///
/// Settings come from defaults < a TOML file (--config or CONFIG_FILE) < environment
/// variables; `user-service config` shows the effective values and where each came from.
#[derive(Debug, Parser)]
#[command(name = "user-service", version, about, long_about)]
pub struct Cli {
    /// TOML configuration file (keys are the lowercase environment names, e.g. `port = 8008`).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default): migrates the database, then serves until SIGTERM or
    /// SIGINT, finishing in-flight requests before exiting 0.
    Serve,
    /// Apply pending database migrations and exit (safe to run while replicas serve).
    Migrate,
    /// Print the effective configuration with the source of each value; secrets are redacted.
    Config,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `user-service admin …`.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create a user (and its tenant, if new). Without --password-stdin a strong password is
    /// generated and printed once to stderr.
    CreateUser {
        /// Tenant slug; created (named after the slug) if it does not exist.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The user's login email.
        #[arg(long)]
        email: String,
        /// One of owner, admin, member, viewer.
        #[arg(long, default_value = "member")]
        role: String,
        /// Read the password from the first line of stdin (never from an argument, which
        /// other users of the machine can see in the process list).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give a user the platform grant (`tenants:manage`: create, list, change and disable
    /// tenants through `/api/v1/tenants`).
    GrantPlatform {
        /// The user's tenant slug.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The user's login email.
        #[arg(long)]
        email: String,
    },
    /// Take the platform grant back. Running replicas stop honouring it at once on
    /// Postgres, within 30 s otherwise.
    RevokePlatform {
        /// The user's tenant slug.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The user's login email.
        #[arg(long)]
        email: String,
    },
    /// Add a new access-token signing key. New tokens are signed with it on every replica
    /// within seconds; tokens signed by the previous key stay valid until they expire; keys
    /// whose tokens have all expired are retired.
    RotateKeys,
    /// Back up an embedded (SQLite) deployment while it serves: a consistent copy of the
    /// database and, unless MASTER_KEY is set, the master key that unseals its signing keys,
    /// into a new directory. Restore by pointing DATA_DIR and DATABASE_URL at a copy of it.
    /// On PostgreSQL use pg_dump (docs/operations.md, "Backup and restore").
    Backup {
        /// A directory that does not exist yet (created owner-only).
        #[arg(long)]
        to: std::path::PathBuf,
    },
}
