//! The rejection matrix of the identity issue: every token a client must not get through with.

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{encode, EncodingKey};
use usvc_core::ports::SystemClock;
use usvc_core::{SessionId, TenantId, UserId};

use super::*;

/// `key` as `jsonwebtoken` takes it (PKCS#8), for tokens built the library's way.
fn library_key(key: &SigningKey) -> EncodingKey {
    EncodingKey::from_ed_der(key.signer().to_pkcs8_der().expect("der").as_bytes())
}

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn config() -> JwtConfig {
    JwtConfig {
        issuer: "https://users.example.test".into(),
        audience: "user-service".into(),
        ttl: Duration::from_secs(900),
        leeway: Duration::from_secs(5),
    }
}

fn service_with(clock: Arc<dyn Clock>, config: JwtConfig) -> (JwtService, SigningKey) {
    let key = SigningKey::generate(Utc::now()).expect("key");
    (
        JwtService::new(config, clock, &key, &[]).expect("service"),
        key,
    )
}

fn service() -> (JwtService, SigningKey) {
    service_with(Arc::new(SystemClock), config())
}

fn request() -> TokenRequest {
    TokenRequest {
        user: UserId::new(),
        tenant: TenantId::new(),
        session: SessionId::new(),
        roles: vec!["member".into()],
        client_id: None,
        scope: None,
    }
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn payload_of(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

fn assert_rejected(service: &JwtService, token: &str, why: &str) {
    match service.verify(token) {
        Err(CoreError::Unauthenticated(reason)) => assert_eq!(reason, why),
        other => panic!("expected rejection ({why}), got {other:?}"),
    }
}

#[test]
fn an_issued_token_verifies_and_carries_the_design_claims() {
    let (service, key) = service();
    let req = request();
    let issued = service.issue(&req).expect("issue");
    let header = decode_header(&issued.token).expect("header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(key.kid()));
    let claims = service.verify(&issued.token).expect("verify");
    assert_eq!(claims, issued.claims);
    assert_eq!(
        (claims.sub, claims.tid, claims.sid),
        (req.user, req.tenant, req.session)
    );
    assert_eq!(claims.exp - claims.iat, 900);
    let payload = payload_of(&issued.token);
    for claim in [
        "iss", "aud", "sub", "tid", "sid", "roles", "iat", "nbf", "exp", "jti",
    ] {
        assert!(payload.get(claim).is_some(), "missing {claim}");
    }
}

#[test]
fn expired_tokens_are_rejected() {
    let past = Utc::now() - chrono::Duration::hours(2);
    let (issuer, key) = service_with(Arc::new(FixedClock(past)), config());
    let token = issuer.issue(&request()).expect("issue").token;
    let verifier = JwtService::new(config(), Arc::new(SystemClock), &key, &[]).expect("service");
    assert_rejected(&verifier, &token, "token expired");
}

#[test]
fn tokens_not_yet_valid_are_rejected() {
    let future = Utc::now() + chrono::Duration::hours(1);
    let (issuer, key) = service_with(Arc::new(FixedClock(future)), config());
    let token = issuer.issue(&request()).expect("issue").token;
    let verifier = JwtService::new(config(), Arc::new(SystemClock), &key, &[]).expect("service");
    assert_rejected(&verifier, &token, "token not valid yet");
}

#[test]
fn the_service_s_clock_decides_expiry_not_the_machine_s() {
    let later = Utc::now() + chrono::Duration::days(400);
    let (service, key) = service_with(Arc::new(FixedClock(later)), config());
    let token = service.issue(&request()).expect("issue").token;
    assert!(
        service.verify(&token).is_ok(),
        "valid on the clock that issued it"
    );
    // Within the leeway of the end of its life, then past it, by the verifier's clock.
    let edge = later + chrono::Duration::seconds(900 + 4);
    let at_edge = JwtService::new(config(), Arc::new(FixedClock(edge)), &key, &[]).expect("svc");
    assert!(at_edge.verify(&token).is_ok(), "within the leeway");
    let after = later + chrono::Duration::seconds(900 + 6);
    let expired = JwtService::new(config(), Arc::new(FixedClock(after)), &key, &[]).expect("svc");
    assert_rejected(&expired, &token, "token expired");
}

#[test]
fn a_token_signed_by_another_key_under_our_kid_is_rejected() {
    let (service, key) = service();
    let impostor_key = SigningKey::from_seed(key.kid().to_owned(), [7u8; 32], Utc::now());
    let impostor =
        JwtService::new(config(), Arc::new(SystemClock), &impostor_key, &[]).expect("svc");
    let forged = impostor.issue(&request()).expect("issue").token;
    assert_rejected(&service, &forged, "token signature invalid");
}

#[test]
fn a_tampered_payload_is_rejected() {
    let (service, _) = service();
    let token = service.issue(&request()).expect("issue").token;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = payload_of(&token);
    payload["roles"] = json!(["owner"]);
    parts[1] = b64(&payload);
    assert_rejected(&service, &parts.join("."), "token signature invalid");
}

#[test]
fn alg_none_is_rejected() {
    let (service, key) = service();
    let token = service.issue(&request()).expect("issue").token;
    let header = json!({"alg": "none", "typ": "JWT", "kid": key.kid()});
    let unsigned = format!(
        "{}.{}.",
        b64(&header),
        token.split('.').nth(1).expect("payload")
    );
    assert_rejected(&service, &unsigned, "token malformed");
}

#[test]
fn hs256_signed_with_the_public_key_is_rejected() {
    let (service, key) = service();
    let claims = service.issue(&request()).expect("issue").claims;
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid().to_owned());
    // The classic confusion attack: the published public key used as an HMAC secret.
    let forged = encode(&header, &claims, &EncodingKey::from_secret(&key.public)).expect("forge");
    assert_rejected(&service, &forged, "token algorithm not accepted");
    let x_as_secret = EncodingKey::from_secret(key.x().as_bytes());
    let forged = encode(&header, &claims, &x_as_secret).expect("forge");
    assert_rejected(&service, &forged, "token algorithm not accepted");
}

#[test]
fn unknown_or_missing_key_ids_are_rejected() {
    let (service, _) = service();
    let (stranger, _) = service_with(Arc::new(SystemClock), config());
    let foreign = stranger.issue(&request()).expect("issue").token;
    assert_rejected(&service, &foreign, "token signed by an unknown key");
    let claims = service.issue(&request()).expect("issue").claims;
    let no_kid = encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &library_key(&SigningKey::generate(Utc::now()).expect("key")),
    )
    .expect("encode");
    assert_rejected(&service, &no_kid, "token has no key id");
}

#[test]
fn other_issuers_and_audiences_are_rejected() {
    let key = SigningKey::generate(Utc::now()).expect("key");
    let ours = JwtService::new(config(), Arc::new(SystemClock), &key, &[]).expect("svc");
    let other_iss = JwtConfig {
        issuer: "https://evil.example.test".into(),
        ..config()
    };
    let token = JwtService::new(other_iss, Arc::new(SystemClock), &key, &[])
        .expect("svc")
        .issue(&request())
        .expect("issue")
        .token;
    assert_rejected(&ours, &token, "token issuer not accepted");
    let other_aud = JwtConfig {
        audience: "billing".into(),
        ..config()
    };
    let token = JwtService::new(other_aud, Arc::new(SystemClock), &key, &[])
        .expect("svc")
        .issue(&request())
        .expect("issue")
        .token;
    assert_rejected(&ours, &token, "token audience not accepted");
}

#[test]
fn garbage_is_rejected_without_panicking() {
    let (service, _) = service();
    for token in [
        "",
        "a.b",
        "a.b.c",
        "....",
        "eyJhbGciOiJFZERTQSJ9.e30.",
        "\u{0}\u{ff}",
    ] {
        assert!(
            matches!(service.verify(token), Err(CoreError::Unauthenticated(_))),
            "{token:?}"
        );
    }
}

#[test]
fn rotation_keeps_live_tokens_valid_until_the_old_key_is_retired() {
    let (service, old) = service();
    let before = service.issue(&request()).expect("issue").token;
    let new = SigningKey::generate(Utc::now()).expect("key");
    service.rotate(&new).expect("rotate");
    assert_eq!(service.active_kid(), new.kid());
    let after = service.issue(&request()).expect("issue").token;
    assert_eq!(
        decode_header(&after).expect("header").kid.as_deref(),
        Some(new.kid())
    );
    assert!(
        service.verify(&before).is_ok(),
        "tokens of the previous key stay valid"
    );
    assert!(service.verify(&after).is_ok());
    let kids: Vec<String> = service.jwks()["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kids, [new.kid(), old.kid()]);
    service.retire(old.kid());
    assert_rejected(&service, &before, "token signed by an unknown key");
    service.retire(new.kid());
    assert!(
        service.verify(&after).is_ok(),
        "the active key cannot be retired"
    );
}

#[test]
fn other_services_verify_with_nothing_but_the_jwks() {
    let (service, _) = service();
    let token = service.issue(&request()).expect("issue").token;
    let jwks = service.jwks();
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["crv"].as_str(),
            jwk["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().expect("x")).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["user-service"]);
    assert!(decode::<Value>(&token, &key, &validation).is_ok());
}

mod properties {
    //! Generated tokens: whatever a client sends, verification answers "unauthenticated" and
    //! never panics, and no change to a real token yields other claims.

    use proptest::prelude::*;

    use super::*;

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_-]{0,120}",
            ".{0,60}",
            prop::collection::vec(any::<u8>(), 0..120).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
            "[ -~]{0,40}".prop_map(|s| URL_SAFE_NO_PAD.encode(s)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn any_text_is_refused_as_unauthenticated(
            parts in prop::collection::vec(segment(), 0..5),
            raw in ".{0,300}",
        ) {
            let (service, _) = service();
            for token in [parts.join("."), raw] {
                prop_assert!(
                    matches!(service.verify(&token), Err(CoreError::Unauthenticated(_))),
                    "{}", token
                );
            }
        }

        #[test]
        fn a_changed_token_is_refused_or_means_the_same(
            at in any::<prop::sample::Index>(),
            with in "[A-Za-z0-9_.=+/-]",
        ) {
            let (service, _) = service();
            let token = service.issue(&request()).expect("token").token;
            let i = at.index(token.len());
            let mut changed = token.clone();
            changed.replace_range(i..=i, &with);
            let original = service.verify(&token).expect("the real one verifies");
            match service.verify(&changed) {
                Err(CoreError::Unauthenticated(_)) => {}
                Ok(claims) => prop_assert_eq!(
                    format!("{claims:?}"), format!("{original:?}"),
                    "a changed token may only mean the same"
                ),
                Err(other) => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn claims_of_ones_choosing_under_a_real_signature_are_refused(
            claims in prop::collection::btree_map(
                prop::sample::select(vec!["sub", "tid", "sid", "roles", "iss", "aud", "exp", "nbf", "iat", "jti"]),
                prop_oneof![
                    any::<i64>().prop_map(Value::from),
                    ".{0,20}".prop_map(Value::from),
                    Just(json!(["owner", "admin"])),
                ],
                0..10,
            ),
        ) {
            let (service, _) = service();
            let token = service.issue(&request()).expect("token").token;
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = b64(&Value::Object(claims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
            parts[1] = &forged;
            prop_assert!(matches!(
                service.verify(&parts.join(".")),
                Err(CoreError::Unauthenticated(_))
            ));
        }
    }
}

#[test]
fn a_token_is_signed_byte_for_byte_as_the_library_signs_it() {
    // Ed25519 signatures are deterministic: the token signed with the key kept ready is the
    // very token `jsonwebtoken::encode` writes from the key's PKCS#8 form.
    let key = SigningKey::generate(Utc::now()).expect("key");
    let service = JwtService::new(config(), Arc::new(SystemClock), &key, &[]).expect("svc");
    let issued = service.issue(&request()).expect("issue");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_owned());
    let library = encode(&header, &issued.claims, &library_key(&key)).expect("encode");
    assert_eq!(issued.token, library);
    assert_eq!(
        service.verify(&issued.token).expect("verify"),
        issued.claims
    );
}

/// An ID token as any client verifies it: the key found in the JWKS by `kid`, the algorithm
/// pinned, the audience the client's id.
fn verified_by_a_client(service: &JwtService, token: &str, alg: Algorithm) -> Value {
    let header = decode_header(token).expect("header");
    assert_eq!(header.alg, alg);
    let kid = header.kid.expect("kid");
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(service.jwks()).expect("a JWK Set clients can read");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = Validation::new(alg);
    validation.set_audience(&["client-1"]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    decode::<Value>(
        token,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("verifies")
    .claims
}

#[test]
fn id_tokens_are_signed_with_rs256_or_eddsa_and_verify_with_the_published_keys() {
    let (service, _) = service();
    let claims = json!({"iss": "https://op.example", "aud": "client-1", "sub": "u",
        "exp": Utc::now().timestamp() + 60, "nonce": "n-1"});
    assert!(
        matches!(
            service.sign_claims(&claims, IdTokenAlg::RS256),
            Err(CoreError::Unavailable(_))
        ),
        "no RS256 key loaded: refused, not signed with something else"
    );
    let rsa = RsaSigningKey::generate(Utc::now()).expect("RSA key");
    service.replace_rsa_keys(vec![rsa.clone()]);
    let rs256 = service
        .sign_claims(&claims, IdTokenAlg::RS256)
        .expect("signed");
    assert_eq!(
        verified_by_a_client(&service, &rs256, Algorithm::RS256),
        claims
    );
    let eddsa = service
        .sign_claims(&claims, IdTokenAlg::EdDSA)
        .expect("signed");
    assert_eq!(
        verified_by_a_client(&service, &eddsa, Algorithm::EdDSA),
        claims
    );

    // A key restored from its PKCS#8 form is the same key.
    let restored =
        RsaSigningKey::from_pkcs8(rsa.kid().to_owned(), rsa.pkcs8().to_vec(), rsa.created_at())
            .expect("restored");
    assert_eq!(restored.jwk(), rsa.jwk());
    let n = rsa.jwk()["n"].as_str().expect("n").len();
    assert_eq!(n, 342, "a 2048-bit modulus, base64url");
    // An ID token is never an access token: RS256 is refused by `verify` whatever it says.
    assert!(service.verify(&rs256).is_err());
}
