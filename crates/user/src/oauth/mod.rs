//! The OpenID provider's domain (docs/oidc.md): the tenant's client registry (`clients`,
//! checked by `client_rules`) and what client assertions are checked against (`assertion`).

pub mod assertion;
pub mod client_rules;
pub mod clients;

pub use client_rules::{ClientInput, SUPPORTED_SCOPES};
pub use clients::{ClientService, SavedClient};
