//! CORS for the provider's endpoints a browser application calls itself (a single-page app
//! with PKCE: token, userinfo, revocation). They are answered to any origin without
//! credentials (`*`): each carries its own proof (a code and verifier, a bearer token), and
//! no cookie of this service is ever sent with them. The preflight a browser sends before a
//! request with an `Authorization` header (userinfo) is answered here.

use actix_web::http::header;
use actix_web::HttpResponse;

/// How long a browser may reuse a preflight answer, in seconds.
const MAX_AGE: &str = "600";

/// `OPTIONS` on a browser-callable endpoint: 204 with what may be sent.
pub async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, DPoP",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
        .finish()
}
