//! The access-token key ring: signing keys live in the store with their private half sealed
//! under the master key; the ring is loaded (or its first key created) at start, re-read when a
//! rotation says so on the invalidation bus, when a key it holds becomes the signing key, and
//! otherwise every `reload_every` (a few seconds), so a rotation made by another process (`user-service admin
//! rotate-keys`) reaches every replica, and rotated without invalidating live tokens. The reload runs on the current tokio runtime and ends when
//! the last handle to the [`JwtService`] is dropped.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::Notify;
use usvc_core::ports::{
    Clock, Invalidation, InvalidationMessage, SecretBox, SigningKeyRepository, StoredSigningKey,
};

use crate::{JwtConfig, JwtService, RsaSigningKey, SigningKey};

/// The stored algorithm names.
const EDDSA: &str = "EdDSA";
const RS256: &str = "RS256";

/// How often a replica re-reads the stored keys even when nothing told it to (SQLite, where a
/// rotation by another process cannot reach this one, or a missed notification).
pub const RELOAD_EVERY: Duration = Duration::from_secs(5);

/// How long a new key only verifies before it signs: one reload interval and a margin, so
/// every replica has learned it (and publishes it in its JWKS) before any replica hands out a
/// token it signed; a token is then accepted wherever the balancer sends it.
pub const ACTIVATE_AFTER: Duration = Duration::from_secs(RELOAD_EVERY.as_secs() + 1);

/// The invalidation bus's name for the signing keys: [`rotate`]'s caller publishes it and
/// every replica re-reads its ring at once (on Postgres, within the bus's delivery time).
pub const SIGNING_KEYS: &str = "signing-keys";
/// Clock skew tolerated when verifying, and kept as margin before a key is retired.
pub const LEEWAY: Duration = Duration::from_secs(30);

fn context(kid: &str) -> Vec<u8> {
    format!("jwt-key:{kid}").into_bytes()
}

fn unseal(stored: &StoredSigningKey, secrets: &dyn SecretBox) -> anyhow::Result<SigningKey> {
    let seed = secrets
        .open(&stored.sealed_private_key, &context(&stored.kid))
        .with_context(|| {
            format!(
                "cannot decrypt signing key {} (is MASTER_KEY the one it was made with?)",
                stored.kid
            )
        })?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| anyhow::anyhow!("signing key {} has a malformed seed", stored.kid))?;
    Ok(SigningKey::from_seed(
        stored.kid.clone(),
        seed,
        stored.created_at,
    ))
}

fn unseal_rsa(stored: &StoredSigningKey, secrets: &dyn SecretBox) -> anyhow::Result<RsaSigningKey> {
    let pkcs8 = secrets
        .open(&stored.sealed_private_key, &context(&stored.kid))
        .with_context(|| {
            format!(
                "cannot decrypt signing key {} (is MASTER_KEY the one it was made with?)",
                stored.kid
            )
        })?;
    Ok(RsaSigningKey::from_pkcs8(
        stored.kid.clone(),
        pkcs8,
        stored.created_at,
    )?)
}

/// A key of the ring, whatever its algorithm: what its place in the ring depends on.
pub trait Dated {
    /// When it was made.
    fn created_at(&self) -> chrono::DateTime<Utc>;
}

impl Dated for SigningKey {
    fn created_at(&self) -> chrono::DateTime<Utc> {
        SigningKey::created_at(self)
    }
}

impl Dated for RsaSigningKey {
    fn created_at(&self) -> chrono::DateTime<Utc> {
        RsaSigningKey::created_at(self)
    }
}

/// The ring in the order the token service takes it, the signing key first: the newest key
/// at least [`ACTIVATE_AFTER`] old (the oldest when every key is younger, as on a fresh
/// database), then the others newest first. `keys` comes newest first. Each algorithm's keys
/// are ordered on their own.
pub fn signing_order<K: Dated>(mut keys: Vec<K>, now: chrono::DateTime<Utc>) -> Vec<K> {
    let settled = chrono::Duration::from_std(ACTIVATE_AFTER).unwrap_or_default();
    let active = keys
        .iter()
        .position(|k| now - k.created_at() >= settled)
        .unwrap_or_else(|| keys.len().saturating_sub(1));
    if active < keys.len() {
        let key = keys.remove(active);
        keys.insert(0, key);
    }
    keys
}

/// Every live key of each algorithm, newest first, unsealed.
#[derive(Debug, Default)]
pub struct Keys {
    /// EdDSA: access tokens, and ID tokens of clients that ask for EdDSA.
    pub ed25519: Vec<SigningKey>,
    /// RS256: ID tokens.
    pub rsa: Vec<RsaSigningKey>,
}

/// Every live key of each algorithm, newest first, unsealed.
pub async fn load_all(
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
) -> anyhow::Result<Keys> {
    let mut keys = Keys::default();
    for stored in repo.live().await? {
        match stored.algorithm.as_str() {
            RS256 => keys.rsa.push(unseal_rsa(&stored, secrets)?),
            _ => keys.ed25519.push(unseal(&stored, secrets)?),
        }
    }
    Ok(keys)
}

/// Every live EdDSA key, newest first, unsealed.
pub async fn load(
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
) -> anyhow::Result<Vec<SigningKey>> {
    Ok(load_all(repo, secrets).await?.ed25519)
}

/// Makes, seals and stores a new EdDSA key; it signs from the next (re)load on.
async fn create(
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<SigningKey> {
    let key = SigningKey::generate(now)?;
    repo.insert(&StoredSigningKey {
        kid: key.kid().to_owned(),
        algorithm: EDDSA.into(),
        public_key: key.public_key(),
        sealed_private_key: secrets.seal(key.seed(), &context(key.kid()))?,
        created_at: key.created_at(),
        retired_at: None,
    })
    .await?;
    Ok(key)
}

/// Makes (on the blocking pool: RSA generation takes a while), seals and stores a new RS256
/// key made at `now`.
async fn create_rsa(
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<RsaSigningKey> {
    let key = tokio::task::spawn_blocking(move || RsaSigningKey::generate(now)).await??;
    repo.insert(&StoredSigningKey {
        kid: key.kid().to_owned(),
        algorithm: RS256.into(),
        public_key: key.public_key(),
        sealed_private_key: secrets.seal(key.pkcs8(), &context(key.kid()))?,
        created_at: key.created_at(),
        retired_at: None,
    })
    .await?;
    Ok(key)
}

/// When the next key of `keys` starts signing ([`ACTIVATE_AFTER`] after it was made), if one
/// is still waiting: the ring re-reads then, so signing moves to it on time without polling.
pub fn next_activation<K: Dated>(
    keys: &[K],
    now: chrono::DateTime<Utc>,
) -> Option<chrono::DateTime<Utc>> {
    let settle = chrono::Duration::from_std(ACTIVATE_AFTER).unwrap_or_default();
    keys.iter()
        .map(|k| k.created_at() + settle)
        .filter(|at| *at > now)
        .min()
}

/// Loads the ring (creating the first key on a fresh database) and keeps it fresh: re-read on
/// the bus's word, when a key is due to start signing, and at least every `reload_every`
/// ([`RELOAD_EVERY`] in the service: [`ACTIVATE_AFTER`] relies on it).
/// Tokens are stamped and checked against `clock`.
pub async fn start(
    config: JwtConfig,
    clock: Arc<dyn Clock>,
    repo: Arc<dyn SigningKeyRepository>,
    secrets: Arc<dyn SecretBox>,
    invalidation: &dyn Invalidation,
    reload_every: Duration,
) -> anyhow::Result<Arc<JwtService>> {
    let mut keys = load_all(repo.as_ref(), secrets.as_ref()).await?;
    if keys.ed25519.is_empty() || keys.rsa.is_empty() {
        // A fresh database, or one from before RS256 keys: both made at one time, as one
        // generation (`rotate`).
        let now = clock.now();
        if keys.ed25519.is_empty() {
            let key = create(repo.as_ref(), secrets.as_ref(), now).await?;
            tracing::info!(kid = key.kid(), "created the first token signing key");
        }
        if keys.rsa.is_empty() {
            let key = create_rsa(repo.as_ref(), secrets.as_ref(), now).await?;
            tracing::info!(kid = key.kid(), "created the first RS256 ID-token key");
        }
        keys = load_all(repo.as_ref(), secrets.as_ref()).await?;
    }
    let now = clock.now();
    let first_due = due(&keys, now);
    let ed25519 = signing_order(keys.ed25519, now);
    let (active, previous) = ed25519
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("no signing key could be loaded"))?;
    let service = Arc::new(JwtService::new(config, clock.clone(), active, previous)?);
    service.replace_rsa_keys(signing_order(keys.rsa, now));
    let wake = Arc::new(Notify::new());
    let waker = Arc::downgrade(&wake);
    // `*` is the bus's "you may have missed messages": re-read then too.
    invalidation.subscribe(Arc::new(move |message: &InvalidationMessage| {
        if message.cache == SIGNING_KEYS || message.cache == "*" {
            if let Some(wake) = waker.upgrade() {
                wake.notify_one();
            }
        }
    }));
    tokio::spawn(reload_forever(
        Arc::downgrade(&service),
        Reload {
            repo,
            secrets,
            clock,
            wake,
            every: reload_every,
        },
        first_due,
    ));
    Ok(service)
}

/// What the reload task reads with, and when it reads unasked.
struct Reload {
    repo: Arc<dyn SigningKeyRepository>,
    secrets: Arc<dyn SecretBox>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    every: Duration,
}

impl Reload {
    /// How long to sleep: until `due` (a key starts signing) or `every`, whichever is sooner.
    fn sleep_for(&self, due: Option<chrono::DateTime<Utc>>) -> Duration {
        due.and_then(|at| (at - self.clock.now()).to_std().ok())
            .map_or(self.every, |until| until.min(self.every))
    }
}

/// When a key of either algorithm is next due to start signing.
fn due(keys: &Keys, now: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
    match (
        next_activation(&keys.ed25519, now),
        next_activation(&keys.rsa, now),
    ) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Applies freshly loaded keys to the service, where they changed.
fn apply(service: &JwtService, keys: Keys, now: chrono::DateTime<Utc>) {
    let ed25519 = signing_order(keys.ed25519, now);
    let kids: Vec<String> = ed25519.iter().map(|k| k.kid().to_owned()).collect();
    if let (Some((active, previous)), true) = (ed25519.split_first(), kids != service.kids()) {
        match service.replace_keys(active, previous) {
            Ok(()) => tracing::info!(active = active.kid(), "signing keys reloaded"),
            Err(e) => tracing::warn!(error = %e, "signing keys could not be applied"),
        }
    }
    let rsa = signing_order(keys.rsa, now);
    let rsa_kids: Vec<String> = rsa.iter().map(|k| k.kid().to_owned()).collect();
    if !rsa.is_empty() && rsa_kids != service.rsa_kids() {
        tracing::info!(active = rsa_kids[0], "RS256 keys reloaded");
        service.replace_rsa_keys(rsa);
    }
}

async fn reload_forever(
    service: std::sync::Weak<JwtService>,
    reload: Reload,
    mut due: Option<chrono::DateTime<Utc>>,
) {
    let Reload {
        repo,
        secrets,
        clock,
        wake,
        ..
    } = &reload;
    loop {
        tokio::select! {
            () = tokio::time::sleep(reload.sleep_for(due)) => {}
            () = wake.notified() => {}
        }
        let Some(service) = service.upgrade() else {
            return;
        };
        let loaded = usvc_logger::caught(
            "signing key reload",
            load_all(repo.as_ref(), secrets.as_ref()),
        )
        .await
        .unwrap_or_else(|panic| Err(anyhow::anyhow!(panic)));
        match loaded {
            Ok(keys) => {
                let now = clock.now();
                due = self::due(&keys, now);
                apply(&service, keys, now);
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "signing keys could not be reloaded");
            }
        }
    }
}

/// What `rotate` did.
#[derive(Debug)]
pub struct Rotation {
    /// The new signing key.
    pub new_kid: String,
    /// Keys retired because every token they signed has expired.
    pub retired: u64,
}

/// Adds a new signing key and tells every replica: each publishes and accepts it at once where
/// the bus reaches it (within [`RELOAD_EVERY`] otherwise), and signs with it from
/// [`ACTIVATE_AFTER`] on (at its next reload after that). Keys superseded
/// longer than a token lifetime (plus leeway) ago are retired; the previous key keeps verifying
/// the tokens it signed until they expire.
pub async fn rotate(
    token_lifetime: Duration,
    clock: &dyn Clock,
    repo: &dyn SigningKeyRepository,
    secrets: &dyn SecretBox,
    invalidation: &dyn Invalidation,
) -> anyhow::Result<Rotation> {
    let before = load(repo, secrets).await?;
    // One generation: both keys made at one time, so retiring what is older than the
    // previous generation (below) never takes its other half.
    let now = clock.now();
    let key = create(repo, secrets, now).await?;
    create_rsa(repo, secrets, now).await?;
    let reload = InvalidationMessage {
        cache: SIGNING_KEYS.to_owned(),
        key: None,
    };
    if let Err(e) = invalidation.publish(reload).await {
        tracing::warn!(error = %e, "replicas were not told; they reload within {} s", RELOAD_EVERY.as_secs());
    }
    let mut retired = 0;
    if let Some(previous) = before.first() {
        // `previous` signed from ACTIVATE_AFTER after it was made: what it superseded stopped
        // signing then, and its last tokens expire a token lifetime later.
        let lifetime = chrono::Duration::from_std(token_lifetime + LEEWAY + ACTIVATE_AFTER)?;
        let now = clock.now();
        // Keys older than `previous` were superseded no later than it was created.
        if previous.created_at() + lifetime <= now {
            retired = repo
                .retire_older(previous.created_at(), previous.kid(), now)
                .await?;
        }
    }
    Ok(Rotation {
        new_kid: key.kid().to_owned(),
        retired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(age_secs: i64, now: chrono::DateTime<Utc>) -> SigningKey {
        SigningKey::generate(now - chrono::Duration::seconds(age_secs)).expect("key")
    }

    fn kids(keys: &[SigningKey]) -> Vec<String> {
        keys.iter().map(|k| k.kid().to_owned()).collect()
    }

    #[test]
    fn the_ring_rereads_when_a_waiting_key_is_due_to_sign_and_not_otherwise() {
        let now = Utc::now();
        let settle = chrono::Duration::from_std(ACTIVATE_AFTER).expect("duration");
        let (fresh, settled) = (key(1, now), key(3600, now));
        assert_eq!(
            next_activation(&[fresh.clone(), settled.clone()], now),
            Some(fresh.created_at() + settle),
            "the new key starts signing then: the ring looks again at that moment"
        );
        assert_eq!(
            next_activation(&[settled], now),
            None,
            "nothing waiting: only the bus or the safety net makes the ring look again"
        );
        assert_eq!(
            next_activation(std::slice::from_ref(&fresh), fresh.created_at() + settle),
            None,
            "a key that has just settled is no longer waited for"
        );
    }

    #[test]
    fn a_new_key_verifies_at_once_but_signs_only_once_every_replica_knows_it() {
        let now = Utc::now();
        let (fresh, settled, old) = (key(1, now), key(3600, now), key(7200, now));
        let newest_first = vec![fresh.clone(), settled.clone(), old.clone()];
        let ring = signing_order(newest_first.clone(), now);
        assert_eq!(
            kids(&ring),
            [settled.kid(), fresh.kid(), old.kid()],
            "the settled key signs; the fresh one is published and verifies"
        );
        let later = now + chrono::Duration::from_std(ACTIVATE_AFTER).expect("duration");
        assert_eq!(
            kids(&signing_order(newest_first, later)),
            [fresh.kid(), settled.kid(), old.kid()],
            "once settled, the new key signs"
        );
        let first = key(0, now);
        assert_eq!(
            kids(&signing_order(vec![first.clone()], now)),
            [first.kid()],
            "a fresh database's only key signs at once"
        );
        let (a, b) = (key(1, now), key(2, now));
        assert_eq!(
            kids(&signing_order(vec![a.clone(), b.clone()], now)),
            [b.kid(), a.kid()],
            "all young: the oldest signs"
        );
    }
}
