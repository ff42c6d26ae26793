//! The OpenID provider driven by a client library nobody here wrote (`openidconnect`):
//! discovery, the authorization code flow with PKCE through the hosted sign-in page, ID
//! tokens verified with RS256 and EdDSA, `userinfo`, refresh with rotation and reuse
//! detection; and the attacks a provider must refuse (docs/oidc.md).

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::reqwest::blocking::{Client, Response};
use openidconnect::reqwest::header;
use openidconnect::reqwest::redirect::Policy;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use serde_json::{json, Value};

use crate::service::Service;

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "a long and unusual passphrase";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// A port free right now, for a service whose `PUBLIC_URL` must name its own address.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Provider {
    _dir: tempfile::TempDir,
    service: Service,
    url: String,
    admin: String,
    /// A client trusting the service's self-signed certificate (OAuth wants TLS: the
    /// library refuses a revocation endpoint over plain HTTP).
    http: Client,
}

/// The service over HTTPS (a self-signed certificate for `localhost`), its `PUBLIC_URL`
/// its own address, with an owner to administer it.
fn provider() -> Provider {
    let dir = tempfile::tempdir().expect("temp dir");
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    let port = free_port().to_string();
    let url = format!("https://localhost:{port}");
    let service = Service::start(
        dir.path(),
        &[
            ("PORT", &port),
            ("PUBLIC_URL", &url),
            ("TLS_CERT", &cert.to_string_lossy()),
            ("TLS_KEY", &key.to_string_lossy()),
            ("BOOTSTRAP_ADMIN_EMAIL", EMAIL),
            ("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD),
            ("AUTH_RATE_LIMIT", "0"),
        ],
    );
    let http = Client::builder()
        .redirect(Policy::none())
        .add_root_certificate(
            openidconnect::reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).expect("pem"),
        )
        .build()
        .expect("http client");
    let login: Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(json!({"email": EMAIL, "password": PASSWORD}).to_string())
        .send()
        .and_then(Response::text)
        .map(|t| serde_json::from_str(&t).expect("json"))
        .expect("owner login");
    let admin = login["access_token"].as_str().expect("token").to_owned();
    Provider {
        _dir: dir,
        service,
        url,
        admin,
        http,
    }
}

impl Provider {
    /// `method path` with a JSON `body` as the bearer of `token` → (status, parsed body).
    fn api(&self, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let method = openidconnect::reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let res = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .expect("request");
        let status = res.status().as_u16();
        (
            status,
            serde_json::from_str(&res.text().unwrap_or_default()).unwrap_or(Value::Null),
        )
    }

    /// Registers a client with one API call; its id and secret (if it has one).
    fn register(&self, definition: &Value) -> (String, Option<String>) {
        let res = self
            .http
            .post(format!("{}/api/v1/oauth/clients", self.url))
            .bearer_auth(&self.admin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(definition.to_string())
            .send()
            .expect("register");
        assert_eq!(res.status().as_u16(), 201);
        let client: Value = serde_json::from_str(&res.text().expect("body")).expect("json");
        (
            client["client_id"].as_str().expect("id").to_owned(),
            client["client_secret"].as_str().map(str::to_owned),
        )
    }

    /// `GET path` as the owner → (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.admin)
            .send()
            .expect("GET");
        (res.status().as_u16(), res.text().unwrap_or_default())
    }
}

/// A browser enough for the hosted pages: it keeps cookies and follows nothing by itself.
struct Browser {
    http: Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new(p: &Provider) -> Self {
        Self {
            http: p.http.clone(),
            cookies: HashMap::new(),
        }
    }

    fn keep(&mut self, res: &Response) {
        for value in res.headers().get_all(header::SET_COOKIE) {
            let pair = value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if res.headers().get_all(header::SET_COOKIE).iter().any(|c| {
                    c.to_str().unwrap_or_default().contains("Max-Age=0")
                        && c.to_str().unwrap_or_default().starts_with(k)
                }) {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GET `url` → (status, Location, body).
    fn get(&mut self, url: &str) -> (u16, Option<String>, String) {
        let res = self
            .http
            .get(url)
            .header(header::COOKIE, self.cookie_header())
            .send()
            .expect("GET");
        self.answer(res)
    }

    /// POST a form to `path` of `base` → (status, Location, body).
    fn post(
        &mut self,
        base: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let res = self
            .http
            .post(format!("{base}{path}"))
            .header(header::COOKIE, self.cookie_header())
            .form(form)
            .send()
            .expect("POST");
        self.answer(res)
    }

    fn answer(&mut self, res: Response) -> (u16, Option<String>, String) {
        self.keep(&res);
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, location, res.text().unwrap_or_default())
    }
}

/// The value of the hidden field `name` on a page.
fn field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} on: {page}"))
        + marker.len();
    page[start..].split('"').next().expect("value").to_owned()
}

/// The value of the first attribute `name` on a page, as written (escaped).
fn attribute(page: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} on: {page}"))
        + marker.len();
    page[start..].split('"').next().expect("value").to_owned()
}

/// HTML-escaped text as the browser reads it.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query parameter `name` of `url`.
fn param(url: &str, name: &str) -> Option<String> {
    let parsed = openidconnect::url::Url::parse(url).expect("url");
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signs in on the hosted page the authorization URL leads to; where the browser is sent.
fn sign_in(
    browser: &mut Browser,
    base: &str,
    auth_url: &str,
    password: &str,
) -> (u16, Option<String>, String) {
    let (status, _, page) = browser.get(auth_url);
    assert_eq!(status, 200, "the sign-in page: {page}");
    assert!(page.contains("<form") && page.contains("autocomplete=\"current-password\""));
    let (req, csrf) = (field(&page, "req"), field(&page, "csrf"));
    browser.post(
        base,
        "/oauth/login",
        &[
            ("req", &req),
            ("csrf", &csrf),
            ("email", EMAIL),
            ("password", password),
        ],
    )
}

#[test]
fn a_standard_client_signs_in_with_pkce_and_verifies_rs256_and_eddsa_id_tokens() {
    let p = provider();
    let http = p.http.clone();
    let (client_id, secret) = p.register(&json!({
        "name": "Grafana",
        "redirect_uris": [REDIRECT],
        "scopes": ["openid", "profile", "email", "offline_access"],
        "trusted": true,
    }));

    // Discovery, as any client does it.
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(p.url.clone()).expect("url"), &http)
            .expect("the discovery document and JWKS are what clients expect");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = Browser::new(&p);
    let (status, _, page) = sign_in(&mut browser, &p.url, auth_url.as_str(), "wrong password");
    assert_eq!(status, 401, "{page}");
    assert!(
        page.contains("role=\"alert\""),
        "the error is announced: {page}"
    );
    let (status, location, page) = sign_in(&mut browser, &p.url, auth_url.as_str(), PASSWORD);
    assert_eq!(status, 303, "{page}");
    let location = location.expect("redirect");
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&location, "iss").as_deref(),
        Some(p.url.as_str()),
        "RFC 9207"
    );
    let code = param(&location, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("the code is exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("RS256 ID token verifies");
    assert_eq!(
        *id_token.signing_alg().expect("alg"),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.email_verified(), Some(false));
    assert!(claims.auth_time().is_some());
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd"]);

    // userinfo answers for the access token, the same subject.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo known")
        .request(&http)
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));

    // A sign-in token is not an API token: without the `api` scope this API refuses it.
    let status = http
        .get(format!("{}/api/v1/users/profile", p.url))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .expect("GET")
        .status();
    assert_eq!(status.as_u16(), 401);

    // The code is single-use; its second use revokes what the first opened.
    let (_, verifier2) = PkceCodeChallenge::new_random_sha256();
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier2)
        .request(&http);
    assert!(replay.is_err(), "a reused code is refused");

    // The grant was revoked by the reuse: its refresh token no longer works.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    assert!(client
        .exchange_refresh_token(&refresh)
        .expect("refresh")
        .request(&http)
        .is_err());

    // A fresh sign-in (the browser is still signed in: no form this time) and a refresh
    // that rotates; the spent token's replay revokes the grant.
    let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (status, location, _) = browser.get(auth_url.as_str());
    assert_eq!(status, 303, "single sign-on: the browser's session answers");
    let code = param(&location.expect("redirect"), "code").expect("code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(pkce)
        .request(&http)
        .expect("exchanged");
    tokens
        .id_token()
        .expect("id token")
        .claims(&verifier, &nonce)
        .expect("verifies");
    let first: RefreshToken = tokens.refresh_token().expect("refresh token").clone();
    let rotated = client
        .exchange_refresh_token(&first)
        .expect("refresh")
        .request(&http)
        .expect("rotated");
    let second = rotated
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(second.secret(), first.secret());
    // Asking a refresh for more than was granted is refused, and the token is not spent.
    assert!(client
        .exchange_refresh_token(&second)
        .expect("refresh")
        .add_scope(Scope::new("api".into()))
        .request(&http)
        .is_err());
    let third = client
        .exchange_refresh_token(&second)
        .expect("refresh")
        .request(&http)
        .expect("the refused request left the token usable")
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert!(
        client
            .exchange_refresh_token(&first)
            .expect("refresh")
            .request(&http)
            .is_err(),
        "reuse refused"
    );
    assert!(
        client
            .exchange_refresh_token(&third)
            .expect("refresh")
            .request(&http)
            .is_err(),
        "reuse revoked the whole grant"
    );

    // A public client (no secret, PKCE required) whose ID tokens are EdDSA.
    let (spa_id, spa_secret) = p.register(&json!({
        "name": "SPA", "kind": "public", "redirect_uris": [REDIRECT], "trusted": true,
        "id_token_alg": "EdDSA",
    }));
    assert!(spa_secret.is_none(), "a public client has no secret");
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(p.url.clone()).expect("url"), &http)
            .expect("discovery");
    let spa = CoreClient::from_provider_metadata(metadata, ClientId::new(spa_id), None)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));
    let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = spa
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (status, location, _) = browser.get(auth_url.as_str());
    assert_eq!(status, 303);
    let code = param(&location.expect("redirect"), "code").expect("code");
    let tokens = spa
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(pkce)
        .request(&http)
        .expect("exchanged without a secret");
    let id_token = tokens.id_token().expect("id token");
    let eddsa = spa
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa]);
    id_token
        .claims(&eddsa, &nonce)
        .expect("EdDSA ID token verifies with the published key");
    assert_eq!(
        *id_token.signing_alg().expect("alg"),
        CoreJwsSigningAlgorithm::EdDsa
    );
}

#[test]
fn the_provider_refuses_what_it_must() {
    let p = provider();
    let http = p.http.clone();
    let (a_id, a_secret) =
        p.register(&json!({"name": "A", "redirect_uris": [REDIRECT], "trusted": true}));
    let (b_id, b_secret) =
        p.register(&json!({"name": "B", "redirect_uris": [REDIRECT], "trusted": true}));
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(p.url.clone()).expect("url"), &http)
            .expect("discovery");
    let client = |id: &str, secret: &Option<String>| {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(id.into()),
            secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"))
    };
    let (a, b) = (client(&a_id, &a_secret), client(&b_id, &b_secret));
    let mut browser = Browser::new(&p);

    // The tenant issuer is an issuer of its own, to the same clients of its tenant; an
    // unknown tenant has none.
    let tenant_issuer = format!("{}/t/default", p.url);
    let tenant_metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(tenant_issuer.clone()).expect("url"), &http)
            .expect("the tenant issuer's discovery");
    assert_eq!(tenant_metadata.issuer().as_str(), tenant_issuer);
    assert!(tenant_metadata
        .token_endpoint()
        .expect("token")
        .as_str()
        .starts_with(&tenant_issuer));
    let (status, _) = p.get("/t/no-such-tenant/.well-known/openid-configuration");
    assert_eq!(status, 404);

    // A redirect URI the client did not register: an error page, never a redirect to it.
    let evil = format!(
        "{}/oauth/authorize?response_type=code&client_id={a_id}&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        p.url
    );
    let (status, location, page) = browser.get(&evil);
    assert_eq!((status, location), (400, None), "{page}");
    assert!(page.contains("redirect URI"), "{page}");

    // A form posted without the browser's CSRF token is refused.
    let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, _) = a
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (_, _, page) = browser.get(auth_url.as_str());
    let req = field(&page, "req");
    let (status, location, _) = browser.post(
        &p.url,
        "/oauth/login",
        &[
            ("req", &req),
            ("csrf", "forged-forged-forged-forged-forged"),
            ("email", EMAIL),
            ("password", PASSWORD),
        ],
    );
    assert_eq!((status, location), (403, None));

    // Signed in properly; the code is A's.
    let (status, location, page) = sign_in(&mut browser, &p.url, auth_url.as_str(), PASSWORD);
    assert_eq!(status, 303, "{page}");
    let code = param(&location.expect("redirect"), "code").expect("code");
    // B cannot redeem A's code, and trying does not burn it for A.
    let (_, b_pkce) = PkceCodeChallenge::new_random_sha256();
    assert!(b
        .exchange_code(AuthorizationCode::new(code.clone()))
        .expect("t")
        .set_pkce_verifier(b_pkce)
        .request(&http)
        .is_err());
    // No verifier, or a wrong one: refused, and the code is burnt.
    let raw = |form: &[(&str, &str)]| {
        let res = http
            .post(format!("{}/oauth/token", p.url))
            .basic_auth(&a_id, a_secret.as_deref())
            .form(form)
            .send()
            .expect("token request");
        (
            res.status().as_u16(),
            serde_json::from_str::<Value>(&res.text().unwrap_or_default()).unwrap_or_default(),
        )
    };
    let (status, body) = raw(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = raw(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", pkce.secret()),
    ]);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "burnt by the failed try: {body}"
    );

    // Wrong secret: invalid_client, 401.
    let res = http
        .post(format!("{}/oauth/token", p.url))
        .basic_auth(&a_id, Some("not-the-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .expect("token request");
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().contains_key(header::WWW_AUTHENTICATE));

    // Each refusal is in the audit trail.
    let (status, body) = p.get("/api/v1/audit?action=oauth.token_refused");
    assert_eq!(status, 200, "{body}");
    let trail: Value = serde_json::from_str(&body).expect("json");
    assert!(
        trail["items"].as_array().expect("items").len() >= 3,
        "{trail}"
    );
    for action in ["oauth.csrf_refused", "oauth.authorize_refused"] {
        let (_, body) = p.get(&format!("/api/v1/audit?action={action}"));
        assert!(body.contains(action), "{action} audited: {body}");
    }
}

#[test]
fn revocation_introspection_and_logout_end_what_they_name() {
    use openidconnect::core::CoreRevocableToken;
    use openidconnect::{IntrospectionUrl, RevocationUrl, TokenIntrospectionResponse as _};

    let p = provider();
    let http = p.http.clone();
    let bye = "http://127.0.0.1:9/signed-out";
    let (client_id, secret) = p.register(&json!({
        "name": "App", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [bye],
        "trusted": true,
    }));
    let metadata =
        CoreProviderMetadata::discover(&IssuerUrl::new(p.url.clone()).expect("url"), &http)
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"))
    .set_revocation_url(RevocationUrl::new(format!("{}/oauth/revoke", p.url)).expect("url"))
    .set_introspection_url(
        IntrospectionUrl::new(format!("{}/oauth/introspect", p.url)).expect("url"),
    );
    let mut browser = Browser::new(&p);
    let sign_in_once = |browser: &mut Browser, first: bool| {
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let (status, location, page) = if first {
            sign_in(browser, &p.url, auth_url.as_str(), PASSWORD)
        } else {
            browser.get(auth_url.as_str())
        };
        assert_eq!(status, 303, "{page}");
        let code = param(&location.expect("redirect"), "code").expect("code");
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(pkce)
            .request(&http)
            .expect("exchanged");
        tokens
            .id_token()
            .expect("id token")
            .claims(&client.id_token_verifier(), &nonce)
            .expect("verifies");
        tokens
    };

    // Introspection tells a live token from a revoked one; revoking the refresh token ends
    // the grant, access token included.
    let tokens = sign_in_once(&mut browser, true);
    let active = client
        .introspect(tokens.access_token())
        .request(&http)
        .expect("introspection");
    assert!(active.active());
    client
        .revoke_token(CoreRevocableToken::from(
            tokens.refresh_token().expect("refresh").clone(),
        ))
        .expect("revocation endpoint")
        .request(&http)
        .expect("revoked");
    let after = client
        .introspect(tokens.access_token())
        .request(&http)
        .expect("introspection");
    assert!(!after.active(), "the grant's access token died with it");
    assert!(client
        .exchange_refresh_token(tokens.refresh_token().expect("refresh"))
        .expect("r")
        .request(&http)
        .is_err());

    // RP-initiated logout with the ID token as hint: the sign-in and every grant opened from
    // it end, and the browser returns where the client registered, with its state.
    let tokens = sign_in_once(&mut browser, false);
    let hint = tokens.id_token().expect("id token").to_string();
    let (status, location, _) = browser.get(&format!(
        "{}/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}&state=s-9",
        p.url,
        openidconnect::url::form_urlencoded::byte_serialize(bye.as_bytes()).collect::<String>()
    ));
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("{bye}?state=s-9").as_str())
    );
    let info: Result<CoreUserInfoClaims, _> = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo")
        .request(&http);
    assert!(info.is_err(), "the grant ended with the sign-in");
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let (status, _, page) = browser.get(auth_url.as_str());
    assert_eq!(status, 200, "signed out: the sign-in page again");
    assert!(page.contains("autocomplete=\"current-password\""));

    // An old ID token (of a sign-in that has ended) signs nobody out: the user is asked.
    let tokens = sign_in_once(&mut browser, true);
    let (status, location, page) = browser.get(&format!(
        "{}/oauth/logout?id_token_hint={hint}&post_logout_redirect_uri={}",
        p.url,
        openidconnect::url::form_urlencoded::byte_serialize(bye.as_bytes()).collect::<String>()
    ));
    assert_eq!((status, location), (200, None), "{page}");
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .expect("userinfo")
        .request(&http)
        .expect("the current sign-in's grant lives on");
    assert!(!info.subject().as_str().is_empty());

    // A logout link without a hint signs nobody out: the user is asked first.
    let (status, location, page) = browser.get(&format!(
        "{}/oauth/logout?post_logout_redirect_uri=https%3A%2F%2Fevil.example",
        p.url
    ));
    assert_eq!((status, location), (200, None), "{page}");
    assert!(page.contains("Sign out"));
    let (_, body) = p.get("/api/v1/audit?action=oauth.logout");
    assert!(body.contains("oauth.logout"), "{body}");
}

/// Registers a trusted application (no consent page) and gives its authorization URL
/// (`openid`, PKCE with a fixed challenge: these tests never redeem its codes).
fn trusted_app(p: &Provider) -> String {
    let (id, _) = p.register(&json!({"name": "App", "redirect_uris": [REDIRECT], "trusted": true}));
    format!(
        "{}/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&scope=openid&state=s&code_challenge={}&code_challenge_method=S256",
        p.url,
        openidconnect::url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
}

/// The hosted passkey forms and the account page refuse what they must: no sign-in, no CSRF
/// token, an answer that is not one, a passkey that is not the user's; the pages load their
/// one script from the service and nothing inline.
#[test]
fn the_hosted_passkey_forms_refuse_what_they_must() {
    let p = provider();
    let auth_url = trusted_app(&p);
    let mut browser = Browser::new(&p);

    // No sign-in: the account page says so.
    let (status, _, page) = browser.get(&format!("{}/oauth/account", p.url));
    assert_eq!(status, 401, "{page}");

    // The sign-in page offers a passkey through the service's own script, nothing inline.
    let res = p.http.get(&auth_url).send().expect("the sign-in page");
    let csp = res
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let (status, _, page) = browser.get(&auth_url);
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/oauth/assets/passkey.js\" defer></script>"));
    assert_eq!(
        page.matches("<script").count(),
        1,
        "no inline script: {page}"
    );
    assert!(page.contains("data-passkey=\"get\""), "{page}");
    let (status, _, script) = browser.get(&format!("{}/oauth/assets/passkey.js", p.url));
    assert_eq!(status, 200);
    assert!(script.contains("navigator.credentials"));

    // A passkey answer without the CSRF token, or one that is not an answer.
    let (req, csrf, state) = (
        field(&page, "req"),
        field(&page, "csrf"),
        field(&page, "state"),
    );
    let (status, _, _) = browser.post(
        &p.url,
        "/oauth/login/passkey",
        &[("req", &req), ("state", &state), ("credential", "{}")],
    );
    assert_eq!(status, 403, "no CSRF token");
    for credential in ["", "not json", "{\"id\": \"x\"}"] {
        let (status, _, page) = browser.post(
            &p.url,
            "/oauth/login/passkey",
            &[
                ("req", &req),
                ("csrf", &csrf),
                ("state", &state),
                ("credential", credential),
            ],
        );
        assert_eq!(status, 401, "{credential}: {page}");
        assert!(page.contains("role=\"alert\""), "{page}");
    }

    // Signed in: the account page works, its forms only with the token.
    let (status, location, page) = sign_in(&mut browser, &p.url, &auth_url, PASSWORD);
    assert_eq!(status, 303, "{page}");
    assert!(location.expect("redirect").starts_with(REDIRECT));
    let (status, _, page) = browser.get(&format!("{}/oauth/account", p.url));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(EMAIL) && page.contains("data-passkey=\"create\""),
        "{page}"
    );
    let csrf = field(&page, "csrf");
    let state = field(&page, "state");
    let (status, _, _) = browser.post(
        &p.url,
        "/oauth/account/passkeys",
        &[
            ("action", "add"),
            ("state", &state),
            ("name", "x"),
            ("credential", "{}"),
        ],
    );
    assert_eq!(status, 403, "no CSRF token");
    let missing = uuid::Uuid::now_v7().to_string();
    for (form, expected) in [
        (
            vec![
                ("action", "add"),
                ("state", &state),
                ("name", "x"),
                ("credential", "{}"),
            ],
            400,
        ),
        (
            vec![
                ("action", "add"),
                ("state", "forged"),
                ("name", "x"),
                ("credential", "{}"),
            ],
            400,
        ),
        (
            vec![
                ("action", "rename"),
                ("passkey_id", missing.as_str()),
                ("name", "x"),
            ],
            404,
        ),
        (vec![("action", "remove"), ("passkey_id", "not-an-id")], 404),
        (vec![("action", "steal")], 400),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let (status, _, page) = browser.post(&p.url, "/oauth/account/passkeys", &form);
        assert_eq!(status, expected, "{form:?}: {page}");
        assert!(page.contains("role=\"alert\""), "{page}");
    }
    // The password typed again proves a fresh sign-in (how a sign-in older than five
    // minutes adds a passkey); a wrong one is refused.
    for (password, status, shown) in [
        ("not it", 400, "That password is not right."),
        (PASSWORD, 200, "data-passkey=\"create\""),
    ] {
        let form = [
            ("action", "confirm"),
            ("password", password),
            ("csrf", &csrf),
        ];
        let (got, _, page) = browser.post(&p.url, "/oauth/account/passkeys", &form);
        assert_eq!(got, status, "{page}");
        assert!(page.contains(shown), "{page}");
    }
    a_passkey_signs_in_only_at_its_own_tenant(&p, &auth_url);
}

/// A user of another tenant, with a passkey: it signs them in through their tenant's
/// application, and nobody through this one's.
fn a_passkey_signs_in_only_at_its_own_tenant(p: &Provider, auth_url: &str) {
    use webauthn_authenticator_rs::WebauthnAuthenticator as _;
    let (status, body) = p.api(
        &p.admin,
        "POST",
        "/api/v1/tenants",
        &json!({"slug": "beta", "name": "Beta",
                "owner": {"email": "bea@example.com", "password": PASSWORD}}),
    );
    assert_eq!(status, 201, "{body}");
    let beta_login = json!({"tenant": "beta", "email": "bea@example.com", "password": PASSWORD});
    let (_, tokens) = p.api("", "POST", "/api/v1/auth/login", &beta_login);
    let owner_of_beta = tokens["access_token"].as_str().expect("token").to_owned();
    let beta = |method: &str, path: &str, body: &Value| p.api(&owner_of_beta, method, path, body);
    let origin = webauthn_rs::prelude::Url::parse(&p.url).expect("origin");
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let (_, begun) = beta(
        "POST",
        "/api/v1/auth/passkeys/registration",
        &json!({"password": PASSWORD}),
    );
    let mut options: webauthn_rs::prelude::CreationChallengeResponse =
        serde_json::from_value(begun["options"].clone()).expect("options");
    // The software device makes no discoverable credentials: it is told which to use later.
    let chosen = options
        .public_key
        .authenticator_selection
        .as_mut()
        .expect("selection");
    chosen.require_resident_key = false;
    chosen.resident_key = None;
    let created = device
        .do_registration(origin.clone(), options)
        .expect("created");
    let created = serde_json::to_value(created).expect("json");
    let (status, saved) = beta(
        "POST",
        "/api/v1/auth/passkeys",
        &json!({"state": begun["state"], "name": "Phone", "credential": created}),
    );
    assert_eq!(status, 201, "{saved}");
    let (_, me) = beta("GET", "/api/v1/users/profile", &json!(null));
    let user = uuid::Uuid::parse_str(me["id"].as_str().expect("id")).expect("uuid");
    let (status, client) = beta(
        "POST",
        "/api/v1/oauth/clients",
        &json!({"name": "Beta app", "redirect_uris": [REDIRECT], "trusted": true}),
    );
    assert_eq!(status, 201, "{client}");
    let beta_url = auth_url.replace(
        &param(auth_url, "client_id").expect("client"),
        client["client_id"].as_str().expect("client id"),
    );

    // The sign-in page's ceremony, answered by the device as a phone would (its user handle).
    let mut answer_on = |url: &str| {
        let mut browser = Browser::new(p);
        let (_, _, page) = browser.get(url);
        let mut options: Value =
            serde_json::from_str(&unescape(&attribute(&page, "data-options"))).expect("options");
        options["publicKey"]["allowCredentials"] =
            json!([{"type": "public-key", "id": created["rawId"]}]);
        let options = serde_json::from_value(options).expect("request options");
        let mut answer = device
            .do_authentication(origin.clone(), options)
            .expect("signed");
        answer.response.user_handle = Some(user.as_bytes().to_vec());
        let credential = serde_json::to_string(&answer).expect("json");
        browser.post(
            &p.url,
            "/oauth/login/passkey",
            &[
                ("req", &field(&page, "req")),
                ("csrf", &field(&page, "csrf")),
                ("state", &field(&page, "state")),
                ("credential", &credential),
            ],
        )
    };
    let (status, _, page) = answer_on(auth_url);
    assert_eq!(
        status, 401,
        "another tenant's passkey signs nobody in here: {page}"
    );
    let (status, location, page) = answer_on(&beta_url);
    assert_eq!(status, 303, "{page}");
    assert!(location.expect("redirect").starts_with(REDIRECT));
}

/// The token of the newest mailed link to `path` (mail goes to the log without SMTP).
fn mailed_token(p: &Provider, path: &str) -> String {
    let marker = format!("{path}?token=");
    let logs = p.service.stderr().join("\n");
    let at = logs
        .rfind(&marker)
        .unwrap_or_else(|| panic!("no {path} link mailed:\n{logs}"))
        + marker.len();
    logs[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Registration and recovery on the hosted pages: "forgot your password?" mails a link whose
/// page sets a new one; the verification link's page confirms the address; where the
/// tenant allows it, the registration page makes an account that then signs in.
#[test]
fn the_hosted_pages_register_and_recover_accounts() {
    let p = provider();
    let auth_url = trusted_app(&p);
    let mut browser = Browser::new(&p);
    let (_, _, page) = browser.get(&auth_url);
    let req = field(&page, "req");
    assert!(page.contains("Forgot your password?"), "{page}");
    assert!(
        !page.contains("Create an account"),
        "registration is off: {page}"
    );
    let (status, _, _) = browser.get(&format!("{}/oauth/register?req={req}", p.url));
    assert_eq!(status, 403, "no registration page while it is off");

    // Forgot: the same answer for an unknown address; a link for a real one.
    let (status, _, page) = browser.get(&format!("{}/oauth/password/forgot?req={req}", p.url));
    assert_eq!(status, 200, "{page}");
    let csrf = field(&page, "csrf");
    let mut answers = Vec::new();
    for email in ["nobody@example.com", EMAIL] {
        let form = [("req", req.as_str()), ("csrf", &csrf), ("email", email)];
        let (status, _, page) = browser.post(&p.url, "/oauth/password/forgot", &form);
        assert_eq!(status, 200, "{page}");
        answers.push(page[page.find("role=\"status\"").expect("a notice")..][..200].to_owned());
    }
    assert_eq!(answers[0], answers[1], "no account enumeration");
    let token = mailed_token(&p, "/reset-password");
    let (status, _, page) = browser.get(&format!("{}/reset-password?token={token}", p.url));
    assert_eq!(status, 200, "{page}");
    let csrf = field(&page, "csrf");
    let new_password = "a brand new and unusual passphrase";
    for (form, expected) in [
        (
            vec![("token", token.as_str()), ("new_password", new_password)],
            403,
        ),
        (
            vec![
                ("token", token.as_str()),
                ("new_password", "short"),
                ("csrf", &csrf),
            ],
            400,
        ),
        (
            vec![
                ("token", token.as_str()),
                ("new_password", new_password),
                ("csrf", &csrf),
            ],
            200,
        ),
        (
            vec![
                ("token", token.as_str()),
                ("new_password", new_password),
                ("csrf", &csrf),
            ],
            400,
        ),
    ] {
        let (status, _, page) = browser.post(&p.url, "/reset-password", &form);
        assert_eq!(status, expected, "{form:?}: {page}");
    }
    let (status, location, page) = sign_in(&mut browser, &p.url, &auth_url, new_password);
    assert_eq!(status, 303, "the new password signs in: {page}");
    assert!(location.expect("redirect").starts_with(REDIRECT));

    // Registration, once the tenant allows it: the account signs straight in.
    let (status, _) = p.api(
        &login_token(&p, new_password),
        "PATCH",
        "/api/v1/tenant/settings",
        &json!({"self_registration": true}),
    );
    assert_eq!(status, 200);
    let mut stranger = Browser::new(&p);
    let (_, _, page) = stranger.get(&auth_url);
    assert!(page.contains("Create an account"), "{page}");
    let (status, _, page) = stranger.get(&format!("{}/oauth/register?req={req}", p.url));
    assert_eq!(status, 200, "{page}");
    let csrf = field(&page, "csrf");
    let (status, _, page) = stranger.post(
        &p.url,
        "/oauth/register",
        &[
            ("req", &req),
            ("csrf", &csrf),
            ("email", "new@example.com"),
            ("password", "short"),
        ],
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("role=\"alert\""), "{page}");
    // The same answer whether or not the address was free; the new account then signs in.
    let mut answers = Vec::new();
    for email in ["new@example.com", EMAIL] {
        let form = [
            ("req", req.as_str()),
            ("csrf", &csrf),
            ("email", email),
            ("password", PASSWORD),
            ("display_name", "Newcomer"),
        ];
        let (status, _, page) = stranger.post(&p.url, "/oauth/register", &form);
        assert_eq!(status, 200, "{page}");
        answers.push(page[page.find("role=\"status\"").expect("a notice")..][..200].to_owned());
    }
    assert_eq!(answers[0], answers[1], "registration finds no accounts");
    let (_, _, page) = stranger.get(&auth_url);
    let form = [
        ("req", field(&page, "req")),
        ("csrf", field(&page, "csrf")),
        ("email", "new@example.com".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, page) = stranger.post(&p.url, "/oauth/login", &form);
    assert_eq!(status, 303, "the new account signs in: {page}");
    assert!(location.expect("redirect").starts_with(REDIRECT));

    // Its verification link: the page only shows a button; the POST confirms, once.
    let token = mailed_token(&p, "/verify-email");
    let (status, _, page) = stranger.get(&format!("{}/verify-email?token={token}", p.url));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("new@example.com") && page.contains("do not confirm"),
        "the page names the account: {page}"
    );
    let csrf = field(&page, "csrf");
    for expected in [200, 400] {
        let form = [("token", token.as_str()), ("csrf", &csrf)];
        let (status, _, page) = stranger.post(&p.url, "/verify-email", &form);
        assert_eq!(status, expected, "{page}");
    }
}

/// The owner's access token with `password`.
fn login_token(p: &Provider, password: &str) -> String {
    let (status, tokens) = p.api(
        "",
        "POST",
        "/api/v1/auth/login",
        &json!({"email": EMAIL, "password": password}),
    );
    assert_eq!(status, 200, "{tokens}");
    tokens["access_token"].as_str().expect("token").to_owned()
}

/// Consent to an application that is not `trusted` is asked once and remembered for the
/// scopes allowed; more scopes or `prompt=consent` ask again; withdrawing it (API) ends the
/// application's grants (its refresh token stops working) and it asks again.
#[test]
fn consent_is_asked_once_remembered_and_withdrawn() {
    let p = provider();
    let (id, secret) = p.register(&json!({
        "name": "Third party", "redirect_uris": [REDIRECT],
        "scopes": ["openid", "email", "offline_access", "api"],
    }));
    let secret = secret.expect("a confidential client");
    let verifier = "a-verifier-long-enough-to-be-a-pkce-verifier-of-43-characters-or-more";
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    };
    let url = |scope: &str, extra: &str| {
        format!(
            "{}/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256{extra}",
            p.url,
            openidconnect::url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
            openidconnect::url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
        )
    };
    let mut browser = Browser::new(&p);
    let allow = |browser: &mut Browser, page: &str| {
        assert!(page.contains("asks to"), "the consent page: {page}");
        let form = [
            ("req", field(page, "req")),
            ("csrf", field(page, "csrf")),
            ("decision", "allow".into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, location, page) = browser.post(&p.url, "/oauth/consent", &form);
        assert_eq!(status, 303, "{page}");
        location.expect("back to the client")
    };

    let (status, _, page) = sign_in(
        &mut browser,
        &p.url,
        &url("openid offline_access", ""),
        PASSWORD,
    );
    assert_eq!(status, 200, "asked first: {page}");
    let first = allow(&mut browser, &page);
    // Remembered: straight back with a code.
    let (status, location, _) = browser.get(&url("openid offline_access", ""));
    assert_eq!(status, 303, "remembered");
    assert!(location.expect("redirect").contains("code="));
    // More scopes, or prompt=consent: asked again.
    for (scope, extra) in [("openid email", ""), ("openid", "&prompt=consent")] {
        let (status, _, page) = browser.get(&url(scope, extra));
        assert_eq!(status, 200, "{scope}{extra}: {page}");
        allow(&mut browser, &page);
    }
    // Acting as the user in this API (`api`) is asked every time.
    for _ in 0..2 {
        let (status, _, page) = browser.get(&url("openid api", ""));
        assert_eq!(status, 200, "api asks every time: {page}");
        allow(&mut browser, &page);
    }
    let (status, consents) = p.api(&p.admin, "GET", "/api/v1/auth/consents", &json!(null));
    assert_eq!(status, 200, "{consents}");
    assert_eq!(
        consents["items"][0]["client_name"], "Third party",
        "{consents}"
    );
    assert_eq!(
        consents["items"][0]["scope"],
        json!(["openid", "offline_access", "email", "api"]),
        "{consents}"
    );
    // A registration changed since (here its name; redirect URIs or a secret alike) is not
    // the application the user allowed: asked again.
    let (status, client) = p.api(
        &p.admin,
        "PUT",
        &format!("/api/v1/oauth/clients/{id}"),
        &json!({"name": "Third party v2", "redirect_uris": [REDIRECT],
                "scopes": ["openid", "email", "offline_access", "api"]}),
    );
    assert_eq!(status, 200, "{client}");
    let (status, _, page) = browser.get(&url("openid", ""));
    assert_eq!(status, 200, "asked again after the change: {page}");
    allow(&mut browser, &page);

    // The first code's refresh token works until the consent is withdrawn.
    let code = param(&first, "code").expect("code");
    let token = |form: &[(&str, &str)]| {
        let res = p
            .http
            .post(format!("{}/oauth/token", p.url))
            .basic_auth(&id, Some(&secret))
            .form(form)
            .send()
            .expect("token request");
        let status = res.status().as_u16();
        (
            status,
            serde_json::from_str::<Value>(&res.text().unwrap_or_default()).unwrap_or(Value::Null),
        )
    };
    let (status, tokens) = token(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ]);
    assert_eq!(status, 200, "{tokens}");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let path = format!("/api/v1/auth/consents/{id}");
    let (status, _) = p.api(&p.admin, "DELETE", &path, &json!(null));
    assert_eq!(status, 204);
    let (status, refused) = token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant")),
        "{refused}"
    );
    let (status, _, page) = browser.get(&url("openid", ""));
    assert_eq!(status, 200, "asked again: {page}");
    assert!(page.contains("asks to"));
    let (status, _) = p.api(&p.admin, "DELETE", &path, &json!(null));
    assert_eq!(status, 404, "withdrawn once");
}
