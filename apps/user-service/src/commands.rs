//! The sub-commands.

use usvc_config::Config;

use crate::http::server;
use crate::state::AppState;
use crate::{identity, keys, wiring};

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
    let db = wiring::connect(&config).await?;
    let tokens = keys::start(&config, db.signing_keys.clone(), keys::secret_box(&config)?).await?;
    let hasher = identity::hasher()?;
    identity::bootstrap(&config, &db, &hasher).await?;
    let caches = AppState::caches(&db);
    let auth = identity::auth(&config, &db, tokens.clone(), hasher, &caches);
    server::run(&config, AppState::new(db, tokens, auth, caches)).await
}

/// `user-service admin rotate-keys`.
pub async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    let db = wiring::connect(config).await?;
    let secrets = keys::secret_box(config)?;
    let rotation = keys::rotate(config, db.signing_keys.as_ref(), secrets.as_ref()).await?;
    println!(
        "new signing key {}; every replica signs with it within {} s; {} expired key(s) retired",
        rotation.new_kid,
        keys::RELOAD_EVERY.as_secs(),
        rotation.retired
    );
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
