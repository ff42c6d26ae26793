use async_trait::async_trait;

use crate::{CoreError, Password, TenantId};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    /// Whether the password is the one the hash was made from.
    pub matches: bool,
    /// The hash uses weaker parameters (or another algorithm, e.g. imported bcrypt) than the
    /// current policy: re-hash the password now that it is known to be right.
    pub needs_rehash: bool,
}

/// Whose request a hash is for. The hashing pool (a few slots, shared by every tenant) serves
/// lanes in turn, so one tenant's login or import flood cannot hold another tenant's logins
/// behind it; requests naming no existing tenant share one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashLane {
    /// A tenant's users.
    Tenant(TenantId),
    /// Logins to a tenant that does not exist (or is not active).
    Unknown,
}

/// Slow, salted password hashing (argon2id), run off the request threads.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash (PHC string format) of `password`, in `lane`'s turn.
    async fn hash(&self, lane: HashLane, password: &Password) -> Result<String, CoreError>;

    /// Checks `password` against `hash`, in `lane`'s turn. A malformed hash is `Internal`,
    /// never a match. A lane with too many requests waiting is `RateLimited`.
    async fn verify(
        &self,
        lane: HashLane,
        password: &Password,
        hash: &str,
    ) -> Result<PasswordCheck, CoreError>;

    /// Whether [`PasswordHasher::verify`] can check this stored hash: the import accepts
    /// argon2 (PHC strings) and bcrypt (`$2b$…`) hashes from other systems.
    fn accepts_hash(&self, hash: &str) -> bool;

    /// Costs what [`PasswordHasher::verify`] costs and never matches: run it for unknown
    /// accounts so their login takes as long as a wrong password for a real one.
    async fn verify_dummy(&self, lane: HashLane, password: &Password) -> Result<(), CoreError>;
}
