//! RFC 9457 problem details: every error this service returns is `application/problem+json`.

use actix_http::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use usvc_core::{CoreError, FieldError};
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:problem:user-service:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case, in words a person can act on.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: String,
    /// Per-field reasons, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    /// A problem with a code, status and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:problem:user-service:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: None,
        }
    }

    /// The response carrying this problem.
    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(self)
    }
}

/// A `CoreError` on its way out over HTTP.
#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        Self(err)
    }
}

/// An id from the request path. One that does not even parse is `404 <what> not found`, the
/// same answer as an unknown or another tenant's id.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse::<T>()
        .map_err(|_| ApiError(CoreError::NotFound(what.into())))
}

impl ApiError {
    /// The problem document for this error (also used per item in bulk answers).
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        match &self.0 {
            CoreError::Validation(fields) => Problem {
                errors: Some(fields.clone()),
                ..Problem::new(status, "validation", self.0.to_string())
            },
            CoreError::Internal(_) => Problem::new(
                status,
                "internal",
                "an internal error occurred; the X-Request-Id header identifies it in the logs",
            ),
            other => Problem::new(status, other.code(), other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            CoreError::Validation(_) => StatusCode::BAD_REQUEST,
            CoreError::NotFound(_) => StatusCode::NOT_FOUND,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            CoreError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
            CoreError::RateLimited { .. } | CoreError::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            CoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let CoreError::Internal(message) = &self.0 {
            tracing::error!(error = %message, "internal error");
        }
        let mut response = self.problem().response();
        if let CoreError::Unauthenticated(_) = &self.0 {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let CoreError::Unavailable(_) = &self.0 {
            // Most outages (a restart, a failover, a saturated pool) last seconds; balancers
            // answer the same way when no replica is ready (`deploy/haproxy/haproxy.cfg`).
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let CoreError::RateLimited { retry_after_secs }
        | CoreError::QuotaExceeded {
            retry_after_secs, ..
        } = &self.0
        {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A problem as an actix error (for extractor error handlers).
fn as_error(problem: &Problem) -> actix_web::Error {
    actix_web::error::InternalError::from_response(problem.detail.clone(), problem.response())
        .into()
}

/// Body problems: not JSON, wrong content type, too large, or fields that do not fit.
#[allow(clippy::needless_pass_by_value)] // the signature actix's error_handler takes
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON, sent with Content-Type: application/json",
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the {limit} bytes allowed"),
        ),
        JsonPayloadError::Deserialize(e) if e.is_syntax() || e.is_eof() => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        ),
        JsonPayloadError::Deserialize(e) => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body does not match the expected shape: {e}"),
        ),
        other => Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the body could not be read: {other}"),
        ),
    };
    as_error(&problem)
}

/// A body that is JSON but not of the expected shape (a wrong type, an unknown field, a
/// missing one): `400 invalid_body`, naming the field it is in (`tags[2]`, `rows[0].email`)
/// in `errors[]` as well as in the detail.
pub fn shape_error(err: serde_path_to_error::Error<serde_json::Error>) -> actix_web::Error {
    // Both may repeat a caller's key; a megabyte-long one is not echoed back in full.
    let path = clipped(err.path().to_string());
    let message = clipped(err.into_inner().to_string());
    let mut problem = Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        format!("the body does not match the expected shape: {message}"),
    );
    if path != "." {
        problem.detail =
            format!("the body does not match the expected shape at `{path}`: {message}");
        problem.errors = Some(vec![FieldError {
            field: path,
            message,
        }]);
    }
    as_error(&problem)
}

/// `text` cut to at most 300 characters (with `…` where it was cut).
fn clipped(text: String) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Query-string problems (`?limit=abc`).
#[allow(clippy::needless_pass_by_value)] // the signature actix's error_handler takes
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    as_error(&Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("the query string is invalid: {err}"),
    ))
}

/// Path-parameter problems (`/users/not-a-uuid`).
#[allow(clippy::needless_pass_by_value)] // the signature actix's error_handler takes
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    as_error(&Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_path",
        format!("a path parameter is invalid: {err}"),
    ))
}

/// Unknown routes.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no resource at {} {}", req.method(), req.path()),
    )
    .response()
}

/// The last line of defence: an error response with no JSON body (an empty 405 from the
/// router, a text error raised inside actix) is rewritten into a problem with the same status,
/// keeping an `Allow` header if there was one. Deliberate JSON error bodies (a 503 from
/// `/health` with its status document) pass through.
pub fn ensure_problem_body<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_json(res.headers()) || is_page(res.headers()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let (req, res) = res.into_parts();
    let response = into_problem(
        res.status(),
        res.headers().get(header::ALLOW).cloned(),
        &req,
    );
    let res: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(req, response).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// The generic problem for a status (`405` → code `method_not_allowed`).
pub fn for_status(status: StatusCode) -> Problem {
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    Problem::new(status, &reason.replace(' ', "_"), reason)
}

/// A problem response for an error status that came without one.
pub fn into_problem(
    status: StatusCode,
    allow: Option<HeaderValue>,
    req: &HttpRequest,
) -> HttpResponse {
    let mut problem = for_status(status);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        problem.detail = format!("{} is not allowed on {}", req.method(), req.path());
    }
    let mut response = problem.response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// Whether a response already carries a problem document.
pub fn is_problem(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON))
}

/// 405 with the methods the resource does serve.
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    into_problem(
        StatusCode::METHOD_NOT_ALLOWED,
        Some(HeaderValue::from_static(allow)),
        req,
    )
}

/// Whether a response is one of the hosted sign-in pages (an error page is for a person).
fn is_page(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Whether a response carries JSON (`application/json` or any `+json` type).
fn is_json(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_store_says_when_to_retry_and_an_internal_error_does_not() {
        let down = ApiError(CoreError::Unavailable(
            "the database connection was lost".into(),
        ));
        let response = down.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        let broken = ApiError(CoreError::Internal("a bug".into())).error_response();
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(broken.headers().get(header::RETRY_AFTER).is_none());
    }
}
