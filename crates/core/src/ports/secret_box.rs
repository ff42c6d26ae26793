use crate::CoreError;

/// Authenticated encryption of secrets at rest (signing keys, TOTP secrets) under the
/// service's master key.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SecretBox: Send + Sync {
    /// Encrypts `plaintext`, binding it to `context` (e.g. `jwt-key:<kid>`) so a sealed value
    /// copied into another row does not open there.
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CoreError>;

    /// Decrypts what [`SecretBox::seal`] produced with the same `context`; anything else —
    /// tampered, truncated, another key or context — is an error.
    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CoreError>;
}
