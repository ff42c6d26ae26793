use async_trait::async_trait;

use crate::{CoreError, Password};

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    /// Whether the password is the one the hash was made from.
    pub matches: bool,
    /// The hash uses weaker parameters (or another algorithm, e.g. imported bcrypt) than the
    /// current policy: re-hash the password now that it is known to be right.
    pub needs_rehash: bool,
}

/// Slow, salted password hashing (argon2id), run off the request threads.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash (PHC string format) of `password`.
    async fn hash(&self, password: &Password) -> Result<String, CoreError>;

    /// Checks `password` against `hash`. A malformed hash is `Internal`, never a match.
    async fn verify(&self, password: &Password, hash: &str) -> Result<PasswordCheck, CoreError>;

    /// Whether [`PasswordHasher::verify`] can check this stored hash: the import accepts
    /// argon2 (PHC strings) and bcrypt (`$2b$…`) hashes from other systems.
    fn accepts_hash(&self, hash: &str) -> bool;

    /// Costs what [`PasswordHasher::verify`] costs and never matches: run it for unknown
    /// accounts so their login takes as long as a wrong password for a real one.
    async fn verify_dummy(&self, password: &Password) -> Result<(), CoreError>;
}
