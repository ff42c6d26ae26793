/// A random opaque token (refresh, password reset) and the only form that is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpaqueToken {
    /// Given to the client once; never stored or logged.
    pub token: String,
    /// SHA-256 of the token, hex: what the database keeps.
    pub hash: String,
}

/// Makes and hashes opaque tokens (256 random bits, base64url).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait OpaqueTokens: Send + Sync {
    /// A new token and its hash (`Internal` if the system's randomness is unavailable).
    fn generate(&self) -> Result<OpaqueToken, crate::CoreError>;

    /// The hash a presented token is looked up by.
    fn hash(&self, token: &str) -> String;
}
