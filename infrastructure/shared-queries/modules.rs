// The query modules both store adapters compile (docs/adr/0002-one-query-source-for-two-stores.md),
// each against its own `crate::backend` and `crate::schema`. Each adapter's lib.rs includes this
// file (`include!("../../shared-queries/modules.rs")`), so a new query file is listed here once.
// Paths are relative to this file.
// `contract` lists what the queries need from an adapter's `backend` module; see its comment.
#[path = "action_tokens.rs"]
mod action_tokens;
#[path = "audit.rs"]
mod audit;
#[path = "audit_queue.rs"]
mod audit_queue;
#[path = "contract.rs"]
mod contract;
#[path = "errors.rs"]
mod errors;
#[path = "executions/mod.rs"]
mod executions;
#[path = "fair_claims.rs"]
mod fair_claims;
#[path = "group_commit.rs"]
mod group_commit;
#[path = "idempotency.rs"]
mod idempotency;
#[path = "login_throttle.rs"]
mod login_throttle;
#[path = "mfa.rs"]
mod mfa;
#[path = "oauth_clients.rs"]
mod oauth_clients;
#[path = "oauth_consents.rs"]
mod oauth_consents;
#[path = "oauth_grants.rs"]
mod oauth_grants;
#[path = "outbox.rs"]
mod outbox;
#[path = "passkeys.rs"]
mod passkeys;
#[path = "platform_admins.rs"]
mod platform_admins;
#[path = "prepared.rs"]
mod prepared;
#[path = "project_access.rs"]
mod project_access;
#[path = "project_analytics.rs"]
mod project_analytics;
#[path = "project_bulk.rs"]
mod project_bulk;
#[path = "projects.rs"]
mod projects;
#[path = "quotas.rs"]
mod quotas;
#[path = "rate_limits.rs"]
mod rate_limits;
#[path = "roles.rs"]
mod roles;
#[path = "service_census.rs"]
mod service_census;
#[path = "sessions.rs"]
mod sessions;
#[path = "signing_keys.rs"]
mod signing_keys;
#[path = "spent_once.rs"]
mod spent_once;
#[path = "store.rs"]
mod store;
#[path = "tasks.rs"]
mod tasks;
#[path = "tenants.rs"]
mod tenants;
#[path = "triggers.rs"]
mod triggers;
#[path = "user_analytics.rs"]
mod user_analytics;
#[path = "users.rs"]
mod users;
#[path = "workflows.rs"]
mod workflows;
