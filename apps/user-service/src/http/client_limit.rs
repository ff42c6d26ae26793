//! The per-client-IP limit on the unauthenticated auth endpoints, as an extractor: a handler
//! that takes [`ClientLimit`] runs only while its caller's IP is under `AUTH_RATE_LIMIT`
//! requests in the current minute. Counters live in the database, so the limit holds across
//! replicas and restarts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::{DateTime, Duration, DurationRound, Utc};
use usvc_core::ports::RateLimiter;
use usvc_core::CoreError;

use crate::http::problem::ApiError;
use crate::http::state::AppState;

/// The counting window.
const WINDOW: Duration = Duration::minutes(1);

/// A fixed-window limit per client IP.
#[derive(Clone)]
pub struct AuthRateLimit {
    limiter: Arc<dyn RateLimiter>,
    per_minute: u32,
}

impl AuthRateLimit {
    /// At most `per_minute` requests per IP and minute; 0 turns the limit off.
    pub fn new(limiter: Arc<dyn RateLimiter>, per_minute: u32) -> Self {
        Self {
            limiter,
            per_minute,
        }
    }

    /// Counts a request from `ip` at `now`; `RateLimited` with the seconds to the next
    /// window once over the limit.
    pub async fn check(&self, ip: &str, now: DateTime<Utc>) -> Result<(), CoreError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let window = now
            .duration_trunc(WINDOW)
            .map_err(|e| CoreError::Internal(format!("rate window: {e}")))?;
        let hits = self
            .limiter
            .hit(format!("auth-ip:{ip}"), window, window - WINDOW)
            .await?;
        if hits > self.per_minute {
            let left = (window + WINDOW - now).num_seconds();
            return Err(CoreError::RateLimited {
                retry_after_secs: u64::try_from(left).unwrap_or(1).max(1),
            });
        }
        Ok(())
    }
}

impl AuthRateLimit {
    /// Counts `req` against its client's limit (the hosted sign-in form, which answers with
    /// a page rather than through the [`ClientLimit`] extractor's problem).
    pub async fn check_request(
        &self,
        req: &HttpRequest,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        match crate::http::client_address::client_ip(req).map(client_key) {
            Some(ip) => self.check(&ip, now).await,
            None => Ok(()),
        }
    }
}

/// The bucket an address counts in: the address itself for IPv4, its /64 network for IPv6
/// (one host usually holds a whole /64 and could otherwise rotate through it).
fn client_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.to_string();
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Proof that the request is within its IP's limit.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimit;

impl FromRequest for ClientLimit {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The socket's peer, or the address a trusted balancer vouches for; never a forwarding
        // header a client set itself to dodge the limit (`client_address`).
        let ip = crate::http::client_address::client_ip(req).map(client_key);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| CoreError::Internal("application state missing".into()))?;
            let Some(ip) = ip else {
                return Ok(Self);
            };
            state.auth_limit.check(&ip, state.clock.now()).await?;
            Ok(Self)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use usvc_core::ports::MockRateLimiter;

    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |ip: &str| client_key(ip.parse().expect("ip"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }

    #[tokio::test]
    async fn over_the_limit_is_429_until_the_next_minute() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 27, 9, 0, 45)
            .single()
            .expect("time");
        let mut limiter = MockRateLimiter::new();
        let mut count = 0;
        limiter
            .expect_hit()
            .withf(move |key, start, forget| {
                key == "auth-ip:203.0.113.9"
                    && *start == now - Duration::seconds(45)
                    && *forget == now - Duration::seconds(105)
            })
            .returning(move |_, _, _| {
                count += 1;
                Ok(count)
            });
        let limit = AuthRateLimit::new(Arc::new(limiter), 2);
        assert!(limit.check("203.0.113.9", now).await.is_ok());
        assert!(limit.check("203.0.113.9", now).await.is_ok());
        assert_eq!(
            limit.check("203.0.113.9", now).await,
            Err(CoreError::RateLimited {
                retry_after_secs: 15
            })
        );
        let off = AuthRateLimit::new(Arc::new(MockRateLimiter::new()), 0);
        assert!(
            off.check("203.0.113.9", now).await.is_ok(),
            "0 is off, and counts nothing"
        );
    }
}
