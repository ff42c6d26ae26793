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
            // The name is the caller's: only its start goes into the answer and the trail.
            let named: String = other.chars().take(16).collect();
            return Err(refused(format!(
                "client assertions signed with `{named}` are not accepted: use one of {}",
                ASSERTION_ALGORITHMS.join(", ")
            )));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ed25519_dalek::Signer as _;
    use serde_json::json;

    use super::*;
    use crate::jwt::RsaSigningKey;

    /// A compact JWS of fixed claims with `header`, signed by `sign`.
    fn jws(header: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
        let claims = json!({"iss": "c1", "sub": "c1", "jti": "j"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode(sign(input.as_bytes()));
        format!("{input}.{signature}")
    }

    fn ed25519() -> (ed25519_dalek::SigningKey, Value) {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let x = URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        (
            key,
            json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed"}),
        )
    }

    #[test]
    fn each_accepted_algorithm_verifies_with_its_registered_key() {
        let rsa = RsaSigningKey::generate(chrono::Utc::now()).unwrap();
        let p256 = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
        let point = p256.verifying_key().to_encoded_point(false);
        let ec = json!({"kty": "EC", "crv": "P-256", "kid": "ec",
                        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())});
        let (ed, okp) = ed25519();
        let keys = json!({"keys": [rsa.jwk(), ec, okp]});

        let rsa_signed = jws(&json!({"alg": "RS256", "kid": rsa.kid()}), |m| {
            rsa.sign(m).unwrap()
        });
        let p256_signed = jws(&json!({"alg": "ES256"}), |m| {
            let signature: p256::ecdsa::Signature = p256.sign(m);
            signature.to_bytes().to_vec()
        });
        let ed25519_signed = jws(&json!({"alg": "EdDSA", "kid": "ed"}), |m| {
            ed.sign(m).to_bytes().to_vec()
        });
        for assertion in [rsa_signed, p256_signed, ed25519_signed] {
            let claims = verify(&assertion, &keys).expect("verified");
            assert_eq!(claims["sub"], "c1");
        }
    }

    #[test]
    fn none_hmacs_and_other_keys_are_refused() {
        let (ed, okp) = ed25519();
        let keys = json!({"keys": [okp.clone()]});
        let refused = |assertion: &str, why: &str| match verify(assertion, &keys) {
            Err(CoreError::Unauthenticated(reason)) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{why}: {other:?}"),
        };
        refused(&jws(&json!({"alg": "none"}), |_| Vec::new()), "`none`");
        refused(&jws(&json!({"alg": "HS256"}), |_| vec![0; 32]), "`HS256`");
        refused(&jws(&json!({"typ": "JWT"}), |_| Vec::new()), "compact JWS");
        refused("a.b", "compact JWS");
        // The key named by `kid` must sign it; another kid finds no key.
        let signed = |header: Value| jws(&header, |m| ed.sign(m).to_bytes().to_vec());
        refused(&signed(json!({"alg": "EdDSA", "kid": "other"})), "none of");
        // A key registered for encryption, or for another algorithm, is not used.
        for marked in [json!({"use": "enc"}), json!({"alg": "RS256"})] {
            let mut key = okp.clone();
            key.as_object_mut()
                .unwrap()
                .extend(marked.as_object().unwrap().clone());
            let keys = json!({"keys": [key]});
            assert!(verify(&signed(json!({"alg": "EdDSA"})), &keys).is_err());
        }
        // An ES256 header over an Ed25519 key: no key of that type.
        refused(&signed(json!({"alg": "ES256"})), "none of");
        assert!(verify(&signed(json!({"alg": "EdDSA"})), &keys).is_ok());
    }
}
