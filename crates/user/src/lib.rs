//! `usvc-user`: the identity and access domain — tenants, users and profiles, credentials,
//! sessions, tokens, MFA, roles and the `Authorizer`.
//!
//! It depends only on `usvc-core` ports, so another team can embed it with their own adapters.
//! Today it holds [`TenantService`]; users, sessions and authorization arrive with the identity
//! and access-control issues.

mod tenants;

pub use tenants::TenantService;
