//! The OpenID provider's domain (docs/oidc.md): the tenant's client registry (`clients`,
//! checked by `client_rules`), authorization requests (`request`), the provider's use cases
//! (`provider`: issuers, the browser session, codes), client authentication at the token
//! endpoint (`client_auth`, `assertion`), the token endpoint and `userinfo` (`tokens`), a
//! client acting as itself (`service_account`) and the endpoints' errors (`errors`).

pub mod assertion;
pub mod client_auth;
pub mod client_rules;
pub mod clients;
pub mod consents;
pub mod discovery;
pub mod ending;
pub mod errors;
pub mod provider;
pub mod request;
pub mod service_account;
pub mod tokens;

pub use client_auth::ClientCredentials;
pub use client_rules::{ClientInput, SUPPORTED_SCOPES};
pub use clients::{ClientService, SavedClient};
pub use consents::ConsentView;
pub use ending::Logout;
pub use errors::OAuthError;
pub use provider::{BrowserSession, Issuer, Next, OidcPorts, OidcProvider};
pub use request::{AuthorizationParams, AuthorizationRequest, Refusal};
pub use tokens::{TokenParams, TokenResponse};
