//! The definition use cases: save (each save a new version), read, list, pause, resume and
//! delete workflows, each asking the `Authorizer` and recording its audit row and event.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use serde_json::json;
use usvc_core::ports::{
    offload, Authorizer, Cache, Clock, EventRelay, Offload, WorkflowRepository,
};
use usvc_core::{
    permissions, Action, AuditEntry, CoreError, Page, PageRequest, Principal, ResourceRef,
    Workflow, WorkflowId, WorkflowStatus, WorkflowVersion,
};

use crate::definition::Definition;

/// Event and audit names of workflow definitions.
pub mod events {
    /// A workflow was created (its version 1 saved).
    pub const CREATED: &str = "workflow.created";
    /// A new version of a workflow was saved.
    pub const UPDATED: &str = "workflow.updated";
    /// A workflow stopped starting executions.
    pub const PAUSED: &str = "workflow.paused";
    /// A paused workflow starts executions again.
    pub const RESUMED: &str = "workflow.resumed";
    /// A workflow was deleted.
    pub const DELETED: &str = "workflow.deleted";
}

/// The ports [`WorkflowService`] needs.
pub struct WorkflowPorts {
    /// Workflows and their versions.
    pub workflows: Arc<dyn WorkflowRepository>,
    /// Tenant roles.
    pub authorizer: Arc<dyn Authorizer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Woken after each change, whose event the store staged in the outbox.
    pub relay: Arc<dyn EventRelay>,
    /// `workflows`: workflows by id at their current version; every change drops the entry
    /// on every replica.
    pub cache: Arc<dyn Cache<WorkflowId, Workflow>>,
    /// The tenant's quotas (steps, timeouts, event steps per definition).
    pub quotas: Arc<crate::quotas::Quotas>,
    /// Where validating a definition runs (off the request threads).
    pub offload: Arc<dyn Offload>,
}

/// The definition use cases.
pub struct WorkflowService {
    ports: WorkflowPorts,
}

fn workflow_ref(id: WorkflowId) -> ResourceRef {
    ResourceRef::one("workflow", id)
}

fn not_found() -> CoreError {
    CoreError::NotFound("workflow".into())
}

fn stale() -> CoreError {
    CoreError::PreconditionFailed("the workflow changed since it was read".into())
}

impl WorkflowService {
    /// A service over `ports`.
    pub fn new(ports: WorkflowPorts) -> Self {
        Self { ports }
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now().trunc_subsecs(6)
    }

    /// Where this service runs CPU-bound validation; starts use it too.
    pub fn offload(&self) -> &dyn Offload {
        self.ports.offload.as_ref()
    }

    /// Reads and validates a definition document, off the request threads ([`Offload`]).
    async fn validate(&self, document: serde_json::Value) -> Result<Definition, CoreError> {
        offload(self.ports.offload.as_ref(), move || {
            Definition::from_document(document)
        })
        .await
    }

    /// Saves a new workflow from its definition document (`workflows:write`): validated as
    /// a whole (every problem named with its field), stored as version 1, active.
    pub async fn create(
        &self,
        principal: &Principal,
        document: serde_json::Value,
    ) -> Result<Workflow, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_WRITE, None)
            .await?;
        let definition = self.validate(document).await?;
        self.ports
            .quotas
            .check_definition(principal.tenant, &definition)
            .await?;
        self.authorize_triggers(principal, &definition).await?;
        let now = self.now();
        let workflow = Workflow {
            id: WorkflowId::new(),
            tenant_id: principal.tenant,
            name: definition.name.clone(),
            status: WorkflowStatus::Active,
            version: 1,
            definition: definition.to_document(),
            created_by: Some(principal.user),
            created_at: now,
            updated_at: now,
        };
        let audit = AuditEntry::by(principal, events::CREATED, now)
            .on(workflow_ref(workflow.id))
            .details(json!({ "name": workflow.name, "version": 1 }));
        self.ports
            .workflows
            .create(&workflow, &definition.stored_triggers(), &audit)
            .await?;
        self.ports.relay.wake();
        Ok(workflow)
    }

    /// One workflow at its current version (`workflows:read`), from the cache.
    pub async fn get(&self, principal: &Principal, id: WorkflowId) -> Result<Workflow, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_READ, Some(id))
            .await?;
        self.load(principal, id).await
    }

    /// The tenant's workflows, oldest first (`workflows:read`).
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Workflow>, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_READ, None)
            .await?;
        self.ports.workflows.list(principal.tenant, page).await
    }

    /// Saves a new version of a workflow (`workflows:write`). With `expected_version` (the
    /// request's `If-Match`) a workflow saved meanwhile is `PreconditionFailed`. Executions
    /// already started keep running the version they pinned.
    pub async fn update(
        &self,
        principal: &Principal,
        id: WorkflowId,
        expected_version: Option<i64>,
        document: serde_json::Value,
    ) -> Result<Workflow, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_WRITE, Some(id))
            .await?;
        let definition = self.validate(document).await?;
        self.ports
            .quotas
            .check_definition(principal.tenant, &definition)
            .await?;
        self.authorize_triggers(principal, &definition).await?;
        let current = self.load(principal, id).await?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(stale());
        }
        let now = self.now();
        let next = Workflow {
            name: definition.name.clone(),
            version: current.version + 1,
            definition: definition.to_document(),
            updated_at: now.max(current.updated_at),
            ..current.clone()
        };
        let audit = AuditEntry::by(principal, events::UPDATED, now)
            .on(workflow_ref(id))
            .details(json!({ "name": next.name, "version": next.version }));
        let saved = self
            .ports
            .workflows
            .update(
                &next,
                current.version,
                &definition.stored_triggers(),
                &audit,
            )
            .await?;
        self.ports.cache.invalidate(&id).await?;
        if !saved {
            // Saved by someone else meanwhile (or deleted): the cache was stale.
            return match self.ports.workflows.get(principal.tenant, id).await? {
                Some(_) => Err(stale()),
                None => Err(not_found()),
            };
        }
        self.ports.relay.wake();
        Ok(next)
    }

    /// Pauses (`Paused`) or resumes (`Active`) a workflow (`workflows:write`). Setting the
    /// status it already has changes nothing and records nothing.
    pub async fn set_status(
        &self,
        principal: &Principal,
        id: WorkflowId,
        status: WorkflowStatus,
    ) -> Result<Workflow, CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_WRITE, Some(id))
            .await?;
        let current = self.load(principal, id).await?;
        if current.status == status {
            return Ok(current);
        }
        let now = self.now();
        let action = match status {
            WorkflowStatus::Paused => events::PAUSED,
            WorkflowStatus::Active => events::RESUMED,
        };
        let audit = AuditEntry::by(principal, action, now)
            .on(workflow_ref(id))
            .details(json!({ "name": current.name }));
        let changed = self
            .ports
            .workflows
            .set_status(principal.tenant, id, status, &audit)
            .await?;
        self.ports.cache.invalidate(&id).await?;
        if !changed {
            return Err(not_found());
        }
        self.ports.relay.wake();
        Ok(Workflow {
            status,
            updated_at: now.max(current.updated_at),
            ..current
        })
    }

    /// Deletes a workflow (`workflows:write`): it starts nothing more and leaves listings;
    /// its versions stay for the executions that pinned them.
    pub async fn delete(&self, principal: &Principal, id: WorkflowId) -> Result<(), CoreError> {
        self.authorize(principal, &permissions::WORKFLOWS_WRITE, Some(id))
            .await?;
        let current = self.load(principal, id).await?;
        let audit = AuditEntry::by(principal, events::DELETED, self.now())
            .on(workflow_ref(id))
            .details(json!({ "name": current.name }));
        let deleted = self
            .ports
            .workflows
            .delete(principal.tenant, id, &audit)
            .await?;
        self.ports.cache.invalidate(&id).await?;
        if !deleted {
            return Err(not_found());
        }
        self.ports.relay.wake();
        Ok(())
    }

    /// A workflow's saved versions, newest first (`workflows:read`).
    pub async fn versions(
        &self,
        principal: &Principal,
        id: WorkflowId,
        page: PageRequest,
    ) -> Result<Page<WorkflowVersion>, CoreError> {
        self.get(principal, id).await?;
        self.ports
            .workflows
            .versions(principal.tenant, id, page)
            .await
    }

    /// One saved version of a workflow (`workflows:read`).
    pub async fn version(
        &self,
        principal: &Principal,
        id: WorkflowId,
        version: i64,
    ) -> Result<WorkflowVersion, CoreError> {
        self.get(principal, id).await?;
        self.ports
            .workflows
            .version(principal.tenant, id, version)
            .await?
            .ok_or_else(|| CoreError::NotFound("workflow version".into()))
    }

    /// Event triggers see every event of the tenant (private projects' too), like the audit
    /// trail: saving one takes `audit:read` besides `workflows:write`.
    async fn authorize_triggers(
        &self,
        principal: &Principal,
        definition: &Definition,
    ) -> Result<(), CoreError> {
        let listens = definition
            .triggers
            .iter()
            .any(|t| matches!(t, crate::definition::Trigger::Event { .. }));
        if listens {
            self.authorize(principal, &permissions::AUDIT_READ, None)
                .await
                .map_err(|_| {
                    CoreError::Forbidden(
                        "event triggers see every event of the tenant: saving one takes `audit:read` (owner, admin)".into(),
                    )
                })?;
        }
        Ok(())
    }

    async fn authorize(
        &self,
        principal: &Principal,
        action: &Action,
        id: Option<WorkflowId>,
    ) -> Result<(), CoreError> {
        let resource = id.map_or_else(|| ResourceRef::any("workflow"), workflow_ref);
        self.ports
            .authorizer
            .authorize(principal, action, &resource)
            .await
    }

    /// The workflow through the cache, inside the caller's tenant.
    async fn load(&self, principal: &Principal, id: WorkflowId) -> Result<Workflow, CoreError> {
        let (workflows, tenant) = (self.ports.workflows.clone(), principal.tenant);
        match self
            .ports
            .cache
            .get_or_load(
                id,
                Box::pin(async move { workflows.get(tenant, id).await?.ok_or_else(not_found) }),
            )
            .await
        {
            // The cache is keyed by id alone; the tenant check keeps the wall intact.
            Ok(w) if w.tenant_id == principal.tenant => Ok(w),
            Ok(_) => Err(not_found()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::{
        Invalidation, MockAuthorizer, MockClock, MockEventRelay, MockWorkflowRepository,
    };
    use usvc_core::{SessionId, TenantId, UserId};

    use super::*;

    fn caller() -> Principal {
        Principal {
            user: UserId::new(),
            tenant: TenantId::new(),
            session: SessionId::new(),
            roles: vec!["member".into()],
            origin: usvc_core::Origin::default(),
        }
    }

    /// Allows exactly `allowed`; anything else is `Forbidden`, as the real guard.
    fn authorizer(allowed: &'static [Action]) -> MockAuthorizer {
        let mut authorizer = MockAuthorizer::new();
        authorizer
            .expect_authorize()
            .returning(move |_, action, _| {
                if allowed.contains(action) {
                    Ok(())
                } else {
                    Err(CoreError::Forbidden(format!("not {action}")))
                }
            });
        authorizer
    }

    fn service(workflows: MockWorkflowRepository, authorizer: MockAuthorizer) -> WorkflowService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let mut relay = MockEventRelay::new();
        relay.expect_wake().return_const(());
        let bus: Arc<dyn Invalidation> = Arc::new(usvc_cache::LocalInvalidation::new());
        WorkflowService::new(WorkflowPorts {
            offload: Arc::new(usvc_core::ports::InPlace),
            workflows: Arc::new(workflows),
            authorizer: Arc::new(authorizer),
            clock: Arc::new(clock),
            relay: Arc::new(relay),
            cache: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::WORKFLOWS, bus.clone()),
            quotas: Arc::new(crate::quotas::Quotas::new(crate::quotas::QuotaPorts {
                quotas: {
                    let mut quotas = usvc_core::ports::MockQuotaRepository::new();
                    quotas
                        .expect_get()
                        .returning(|_| Ok(usvc_core::QuotaOverrides::default()));
                    Arc::new(quotas)
                },
                cache: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::TENANT_QUOTAS, bus),
                executions: Arc::new(usvc_core::ports::MockExecutionRepository::new()),
                starts: Arc::new(usvc_core::ports::MockRateLimiter::new()),
            })),
        })
    }

    fn document(name: &str) -> serde_json::Value {
        json!({"name": name, "steps": [{"id": "a", "kind": "noop"}]})
    }

    static READ: [Action; 1] = [permissions::WORKFLOWS_READ];
    static WRITE: [Action; 2] = [permissions::WORKFLOWS_READ, permissions::WORKFLOWS_WRITE];

    #[tokio::test]
    async fn a_save_stores_the_normalised_document_with_its_audit_row() {
        let ada = caller();
        let mut repo = MockWorkflowRepository::new();
        repo.expect_create()
            .withf(move |w, triggers, audit| {
                triggers.is_empty()
                    && w.version == 1
                    && w.status == WorkflowStatus::Active
                    && w.definition["on_failure"] == "fail_fast"
                    && audit.action == events::CREATED
                    && audit.tenant == w.tenant_id
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let saved = service(repo, authorizer(&WRITE))
            .create(&ada, document("w"))
            .await
            .unwrap();
        assert_eq!(saved.tenant_id, ada.tenant);
        assert_eq!(saved.created_by, Some(ada.user));
    }

    #[tokio::test]
    async fn refused_or_invalid_saves_write_nothing() {
        let ada = caller();
        // No expectation on the repository: any write would panic.
        let readers = service(MockWorkflowRepository::new(), authorizer(&READ));
        assert!(matches!(
            readers.create(&ada, document("w")).await,
            Err(CoreError::Forbidden(_))
        ));
        let writers = service(MockWorkflowRepository::new(), authorizer(&WRITE));
        let Err(CoreError::Validation(errors)) = writers
            .create(
                &ada,
                json!({"name": "w", "steps": [{"id": "a", "kind": "noop", "with": {"x": "{{"}}]}),
            )
            .await
        else {
            panic!("an uncompilable template must be refused")
        };
        assert_eq!(errors[0].field, "steps[0].with.x");
        let Err(CoreError::Validation(errors)) = writers
            .create(&ada, json!({"name": "w", "stepz": []}))
            .await
        else {
            panic!("an unknown field must be refused")
        };
        assert!(errors[0].message.contains("stepz"), "{errors:?}");
    }

    #[tokio::test]
    async fn a_save_racing_another_is_refused_not_lost() {
        let ada = caller();
        let id = WorkflowId::new();
        let now = Utc::now();
        let current = Workflow {
            id,
            tenant_id: ada.tenant,
            name: "w".into(),
            status: WorkflowStatus::Active,
            version: 4,
            definition: document("w"),
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        let mut repo = MockWorkflowRepository::new();
        let read = current.clone();
        repo.expect_get()
            .returning(move |_, _| Ok(Some(read.clone())));
        // Someone saved version 5 between our read and our write.
        repo.expect_update()
            .withf(|next, expected, _, _| next.version == 5 && *expected == 4)
            .times(1)
            .returning(|_, _, _, _| Ok(false));
        let svc = service(repo, authorizer(&WRITE));
        assert!(matches!(
            svc.update(&ada, id, None, document("w2")).await,
            Err(CoreError::PreconditionFailed(_))
        ));
        // An If-Match naming an older version never reaches the store.
        assert!(matches!(
            svc.update(&ada, id, Some(3), document("w2")).await,
            Err(CoreError::PreconditionFailed(_))
        ));
        // Another tenant's caller is told the workflow does not exist.
        assert!(matches!(
            svc.get(&caller(), id).await,
            Err(CoreError::NotFound(_))
        ));
    }
}
