//! Client assertions (`private_key_jwt`, RFC 7523): a JWT a client signed with one of the
//! public keys it registered. Only the signature is checked here; what the claims must say
//! (issuer, audience, expiry, single use) is the domain's (`usvc_user::oauth::assertion`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use usvc_core::{CoreError, ASSERTION_ALGORITHMS};

fn refused(reason: String) -> CoreError {
    CoreError::Unauthenticated(reason)
}

/// The header's `alg` and `kid`, read as plain JSON before anything else: `none` and the
/// HMACs are refused by name (an HMAC "signed" with a public key proves nothing), and no
/// key is chosen for them.
fn header(assertion: &str) -> Result<(String, Option<String>), CoreError> {
    let malformed = || refused("the client assertion is not a compact JWS".into());
    let first = assertion.split('.').next().ok_or_else(malformed)?;
    let bytes = URL_SAFE_NO_PAD.decode(first).map_err(|_| malformed())?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(malformed)?
        .to_owned();
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    Ok((alg, kid))
}

/// The key type (and curve) each accepted algorithm needs.
fn fits(alg: Algorithm, key: &Value) -> bool {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    match alg {
        Algorithm::RS256 => text("kty") == Some("RSA"),
        Algorithm::ES256 => text("kty") == Some("EC") && text("crv") == Some("P-256"),
        Algorithm::EdDSA => text("kty") == Some("OKP") && text("crv") == Some("Ed25519"),
        _ => false,
    }
}

/// The claims of `assertion` if one of `keys` (a JWK Set) signed it with an accepted
/// algorithm: its `kid` if it names one, else every key of the algorithm's type is tried.
/// A key marked for another use or algorithm is not used. `Unauthenticated` with the reason.
pub(crate) fn verify(assertion: &str, keys: &Value) -> Result<Value, CoreError> {
    let (alg, kid) = header(assertion)?;
    let algorithm = match alg.as_str() {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        other => {
            return Err(refused(format!(
                "client assertions signed with `{other}` are not accepted: use one of {}",
                ASSERTION_ALGORITHMS.join(", ")
            )))
        }
    };
    let mut validation = Validation::new(algorithm);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let candidates = keys
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|key| fits(algorithm, key))
        .filter(|key| key.get("use").is_none_or(|u| u == "sig"))
        .filter(|key| key.get("alg").is_none_or(|a| a == alg.as_str()))
        .filter(|key| {
            kid.as_deref()
                .is_none_or(|kid| key.get("kid").and_then(Value::as_str) == Some(kid))
        });
    for key in candidates {
        let Some(key) = serde_json::from_value::<Jwk>(key.clone())
            .ok()
            .and_then(|jwk| DecodingKey::from_jwk(&jwk).ok())
        else {
            continue;
        };
        if let Ok(data) = decode::<Value>(assertion, &key, &validation) {
            return Ok(data.claims);
        }
    }
    Err(refused(
        "the client assertion's signature matches none of the client's registered keys".into(),
    ))
}
