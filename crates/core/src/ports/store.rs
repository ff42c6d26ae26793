//! [`Store`]: every port a store adapter provides, in one bound. The service runs on one store
//! behind all of them (`usvc-sqlite`, `usvc-postgres`); a team writing its own adapter
//! implements these ports and proves them with the store conformance suite
//! (`usvc-store-conformance`, docs/reuse.md).

use super::{
    ActionTokenRepository, AuditLog, ConsentRepository, ExecutionRepository, HealthCheck,
    IdempotencyKeys, LoginThrottle, MfaRepository, OAuthClientRepository, OAuthGrantRepository,
    Outbox, PasskeyRepository, PlatformAdmins, ProjectAccess, ProjectAnalytics, ProjectRepository,
    QuotaRepository, RateLimiter, RoleRepository, ServiceCensus, SessionRepository,
    SigningKeyRepository, SpentOnce, TaskRepository, TenantRepository, TriggerRepository,
    UserAnalytics, UserRepository, WorkflowRepository,
};

/// Writes the list of ports once: the trait and its blanket implementation.
macro_rules! store {
    ($($port:ident),+ $(,)?) => {
        /// Every repository port plus the database's health check. Implemented automatically
        /// for any type that implements them all; used as `Arc<S>` and handed out as each
        /// port (`Arc<dyn TenantRepository>`, …).
        pub trait Store: $($port +)+ Send + Sync + 'static {}

        impl<S> Store for S where S: $($port +)+ Send + Sync + 'static {}
    };
}

store!(
    TenantRepository,
    SigningKeyRepository,
    UserRepository,
    SessionRepository,
    LoginThrottle,
    MfaRepository,
    ActionTokenRepository,
    RateLimiter,
    UserAnalytics,
    ServiceCensus,
    RoleRepository,
    OAuthClientRepository,
    OAuthGrantRepository,
    ConsentRepository,
    PasskeyRepository,
    SpentOnce,
    AuditLog,
    PlatformAdmins,
    QuotaRepository,
    ProjectRepository,
    ProjectAccess,
    IdempotencyKeys,
    ProjectAnalytics,
    Outbox,
    WorkflowRepository,
    ExecutionRepository,
    TaskRepository,
    TriggerRepository,
    HealthCheck,
);
