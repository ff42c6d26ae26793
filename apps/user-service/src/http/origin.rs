//! Where a request came from (client address, software, request id), as the audit trail and
//! sessions record it.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use usvc_core::Origin;

use crate::http::problem::ApiError;

/// The request's id, put in the request's extensions by the request-context middleware, so
/// audit rows and log lines of one request share it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The origin of `req`: the client's address (`client_address`), the first 256 characters of its `User-Agent`, and
/// its request id.
pub fn of(req: &HttpRequest) -> Origin {
    Origin {
        ip: crate::http::client_address::client_ip(req).map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
        request_id: req.extensions().get::<RequestId>().map(|id| id.0.clone()),
    }
}

/// Extracts the [`Origin`] of an unauthenticated request (authenticated ones carry it in their
/// principal).
#[derive(Debug, Clone)]
pub struct ClientOrigin(pub Origin);

impl FromRequest for ClientOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(of(req))))
    }
}
