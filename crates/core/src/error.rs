//! One error type for every port and domain service.
//!
//! Its kinds mirror the seed's CoreErrorHandler categories; the HTTP adapter maps each kind to
//! one status code and an RFC 9457 problem document, so a domain never thinks about HTTP.

use serde::Serialize;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The input was rejected; nothing was written. Each entry names the offending field.
    #[error("validation failed: {}", describe(.0))]
    Validation(Vec<FieldError>),
    /// The resource does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(String),
    /// The write clashes with the current state (duplicate key, stale version, …).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's precondition does not hold: the resource changed since the version they
    /// read (`If-Match`); read it again and re-apply.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The caller is not authenticated (missing, expired or invalid credentials).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is authenticated but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many attempts; the caller may retry after the given number of seconds.
    #[error("rate limited; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A tenant quota is used up (`detail` says which); retrying later may succeed.
    #[error("quota exceeded: {detail}")]
    QuotaExceeded {
        /// Which quota, and how much of it is used.
        detail: String,
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// A dependency (database, cache broker, …) is down; retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state. The message is logged, never shown to API callers.
    #[error("internal error: {0}")]
    Internal(String),
}

/// One rejected input field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the caller sent it (`slug`, `limit`, `steps[2].id`).
    pub field: String,
    /// A sentence a person can act on.
    pub message: String,
}

impl CoreError {
    /// A validation error about a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// A stable, machine-readable code for the kind (`validation`, `not_found`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_message_names_every_field() {
        let err = CoreError::Validation(vec![
            FieldError {
                field: "slug".into(),
                message: "too short".into(),
            },
            FieldError {
                field: "name".into(),
                message: "empty".into(),
            },
        ]);
        assert_eq!(
            err.to_string(),
            "validation failed: slug: too short; name: empty"
        );
        assert_eq!(err.code(), "validation");
    }
}
