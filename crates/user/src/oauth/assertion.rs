//! Client assertions (`private_key_jwt`, RFC 7523): which registered keys can verify one.
//! The signature itself is checked by the `TokenService` adapter; the domain decides what
//! it must be checked against.

use serde_json::Value;

/// The assertion algorithms accepted, one per key type: never `none`, never an HMAC (a
/// client's public key is public: anyone could make an HMAC with it).
pub const ASSERTION_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// Why `key` (a JWK) cannot verify assertions, if it cannot: an RSA key (`n`, `e`), a P-256
/// key (`x`, `y`) or an Ed25519 key (`x`), public parts only.
pub fn usable_key(key: &Value) -> Result<(), String> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if text("d").is_some() {
        return Err("a private key: register only the public part".into());
    }
    let ok = match text("kty") {
        Some("RSA") => text("n").is_some() && text("e").is_some(),
        Some("EC") => text("crv") == Some("P-256") && text("x").is_some() && text("y").is_some(),
        Some("OKP") => text("crv") == Some("Ed25519") && text("x").is_some(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("an RSA (n, e), EC P-256 (x, y) or OKP Ed25519 (x) public key".into())
    }
}
