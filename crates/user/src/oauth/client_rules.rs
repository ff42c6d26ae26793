//! What a client registration must satisfy, checked before anything is stored: every broken
//! rule reported at once, with the field it is about (`redirect_uris[1]`).

use usvc_core::{ClientAuthMethod, ClientKind, CoreError, FieldError, GrantType, IdTokenAlg};

/// The scopes this provider knows. `api` lets an access token act on this service's own API
/// as the user (only what the user may do); without it a token reaches `userinfo` only.
pub const SUPPORTED_SCOPES: [&str; 5] = ["openid", "profile", "email", "offline_access", "api"];

/// At most this many redirect URIs (and post-logout redirect URIs) per client.
pub const MAX_REDIRECT_URIS: usize = 10;
/// The longest URI accepted.
pub const MAX_URI_LENGTH: usize = 2000;
/// The largest registered JWK Set (`private_key_jwt`), serialised.
pub const MAX_JWKS_BYTES: usize = 16 * 1024;

/// A client definition as a caller sends it (create or replace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInput {
    /// 1-100 characters; shown on the consent page.
    pub name: String,
    /// Confidential or public (fixed once created).
    pub kind: ClientKind,
    /// Defaults to `client_secret_basic` (confidential) or `none` (public).
    pub auth_method: Option<ClientAuthMethod>,
    /// The JWK Set for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grants.
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes, from [`SUPPORTED_SCOPES`].
    pub scopes: Vec<String>,
    /// Roles of `client_credentials` tokens.
    pub roles: Vec<String>,
    /// Skip the consent page (first-party applications).
    pub trusted: bool,
    /// What its ID tokens are signed with.
    pub id_token_alg: IdTokenAlg,
}

/// A definition that passed every rule, normalised (duplicates dropped, defaults filled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedClient {
    pub(crate) name: String,
    pub(crate) auth_method: ClientAuthMethod,
    pub(crate) jwks: Option<serde_json::Value>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) grant_types: Vec<GrantType>,
    pub(crate) scopes: Vec<String>,
    pub(crate) roles: Vec<String>,
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Checks `input`; every problem at once.
pub fn check(input: &ClientInput) -> Result<CheckedClient, CoreError> {
    let mut errors = Errors(Vec::new());
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push("name", "must be 1-100 printable characters");
    }
    let auth_method = auth_method(input, &mut errors);
    let jwks = jwks(input, auth_method, &mut errors);
    let grant_types = dedup(input.grant_types.clone());
    grants(input, &grant_types, &mut errors);
    let public = input.kind == ClientKind::Public;
    let redirect_uris = uris("redirect_uris", &input.redirect_uris, public, &mut errors);
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        errors.push(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        );
    }
    let post_logout_redirect_uris = uris(
        "post_logout_redirect_uris",
        &input.post_logout_redirect_uris,
        public,
        &mut errors,
    );
    let scopes = dedup(input.scopes.clone());
    for (i, scope) in scopes.iter().enumerate() {
        if !SUPPORTED_SCOPES.contains(&scope.as_str()) {
            errors.push(
                format!("scopes[{i}]"),
                format!(
                    "`{scope}` is not a scope of this provider ({})",
                    SUPPORTED_SCOPES.join(", ")
                ),
            );
        }
    }
    let roles = dedup(input.roles.clone());
    if !roles.is_empty() && !grant_types.contains(&GrantType::ClientCredentials) {
        errors.push(
            "roles",
            "roles are what client_credentials tokens carry: allow that grant or give none",
        );
    }
    if roles.len() > 20 {
        errors.push("roles", "at most 20 roles");
    }
    // A service account must never be what keeps a tenant owned: removing its client would
    // leave nobody to administer it.
    if roles.iter().any(|r| r == "owner") {
        errors.push(
            "roles",
            "a client cannot be an owner (give it `admin` or a custom role)",
        );
    }
    if errors.0.is_empty() {
        Ok(CheckedClient {
            name,
            auth_method,
            jwks,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            roles,
        })
    } else {
        Err(CoreError::Validation(errors.0))
    }
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

fn auth_method(input: &ClientInput, errors: &mut Errors) -> ClientAuthMethod {
    let method = input.auth_method.unwrap_or(match input.kind {
        ClientKind::Confidential => ClientAuthMethod::ClientSecretBasic,
        ClientKind::Public => ClientAuthMethod::None,
    });
    match (input.kind, method) {
        (ClientKind::Public, ClientAuthMethod::None)
        | (
            ClientKind::Confidential,
            ClientAuthMethod::ClientSecretBasic
            | ClientAuthMethod::ClientSecretPost
            | ClientAuthMethod::PrivateKeyJwt,
        ) => {}
        (ClientKind::Public, _) => {
            errors.push("auth_method", "a public client cannot keep a secret: `none`");
        }
        (ClientKind::Confidential, ClientAuthMethod::None) => errors.push(
            "auth_method",
            "a confidential client authenticates: client_secret_basic, client_secret_post or private_key_jwt",
        ),
    }
    method
}

fn jwks(
    input: &ClientInput,
    method: ClientAuthMethod,
    errors: &mut Errors,
) -> Option<serde_json::Value> {
    let Some(jwks) = &input.jwks else {
        if method == ClientAuthMethod::PrivateKeyJwt {
            errors.push(
                "jwks",
                "private_key_jwt needs the client's public keys (a JWK Set)",
            );
        }
        return None;
    };
    if method != ClientAuthMethod::PrivateKeyJwt {
        errors.push("jwks", "keys are registered only for private_key_jwt");
        return None;
    }
    if serde_json::to_vec(jwks).map_or(usize::MAX, |b| b.len()) > MAX_JWKS_BYTES {
        errors.push("jwks", format!("at most {MAX_JWKS_BYTES} bytes"));
        return None;
    }
    let keys = jwks.get("keys").and_then(serde_json::Value::as_array);
    match keys {
        Some(keys) if (1..=10).contains(&keys.len()) => {
            for (i, key) in keys.iter().enumerate() {
                if let Err(reason) = crate::oauth::assertion::usable_key(key) {
                    errors.push(format!("jwks.keys[{i}]"), reason);
                }
            }
        }
        _ => errors.push("jwks", "a JWK Set: {\"keys\": [...]} with 1-10 keys"),
    }
    Some(jwks.clone())
}

fn grants(input: &ClientInput, grants: &[GrantType], errors: &mut Errors) {
    if grants.is_empty() {
        errors.push("grant_types", "at least one grant");
    }
    if grants.contains(&GrantType::ClientCredentials) && input.kind == ClientKind::Public {
        errors.push(
            "grant_types",
            "client_credentials is for confidential clients only",
        );
    }
    if grants.contains(&GrantType::RefreshToken) && !grants.contains(&GrantType::AuthorizationCode)
    {
        errors.push(
            "grant_types",
            "refresh_token comes with authorization_code (client_credentials gets no refresh tokens)",
        );
    }
}

/// Redirect URIs (RFC 9700 section 4.1, RFC 8252): absolute, no fragment, no user
/// information; `https`, or `http` on a loopback host, or (public clients only, for native
/// apps) a private-use scheme written as a reversed domain (`com.example.app:/callback`).
fn uris(field: &str, uris: &[String], public: bool, errors: &mut Errors) -> Vec<String> {
    if uris.len() > MAX_REDIRECT_URIS {
        errors.push(field, format!("at most {MAX_REDIRECT_URIS} URIs"));
        return Vec::new();
    }
    let uris = dedup(uris.to_vec());
    for (i, uri) in uris.iter().enumerate() {
        if let Err(reason) = redirect_uri_ok(uri, public) {
            errors.push(format!("{field}[{i}]"), reason);
        }
    }
    uris
}

/// Why `uri` cannot be a redirect URI, if it cannot.
pub fn redirect_uri_ok(uri: &str, public: bool) -> Result<(), String> {
    if uri.len() > MAX_URI_LENGTH {
        return Err(format!("at most {MAX_URI_LENGTH} characters"));
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("not an absolute URI ({e})"))?;
    if parsed.as_str() != uri && parsed.as_str() != format!("{uri}/") {
        return Err(format!(
            "write it as it is compared, exactly: `{}`",
            parsed.as_str()
        ));
    }
    if parsed.fragment().is_some() {
        return Err("a redirect URI has no fragment".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a redirect URI carries no user information".into());
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(
                "http only on a loopback host (127.0.0.1, [::1], localhost); https otherwise"
                    .into(),
            ),
        },
        "javascript" | "data" | "file" | "vbscript" | "blob" => {
            Err(format!("the `{}` scheme is refused", parsed.scheme()))
        }
        scheme if public && scheme.contains('.') => Ok(()),
        scheme if public => Err(format!(
            "a native app's scheme is a reversed domain it owns (com.example.app), not `{scheme}`"
        )),
        _ => Err("https (or http on a loopback host)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClientInput {
        ClientInput {
            name: "Grafana".into(),
            kind: ClientKind::Confidential,
            auth_method: None,
            jwks: None,
            redirect_uris: vec!["https://grafana.example.com/login/generic_oauth".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            roles: vec![],
            trusted: false,
            id_token_alg: IdTokenAlg::RS256,
        }
    }

    fn fields(input: &ClientInput) -> Vec<String> {
        match check(input) {
            Err(CoreError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected validation errors, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_confidential_client_gets_the_secret_method() {
        let checked = check(&input()).unwrap();
        assert_eq!(checked.auth_method, ClientAuthMethod::ClientSecretBasic);
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_or_a_native_scheme() {
        assert!(redirect_uri_ok("https://app.example.com/cb", false).is_ok());
        assert!(redirect_uri_ok("http://127.0.0.1:8080/cb", false).is_ok());
        assert!(redirect_uri_ok("http://[::1]/cb", false).is_ok());
        assert!(redirect_uri_ok("http://localhost:3000/cb", false).is_ok());
        assert!(redirect_uri_ok("com.example.app:/cb", true).is_ok());
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "javascript:alert(1)",
            "/relative",
            "HTTPS://APP.example.com/cb",
        ] {
            assert!(redirect_uri_ok(bad, true).is_err(), "{bad}");
        }
        assert!(redirect_uri_ok("com.example.app:/cb", false).is_err());
        assert!(redirect_uri_ok("myapp:/cb", true).is_err());
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let mut bad = input();
        bad.kind = ClientKind::Public;
        bad.auth_method = Some(ClientAuthMethod::ClientSecretPost);
        bad.redirect_uris = vec![
            "https://ok.example/cb".into(),
            "http://evil.example/".into(),
        ];
        bad.grant_types = vec![GrantType::ClientCredentials, GrantType::RefreshToken];
        bad.scopes = vec!["openid".into(), "admin".into()];
        bad.name = String::new();
        assert_eq!(
            fields(&bad),
            [
                "name",
                "auth_method",
                "grant_types",
                "grant_types",
                "redirect_uris[1]",
                "scopes[1]"
            ]
        );
        let mut roles = input();
        roles.roles = vec!["admin".into()];
        assert_eq!(fields(&roles), ["roles"]);
        let mut keyless = input();
        keyless.auth_method = Some(ClientAuthMethod::PrivateKeyJwt);
        assert_eq!(fields(&keyless), ["jwks"]);
        let mut none = input();
        none.grant_types = vec![GrantType::AuthorizationCode];
        none.redirect_uris = vec![];
        assert_eq!(fields(&none), ["redirect_uris"]);
    }
}
