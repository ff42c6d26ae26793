//! `usvc-user`: the identity and access domain — tenants, users and profiles, credentials,
//! sessions, tokens, MFA, roles and the `Authorizer`.
//!
//! It depends only on `usvc-core` ports, so another team can embed it with their own adapters.
//! Today it holds [`TenantService`] and [`AuthService`] (login, refresh with rotation and reuse
//! detection, logout, bearer authentication); profiles, MFA and authorization come next.

mod auth;
mod bootstrap;
mod tenants;

pub use auth::{
    lockout, AuthPorts, AuthService, ClientInfo, SessionPolicy, TokenPair, FREE_FAILURES, MAX_LOCK,
};
pub use bootstrap::{bootstrap, Bootstrap, DEFAULT_TENANT};
pub use tenants::TenantService;
