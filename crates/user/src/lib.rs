//! `usvc-user`: the identity and access domain — tenants, users and profiles, credentials,
//! sessions, tokens, MFA, roles and the `Authorizer`.
//!
//! It depends only on `usvc-core` ports, so another team can embed it with their own adapters.
//! It holds [`TenantService`], [`AuthService`] (login, refresh with rotation and reuse
//! detection, logout, sessions, bearer authentication), [`UserService`] (user administration,
//! profiles, lookup, import, registration, [`permission_questions`]) and two `Authorizer`s:
//! [`RoleAuthorizer`] (`builtin_roles`: the built-in roles and what each grants) and
//! [`TenantAuthorizer`] (`tenant_authorizer`: built-in, then the tenant's custom roles and
//! project roles, every refusal audited; the one the service runs with).

pub mod audit;
mod auth;
mod bootstrap;
pub mod builtin_roles;
mod ceremony;
pub mod events;
pub mod grants;
pub mod oauth;
pub mod passkeys;
pub mod password_policy;
mod platform;
pub mod roles;
mod sealed;
mod tenant_authorizer;
mod tenants;
mod users;

pub use audit::{AuditExport, AuditService};
pub use auth::mfa::{ConfirmedTotp, MfaSubject, MFA_MAX_ATTEMPTS, RECOVERY_CODES};
pub use auth::reauthenticate::{FreshSignIn, FRESH_SIGN_IN};
pub use auth::{
    lockout, AuthPorts, AuthService, LoginOutcome, TokenPair, CLIENT_REFRESH_PREFIX, FREE_FAILURES,
    MAX_LOCK,
};
pub use bootstrap::{bootstrap, provision, Bootstrap, BootstrapPorts, Provisioned, DEFAULT_TENANT};
pub use builtin_roles::RoleAuthorizer;
pub use ceremony::BegunCeremony;
pub use oauth::{ClientInput, ClientService, OidcPorts, OidcProvider, SavedClient};
pub use passkeys::{PasskeyPorts, PasskeyService, SignedIn};
pub use platform::{
    set_platform_grant, NewTenantWithOwner, PlatformPorts, PlatformService, TenantChanges,
};
pub use roles::{RoleInput, RoleService, RoleSummary};
pub use tenant_authorizer::{AuthorizerPorts, TenantAuthorizer};
pub use tenants::TenantService;
pub use users::permission_questions;
pub use users::{
    AdminChanges, ImportOutcome, ImportRow, Lookup, NewUser, ProfileChanges, Registration,
    UserPorts, UserService, MAX_IMPORT_ROWS, MAX_LOOKUP_IDS, MAX_METADATA_BYTES,
};
