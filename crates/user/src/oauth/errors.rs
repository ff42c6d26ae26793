//! The token endpoint's errors (RFC 6749 section 5.2), kept apart from failures of the
//! service itself (a 5xx, not a protocol answer).

use usvc_core::CoreError;

/// An error answer of the token, revocation or introspection endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC 6749 code (`invalid_grant`, …).
    pub error: &'static str,
    /// For the client's developer.
    pub description: String,
    /// A failure of the service (not of the request): answered as a problem, not as `error`.
    pub internal: Option<CoreError>,
}

impl OAuthError {
    fn of(error: &'static str, description: &str) -> Self {
        Self {
            error,
            description: description.to_owned(),
            internal: None,
        }
    }

    /// The client could not be authenticated (401).
    pub fn invalid_client(description: &str) -> Self {
        Self::of("invalid_client", description)
    }

    /// The code or refresh token is not (or no longer) good, or not this client's.
    pub fn invalid_grant(description: &str) -> Self {
        Self::of("invalid_grant", description)
    }

    /// A parameter is missing or malformed.
    pub fn invalid_request(description: &str) -> Self {
        Self::of("invalid_request", description)
    }

    /// The client may not use this grant.
    pub fn unauthorized_client(description: &str) -> Self {
        Self::of("unauthorized_client", description)
    }

    /// Not a grant this provider knows.
    pub fn unsupported_grant_type(description: &str) -> Self {
        Self::of("unsupported_grant_type", description)
    }

    /// A scope beyond what was granted.
    pub fn invalid_scope(description: &str) -> Self {
        Self::of("invalid_scope", description)
    }
}

impl From<CoreError> for OAuthError {
    fn from(e: CoreError) -> Self {
        match e {
            // A grant whose account was disabled or erased meanwhile.
            CoreError::Unauthenticated(reason) => Self::invalid_grant(&reason),
            other => Self {
                error: "server_error",
                description: "the service failed".into(),
                internal: Some(other),
            },
        }
    }
}
