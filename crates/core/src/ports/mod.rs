//! Ports: the traits domains call and adapters implement. All are object-safe and used as
//! `Arc<dyn Port>`; with the `mock` feature each has a `mockall` double.

mod acting_access;
mod action_token_repository;
mod audit_log;
mod authorizer;
mod cache;
mod clock;
mod consent_repository;
mod event_publisher;
mod execution_repository;
mod health;
mod http_client;
mod idempotency_keys;
mod invalidation;
mod login_throttle;
mod mfa_repository;
mod notifier;
mod oauth_client_repository;
mod oauth_grant_repository;
mod offload;
mod opaque_tokens;
mod outbox;
mod passkey_repository;
mod password_hasher;
mod platform_admins;
mod project_access;
mod project_actions;
mod project_analytics;
mod project_repository;
mod quota_repository;
mod rate_limiter;
mod role_repository;
mod secret_box;
mod service_census;
mod session_repository;
mod settings;
mod signing_key_repository;
mod spent_once;
mod store;
mod task_repository;
mod tenant_repository;
mod token_service;
mod totp_service;
mod trigger_repository;
mod user_analytics;
mod user_repository;
mod webauthn;
mod work_signal;
mod workflow_repository;

pub use acting_access::ActingAccess;
pub use action_token_repository::ActionTokenRepository;
pub use audit_log::AuditLog;
pub use authorizer::Authorizer;
pub use cache::{Cache, CacheLoad, CacheStats, INVALIDATE_KEY_BY_KEY};
pub use clock::{Clock, SystemClock};
pub use consent_repository::ConsentRepository;
pub use event_publisher::EventPublisher;
pub use execution_repository::ExecutionRepository;
pub use health::{ComponentHealth, HealthCheck, HealthStatus, PoolStats};
pub use http_client::{HttpClient, OutboundRequest, OutboundResponse};
pub use idempotency_keys::IdempotencyKeys;
pub use invalidation::{
    Invalidation, InvalidationHandler, InvalidationMessage, InvalidationSubscribers,
};
pub use login_throttle::LoginThrottle;
pub use mfa_repository::MfaRepository;
pub use notifier::{Message, Notifier};
pub use oauth_client_repository::OAuthClientRepository;
pub use oauth_grant_repository::OAuthGrantRepository;
pub use offload::{offload, InPlace, Offload};
pub use opaque_tokens::{OpaqueToken, OpaqueTokens};
pub use outbox::{EventRelay, Outbox};
pub use passkey_repository::PasskeyRepository;
pub use password_hasher::{HashLane, PasswordCheck, PasswordHasher};
pub use platform_admins::PlatformAdmins;
pub use project_access::{ProjectAccess, ProjectAccessList};
pub use project_actions::{Acting, ProjectActions};
pub use project_analytics::ProjectAnalytics;
pub use project_repository::ProjectRepository;
pub use quota_repository::QuotaRepository;
pub use rate_limiter::RateLimiter;
pub use role_repository::RoleRepository;
pub use secret_box::SecretBox;
pub use service_census::ServiceCensus;
pub use session_repository::SessionRepository;
pub use settings::{FixedSettings, IdentitySettings, Settings};
pub use signing_key_repository::{SigningKeyRepository, StoredSigningKey};
pub use spent_once::{SingleUse, SpentOnce};
pub use store::Store;
pub use task_repository::TaskRepository;
pub use tenant_repository::TenantRepository;
pub use token_service::{AccessClaims, IssuedToken, TokenRequest, TokenService};
pub use totp_service::{TotpEnrollment, TotpService};
pub use trigger_repository::TriggerRepository;
pub use user_analytics::UserAnalytics;
pub use user_repository::{UpdateOutcome, UserRepository};
pub use webauthn::{Ceremony, NewCredential, VerifiedAssertion, WebAuthn};
pub use work_signal::{StepOffer, WorkSignal};
pub use workflow_repository::WorkflowRepository;

#[cfg(feature = "mock")]
pub use acting_access::MockActingAccess;
#[cfg(feature = "mock")]
pub use action_token_repository::MockActionTokenRepository;
#[cfg(feature = "mock")]
pub use audit_log::MockAuditLog;
#[cfg(feature = "mock")]
pub use authorizer::MockAuthorizer;
#[cfg(feature = "mock")]
pub use cache::MockCache;
#[cfg(feature = "mock")]
pub use clock::MockClock;
#[cfg(feature = "mock")]
pub use consent_repository::MockConsentRepository;
#[cfg(feature = "mock")]
pub use event_publisher::MockEventPublisher;
#[cfg(feature = "mock")]
pub use execution_repository::MockExecutionRepository;
#[cfg(feature = "mock")]
pub use health::MockHealthCheck;
#[cfg(feature = "mock")]
pub use http_client::MockHttpClient;
#[cfg(feature = "mock")]
pub use idempotency_keys::MockIdempotencyKeys;
#[cfg(feature = "mock")]
pub use invalidation::MockInvalidation;
#[cfg(feature = "mock")]
pub use login_throttle::MockLoginThrottle;
#[cfg(feature = "mock")]
pub use mfa_repository::MockMfaRepository;
#[cfg(feature = "mock")]
pub use notifier::MockNotifier;
#[cfg(feature = "mock")]
pub use opaque_tokens::MockOpaqueTokens;
#[cfg(feature = "mock")]
pub use outbox::{MockEventRelay, MockOutbox};
#[cfg(feature = "mock")]
pub use passkey_repository::MockPasskeyRepository;
#[cfg(feature = "mock")]
pub use password_hasher::MockPasswordHasher;
#[cfg(feature = "mock")]
pub use platform_admins::MockPlatformAdmins;
#[cfg(feature = "mock")]
pub use project_access::MockProjectAccess;
#[cfg(feature = "mock")]
pub use project_actions::MockProjectActions;
#[cfg(feature = "mock")]
pub use project_analytics::MockProjectAnalytics;
#[cfg(feature = "mock")]
pub use project_repository::MockProjectRepository;
#[cfg(feature = "mock")]
pub use quota_repository::MockQuotaRepository;
#[cfg(feature = "mock")]
pub use rate_limiter::MockRateLimiter;
#[cfg(feature = "mock")]
pub use role_repository::MockRoleRepository;
#[cfg(feature = "mock")]
pub use secret_box::MockSecretBox;
#[cfg(feature = "mock")]
pub use service_census::MockServiceCensus;
#[cfg(feature = "mock")]
pub use session_repository::MockSessionRepository;
#[cfg(feature = "mock")]
pub use settings::MockSettings;
#[cfg(feature = "mock")]
pub use signing_key_repository::MockSigningKeyRepository;
#[cfg(feature = "mock")]
pub use spent_once::MockSpentOnce;
#[cfg(feature = "mock")]
pub use task_repository::MockTaskRepository;
#[cfg(feature = "mock")]
pub use tenant_repository::MockTenantRepository;
#[cfg(feature = "mock")]
pub use token_service::MockTokenService;
#[cfg(feature = "mock")]
pub use totp_service::MockTotpService;
#[cfg(feature = "mock")]
pub use trigger_repository::MockTriggerRepository;
#[cfg(feature = "mock")]
pub use user_analytics::MockUserAnalytics;
#[cfg(feature = "mock")]
pub use user_repository::MockUserRepository;
#[cfg(feature = "mock")]
pub use webauthn::MockWebAuthn;
#[cfg(feature = "mock")]
pub use work_signal::MockWorkSignal;
#[cfg(feature = "mock")]
pub use workflow_repository::MockWorkflowRepository;
