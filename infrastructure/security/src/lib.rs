//! `usvc-security`: the security adapters.
//!
//! - [`Argon2Hasher`] — `PasswordHasher`: argon2id at OWASP parameters (m = 19456 KiB, t = 2,
//!   p = 1) on the blocking pool, at most one hash per core at a time, never on a request thread;
//!   a dummy verification for unknown accounts; weaker hashes flagged for re-hashing.
//! - [`AesGcmSecretBox`] and [`MasterKey`] — `SecretBox`: AES-256-GCM with a context bound as
//!   associated data, under a master key from configuration or a 0600 file.
//! - [`JwtService`] and [`SigningKey`] — `TokenService`: EdDSA (Ed25519) access tokens with a
//!   `kid`, verification pinned to EdDSA, issuer, audience, `exp` and `nbf`, a key ring that
//!   rotates without invalidating live tokens, and the JWKS that publishes it; ID tokens signed
//!   with EdDSA or RS256 ([`RsaSigningKey`]: made by `rsa`, signing through `ring`).
//! - [`key_ring`] — the ring's life over the `SigningKeyRepository` and `SecretBox` ports:
//!   first key on a fresh store, reload when the invalidation bus says a key was added,
//!   rotation, a new key verifying before it signs.
//!
//! Keeping these here is what lets the domain crates stay free of argon2 and jsonwebtoken.

mod fair_slots;
mod jwt;
pub mod key_ring;
mod opaque;
mod password;
mod secret_box;
mod totp;
mod webauthn;

pub use jwt::{JwtConfig, JwtService, RsaSigningKey, SigningKey, RSA_BITS};
pub use opaque::RandomTokens;
pub use password::{Argon2Hasher, HashParams};
pub use secret_box::{AesGcmSecretBox, MasterKey};
pub use totp::Totp;
pub use webauthn::WebAuthnRp;
