//! Random opaque tokens, stored only as SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use usvc_core::ports::{OpaqueToken, OpaqueTokens};
use usvc_core::CoreError;

/// `OpaqueTokens` from the operating system's randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomTokens;

impl OpaqueTokens for RandomTokens {
    fn generate(&self) -> Result<OpaqueToken, CoreError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = self.hash(&token);
        Ok(OpaqueToken { token, hash })
    }

    fn hash(&self, token: &str) -> String {
        use std::fmt::Write as _;
        let digest = Sha256::digest(token.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_hash_stably() {
        let a = RandomTokens.generate().expect("token");
        let b = RandomTokens.generate().expect("token");
        assert_ne!(a.token, b.token);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a.token).map(|v| v.len()).ok(),
            Some(32)
        );
        assert_eq!(RandomTokens.hash(&a.token), a.hash);
        assert_eq!(a.hash.len(), 64);
        assert_eq!(
            RandomTokens.hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
