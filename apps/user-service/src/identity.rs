//! Wiring of the identity domain: the password hasher, the auth service and the first-start
//! bootstrap.

use std::sync::Arc;
use std::time::Duration;

use usvc_cache::{CacheRegistry, CacheSpec};
use usvc_config::Config;
use usvc_core::ports::{Clock, OpaqueTokens, PasswordHasher, SystemClock};
use usvc_core::Password;
use usvc_security::{Argon2Hasher, HashParams, JwtService, RandomTokens};
use usvc_user::{AuthPorts, AuthService, Bootstrap, SessionPolicy};

use crate::wiring::Database;

/// A session ends this long after login whatever happens (a tenant setting arrives later).
pub const ABSOLUTE_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// How many password hashes may run at once: all cores but one, so a login flood can never
/// take the last core from the cached hot paths (see docs/benchmarks.md).
pub fn hash_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    cores.saturating_sub(1).max(1)
}

/// argon2id at OWASP parameters, [`hash_concurrency`] at a time, on the current
/// (multi-threaded) runtime's blocking pool.
pub fn hasher() -> anyhow::Result<Arc<dyn PasswordHasher>> {
    Ok(Arc::new(Argon2Hasher::new(
        HashParams::OWASP,
        hash_concurrency(),
        tokio::runtime::Handle::current(),
    )?))
}

/// The auth service over the database, the key ring and the hasher, with its hot-path caches
/// (`jwt-tokens`, and `user-sessions` with `SESSION_TTL`) registered in `caches`.
pub fn auth(
    config: &Config,
    db: &Database,
    tokens: Arc<JwtService>,
    hasher: Arc<dyn PasswordHasher>,
    caches: &CacheRegistry,
) -> Arc<AuthService> {
    Arc::new(AuthService::new(
        AuthPorts {
            tenants: db.tenants.clone(),
            users: db.users.clone(),
            sessions: db.sessions.clone(),
            hasher,
            tokens,
            opaque: Arc::new(RandomTokens),
            clock: Arc::new(SystemClock),
            throttle: db.login_throttle.clone(),
            verified_tokens: caches.create(CacheSpec::JWT_TOKENS),
            live_sessions: caches.create(CacheSpec::USER_SESSIONS.with_ttl(config.session_ttl)),
            profiles: caches.create(CacheSpec::USER_PROFILES.with_capacity(config.cache_size)),
        },
        SessionPolicy {
            idle: config.session_ttl,
            absolute: ABSOLUTE_SESSION_LIFETIME,
        },
    ))
}

/// Creates tenant `default` and its owner on an empty database. A generated password is
/// printed once to stderr (not to the log, which may be shipped elsewhere).
pub async fn bootstrap(
    config: &Config,
    db: &Database,
    hasher: &Arc<dyn PasswordHasher>,
) -> anyhow::Result<()> {
    let opaque: Arc<dyn OpaqueTokens> = Arc::new(RandomTokens);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let outcome = usvc_user::bootstrap(
        &db.tenants,
        &db.users,
        hasher,
        &opaque,
        &clock,
        &config.bootstrap_admin_email,
        config.bootstrap_admin_password.clone().map(Password::new),
    )
    .await?;
    if let Bootstrap::Created {
        email,
        generated_password,
    } = outcome
    {
        tracing::info!(email = %email, "created tenant `default` and its owner");
        if let Some(password) = generated_password {
            eprintln!(
                "user-service: created tenant `default` with owner {email} and password {} \
                 (shown only now; set BOOTSTRAP_ADMIN_PASSWORD to choose it)",
                password.expose()
            );
        }
    }
    Ok(())
}
