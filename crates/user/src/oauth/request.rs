//! Authorization requests (RFC 6749 section 4.1.1, OpenID Connect Core section 3.1.2.1):
//! what a client may ask for, checked before anyone is asked to sign in. A request that
//! passes is kept, sealed, while the user signs in ([`crate::oauth::provider`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use usvc_core::{ClientId, ClientKind, GrantType, OAuthClient, TenantId};

use crate::oauth::client_rules::SUPPORTED_SCOPES;

/// The longest value accepted for any parameter (`state`, `nonce`, hints).
pub const MAX_PARAM: usize = 1024;

/// An authorization request's parameters as received (query string or form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AuthorizationParams {
    /// The client.
    pub client_id: Option<String>,
    /// Where to send the answer: one of the client's, exactly.
    pub redirect_uri: Option<String>,
    /// `code`: the only response type.
    pub response_type: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Opaque to us, returned as it came.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE: BASE64URL(SHA-256(verifier)).
    pub code_challenge: Option<String>,
    /// PKCE: `S256` (`plain` is refused).
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent` (space-separated).
    pub prompt: Option<String>,
    /// Seconds since the last sign-in beyond which the user signs in again.
    pub max_age: Option<String>,
    /// The email to pre-fill.
    pub login_hint: Option<String>,
    /// Requested authentication context classes.
    pub acr_values: Option<String>,
    /// `query` (the only mode).
    pub response_mode: Option<String>,
    /// Request objects are not supported.
    pub request: Option<String>,
    /// Request objects by reference are not supported.
    pub request_uri: Option<String>,
}

/// What `prompt` asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Answer without showing anything (`login_required`, `consent_required` otherwise).
    pub none: bool,
    /// Sign in again even with a live browser session.
    pub login: bool,
    /// Ask for consent even for a trusted client.
    pub consent: bool,
}

/// The authentication context class of a sign-in with a second factor (or a passkey).
pub const ACR_MFA: &str = "urn:user-service:acr:mfa";

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The issuer it came to.
    pub issuer: String,
    /// The client's tenant.
    pub tenant_id: TenantId,
    /// The client.
    pub client_id: ClientId,
    /// The registered redirect URI answers go to.
    pub redirect_uri: String,
    /// Granted scopes, as asked.
    pub scope: Vec<String>,
    /// Returned as it came.
    pub state: Option<String>,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// What `prompt` asked.
    pub prompt: Prompt,
    /// Seconds since the last sign-in.
    pub max_age: Option<u64>,
    /// Email to pre-fill.
    pub login_hint: Option<String>,
    /// Whether a second factor was asked for (`acr_values` naming [`ACR_MFA`]).
    pub mfa_asked: bool,
    /// When the request arrived (a `prompt=login` is satisfied by a sign-in after it).
    pub received_at: DateTime<Utc>,
}

/// Why a request is refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Shown to the user, never sent anywhere: the client or its redirect URI cannot be
    /// trusted with an answer (RFC 6749 section 4.1.2.1).
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect(ErrorRedirect),
}

/// An error answer sent to the client (RFC 6749 section 4.1.2.1, RFC 9207's `iss`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The error code.
    pub error: &'static str,
    /// What went wrong, for the client's developer.
    pub description: String,
    /// The request's `state`.
    pub state: Option<String>,
    /// The issuer.
    pub issuer: String,
}

impl ErrorRedirect {
    /// The URL the browser is sent to.
    pub fn location(&self) -> String {
        let mut pairs = vec![
            ("error", self.error.to_owned()),
            ("error_description", self.description.clone()),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state.clone()));
        }
        pairs.push(("iss", self.issuer.clone()));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// `uri` with `pairs` appended to its query.
pub fn with_query(uri: &str, pairs: &[(&str, String)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        // Registered URIs always parse (client_rules); never reached.
        Err(_) => uri.to_owned(),
    }
}

fn bounded(value: Option<&String>) -> bool {
    value.is_none_or(|v| v.len() <= MAX_PARAM)
}

/// Checks `params` against `client` (already looked up by the caller, of the issuer's tenant
/// when the issuer names one). `now` is when the request arrived.
pub fn check(
    issuer: &str,
    client: &OAuthClient,
    params: &AuthorizationParams,
    now: DateTime<Utc>,
) -> Result<AuthorizationRequest, Refusal> {
    let redirect_uri = match params.redirect_uri.as_deref() {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
        Some(_) => {
            return Err(Refusal::Page(
                "the redirect URI is not one this application registered".into(),
            ))
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(Refusal::Page(
                "the application did not say where to return (redirect_uri)".into(),
            ))
        }
    };
    let refuse = |error: &'static str, description: &str| {
        Refusal::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: params.state.clone().filter(|s| s.len() <= MAX_PARAM),
            issuer: issuer.to_owned(),
        })
    };
    let all = [
        &params.state,
        &params.nonce,
        &params.code_challenge,
        &params.scope,
        &params.prompt,
        &params.login_hint,
        &params.acr_values,
        &params.max_age,
    ];
    if !all.iter().all(|v| bounded(v.as_ref())) {
        return Err(refuse(
            "invalid_request",
            &format!("a parameter is longer than {MAX_PARAM} characters"),
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(refuse(
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }
    if params.request.is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.request_uri.is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request objects are not supported",
        ));
    }
    if params.response_type.as_deref() != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be `code`",
        ));
    }
    if params
        .response_mode
        .as_deref()
        .is_some_and(|m| m != "query")
    {
        return Err(refuse("invalid_request", "response_mode must be `query`"));
    }
    let scope = scopes(client, params.scope.as_deref()).map_err(|d| refuse("invalid_scope", &d))?;
    let code_challenge = pkce(client, params).map_err(|d| refuse("invalid_request", &d))?;
    let prompt = prompt(params.prompt.as_deref()).map_err(|d| refuse("invalid_request", &d))?;
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<u64>()
                .map_err(|_| refuse("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let mfa_asked = params
        .acr_values
        .as_deref()
        .is_some_and(|v| v.split(' ').any(|a| a == ACR_MFA));
    Ok(AuthorizationRequest {
        issuer: issuer.to_owned(),
        tenant_id: client.tenant_id,
        client_id: client.id,
        redirect_uri,
        scope,
        state: params.state.clone(),
        nonce: params.nonce.clone(),
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint.clone(),
        mfa_asked,
        received_at: now,
    })
}

fn scopes(client: &OAuthClient, asked: Option<&str>) -> Result<Vec<String>, String> {
    let mut scope: Vec<String> = Vec::new();
    for s in asked
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !SUPPORTED_SCOPES.contains(&s) {
            return Err(format!("`{s}` is not a scope of this provider"));
        }
        if !client.scopes.iter().any(|c| c == s) {
            return Err(format!("this client may not ask for `{s}`"));
        }
        if !scope.iter().any(|x| x == s) {
            scope.push(s.to_owned());
        }
    }
    if scope.is_empty() {
        return Err("ask for at least one scope (`openid` to sign in)".into());
    }
    Ok(scope)
}

fn pkce(client: &OAuthClient, params: &AuthorizationParams) -> Result<Option<String>, String> {
    match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.kind == ClientKind::Public => {
            Err("a public client must use PKCE (code_challenge with S256)".into())
        }
        (None, None) => Ok(None),
        (None, Some(_)) => Err("code_challenge_method without code_challenge".into()),
        (Some(challenge), Some("S256")) => {
            let well_formed = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if well_formed {
                Ok(Some(challenge.to_owned()))
            } else {
                Err(
                    "code_challenge must be BASE64URL(SHA-256(code_verifier)): 43 characters"
                        .into(),
                )
            }
        }
        (Some(_), _) => Err("code_challenge_method must be S256 (plain is not accepted)".into()),
    }
}

fn prompt(raw: Option<&str>) -> Result<Prompt, String> {
    let mut prompt = Prompt::default();
    for value in raw.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => return Err(format!("prompt `{other}` is not supported")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("prompt=none cannot be combined with other values".into());
    }
    Ok(prompt)
}

/// Whether `verifier` answers the S256 `challenge` (RFC 7636 section 4.6): a 43-128
/// character verifier whose SHA-256, base64url, is the challenge.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
            == challenge
}

#[cfg(test)]
mod tests {
    use super::*;
    use usvc_core::{ClientAuthMethod, IdTokenAlg};

    fn client(kind: ClientKind) -> OAuthClient {
        OAuthClient {
            id: ClientId::new(),
            tenant_id: TenantId::new(),
            name: "app".into(),
            kind,
            auth_method: ClientAuthMethod::None,
            secret_hash: None,
            jwks: None,
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "https://app.example/other".into(),
            ],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: vec!["openid".into(), "email".into()],
            roles: vec![],
            trusted: false,
            id_token_alg: IdTokenAlg::RS256,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// A verifier and its S256 challenge, computed apart from this code (Python:
    /// `base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=")`).
    const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";

    fn params() -> AuthorizationParams {
        AuthorizationParams {
            client_id: Some("x".into()),
            redirect_uri: Some("https://app.example/cb".into()),
            response_type: Some("code".into()),
            scope: Some("openid email".into()),
            state: Some("s1".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            ..AuthorizationParams::default()
        }
    }

    fn error_of(refusal: Result<AuthorizationRequest, Refusal>) -> &'static str {
        match refusal {
            Err(Refusal::Redirect(r)) => r.error,
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[test]
    fn pkce_checks_s256_as_rfc_7636_defines_it() {
        assert!(pkce_matches(CHALLENGE, VERIFIER));
        assert!(!pkce_matches(CHALLENGE, &VERIFIER.replace('d', "e")));
        assert!(!pkce_matches(CHALLENGE, "short"));
    }

    #[test]
    fn a_good_request_passes_and_bad_ones_are_refused_where_the_spec_says() {
        let public = client(ClientKind::Public);
        let ok = check("https://op", &public, &params(), Utc::now()).expect("valid");
        assert_eq!(ok.scope, ["openid", "email"]);
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));

        let with = |f: fn(&mut AuthorizationParams)| {
            let mut p = params();
            f(&mut p);
            check("https://op", &public, &p, Utc::now())
        };
        // Never redirected: an unregistered or missing redirect URI (two registered).
        assert!(matches!(
            with(|p| p.redirect_uri = Some("https://evil.example/cb".into())),
            Err(Refusal::Page(_))
        ));
        assert!(matches!(
            with(|p| p.redirect_uri = Some("https://app.example/cb/".into())),
            Err(Refusal::Page(_))
        ));
        assert!(matches!(
            with(|p| p.redirect_uri = None),
            Err(Refusal::Page(_))
        ));
        // Redirected with the spec's codes.
        assert_eq!(
            error_of(with(|p| p.response_type = Some("token".into()))),
            "unsupported_response_type"
        );
        assert_eq!(
            error_of(with(|p| p.scope = Some("openid profile".into()))),
            "invalid_scope"
        );
        assert_eq!(error_of(with(|p| p.scope = None)), "invalid_scope");
        assert_eq!(
            error_of(with(|p| p.code_challenge = None)),
            "invalid_request"
        );
        assert_eq!(
            error_of(with(|p| p.code_challenge_method = Some("plain".into()))),
            "invalid_request"
        );
        assert_eq!(
            error_of(with(|p| p.prompt = Some("none login".into()))),
            "invalid_request"
        );
        assert_eq!(
            error_of(with(|p| p.max_age = Some("-1".into()))),
            "invalid_request"
        );
        assert_eq!(
            error_of(with(|p| p.request = Some("eyJ".into()))),
            "request_not_supported"
        );
        assert_eq!(
            error_of(with(|p| p.state = Some("x".repeat(MAX_PARAM + 1)))),
            "invalid_request"
        );
        let refused = with(|p| p.response_type = None);
        let Err(Refusal::Redirect(r)) = refused else {
            panic!()
        };
        let location = r.location();
        assert!(
            location.starts_with("https://app.example/cb?error=unsupported_response_type"),
            "{location}"
        );
        assert!(
            location.contains("&state=s1") && location.contains("&iss=https%3A%2F%2Fop"),
            "{location}"
        );
    }
}
