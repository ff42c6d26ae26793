//! Programs that use user-service's domain crates without its HTTP app: each example wires a
//! domain's ports to adapters itself, runs it, and is run by `cargo test --workspace` (see
//! docs/reuse.md for which crates and ports a program needs).
//!
//! This library holds the two things every example needs first: a migrated store, and a person
//! of a tenant to act as (every use case takes the `Principal` it acts for).

use std::sync::Arc;

use usvc_core::ports::SystemClock;
use usvc_core::{CoreError, Origin, Password, Principal, SessionId};
use usvc_security::{Argon2Hasher, HashParams, RandomTokens};
use usvc_sqlite::{SqliteStore as Store, StoreOptions};
use usvc_user::BootstrapPorts;

/// The SQLite store at `url` (`sqlite::memory:` for one that lives as long as the program,
/// `sqlite://FILE` for a file), migrated. Needs a multi-threaded tokio runtime: queries run on
/// it, never on the caller's thread.
pub async fn sqlite(url: &str) -> Result<Arc<Store>, CoreError> {
    let store = usvc_sqlite::open(
        url,
        StoreOptions::default(),
        tokio::runtime::Handle::current(),
    )
    .await?;
    usvc_sqlite::migrate(&store).await?;
    Ok(Arc::new(store))
}

/// The owner of tenant `slug` (created with the tenant when it does not exist), as the
/// principal the use cases act for. The password is hashed with argon2id, as the service does.
pub async fn owner(store: &Arc<Store>, slug: &str, email: &str) -> Result<Principal, CoreError> {
    let ports = BootstrapPorts {
        tenants: store.clone(),
        users: store.clone(),
        hasher: Arc::new(Argon2Hasher::new(
            HashParams::OWASP,
            1,
            tokio::runtime::Handle::current(),
        )?),
        opaque: Arc::new(RandomTokens),
        clock: Arc::new(SystemClock),
        platform: store.clone(),
    };
    let made = usvc_user::provision(
        &ports,
        slug,
        email,
        "owner",
        Some(Password::new("correct horse battery staple".to_owned())),
    )
    .await?;
    Ok(Principal {
        user: made.user.id,
        tenant: made.user.tenant_id,
        session: SessionId::new(),
        roles: made.user.roles,
        origin: Origin::default(),
    })
}
