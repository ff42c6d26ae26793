//! What every response says about itself, and who may read the operator pages.
//!
//! - **Security headers** on every response, problems and panics included (set by
//!   `request_context`): `X-Content-Type-Options: nosniff` (no MIME sniffing of JSON into
//!   HTML), `Referrer-Policy: no-referrer` (tokens in links never leak onward),
//!   `Content-Security-Policy: frame-ancestors 'none'` and `X-Frame-Options: DENY` (no page
//!   of the service can be framed: no clickjacking of `/docs`), and, when `PUBLIC_URL` is
//!   https, `Strict-Transport-Security` for a year.
//! - **Operator pages.** `/metrics` and `/health/detailed` show the service's inner figures.
//!   By default they are open, like the probes, for a scraper on the private network; with
//!   `OPERATOR_TOKEN` set they answer only `Authorization: Bearer <token>` (compared in
//!   constant time) and everyone else gets a 401 problem. docs/operations.md has the trade-off.

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::HttpRequest;

use super::problem::Problem;

/// The exposure settings, from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Exposure {
    /// Send `Strict-Transport-Security` (the service is reached over https).
    pub hsts: bool,
    /// What `/metrics` and `/health/detailed` ask for, when set.
    pub operator_token: Option<String>,
}

impl Exposure {
    /// From the configuration: HSTS when `PUBLIC_URL` is https; `OPERATOR_TOKEN`.
    pub fn from_config(config: &usvc_config::Config) -> Self {
        Self {
            hsts: config.public_url.starts_with("https://"),
            operator_token: config.operator_token.clone(),
        }
    }

    /// Whether the service is reached over https (`PUBLIC_URL`).
    pub fn https(&self) -> bool {
        self.hsts
    }

    /// Adds the security headers to `headers` (keeping any a handler set itself).
    pub fn apply(&self, headers: &mut HeaderMap) {
        let mut set = |name: HeaderName, value: &'static str| {
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        };
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(header::REFERRER_POLICY, "no-referrer");
        set(header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'");
        set(header::X_FRAME_OPTIONS, "DENY");
        if self.hsts {
            set(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            );
        }
    }

    /// `Ok` when the request may read an operator page; the 401 problem otherwise.
    pub fn operator(&self, req: &HttpRequest) -> Result<(), Box<Problem>> {
        let Some(expected) = &self.operator_token else {
            return Ok(());
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if usvc_core::secret::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(Box::new(Problem::new(
                actix_web::http::StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "this page needs the operator token (Authorization: Bearer <OPERATOR_TOKEN>)",
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_added_and_hsts_only_over_https() {
        let mut headers = HeaderMap::new();
        Exposure::default().apply(&mut headers);
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(
            headers.get("content-security-policy").unwrap(),
            "frame-ancestors 'none'"
        );
        assert!(headers.get("strict-transport-security").is_none());
        let mut headers = HeaderMap::new();
        Exposure {
            hsts: true,
            operator_token: None,
        }
        .apply(&mut headers);
        assert!(headers.get("strict-transport-security").is_some());
    }

    #[test]
    fn the_operator_token_is_compared_whole() {
        assert!(usvc_core::secret::constant_time_eq(b"abc", b"abc"));
        assert!(!usvc_core::secret::constant_time_eq(b"abc", b"abd"));
        assert!(!usvc_core::secret::constant_time_eq(b"abc", b"abcd"));
    }
}
