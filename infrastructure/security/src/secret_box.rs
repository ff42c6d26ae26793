//! AES-256-GCM encryption of secrets at rest.

use std::fmt;
use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use usvc_core::ports::SecretBox;
use usvc_core::CoreError;

/// Format version of sealed values, so the scheme can change without ambiguity.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 256-bit key every secret at rest is encrypted under. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, CoreError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        Ok(Self(key))
    }

    /// A key given as base64 (e.g. from a secret store); it must decode to exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, CoreError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| CoreError::invalid("master_key", "is not base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CoreError::invalid("master_key", "must decode to exactly 32 bytes"))?;
        Ok(Self(key))
    }

    /// The key in `path`, created (owner-only, 0600) with a fresh key if the file does not
    /// exist — the embedded default's zero-setup behaviour.
    pub fn load_or_create(path: &Path) -> Result<Self, CoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate()?;
                write_private(path, STANDARD.encode(key.0).as_bytes())?;
                Ok(key)
            }
            Err(e) => Err(CoreError::Unavailable(format!(
                "cannot read the master key {}: {e}",
                path.display()
            ))),
        }
    }
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), CoreError> {
    let fail = |e: std::io::Error| {
        CoreError::Unavailable(format!(
            "cannot write the master key {}: {e}",
            path.display()
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// `SecretBox` on AES-256-GCM: `version ‖ random 96-bit nonce ‖ ciphertext ‖ tag`, with the
/// caller's context as associated data.
pub struct AesGcmSecretBox {
    cipher: Aes256Gcm,
}

impl AesGcmSecretBox {
    /// A box under `key`.
    pub fn new(key: &MasterKey) -> Self {
        Self {
            cipher: Aes256Gcm::new(&key.0.into()),
        }
    }
}

impl SecretBox for AesGcmSecretBox {
    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| CoreError::Internal("encryption failed".into()))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CoreError> {
        let unreadable = || {
            CoreError::Internal(
                "a secret could not be decrypted (wrong master key or tampered)".into(),
            )
        };
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(unreadable());
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| unreadable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed() -> AesGcmSecretBox {
        AesGcmSecretBox::new(&MasterKey::generate().expect("key"))
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let secrets = boxed();
        let sealed = secrets.seal(b"totp secret", b"totp:user-1").expect("seal");
        assert!(
            !sealed.windows(11).any(|w| w == b"totp secret"),
            "ciphertext hides it"
        );
        assert_eq!(
            secrets.open(&sealed, b"totp:user-1").expect("open"),
            b"totp secret"
        );
        assert!(
            secrets.open(&sealed, b"totp:user-2").is_err(),
            "bound to its context"
        );
        assert!(
            boxed().open(&sealed, b"totp:user-1").is_err(),
            "bound to its key"
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(secrets.open(&tampered, b"totp:user-1").is_err());
        assert!(
            secrets.open(&sealed[..10], b"totp:user-1").is_err(),
            "truncated"
        );
        assert_ne!(
            sealed,
            secrets.seal(b"totp secret", b"totp:user-1").expect("seal"),
            "fresh nonce"
        );
    }

    #[test]
    fn the_master_key_file_is_created_owner_only_and_reloaded() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create(&path).expect("create");
        let again = MasterKey::load_or_create(&path).expect("load");
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(format!("{first:?}"), "MasterKey(***)");
    }

    #[test]
    fn configured_keys_must_be_32_bytes_of_base64() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 32])).is_ok());
    }
}
