//! Client assertions (`private_key_jwt`, RFC 7523): which registered keys can verify one,
//! and what a verified one must say. The signature itself is checked by the `TokenService`
//! adapter; the domain decides what it is checked against and what its claims must be.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use usvc_core::ports::SingleUse;
use usvc_core::{ClientAuthMethod, CoreError, OAuthClient};

use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::errors::OAuthError;
use crate::oauth::provider::{Issuer, OidcProvider};

pub use usvc_core::ASSERTION_ALGORITHMS;

/// The `client_assertion_type` of a JWT assertion (RFC 7523 section 2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How far ahead an assertion may expire, in seconds: a short-lived proof of one request,
/// not a credential to keep (its `jti` is remembered until then).
const LONGEST_LIFETIME: i64 = 600;

/// Clock skew forgiven between the client and the service, in seconds.
const LEEWAY: i64 = 60;

/// The longest assertion read at all (a JWS with an RSA-4096 signature is under 2 KiB).
const LONGEST_ASSERTION: usize = 8 * 1024;

/// Why `key` (a JWK) cannot verify assertions, if it cannot: an RSA key (`n`, `e`), a P-256
/// key (`x`, `y`) or an Ed25519 key (`x`), public parts only.
pub fn usable_key(key: &Value) -> Result<(), String> {
    let text = |name: &str| key.get(name).and_then(Value::as_str);
    if text("d").is_some() {
        return Err("a private key: register only the public part".into());
    }
    let ok = match text("kty") {
        // RSA below 2048 bits is breakable (NIST SP 800-131A): its modulus is 256 bytes or more.
        Some("RSA") => {
            text("n")
                .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
                .is_some_and(|n| n.len() >= 256)
                && text("e").is_some()
        }
        Some("EC") => text("crv") == Some("P-256") && text("x").is_some() && text("y").is_some(),
        Some("OKP") => text("crv") == Some("Ed25519") && text("x").is_some(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(
            "an RSA (n, e; 2048 bits or more), EC P-256 (x, y) or OKP Ed25519 (x) public key"
                .into(),
        )
    }
}

/// Who an assertion says it comes from (`sub`, else `iss`), read *before* its signature is
/// checked: only to find the keys that must verify it, and to audit a refusal in the
/// claimed client's tenant.
pub fn unverified_subject(assertion: &str) -> Option<String> {
    if assertion.len() > LONGEST_ASSERTION {
        return None;
    }
    let payload = assertion.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims
        .get("sub")
        .or_else(|| claims.get("iss"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The audiences an assertion may name at `issuer`: the issuer itself or the endpoint that
/// authenticates clients (RFC 7523 section 3, OpenID Connect Core section 9).
fn audiences(issuer: &str) -> [String; 4] {
    [
        issuer.to_owned(),
        format!("{issuer}/oauth/token"),
        format!("{issuer}/oauth/revoke"),
        format!("{issuer}/oauth/introspect"),
    ]
}

/// Checks a verified assertion's claims (RFC 7523 section 3) for `client_id` at `issuer`
/// at `now` (seconds): its `jti` and `exp`, which the caller spends.
fn check_claims(
    issuer: &str,
    client_id: &str,
    claims: &Value,
    now: i64,
) -> Result<(String, i64), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(OAuthError::invalid_client(
            "the assertion's iss and sub must both be the client_id",
        ));
    }
    let allowed = audiences(issuer);
    let names_us = |aud: &Value| aud.as_str().is_some_and(|a| allowed.iter().any(|x| x == a));
    let aud_ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(names_us),
        Some(one) => names_us(one),
        None => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "the assertion's aud must name this issuer or its token endpoint",
        ));
    }
    let exp = time("exp").ok_or_else(|| OAuthError::invalid_client("the assertion has no exp"))?;
    if exp.saturating_add(LEEWAY) <= now {
        return Err(OAuthError::invalid_client("the assertion has expired"));
    }
    if exp > now.saturating_add(LONGEST_LIFETIME + LEEWAY) {
        return Err(OAuthError::invalid_client(
            "the assertion lives too long: at most 10 minutes",
        ));
    }
    if ["nbf", "iat"]
        .iter()
        .any(|name| time(name).is_some_and(|t| t > now.saturating_add(LEEWAY)))
    {
        return Err(OAuthError::invalid_client("the assertion is not valid yet"));
    }
    let jti = text("jti")
        .filter(|j| (1..=256).contains(&j.len()))
        .ok_or_else(|| {
            OAuthError::invalid_client("the assertion needs a jti (1-256 characters)")
        })?;
    Ok((jti.to_owned(), exp))
}

impl OidcProvider {
    /// The client a `private_key_jwt` assertion proves, if it does: signed by one of its
    /// registered keys with an accepted algorithm, for this issuer, short-lived, and never
    /// seen before (its `jti` is spent here).
    pub(crate) async fn asserted_client(
        &self,
        issuer: &Issuer,
        credentials: &ClientCredentials,
        assertion: &str,
    ) -> Result<OAuthClient, OAuthError> {
        if credentials.assertion_type.as_deref() != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_client(&format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        let subject = unverified_subject(assertion)
            .ok_or_else(|| OAuthError::invalid_client("the assertion names no client (sub)"))?;
        if credentials
            .client_id
            .as_ref()
            .is_some_and(|id| *id != subject)
        {
            return Err(OAuthError::invalid_client(
                "client_id differs from the assertion's subject",
            ));
        }
        let client = self
            .client(issuer, &subject)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        if client.auth_method != ClientAuthMethod::PrivateKeyJwt {
            return Err(OAuthError::invalid_client(&format!(
                "this client authenticates with {}",
                client.auth_method.as_str()
            )));
        }
        let keys = client
            .jwks
            .as_ref()
            .ok_or_else(|| OAuthError::invalid_client("the client has no registered keys"))?;
        let claims = self
            .ports
            .tokens
            .verify_client_assertion(assertion, keys)
            .map_err(|e| match e {
                CoreError::Unauthenticated(reason) => OAuthError::invalid_client(&reason),
                other => other.into(),
            })?;
        let now = self.now();
        let (jti, exp) = check_claims(&issuer.url, &subject, &claims, now.timestamp())?;
        let spent_until = chrono::DateTime::from_timestamp(exp.saturating_add(LEEWAY), 0)
            .ok_or_else(|| OAuthError::invalid_client("the assertion's exp is out of range"))?;
        let hash = self.ports.opaque.hash(&format!("{}.{jti}", client.id));
        if !self
            .ports
            .spent
            .spend(SingleUse::ClientAssertion, hash, spent_until, now)
            .await?
        {
            return Err(OAuthError::invalid_client(
                "this assertion (its jti) was already used",
            ));
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://id.example.com";
    const NOW: i64 = 1_800_000_000;

    fn claims() -> Value {
        json!({"iss": "c1", "sub": "c1", "aud": "https://id.example.com/oauth/token",
               "exp": NOW + 60, "iat": NOW, "jti": "one"})
    }

    fn refused(change: impl FnOnce(&mut Value)) -> String {
        let mut c = claims();
        change(&mut c);
        let e = check_claims(ISSUER, "c1", &c, NOW).unwrap_err();
        assert_eq!(e.error, "invalid_client");
        e.description
    }

    #[test]
    fn a_good_assertion_gives_its_jti_and_expiry() {
        assert_eq!(
            check_claims(ISSUER, "c1", &claims(), NOW).unwrap(),
            ("one".to_owned(), NOW + 60)
        );
        let mut issuer_as_audience = claims();
        issuer_as_audience["aud"] = json!(["https://other.example", ISSUER]);
        assert!(check_claims(ISSUER, "c1", &issuer_as_audience, NOW).is_ok());
    }

    #[test]
    fn each_claim_is_held_to_rfc_7523() {
        assert!(refused(|c| c["iss"] = json!("c2")).contains("iss"));
        assert!(refused(|c| c["sub"] = json!("c2")).contains("sub"));
        assert!(refused(|c| c["aud"] = json!("https://id.example.com/elsewhere")).contains("aud"));
        assert!(refused(|c| c["aud"] = json!("https://evil.example/oauth/token")).contains("aud"));
        assert!(refused(|c| {
            c.as_object_mut().unwrap().remove("aud");
        })
        .contains("aud"));
        assert!(refused(|c| c["exp"] = json!(NOW - LEEWAY)).contains("expired"));
        assert!(refused(|c| c["exp"] = json!(NOW + 3600)).contains("too long"));
        assert!(refused(|c| {
            c.as_object_mut().unwrap().remove("exp");
        })
        .contains("exp"));
        assert!(refused(|c| c["nbf"] = json!(NOW + 300)).contains("not valid yet"));
        assert!(refused(|c| c["iat"] = json!(NOW + 300)).contains("not valid yet"));
        assert!(refused(|c| {
            c.as_object_mut().unwrap().remove("jti");
        })
        .contains("jti"));
        assert!(refused(|c| c["jti"] = json!("x".repeat(257))).contains("jti"));
    }

    #[test]
    fn short_rsa_keys_and_private_parts_are_not_registered() {
        let n = |bytes: usize| URL_SAFE_NO_PAD.encode(vec![0xC5; bytes]);
        assert!(usable_key(&json!({"kty": "RSA", "n": n(256), "e": "AQAB"})).is_ok());
        assert!(usable_key(&json!({"kty": "RSA", "n": n(128), "e": "AQAB"})).is_err());
        assert!(usable_key(&json!({"kty": "OKP", "crv": "Ed25519", "x": "a", "d": "b"})).is_err());
    }

    #[test]
    fn the_subject_is_read_only_from_a_well_formed_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"c1","iss":"c9"}"#);
        assert_eq!(
            unverified_subject(&format!("h.{payload}.s")).as_deref(),
            Some("c1")
        );
        assert_eq!(unverified_subject("not a jwt"), None);
        assert_eq!(
            unverified_subject(&format!("h.{}.s", "A".repeat(10_000))),
            None
        );
    }
}
