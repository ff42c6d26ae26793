//! The provider's machine endpoints: discovery (`/.well-known/openid-configuration`, RFC
//! 8414's `/.well-known/oauth-authorization-server`), the token endpoint and `userinfo`,
//! each at the service-wide issuer and at every tenant's (`/t/{slug}`). Their errors are the
//! OAuth specs' JSON (`{"error": …}`), not problem documents: that is what clients parse.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde_json::json;
use usvc_core::CoreError;
use usvc_user::oauth::{ClientCredentials, Issuer, OAuthError, TokenParams};

use crate::http::origin;
use crate::http::problem::ApiError;
use crate::http::state::AppState;

async fn issuer(state: &AppState, req: &HttpRequest) -> Result<Issuer, ApiError> {
    Ok(state.oidc.issuer(req.match_info().get("slug")).await?)
}

/// `GET /.well-known/openid-configuration` (and a tenant issuer's).
pub async fn discovery(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let issuer = issuer(&state, &req).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .json(state.oidc.metadata(&issuer)))
}

fn oauth_error(e: &OAuthError, basic: bool) -> Result<HttpResponse, ApiError> {
    if let Some(internal) = &e.internal {
        return Err(ApiError(internal.clone()));
    }
    let status = if e.error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    // A browser application reads the error too (a failed refresh is `invalid_grant`).
    res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if status == StatusCode::UNAUTHORIZED && basic {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"token\""));
    }
    Ok(res.json(json!({ "error": e.error, "error_description": e.description })))
}

/// The client id and secret of an `Authorization: Basic` header (each form-urlencoded
/// first, RFC 6749 section 2.3.1).
fn basic(req: &HttpRequest) -> Option<Result<(String, String), ()>> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let pair = decoded.and_then(|d| {
        let (id, secret) = d.split_once(':')?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|mut v| v.pop())
                .map(|(_, v)| v)
        };
        Some((unescape(id)?, unescape(secret)?))
    });
    Some(pair.ok_or(()))
}

/// The form's fields; a repeated one is an error (RFC 6749 section 3.2).
fn fields(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    let mut fields = HashMap::new();
    for (k, v) in pairs {
        if fields.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(&format!("`{k}` is sent twice")));
        }
    }
    Ok(fields)
}

/// `POST {issuer}/oauth/token`.
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ClientForm {
        issuer,
        credentials,
        mut fields,
        used_basic,
    } = match client_form(&state, &req, &body).await? {
        Ok(form) => form,
        Err(refusal) => return Ok(refusal),
    };
    let params = TokenParams {
        grant_type: fields.remove("grant_type"),
        code: fields.remove("code"),
        redirect_uri: fields.remove("redirect_uri"),
        code_verifier: fields.remove("code_verifier"),
        refresh_token: fields.remove("refresh_token"),
        scope: fields.remove("scope"),
    };
    match state
        .oidc
        .token(&issuer, &credentials, &params, &origin::of(&req))
        .await
    {
        Ok(tokens) => {
            let mut body = json!({
                "access_token": tokens.access_token,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
                "scope": tokens.scope,
            });
            if let Some(refresh) = tokens.refresh_token {
                body["refresh_token"] = json!(refresh);
            }
            if let Some(id_token) = tokens.id_token {
                body["id_token"] = json!(id_token);
            }
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((header::PRAGMA, "no-cache"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
                .json(body))
        }
        Err(e) => oauth_error(&e, used_basic),
    }
}

/// `GET|POST {issuer}/oauth/userinfo` with the access token as a bearer token.
pub async fn userinfo(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let refuse = |error: &str, status: StatusCode| {
        HttpResponse::build(status)
            .insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"{error}\""),
            ))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .json(json!({ "error": error }))
    };
    let Some(bearer) = bearer else {
        return Ok(refuse("invalid_token", StatusCode::UNAUTHORIZED));
    };
    let issuer = issuer(&state, &req).await?;
    match state
        .oidc
        .userinfo(&issuer, bearer.trim(), &origin::of(&req))
        .await
    {
        Ok(claims) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .json(claims)),
        Err(CoreError::Unauthenticated(_)) => Ok(refuse("invalid_token", StatusCode::UNAUTHORIZED)),
        Err(CoreError::Forbidden(_)) => Ok(refuse("insufficient_scope", StatusCode::FORBIDDEN)),
        Err(e) => Err(ApiError(e)),
    }
}

/// A form a client posts (token, revocation, introspection): the issuer it came to, the
/// client's credentials (Basic header, or the form's fields) and the form's other fields.
struct ClientForm {
    issuer: Issuer,
    credentials: ClientCredentials,
    fields: HashMap<String, String>,
    used_basic: bool,
}

/// Reads a client's form; a malformed one is answered (the inner `Err`) as the specs say.
async fn client_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Result<ClientForm, HttpResponse>, ApiError> {
    let issuer = issuer(state, req).await?;
    let basic = basic(req);
    let used_basic = basic.is_some();
    let mut fields = match fields(body) {
        Ok(f) => f,
        Err(e) => return oauth_error(&e, used_basic).map(Err),
    };
    let Ok(basic) = basic.transpose() else {
        let malformed = OAuthError::invalid_client("malformed Basic credentials");
        return oauth_error(&malformed, true).map(Err);
    };
    let credentials = ClientCredentials {
        basic,
        client_id: fields.remove("client_id"),
        client_secret: fields.remove("client_secret"),
        assertion_type: fields.remove("client_assertion_type"),
        assertion: fields.remove("client_assertion"),
    };
    Ok(Ok(ClientForm {
        issuer,
        credentials,
        fields,
        used_basic,
    }))
}

/// `POST {issuer}/oauth/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ClientForm {
        issuer,
        credentials,
        mut fields,
        used_basic,
    } = match client_form(&state, &req, &body).await? {
        Ok(form) => form,
        Err(refusal) => return Ok(refusal),
    };
    let token = fields.remove("token");
    match state
        .oidc
        .revoke(&issuer, &credentials, token.as_deref(), &origin::of(&req))
        .await
    {
        Ok(()) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .finish()),
        Err(e) => oauth_error(&e, used_basic),
    }
}

/// `POST {issuer}/oauth/introspect` (RFC 7662), for confidential clients.
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ClientForm {
        issuer,
        credentials,
        mut fields,
        used_basic,
    } = match client_form(&state, &req, &body).await? {
        Ok(form) => form,
        Err(refusal) => return Ok(refusal),
    };
    let token = fields.remove("token");
    match state
        .oidc
        .introspect(&issuer, &credentials, token.as_deref(), &origin::of(&req))
        .await
    {
        Ok(answer) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(answer)),
        Err(e) => oauth_error(&e, used_basic),
    }
}
