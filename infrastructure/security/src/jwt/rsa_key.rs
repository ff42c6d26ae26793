//! RS256 signing keys, for ID tokens: OpenID Connect's default algorithm, and the only one
//! many clients accept (docs/oidc.md). Access tokens stay EdDSA.
//!
//! A key is made by the `rsa` crate (generation only: it happens once per rotation, on this
//! machine, where nobody times it) and signs through `ring`, whose RSA private-key operation
//! is constant-time (the `rsa` crate's is not: RUSTSEC-2023-0071). Stored as PKCS#8 DER, sealed.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};
use usvc_core::CoreError;

/// RSA modulus size: 2048 bits, what RFC 7518 requires at least and every client verifies.
pub const RSA_BITS: usize = 2048;

/// One RSA signing key with its id. `Debug` never shows the private half.
#[derive(Clone)]
pub struct RsaSigningKey {
    kid: String,
    pkcs8: Arc<Vec<u8>>,
    pair: Arc<RsaKeyPair>,
    created_at: DateTime<Utc>,
}

impl fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

fn internal(what: &str) -> impl Fn(String) -> CoreError + '_ {
    move |e| CoreError::Internal(format!("{what}: {e}"))
}

impl RsaSigningKey {
    /// A fresh random key with a fresh id (tens to hundreds of milliseconds: run it off the
    /// request threads).
    pub fn generate(created_at: DateTime<Utc>) -> Result<Self, CoreError> {
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS)
            .map_err(|e| internal("RSA key generation")(e.to_string()))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|e| internal("RSA key encoding")(e.to_string()))?;
        Self::from_pkcs8(
            uuid::Uuid::now_v7().simple().to_string(),
            der.as_bytes().to_vec(),
            created_at,
        )
    }

    /// A key restored from storage (the PKCS#8 document decrypted by the `SecretBox`).
    pub fn from_pkcs8(
        kid: String,
        pkcs8: Vec<u8>,
        created_at: DateTime<Utc>,
    ) -> Result<Self, CoreError> {
        let pair =
            RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| internal("RSA key")(e.to_string()))?;
        Ok(Self {
            kid,
            pkcs8: Arc::new(pkcs8),
            pair: Arc::new(pair),
            created_at,
        })
    }

    /// The key id (`kid` header).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key as PKCS#8 DER, to be sealed before it is stored.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// When the key was made.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The public key as stored beside the sealed private one: the JWK's `n` and `e`,
    /// base64url, joined by a dot.
    pub fn public_key(&self) -> String {
        let (n, e) = self.components();
        format!("{n}.{e}")
    }

    fn components(&self) -> (String, String) {
        let parts: ring::rsa::PublicKeyComponents<Vec<u8>> = self.pair.public().into();
        (
            URL_SAFE_NO_PAD.encode(parts.n),
            URL_SAFE_NO_PAD.encode(parts.e),
        )
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let (n, e) = self.components();
        json!({"kty": "RSA", "n": n, "e": e, "kid": self.kid, "use": "sig", "alg": "RS256"})
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CoreError> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|e| internal("RSA signature")(e.to_string()))?;
        Ok(signature)
    }

    /// The key as `jsonwebtoken` verifies with (tests, and `id_token_hint`).
    pub fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey, CoreError> {
        let (n, e) = self.components();
        jsonwebtoken::DecodingKey::from_rsa_components(&n, &e)
            .map_err(|e| internal("RSA verifying key")(e.to_string()))
    }
}
