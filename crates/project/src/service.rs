//! The project use cases: create, read, list, change, archive and delete, each asking the one
//! `Authorizer` (tenant roles and project roles) and recording its history, audit row and
//! event.

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use serde_json::json;
use usvc_core::ports::{
    AuditLog, Authorizer, Cache, Clock, EventRelay, IdempotencyKeys, ProjectAccess,
    ProjectAccessList, ProjectAnalytics, ProjectRepository,
};
use usvc_core::{
    permissions, slugify, Action, AuditEntry, CoreError, IdempotencyKey, IdempotencyRecord, Page,
    PageRequest, Principal, Project, ProjectFilter, ProjectId, ProjectMember, ProjectRole,
    ProjectStats, ProjectStatus, ProjectVersion, ResourceRef, Visibility,
};

use usvc_core::ProjectFields;

/// Event and audit names of the project domain.
pub mod events {
    /// A project was created.
    pub const CREATED: &str = "project.created";
    /// A project's fields changed.
    pub const UPDATED: &str = "project.updated";
    /// A project was archived.
    pub const ARCHIVED: &str = "project.archived";
    /// A project was unarchived.
    pub const UNARCHIVED: &str = "project.unarchived";
    /// A project was deleted.
    pub const DELETED: &str = "project.deleted";
    /// A project was set back to an earlier version's fields.
    pub const RESTORED: &str = "project.restored";
    /// A user joined a project.
    pub const MEMBER_ADDED: &str = "project.member_added";
    /// A user left (or was removed from) a project.
    pub const MEMBER_REMOVED: &str = "project.member_removed";
    /// A member's project role changed.
    pub const MEMBER_ROLE_CHANGED: &str = "project.member_role_changed";
}

/// The `Idempotency-Key` scope of project creation.
pub const CREATE_SCOPE: &str = "projects.create";

/// The ports [`ProjectService`] needs.
pub struct ProjectPorts {
    /// Projects, members, history.
    pub projects: Arc<dyn ProjectRepository>,
    /// Tenant and project roles.
    pub authorizer: Arc<dyn Authorizer>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Woken after each change, whose events the store staged in the outbox in the same
    /// transaction, so they go out at once.
    pub relay: Arc<dyn EventRelay>,
    /// `projects`: projects by id; every change drops its entry on every replica.
    pub cache: Arc<dyn Cache<ProjectId, Project>>,
    /// `project-access`: the authorizer's access lists (also the member lists); dropped on
    /// every membership or visibility change.
    pub access: Arc<dyn Cache<ProjectId, ProjectAccessList>>,
    /// Loads an access list into `access` on a miss.
    pub access_lists: Arc<dyn ProjectAccess>,
    /// Where a bulk request records its refusals (single requests' refusals are recorded by
    /// the authorizer's guard).
    pub audit: Arc<dyn AuditLog>,
    /// What `Idempotency-Key`s of earlier creates did.
    pub idempotency: Arc<dyn IdempotencyKeys>,
    /// Figures over the tenant's projects.
    pub analytics: Arc<dyn ProjectAnalytics>,
}

/// The project use cases.
pub struct ProjectService {
    pub(crate) ports: ProjectPorts,
}

pub(crate) fn project_ref(id: ProjectId) -> ResourceRef {
    ResourceRef::one("project", id)
}

pub(crate) fn not_found() -> CoreError {
    CoreError::NotFound("project".into())
}

impl ProjectService {
    /// A service over `ports`.
    pub fn new(ports: ProjectPorts) -> Self {
        Self { ports }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now().trunc_subsecs(6)
    }

    /// Creates a project owned by the caller (`projects:create`): the project, the caller's
    /// `owner` membership, version 1, the audit row and the `project.created` event (in the
    /// outbox) in one transaction.
    #[tracing::instrument(name = "project.create", skip_all)]
    pub async fn create(
        &self,
        principal: &Principal,
        fields: ProjectFields,
    ) -> Result<Project, CoreError> {
        self.create_once(principal, fields, None)
            .await
            .map(|(project, _)| project)
    }

    /// [`Self::create`] under an `Idempotency-Key`: the first request with the key creates
    /// the project and records the key in the same transaction; a repeat within 24 hours
    /// (even one racing the first) answers that project again, `true` meaning replayed. The
    /// same key with a different request is a `Validation` error and creates nothing.
    pub async fn create_once(
        &self,
        principal: &Principal,
        fields: ProjectFields,
        key: Option<IdempotencyKey>,
    ) -> Result<(Project, bool), CoreError> {
        if let Some(key) = &key {
            if let Some(done) = self.replay(principal, key).await? {
                return Ok((done, true));
            }
        }
        match self.create_new(principal, fields, key.clone()).await {
            Ok(project) => Ok((project, false)),
            // A concurrent request with the same key won the race: answer what it made.
            Err(CoreError::Conflict(reason)) => match &key {
                Some(key) => match self.replay(principal, key).await? {
                    Some(done) => Ok((done, true)),
                    None => Err(CoreError::Conflict(reason)),
                },
                None => Err(CoreError::Conflict(reason)),
            },
            Err(e) => Err(e),
        }
    }

    /// The project an earlier request with `key` created, if any.
    async fn replay(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
    ) -> Result<Option<Project>, CoreError> {
        let Some(done) = self
            .ports
            .idempotency
            .find(
                principal.tenant,
                principal.user,
                CREATE_SCOPE,
                &key.key,
                self.now(),
            )
            .await?
        else {
            return Ok(None);
        };
        if done.key.fingerprint != key.fingerprint {
            return Err(CoreError::invalid(
                "Idempotency-Key",
                "was used for a different request; use a new key for a new project",
            ));
        }
        self.get(principal, ProjectId::from_uuid(done.resource_id))
            .await
            .map(Some)
    }

    async fn create_new(
        &self,
        principal: &Principal,
        fields: ProjectFields,
        key: Option<IdempotencyKey>,
    ) -> Result<Project, CoreError> {
        // A request that could never succeed is told so whoever sends it (as a body of the
        // wrong shape is), before the question of who may create.
        if fields.name.is_none() {
            return Err(CoreError::invalid("name", "is required"));
        }
        self.ports
            .authorizer
            .authorize(
                principal,
                &permissions::PROJECTS_CREATE,
                &ResourceRef::any("project"),
            )
            .await?;
        let now = self.now();
        let mut project = Project::new(principal.tenant, principal.user, now);
        fields.apply(&mut project)?;
        project.slug = slugify(&project.name);
        let owner = ProjectMember {
            project_id: project.id,
            user_id: principal.user,
            role: ProjectRole::Owner,
            added_at: now,
        };
        let first = history(&project, vec!["created".into()], principal, now);
        let entry = AuditEntry::by(principal, events::CREATED, now)
            .on(project_ref(project.id))
            .details(json!({ "name": project.name, "visibility": project.visibility }));
        let key = key.map(|key| IdempotencyRecord {
            tenant: principal.tenant,
            user: principal.user,
            scope: CREATE_SCOPE.to_owned(),
            key,
            resource_id: project.id.as_uuid(),
            created_at: now,
        });
        self.ports
            .projects
            .create(&project, &owner, &first, &entry, key)
            .await?;
        self.announce();
        Ok(project)
    }

    /// The tenant's project figures (`analytics:read`). Counts cover every live project;
    /// the most-changed list names only projects the caller can see.
    pub async fn analytics(&self, principal: &Principal) -> Result<ProjectStats, CoreError> {
        self.ports
            .authorizer
            .authorize(
                principal,
                &permissions::ANALYTICS_READ,
                &ResourceRef::any("project"),
            )
            .await?;
        let mut stats = self
            .ports
            .analytics
            .project_stats(principal.tenant, principal.user, self.ports.clock.now())
            .await?;
        // Names are for those who may read projects (a custom analytics-only role sees counts).
        if !self
            .ports
            .authorizer
            .check(
                principal,
                &permissions::PROJECTS_READ,
                &ResourceRef::any("project"),
            )
            .await?
            .allowed
        {
            stats.most_changed.clear();
        }
        Ok(stats)
    }

    /// One project, if the caller may read it: `NotFound` for a missing project and for a
    /// private one the caller is not a member of, alike.
    pub async fn get(&self, principal: &Principal, id: ProjectId) -> Result<Project, CoreError> {
        self.allowed(principal, &permissions::PROJECTS_READ, id)
            .await
    }

    /// The tenant's projects the caller can see (`projects:read`), a page at a time. Private
    /// projects appear only to their members.
    pub async fn list(
        &self,
        principal: &Principal,
        mut filter: ProjectFilter,
        page: PageRequest,
    ) -> Result<Page<Project>, CoreError> {
        self.ports
            .authorizer
            .authorize(
                principal,
                &permissions::PROJECTS_READ,
                &ResourceRef::any("project"),
            )
            .await?;
        filter.visible_to = Some(principal.user);
        self.ports
            .projects
            .list(principal.tenant, filter, page)
            .await
    }

    /// Changes a project's fields (`projects:write` on it). With `expected_version` (the
    /// `If-Match` of the request) a project that moved on is `PreconditionFailed`; without
    /// it the change applies to the current version.
    pub async fn update(
        &self,
        principal: &Principal,
        id: ProjectId,
        expected_version: Option<i64>,
        fields: ProjectFields,
    ) -> Result<Project, CoreError> {
        let current = self
            .allowed(principal, &permissions::PROJECTS_WRITE, id)
            .await?;
        check_version(&current, expected_version)?;
        if current.status == ProjectStatus::Archived {
            return Err(CoreError::Conflict(
                "the project is archived; unarchive it to change it".into(),
            ));
        }
        let visibility_before = current.visibility;
        let mut next = current.clone();
        let changed = fields.apply(&mut next)?;
        if changed.is_empty() {
            return Ok(current);
        }
        self.may_change_visibility(principal, &current, &next)
            .await?;
        let next = self
            .save(principal, current, next, &changed, events::UPDATED)
            .await?;
        if next.visibility != visibility_before {
            self.ports.access.invalidate(&id).await?;
        }
        Ok(next)
    }

    /// Archives (`archived: true`) or unarchives a project (`projects:write` on it).
    pub async fn set_archived(
        &self,
        principal: &Principal,
        id: ProjectId,
        expected_version: Option<i64>,
        archived: bool,
    ) -> Result<Project, CoreError> {
        let current = self
            .allowed(principal, &permissions::PROJECTS_WRITE, id)
            .await?;
        check_version(&current, expected_version)?;
        let (status, kind) = if archived {
            (ProjectStatus::Archived, events::ARCHIVED)
        } else {
            (ProjectStatus::Active, events::UNARCHIVED)
        };
        if current.status == status {
            return Ok(current);
        }
        let mut next = current.clone();
        next.status = status;
        next.archived_at = archived.then(|| self.now());
        self.save(principal, current, next, &["status"], kind).await
    }

    /// Deletes a project (`projects:delete` on it); its history stays.
    pub async fn delete(
        &self,
        principal: &Principal,
        id: ProjectId,
        expected_version: Option<i64>,
    ) -> Result<(), CoreError> {
        let current = self
            .allowed(principal, &permissions::PROJECTS_DELETE, id)
            .await?;
        check_version(&current, expected_version)?;
        let now = self.now();
        let entry = AuditEntry::by(principal, events::DELETED, now).on(project_ref(id));
        if !self
            .ports
            .projects
            .delete(principal.tenant, id, current.version, &entry)
            .await?
        {
            return Err(stale());
        }
        self.ports.cache.invalidate(&id).await?;
        self.ports.access.invalidate(&id).await?;
        self.announce();
        Ok(())
    }

    /// Stores `next` as the version after `current`, with its history and audit rows.
    pub(crate) async fn save(
        &self,
        principal: &Principal,
        current: Project,
        next: Project,
        changed: &[&str],
        kind: &str,
    ) -> Result<Project, CoreError> {
        self.save_with(principal, current, next, changed, kind, json!({}))
            .await
    }

    /// [`Self::save`] with `extra` details for the audit row and the event.
    pub(crate) async fn save_with(
        &self,
        principal: &Principal,
        current: Project,
        mut next: Project,
        changed: &[&str],
        kind: &str,
        extra: serde_json::Value,
    ) -> Result<Project, CoreError> {
        let now = self.now();
        next.version = current.version + 1;
        next.updated_at = now.max(current.updated_at + chrono::Duration::microseconds(1));
        let changed: Vec<String> = changed.iter().map(|c| (*c).to_owned()).collect();
        let entry = history(&next, changed.clone(), principal, next.updated_at);
        let mut details = json!({ "fields": changed, "version": next.version });
        merge(&mut details, &extra);
        let audit = AuditEntry::by(principal, kind, now)
            .on(project_ref(next.id))
            .details(details.clone());
        if !self
            .ports
            .projects
            .update(&next, current.version, &entry, &audit)
            .await?
        {
            return Err(stale());
        }
        self.ports.cache.invalidate(&next.id).await?;
        self.announce();
        Ok(next)
    }

    /// Making a project private or opening a private one decides who reads it, as adding
    /// and removing members does: it takes `projects:manage_members` on it, not only
    /// `projects:write` (an editor can neither publish what the maintainers kept private nor
    /// shut the tenant's owners out of a tenant project). Refusals are audited.
    pub(crate) async fn may_change_visibility(
        &self,
        principal: &Principal,
        current: &Project,
        next: &Project,
    ) -> Result<(), CoreError> {
        let private = |p: &Project| p.visibility == Visibility::Private;
        if private(current) != private(next) {
            self.allowed(principal, &permissions::PROJECTS_MANAGE_MEMBERS, current.id)
                .await?;
        }
        Ok(())
    }

    /// The project, from the `projects` cache, if the caller may do `action` to it. A
    /// project the caller may not even see is `NotFound`, like a missing one.
    pub(crate) async fn allowed(
        &self,
        principal: &Principal,
        action: &Action,
        id: ProjectId,
    ) -> Result<Project, CoreError> {
        let (projects, tenant) = (self.ports.projects.clone(), principal.tenant);
        let project = match self
            .ports
            .cache
            .get_or_load(
                id,
                Box::pin(async move { projects.get(tenant, id).await?.ok_or_else(not_found) }),
            )
            .await
        {
            // The cache is keyed by id alone; the tenant check keeps the wall intact.
            Ok(p) if p.tenant_id == principal.tenant => p,
            Ok(_) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let resource = project_ref(id);
        // Seeing comes first: a refusal to read (a private project, no role) looks like absence.
        match self
            .ports
            .authorizer
            .authorize(principal, &permissions::PROJECTS_READ, &resource)
            .await
        {
            Ok(()) => {}
            Err(CoreError::Forbidden(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        }
        if *action != permissions::PROJECTS_READ {
            self.ports
                .authorizer
                .authorize(principal, action, &resource)
                .await?;
        }
        Ok(project)
    }

    /// Wakes the outbox relay: the change's events were staged in its transaction.
    pub(crate) fn announce(&self) {
        self.ports.relay.wake();
    }
}

/// Adds the keys of `extra` (an object) to `into` (an object).
fn merge(into: &mut serde_json::Value, extra: &serde_json::Value) {
    if let (Some(into), Some(extra)) = (into.as_object_mut(), extra.as_object()) {
        into.extend(extra.clone());
    }
}

pub(crate) fn stale() -> CoreError {
    CoreError::PreconditionFailed("the project changed since it was read".into())
}

pub(crate) fn check_version(current: &Project, expected: Option<i64>) -> Result<(), CoreError> {
    match expected {
        Some(v) if v != current.version => Err(stale()),
        _ => Ok(()),
    }
}

pub(crate) fn history(
    project: &Project,
    changed: Vec<String>,
    principal: &Principal,
    at: DateTime<Utc>,
) -> ProjectVersion {
    ProjectVersion {
        project_id: project.id,
        version: project.version,
        snapshot: project.clone(),
        changed,
        actor: Some(principal.user),
        at,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use usvc_core::ports::{
        Invalidation, MockAuditLog, MockAuthorizer, MockClock, MockEventRelay, MockIdempotencyKeys,
        MockProjectAccess, MockProjectAnalytics, MockProjectRepository,
    };
    use usvc_core::{Decision, SessionId, TenantId, UserId};

    use super::*;

    pub(crate) fn caller(roles: &[&str]) -> Principal {
        Principal {
            user: UserId::new(),
            tenant: TenantId::new(),
            session: SessionId::new(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            origin: usvc_core::Origin::default(),
        }
    }

    /// Allows exactly the listed actions; every refusal is `Forbidden`, as the real guard.
    pub(crate) fn authorizer(allowed: &[Action]) -> MockAuthorizer {
        let allowed: Arc<Vec<Action>> = Arc::new(allowed.to_vec());
        let guard = allowed.clone();
        let mut authorizer = MockAuthorizer::new();
        authorizer
            .expect_authorize()
            .returning(move |_, action, _| {
                let allowed = &guard;
                if allowed.contains(action) {
                    Ok(())
                } else {
                    Err(CoreError::Forbidden(format!("not {action}")))
                }
            });
        authorizer.expect_check().returning(move |_, action, _| {
            Ok(if allowed.contains(action) {
                Decision::allow("test")
            } else {
                Decision::deny("test")
            })
        });
        authorizer
    }

    fn project_service(
        projects: MockProjectRepository,
        authorizer: MockAuthorizer,
    ) -> ProjectService {
        with_access(projects, authorizer, MockProjectAccess::new())
    }

    pub(crate) fn with_access(
        projects: MockProjectRepository,
        authorizer: MockAuthorizer,
        access_lists: MockProjectAccess,
    ) -> ProjectService {
        with_audit(projects, authorizer, access_lists, MockAuditLog::new())
    }

    pub(crate) fn with_audit(
        projects: MockProjectRepository,
        authorizer: MockAuthorizer,
        access_lists: MockProjectAccess,
        audit: MockAuditLog,
    ) -> ProjectService {
        with_keys(
            projects,
            authorizer,
            access_lists,
            audit,
            MockIdempotencyKeys::new(),
        )
    }

    pub(crate) fn with_keys(
        projects: MockProjectRepository,
        authorizer: MockAuthorizer,
        access_lists: MockProjectAccess,
        audit: MockAuditLog,
        idempotency: MockIdempotencyKeys,
    ) -> ProjectService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        let mut relay = MockEventRelay::new();
        relay.expect_wake().return_const(());
        let bus: Arc<dyn Invalidation> = Arc::new(usvc_cache::LocalInvalidation::new());
        ProjectService::new(ProjectPorts {
            projects: Arc::new(projects),
            authorizer: Arc::new(authorizer),
            clock: Arc::new(clock),
            relay: Arc::new(relay),
            cache: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PROJECTS, bus.clone()),
            access: usvc_cache::NamedCache::new(usvc_cache::CacheSpec::PROJECT_ACCESS, bus),
            access_lists: Arc::new(access_lists),
            audit: Arc::new(audit),
            idempotency: Arc::new(idempotency),
            analytics: Arc::new(MockProjectAnalytics::new()),
        })
    }

    pub(crate) fn stored(principal: &Principal, name: &str) -> Project {
        let now = Utc::now().trunc_subsecs(6);
        let mut project = Project::new(principal.tenant, principal.user, now);
        project.name = name.into();
        project.slug = slugify(name);
        project.version = 3;
        project
    }

    #[tokio::test]
    async fn creating_stores_owner_history_and_audit_together() {
        let ada = caller(&["member"]);
        let who = ada.user;
        let mut projects = MockProjectRepository::new();
        projects
            .expect_create()
            .withf(move |p, owner, first, audit, _| {
                p.slug == "apollo-11"
                    && p.version == 1
                    && owner.user_id == who
                    && owner.role == ProjectRole::Owner
                    && first.version == 1
                    && first.snapshot == *p
                    && audit.action == events::CREATED
            })
            .times(1)
            .returning(|_, _, _, _, _| Ok(()));
        let service = project_service(projects, authorizer(&[permissions::PROJECTS_CREATE]));
        let project = service
            .create(
                &ada,
                ProjectFields {
                    name: Some("Apollo 11".into()),
                    ..ProjectFields::default()
                },
            )
            .await
            .expect("created");
        assert_eq!(project.owner_id, ada.user);
        let unnamed = service.create(&ada, ProjectFields::default()).await;
        assert!(matches!(unnamed, Err(CoreError::Validation(ref f)) if f[0].field == "name"));
        let viewer = project_service(MockProjectRepository::new(), authorizer(&[]));
        let refused = viewer
            .create(
                &ada,
                ProjectFields {
                    name: Some("X".into()),
                    ..ProjectFields::default()
                },
            )
            .await;
        assert!(matches!(refused, Err(CoreError::Forbidden(_))));
    }

    #[tokio::test]
    async fn projects_the_caller_may_not_see_are_not_found() {
        let ada = caller(&["member"]);
        let theirs = stored(&ada, "Secret");
        let id = theirs.id;
        let mut projects = MockProjectRepository::new();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(theirs.clone())));
        let blind = project_service(projects, authorizer(&[]));
        assert_eq!(blind.get(&ada, id).await, Err(not_found()));
        // Another tenant asking for the (cached) id finds nothing either.
        assert_eq!(blind.get(&caller(&["owner"]), id).await, Err(not_found()));
    }

    #[tokio::test]
    async fn updates_honour_the_version_and_write_one_new_one() {
        let ada = caller(&["member"]);
        let current = stored(&ada, "Apollo");
        let id = current.id;
        let saved = Arc::new(Mutex::new(Vec::new()));
        let seen = saved.clone();
        let mut projects = MockProjectRepository::new();
        let read = current.clone();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(read.clone())));
        projects
            .expect_update()
            .withf(|next, expected, entry, audit| {
                *expected == 3
                    && next.version == 4
                    && entry.changed == ["name"]
                    && audit.action == events::UPDATED
            })
            .times(1)
            .returning(move |next, _, _, _| {
                seen.lock().expect("lock").push(next.clone());
                Ok(true)
            });
        let service = project_service(
            projects,
            authorizer(&[permissions::PROJECTS_READ, permissions::PROJECTS_WRITE]),
        );
        let rename = || ProjectFields {
            name: Some("Apollo 11".into()),
            ..ProjectFields::default()
        };
        assert!(matches!(
            service.update(&ada, id, Some(2), rename()).await,
            Err(CoreError::PreconditionFailed(_))
        ));
        let unchanged = service
            .update(
                &ada,
                id,
                Some(3),
                ProjectFields {
                    name: Some("Apollo".into()),
                    ..ProjectFields::default()
                },
            )
            .await
            .expect("nothing to do");
        assert_eq!(unchanged.version, 3, "no change, no new version");
        let next = service
            .update(&ada, id, Some(3), rename())
            .await
            .expect("saved");
        assert_eq!((next.version, next.name.as_str()), (4, "Apollo 11"));
        assert_eq!(saved.lock().expect("lock").len(), 1);
    }

    #[tokio::test]
    async fn archived_projects_are_read_only_and_a_lost_race_is_a_failed_precondition() {
        let ada = caller(&["admin"]);
        let mut archived = stored(&ada, "Old");
        archived.status = ProjectStatus::Archived;
        let id = archived.id;
        let mut projects = MockProjectRepository::new();
        projects
            .expect_get()
            .returning(move |_, _| Ok(Some(archived.clone())));
        projects.expect_update().never();
        projects.expect_delete().returning(|_, _, _, _| Ok(false));
        let service = project_service(
            projects,
            authorizer(&[
                permissions::PROJECTS_READ,
                permissions::PROJECTS_WRITE,
                permissions::PROJECTS_DELETE,
            ]),
        );
        let change = service
            .update(
                &ada,
                id,
                None,
                ProjectFields {
                    description: Some("new".into()),
                    ..ProjectFields::default()
                },
            )
            .await;
        assert!(matches!(change, Err(CoreError::Conflict(_))), "{change:?}");
        assert!(matches!(
            service.delete(&ada, id, None).await,
            Err(CoreError::PreconditionFailed(_))
        ));
    }
}
