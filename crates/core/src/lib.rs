//! `usvc-core`: the ports (traits) and shared types every user-service crate speaks.
//!
//! Domain crates (`usvc-user`, `usvc-project`, `usvc-workflow`) depend on this crate only, so
//! another team can reuse a domain by implementing these ports. Nothing here performs I/O:
//! adapters in `infrastructure/` do that, and `apps/user-service` wires them together.
//!
//! With the `mock` feature every port gets a `mockall` double (`MockTenantRepository`, …) for
//! unit tests in other crates.

pub mod action_token;
pub mod analytics;
pub mod audit;
pub mod branding;
pub mod error;
pub mod event;
pub mod execution;
pub mod idempotency;
pub mod ids;
pub mod mfa;
pub mod oauth_client;
pub mod oauth_consent;
pub mod oauth_grant;
pub mod page;
pub mod passkey;
pub mod permissions;
pub mod ports;
pub mod principal;
pub mod project;
pub mod project_bulk;
pub mod project_fields;
pub mod quota;
pub mod role;
pub mod secret;
pub mod session;
pub mod task;
pub mod tenant;
pub mod trigger;
pub mod user;
pub mod workflow;

pub use action_token::{ActionPurpose, ActionToken};
pub use analytics::{DayCount, ProjectActivity, ProjectStats, ServiceCounts, UserStats};
pub use audit::{
    chain_hash, Actor, AuditEntry, AuditFilter, AuditId, AuditRecord, ChainHead, ChainReport,
    Origin, Outcome,
};
pub use branding::Branding;
pub use error::{CoreError, FieldError};
pub use event::DomainEvent;
pub use execution::{
    ClaimedStep, Execution, ExecutionChange, ExecutionState, ExecutionStatus, ExecutionSummary,
    ExecutionTiming, QueueStats, StepRun, StepStatus, StepTiming, TimelineEntry,
};
pub use idempotency::{IdempotencyKey, IdempotencyRecord, IDEMPOTENCY_WINDOW, MAX_IDEMPOTENCY_KEY};
pub use ids::{
    ClientId, ExecutionId, PasskeyId, ProjectId, RoleId, SessionId, TaskId, TenantId, UserId,
    WorkflowId,
};
pub use mfa::{ChallengePurpose, MfaChallenge, TotpCredential};
pub use oauth_client::{
    ClientAuthMethod, ClientKind, GrantType, IdTokenAlg, OAuthClient, ASSERTION_ALGORITHMS,
};
pub use oauth_consent::OAuthConsent;
pub use oauth_grant::{AuthorizationCode, OAuthGrant};
pub use page::{Cursor, Page, PageRequest};
pub use passkey::Passkey;
pub use permissions::Decision;
pub use principal::{Action, Principal, ResourceRef};
pub use project::{
    slugify, Project, ProjectFilter, ProjectMember, ProjectRole, ProjectSort, ProjectStatus,
    ProjectVersion, Visibility,
};
pub use project_bulk::{BulkAction, BulkBatch, BulkItem, MAX_BULK};
pub use project_fields::{FieldsUse, ProjectFields};
pub use quota::{QuotaOverrides, TenantQuotas};
pub use role::Role;
pub use secret::Password;
pub use session::{RefreshOutcome, Session};
pub use task::{Task, TaskAudience, TaskDecision, TaskStatus};
pub use tenant::{NewTenant, Slug, Tenant, TenantSettings, TenantStatus};
pub use trigger::{ActiveTrigger, TriggerKind, TriggeredStart, WorkflowTrigger};
pub use user::{Email, User, UserFilter, UserStatus, BUILT_IN_ROLES, SERVICE_ACCOUNT_DOMAIN};
pub use workflow::{Workflow, WorkflowStatus, WorkflowVersion};
