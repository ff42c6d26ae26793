//! EdDSA access tokens with a rotating key ring, and ID tokens signed with EdDSA or RS256.

mod client_assertion;
mod rsa_key;
pub use rsa_key::{RsaSigningKey, RSA_BITS};

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ed25519_dalek::Signer as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Header, Validation};
use serde::Serialize;
use serde_json::{json, Value};
use usvc_core::ports::{AccessClaims, Clock, IssuedToken, TokenRequest, TokenService};
use usvc_core::{CoreError, IdTokenAlg};

/// One Ed25519 signing key with its id. `Debug` never shows the private half.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    seed: [u8; 32],
    public: [u8; 32],
    created_at: DateTime<Utc>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key with a fresh id.
    pub fn generate(created_at: DateTime<Utc>) -> Result<Self, CoreError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CoreError::Internal(format!("randomness: {e}")))?;
        Ok(Self::from_seed(
            uuid::Uuid::now_v7().simple().to_string(),
            seed,
            created_at,
        ))
    }

    /// A key restored from storage (the seed decrypted by the `SecretBox`).
    pub fn from_seed(kid: String, seed: [u8; 32], created_at: DateTime<Utc>) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Self {
            kid,
            seed,
            public,
            created_at,
        }
    }

    /// The key id (`kid` header).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private seed, to be sealed before it is stored.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// When the key was made.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The key ready to sign: its public half derived once, here, not per token.
    fn signer(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.seed)
    }

    /// The public key, base64url (the JWK `x`).
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.public)
    }

    fn x(&self) -> String {
        self.public_key()
    }

    fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": self.x(), "kid": self.kid, "use": "sig", "alg": "EdDSA"})
    }
}

/// Issuer, audience and lifetimes of access tokens.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `iss` of issued tokens; the only issuer accepted.
    pub issuer: String,
    /// `aud` of issued tokens; the only audience accepted.
    pub audience: String,
    /// Lifetime (`JWT_EXPIRY`).
    pub ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

struct VerifyingKey {
    kid: String,
    key: DecodingKey,
    jwk: Value,
}

struct Ring {
    active: String,
    signing: ed25519_dalek::SigningKey,
    verifying: Vec<VerifyingKey>,
    /// The RS256 keys (ID tokens only): the signing one first. Empty until loaded.
    rsa: Vec<RsaSigningKey>,
}

/// `TokenService` with a key ring: one active key signs; every key not yet retired verifies,
/// so a rotation never invalidates tokens that are still live.
pub struct JwtService {
    config: JwtConfig,
    clock: Arc<dyn Clock>,
    ring: RwLock<Ring>,
}

fn verifying(key: &SigningKey) -> Result<VerifyingKey, CoreError> {
    Ok(VerifyingKey {
        kid: key.kid.clone(),
        key: DecodingKey::from_ed_components(&key.x())
            .map_err(|e| CoreError::Internal(format!("verifying key: {e}")))?,
        jwk: key.jwk(),
    })
}

impl JwtService {
    /// A service signing with `active` and also verifying with `previous` (keys rotated out
    /// whose tokens may still be live).
    pub fn new(
        config: JwtConfig,
        clock: Arc<dyn Clock>,
        active: &SigningKey,
        previous: &[SigningKey],
    ) -> Result<Self, CoreError> {
        let service = Self {
            config,
            clock,
            ring: RwLock::new(Ring {
                active: active.kid.clone(),
                signing: active.signer(),
                verifying: vec![verifying(active)?],
                rsa: Vec::new(),
            }),
        };
        service.replace_keys(active, previous)?;
        Ok(service)
    }

    /// Makes `key` the signing key; the previous keys keep verifying until retired.
    pub fn rotate(&self, key: &SigningKey) -> Result<(), CoreError> {
        let signing = key.signer();
        let verifier = verifying(key)?;
        let mut ring = self.write();
        ring.verifying.retain(|k| k.kid != key.kid);
        ring.verifying.insert(0, verifier);
        ring.active.clone_from(&key.kid);
        ring.signing = signing;
        Ok(())
    }

    /// Stops accepting tokens signed with `kid` (once every token it signed has expired).
    /// The active key cannot be retired.
    pub fn retire(&self, kid: &str) {
        let mut ring = self.write();
        if ring.active != kid {
            ring.verifying.retain(|k| k.kid != kid);
        }
    }

    /// The id of the key new tokens are signed with.
    pub fn active_kid(&self) -> String {
        self.read().active.clone()
    }

    /// The ids of every verifying key, active first.
    pub fn kids(&self) -> Vec<String> {
        self.read()
            .verifying
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Replaces the whole ring (after reading the stored keys again): `active` signs, it and
    /// `previous` verify, anything else stops verifying.
    pub fn replace_keys(
        &self,
        active: &SigningKey,
        previous: &[SigningKey],
    ) -> Result<(), CoreError> {
        let mut keys = vec![verifying(active)?];
        for key in previous.iter().filter(|k| k.kid != active.kid) {
            keys.push(verifying(key)?);
        }
        let signing = active.signer();
        let mut ring = self.write();
        ring.active.clone_from(&active.kid);
        ring.signing = signing;
        ring.verifying = keys;
        Ok(())
    }

    /// Replaces the RS256 keys: `keys[0]` signs ID tokens asking for RS256, all are published.
    pub fn replace_rsa_keys(&self, keys: Vec<RsaSigningKey>) {
        self.write().rsa = keys;
    }

    /// The ids of the RS256 keys, the signing one first.
    pub fn rsa_kids(&self) -> Vec<String> {
        self.read().rsa.iter().map(|k| k.kid().to_owned()).collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Ring> {
        self.ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn validation(&self) -> Validation {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        // `exp` and `nbf` are checked against the service's clock in `verify`, not against
        // the library's reading of the system time (a test clock, a clock port elsewhere).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation
    }
}

/// A compact JWS (RFC 7515: header, claims and signature, each base64url without padding),
/// as `jsonwebtoken::encode` writes it, signed with a key kept ready: `encode` parses its key
/// from PKCS#8 and derives the public half on every call, an Ed25519 scalar multiplication
/// that cost as much as the signature (every login and refresh signs a token).
fn compact_jws(
    header: &Header,
    claims: &impl Serialize,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, CoreError>,
) -> Result<String, CoreError> {
    let encoding = |e: serde_json::Error| CoreError::Internal(format!("token encoding: {e}"));
    let mut message = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).map_err(encoding)?);
    message.push('.');
    message.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(encoding)?));
    let signature = sign(message.as_bytes())?;
    message.push('.');
    message.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(message)
}

fn ed25519(
    key: &ed25519_dalek::SigningKey,
) -> impl FnOnce(&[u8]) -> Result<Vec<u8>, CoreError> + '_ {
    move |message| Ok(key.sign(message).to_bytes().to_vec())
}

fn unauthenticated(reason: &str) -> CoreError {
    CoreError::Unauthenticated(reason.to_owned())
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not valid yet",
        ErrorKind::InvalidIssuer => "token issuer not accepted",
        ErrorKind::InvalidAudience => "token audience not accepted",
        ErrorKind::InvalidSignature => "token signature invalid",
        ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
        ErrorKind::InvalidAlgorithm => "token algorithm not accepted",
        _ => "token invalid",
    }
}

impl TokenService for JwtService {
    fn issue(&self, request: &TokenRequest) -> Result<IssuedToken, CoreError> {
        let now = self.clock.now();
        let ttl = chrono::Duration::from_std(self.config.ttl)
            .map_err(|e| CoreError::Internal(format!("token lifetime: {e}")))?;
        let expires_at = now + ttl;
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: request.user,
            tid: request.tenant,
            sid: request.session,
            roles: request.roles.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: uuid::Uuid::now_v7().to_string(),
            client_id: request.client_id.map(|c| c.to_string()),
            scope: request.scope.clone(),
        };
        let ring = self.read();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(ring.active.clone());
        let token = compact_jws(&header, &claims, ed25519(&ring.signing))?;
        Ok(IssuedToken {
            token,
            claims,
            expires_at,
        })
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, CoreError> {
        // The header is read before any key is chosen: only EdDSA with a known `kid` goes on,
        // so `none`, HMAC-with-the-public-key and foreign keys never reach a verifier.
        let header = decode_header(token).map_err(|_| unauthenticated("token malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(unauthenticated("token algorithm not accepted"));
        }
        let kid = header
            .kid
            .ok_or_else(|| unauthenticated("token has no key id"))?;
        let ring = self.read();
        let key = ring
            .verifying
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| unauthenticated("token signed by an unknown key"))?;
        let claims = decode::<AccessClaims>(token, &key.key, &self.validation())
            .map(|data| data.claims)
            .map_err(|e| unauthenticated(reason(e.kind())))?;
        let now = self.clock.now().timestamp();
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        if claims.exp < now.saturating_sub(leeway) {
            return Err(unauthenticated(reason(&ErrorKind::ExpiredSignature)));
        }
        if claims.nbf > now.saturating_add(leeway) {
            return Err(unauthenticated(reason(&ErrorKind::ImmatureSignature)));
        }
        Ok(claims)
    }

    fn sign_claims(&self, claims: &Value, alg: IdTokenAlg) -> Result<String, CoreError> {
        let ring = self.read();
        match alg {
            IdTokenAlg::EdDSA => {
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(ring.active.clone());
                compact_jws(&header, claims, ed25519(&ring.signing))
            }
            IdTokenAlg::RS256 => {
                let key = ring
                    .rsa
                    .first()
                    .ok_or_else(|| CoreError::Unavailable("no RS256 key is loaded yet".into()))?
                    .clone();
                drop(ring);
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(key.kid().to_owned());
                compact_jws(&header, claims, |message| key.sign(message))
            }
        }
    }

    fn verify_client_assertion(&self, assertion: &str, keys: &Value) -> Result<Value, CoreError> {
        client_assertion::verify(assertion, keys)
    }

    fn verify_own(&self, token: &str) -> Result<Value, CoreError> {
        let header = decode_header(token).map_err(|_| unauthenticated("token malformed"))?;
        let kid = header
            .kid
            .ok_or_else(|| unauthenticated("token has no key id"))?;
        let key = {
            let ring = self.read();
            match header.alg {
                Algorithm::EdDSA => ring
                    .verifying
                    .iter()
                    .find(|k| k.kid == kid)
                    .map(|k| k.key.clone()),
                Algorithm::RS256 => ring
                    .rsa
                    .iter()
                    .find(|k| k.kid() == kid)
                    .and_then(|k| k.decoding_key().ok()),
                _ => None,
            }
        }
        .ok_or_else(|| unauthenticated("token signed by an unknown key"))?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        decode::<Value>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| unauthenticated(reason(e.kind())))
    }

    fn jwks(&self) -> Value {
        let ring = self.read();
        let mut keys: Vec<Value> = ring.verifying.iter().map(|k| k.jwk.clone()).collect();
        keys.extend(ring.rsa.iter().map(RsaSigningKey::jwk));
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests;
