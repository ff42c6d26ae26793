//! The access-token key ring as the configuration sets it up: the master key that seals the
//! private halves (`MASTER_KEY` or `DATA_DIR/master.key`), the issuer, audience and lifetime
//! of tokens. The ring's life (first key, reload, rotation) is `usvc_security::key_ring`.

use std::sync::Arc;

use anyhow::Context as _;
use usvc_config::Config;
use usvc_core::ports::{Clock, Invalidation, SecretBox, SigningKeyRepository};
use usvc_security::key_ring::{self, Rotation, LEEWAY};
use usvc_security::{AesGcmSecretBox, JwtConfig, JwtService, MasterKey};

/// `MASTER_KEY`, or the key in `DATA_DIR/master.key` (made, owner-only, on first start).
pub fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(encoded) = &config.master_key {
        return Ok(MasterKey::from_base64(encoded)?);
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating DATA_DIR {}", config.data_dir.display()))?;
    Ok(MasterKey::load_or_create(
        &config.data_dir.join("master.key"),
    )?)
}

/// The secret box under the configured master key.
pub fn secret_box(config: &Config) -> anyhow::Result<Arc<dyn SecretBox>> {
    Ok(Arc::new(AesGcmSecretBox::new(&master_key(config)?)))
}

/// Issuer, audience, lifetime and leeway from the configuration.
pub fn jwt_config(config: &Config) -> JwtConfig {
    JwtConfig {
        issuer: config.jwt_issuer.clone(),
        audience: config.jwt_audience.clone(),
        ttl: config.jwt_expiry,
        leeway: LEEWAY,
    }
}

/// Loads the ring (creating the first key on a fresh database) and keeps it fresh: re-read
/// on the bus's word, when a key is due to start signing, and every
/// [`key_ring::RELOAD_EVERY`] on both stores. On Postgres the bus alone would do, but a
/// replica whose notification was lost (a failed `pg_notify`, a listener connection not yet
/// known dead) must still learn a new key before it starts signing everywhere else
/// (`ACTIVATE_AFTER` is one reload interval and a margin).
pub async fn start(
    config: &Config,
    clock: Arc<dyn Clock>,
    repo: Arc<dyn SigningKeyRepository>,
    secrets: Arc<dyn SecretBox>,
    invalidation: &dyn Invalidation,
) -> anyhow::Result<Arc<JwtService>> {
    key_ring::start(
        jwt_config(config),
        clock,
        repo,
        secrets,
        invalidation,
        key_ring::RELOAD_EVERY,
    )
    .await
}

/// Adds a new signing key and tells every replica (`user-service admin rotate-keys`).
pub async fn rotate(
    config: &Config,
    clock: &dyn Clock,
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
    invalidation: &dyn Invalidation,
) -> anyhow::Result<Rotation> {
    key_ring::rotate(config.jwt_expiry, clock, repo, secrets, invalidation).await
}
