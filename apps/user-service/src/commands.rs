//! The sub-commands.

use std::sync::Arc;

use usvc_config::Config;
use usvc_core::ports::{Clock, SystemClock};

use crate::http::server;
use crate::http::state::AppState;
use crate::wiring::{self, keys, services};

/// Every command runs on the wall clock (tests choose theirs through `Adapters`).
fn wall_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// `user-service config`.
pub fn print_config(config: &Config) {
    for line in config.describe() {
        println!("{line}");
    }
}

/// `user-service migrate`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = wiring::migrate(config).await?;
    println!("{applied} migration(s) applied; the database is up to date");
    Ok(())
}

/// `user-service serve` (the default).
pub async fn serve(config: Config) -> anyhow::Result<()> {
    if config.database_kind() == usvc_config::DatabaseKind::Sqlite {
        create_data_dir(&config)?;
    }
    let adapters = wiring::start(
        &config,
        wall_clock(),
        keys::secret_box(&config)?,
        services::notifier(&config)?,
    )
    .await?;
    crate::memory_release::spawn();
    server::run(&config, AppState::assemble(&config, &adapters)).await
}

/// `user-service admin rotate-keys`.
pub async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    let db = wiring::connect(config, wall_clock()).await?;
    let secrets = keys::secret_box(config)?;
    let rotation = keys::rotate(
        config,
        wall_clock().as_ref(),
        db.signing_keys.as_ref(),
        secrets.as_ref(),
        db.invalidation.as_ref(),
    )
    .await?;
    let known = match config.database_kind() {
        // LISTEN/NOTIFY reaches every replica at once.
        usvc_config::DatabaseKind::Postgres => "at once".to_owned(),
        usvc_config::DatabaseKind::Sqlite => format!(
            "within {} s",
            usvc_security::key_ring::RELOAD_EVERY.as_secs()
        ),
    };
    println!(
        "new signing key {}; every replica accepts it {known} and signs with it within {} s; {} expired key(s) retired",
        rotation.new_kid,
        (usvc_security::key_ring::ACTIVATE_AFTER + usvc_security::key_ring::RELOAD_EVERY).as_secs(),
        rotation.retired
    );
    Ok(())
}

/// `user-service admin backup --to DIR`: the database (`VACUUM INTO`, online) and, when the
/// master key is a file in `DATA_DIR`, that file — without it the copy's signing keys cannot
/// be unsealed.
pub async fn backup(config: &Config, to: &std::path::Path) -> anyhow::Result<()> {
    if config.database_kind() != usvc_config::DatabaseKind::Sqlite {
        anyhow::bail!(
            "this backs up an embedded (SQLite) deployment; on PostgreSQL use pg_dump \
             (docs/operations.md, \"Backup and restore\")"
        );
    }
    if to.exists() {
        anyhow::bail!(
            "{} exists already; back up into a new directory",
            to.display()
        );
    }
    std::fs::create_dir_all(to)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", to.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| anyhow::anyhow!("cannot restrict {}: {e}", to.display()))?;
    }
    let database = to.join("user-service.db");
    usvc_sqlite::backup(&config.database_url, &database)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("database copied to {}", database.display());
    if config.master_key.is_none() {
        let key = config.data_dir.join("master.key");
        std::fs::copy(&key, to.join("master.key"))
            .map_err(|e| anyhow::anyhow!("cannot copy the master key {}: {e}", key.display()))?;
        println!(
            "master key copied to {} (keep it as secret as the original)",
            to.join("master.key").display()
        );
    } else {
        println!("MASTER_KEY is set: keep it with the backup (the copy needs it to start)");
    }
    println!(
        "restore: DATA_DIR={} DATABASE_URL=sqlite://{} user-service",
        to.display(),
        database.display()
    );
    Ok(())
}

/// `user-service admin create-user`.
pub async fn create_user(
    config: &Config,
    tenant: &str,
    email: &str,
    role: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| anyhow::anyhow!("cannot read the password from stdin: {e}"))?;
        Some(usvc_core::Password::new(
            line.trim_end_matches(['\r', '\n']),
        ))
    } else {
        None
    };
    if config.database_kind() == usvc_config::DatabaseKind::Sqlite {
        create_data_dir(config)?;
    }
    let db = wiring::connect(config, wall_clock()).await?;
    let hasher = services::hasher()?;
    let done = usvc_user::provision(
        &services::bootstrap_ports(&db, &hasher, &wall_clock()),
        tenant,
        email,
        role,
        password,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if done.tenant_created {
        println!("created tenant {tenant}");
    }
    println!(
        "created user {} ({}) with role {role} in tenant {tenant}",
        done.user.id, done.user.email
    );
    if let Some(password) = done.generated_password {
        eprintln!(
            "password for {}: {} (shown only now)",
            done.user.email,
            password.expose()
        );
    }
    Ok(())
}

/// The embedded deployment's data directory (the database and, later, key material) is
/// created owner-only. An existing directory is the operator's: its permissions are left alone.
fn create_data_dir(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create DATA_DIR {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| anyhow::anyhow!("cannot restrict DATA_DIR {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// `user-service admin grant-platform` / `revoke-platform`.
pub async fn set_platform_grant(
    config: &Config,
    tenant: &str,
    email: &str,
    grant: bool,
) -> anyhow::Result<()> {
    let db = wiring::connect(config, wall_clock()).await?;
    let user = usvc_user::set_platform_grant(
        db.tenants.as_ref(),
        db.users.as_ref(),
        db.platform.as_ref(),
        wall_clock().as_ref(),
        tenant,
        email,
        grant,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Replicas listening on Postgres drop their cached answer now; the others within 30 s.
    let forget = usvc_core::ports::InvalidationMessage {
        cache: usvc_cache::CacheSpec::PLATFORM_ADMINS.name.to_owned(),
        key: Some(user.id.to_string()),
    };
    if let Err(e) = db.invalidation.publish(forget).await {
        tracing::warn!(error = %e, "cache invalidation not sent; replicas catch up within 30 s");
    }
    let verb = if grant { "granted" } else { "revoked" };
    println!(
        "platform grant {verb} for {} in tenant {tenant}",
        user.email
    );
    Ok(())
}
