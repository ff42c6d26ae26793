//! Bulk operations: one action over up to 1000 projects, each authorized on its own and
//! answered on its own, with a constant number of database round trips for the whole batch
//! (one read of the projects, two of their access lists, one transaction for the change, one
//! append for the refusals).

use std::collections::{HashMap, HashSet};

use serde_json::json;
use usvc_core::ports::ProjectAccessList;
use usvc_core::{
    permissions, Action, AuditEntry, BulkAction, BulkBatch, BulkItem, CoreError, Principal,
    Project, ProjectId, ProjectRole, ProjectStatus, MAX_BULK,
};

use crate::service::{events, history, not_found, project_ref, ProjectService};

/// One project's answer in a bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOutcome {
    /// The project named.
    pub id: ProjectId,
    /// `Ok(true)` changed, `Ok(false)` already as asked, or why it was left alone.
    pub result: Result<bool, CoreError>,
}

/// What one project needs before it goes into the batch.
enum Plan {
    /// Refused or missing.
    Refused(CoreError),
    /// Already as asked: nothing to write.
    Unchanged,
    /// Goes into the batch.
    Change(Box<BulkItem>),
}

impl ProjectService {
    /// Applies `action` to every project in `ids` the caller may change, in one transaction,
    /// and answers per project in the order asked (each id once). Projects the caller may
    /// not see are `NotFound`, as in single requests; refusals are audited in one append.
    pub async fn bulk(
        &self,
        principal: &Principal,
        action: BulkAction,
        ids: &[ProjectId],
    ) -> Result<Vec<BulkOutcome>, CoreError> {
        let mut seen = HashSet::new();
        let ids: Vec<ProjectId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(CoreError::invalid(
                "ids",
                format!("must name 1-{MAX_BULK} projects"),
            ));
        }
        let projects: HashMap<ProjectId, Project> = self
            .ports
            .projects
            .get_many(principal.tenant, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let lists = self.prime_access_lists(principal, &ids).await?;
        let now = self.now();
        let mut plans = Vec::with_capacity(ids.len());
        let mut denials = Vec::new();
        for id in &ids {
            let plan = match projects.get(id) {
                None => Plan::Refused(not_found()),
                Some(project) => {
                    self.plan(principal, action, project, lists.get(id), now, &mut denials)
                        .await?
                }
            };
            plans.push((*id, plan));
        }
        if !denials.is_empty() {
            self.ports.audit.append_many(denials).await?;
        }
        let items: Vec<BulkItem> = plans
            .iter()
            .filter_map(|(_, plan)| match plan {
                Plan::Change(item) => Some((**item).clone()),
                _ => None,
            })
            .collect();
        let refused: HashMap<ProjectId, CoreError> = if items.is_empty() {
            HashMap::new()
        } else {
            let batch = BulkBatch {
                action,
                at: now,
                items,
            };
            let refused = self
                .ports
                .projects
                .apply_bulk(principal.tenant, &batch)
                .await?;
            refused.into_iter().collect()
        };
        let changed: Vec<ProjectId> = plans
            .iter()
            .filter(|(id, plan)| matches!(plan, Plan::Change(_)) && !refused.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        self.bulk_changed(action, &changed).await?;
        Ok(plans
            .into_iter()
            .map(|(id, plan)| BulkOutcome {
                id,
                result: match plan {
                    Plan::Refused(e) => Err(e),
                    Plan::Unchanged => Ok(false),
                    Plan::Change(_) => refused.get(&id).cloned().map_or(Ok(true), Err),
                },
            })
            .collect())
    }

    /// Reads the access lists of every named project at once and puts them in the
    /// `project-access` cache, so the per-project questions below are answered from memory.
    async fn prime_access_lists(
        &self,
        principal: &Principal,
        ids: &[ProjectId],
    ) -> Result<HashMap<ProjectId, ProjectAccessList>, CoreError> {
        let generation = self.ports.access.generation();
        let lists = self
            .ports
            .access_lists
            .access_lists(principal.tenant, ids)
            .await?;
        for (id, list) in &lists {
            self.ports
                .access
                .insert_if_unchanged(*id, list.clone(), generation);
        }
        Ok(lists.into_iter().collect())
    }

    /// Decides one project: may the caller, is there anything to do, and what to write.
    async fn plan(
        &self,
        principal: &Principal,
        action: BulkAction,
        project: &Project,
        list: Option<&ProjectAccessList>,
        now: chrono::DateTime<chrono::Utc>,
        denials: &mut Vec<AuditEntry>,
    ) -> Result<Plan, CoreError> {
        let resource = project_ref(project.id);
        let read = self
            .ports
            .authorizer
            .check(principal, &permissions::PROJECTS_READ, &resource)
            .await?;
        if !read.allowed {
            // Answered as absence, recorded as the refusal it is (as a single read is).
            denials.push(AuditEntry::denied(
                principal,
                &permissions::PROJECTS_READ,
                &resource,
                &read.reason,
                now,
            ));
            return Ok(Plan::Refused(not_found()));
        }
        for needed in needs(principal, action, list) {
            let decision = self
                .ports
                .authorizer
                .check(principal, &needed, &resource)
                .await?;
            if !decision.allowed {
                denials.push(AuditEntry::denied(
                    principal,
                    &needed,
                    &resource,
                    &decision.reason,
                    now,
                ));
                return Ok(Plan::Refused(CoreError::Forbidden(decision.reason)));
            }
        }
        let mut next = project.clone();
        let (kind, changed): (&str, &[&str]) = match action {
            BulkAction::Archive if project.status == ProjectStatus::Archived => {
                return Ok(Plan::Unchanged)
            }
            BulkAction::Unarchive if project.status == ProjectStatus::Active => {
                return Ok(Plan::Unchanged)
            }
            BulkAction::TransferOwner { to } if project.owner_id == to => {
                return Ok(Plan::Unchanged)
            }
            BulkAction::Archive => {
                next.status = ProjectStatus::Archived;
                next.archived_at = Some(now);
                (events::ARCHIVED, &["status"])
            }
            BulkAction::Unarchive => {
                next.status = ProjectStatus::Active;
                next.archived_at = None;
                (events::UNARCHIVED, &["status"])
            }
            BulkAction::TransferOwner { to } => {
                next.owner_id = to;
                (events::UPDATED, &["owner_id"])
            }
            BulkAction::Delete => (events::DELETED, &[]),
            BulkAction::AddMember { .. } => (events::MEMBER_ADDED, &[]),
            BulkAction::RemoveMember { .. } => (events::MEMBER_REMOVED, &[]),
        };
        let changed: Vec<String> = changed.iter().map(|c| (*c).to_owned()).collect();
        let entry = (!changed.is_empty()).then(|| {
            next.version = project.version + 1;
            next.updated_at = now;
            history(&next, changed.clone(), principal, now)
        });
        let audit = AuditEntry::by(principal, kind, now)
            .on(project_ref(project.id))
            .details(bulk_details(
                action,
                &changed,
                entry.as_ref().map(|e| e.version),
            ));
        // Removing someone the (cached) list shows below owner: the store re-checks the role
        // under its lock, with the caller's real powers.
        let owner_powers = match action {
            BulkAction::RemoveMember { user } if user != principal.user => {
                self.may_touch_owners(principal, project.id).await?
            }
            _ => true,
        };
        Ok(Plan::Change(Box::new(BulkItem {
            id: project.id,
            expected_version: project.version,
            entry,
            audit,
            owner_powers,
        })))
    }

    /// Drops the changed projects from the caches (on every replica) and wakes the relay for
    /// their events (staged with the change).
    async fn bulk_changed(
        &self,
        action: BulkAction,
        changed: &[ProjectId],
    ) -> Result<(), CoreError> {
        if changed.is_empty() {
            return Ok(());
        }
        if action.is_versioned() {
            self.ports.cache.invalidate_many(changed).await?;
        }
        if !matches!(action, BulkAction::Archive | BulkAction::Unarchive) {
            self.ports.access.invalidate_many(changed).await?;
        }
        self.announce();
        Ok(())
    }
}

/// The actions the caller needs on one project for `action`. Giving or taking a project role
/// takes holding everything that role grants (as one at a time does, `members.rs`): a
/// transfer makes someone owner, so it takes all an owner holds. Leaving needs nothing but
/// sight.
fn needs(
    principal: &Principal,
    action: BulkAction,
    list: Option<&ProjectAccessList>,
) -> Vec<Action> {
    let with_grants = |mut needed: Vec<Action>, role: ProjectRole| {
        for action in permissions::project_role_grants(role) {
            if !needed.contains(action) {
                needed.push(action.clone());
            }
        }
        needed
    };
    let handing_out = |role| with_grants(vec![permissions::PROJECTS_MANAGE_MEMBERS], role);
    match action {
        BulkAction::Archive | BulkAction::Unarchive => vec![permissions::PROJECTS_WRITE],
        BulkAction::Delete => vec![permissions::PROJECTS_DELETE],
        BulkAction::TransferOwner { .. } => {
            with_grants(vec![permissions::PROJECTS_DELETE], ProjectRole::Owner)
        }
        BulkAction::AddMember { role, .. } => handing_out(role),
        BulkAction::RemoveMember { user } if user == principal.user => Vec::new(),
        BulkAction::RemoveMember { user } => match list.and_then(|l| l.role_of(user)) {
            Some(role) => handing_out(role),
            None => vec![permissions::PROJECTS_MANAGE_MEMBERS],
        },
    }
}

/// Audit and event details of one project's part in a bulk change.
fn bulk_details(action: BulkAction, changed: &[String], version: Option<i64>) -> serde_json::Value {
    let mut details = json!({ "bulk": true });
    if !changed.is_empty() {
        details["fields"] = json!(changed);
    }
    if let Some(version) = version {
        details["version"] = json!(version);
    }
    match action {
        BulkAction::TransferOwner { to } => details["owner_id"] = json!(to),
        BulkAction::AddMember { user, role } => {
            details["user_id"] = json!(user);
            details["role"] = json!(role);
        }
        BulkAction::RemoveMember { user } => details["user_id"] = json!(user),
        _ => {}
    }
    details
}

#[cfg(test)]
mod tests {
    use usvc_core::ports::{MockAuditLog, MockProjectAccess, MockProjectRepository};
    use usvc_core::Visibility;

    use super::*;
    use crate::service::tests::{authorizer, caller, stored, with_audit};

    #[tokio::test]
    async fn a_batch_costs_the_same_port_calls_however_many_projects_it_names() {
        let mia = caller(&["member"]);
        let projects: Vec<Project> = (0..200).map(|i| stored(&mia, &format!("P{i}"))).collect();
        let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        let mut repo = MockProjectRepository::new();
        let found = projects[..150].to_vec();
        repo.expect_get_many()
            .times(1)
            .returning(move |_, _| Ok(found.clone()));
        let stale = ids[0];
        repo.expect_apply_bulk()
            .times(1)
            .withf(|_, batch| {
                batch.items.len() == 150 && batch.items.iter().all(|i| i.entry.is_some())
            })
            .returning(move |_, _| {
                Ok(vec![(
                    stale,
                    CoreError::PreconditionFailed("moved on".into()),
                )])
            });
        repo.expect_get().never();
        let mut access = MockProjectAccess::new();
        let tenant = mia.tenant;
        access
            .expect_access_lists()
            .times(1)
            .returning(move |_, ids| {
                Ok(ids
                    .iter()
                    .map(|id| {
                        (
                            *id,
                            ProjectAccessList {
                                tenant,
                                visibility: Visibility::Tenant,
                                members: vec![],
                            },
                        )
                    })
                    .collect())
            });
        access.expect_access_list().never();
        let mut audit = MockAuditLog::new();
        audit.expect_append_many().never();
        let service = with_audit(
            repo,
            authorizer(&[permissions::PROJECTS_READ, permissions::PROJECTS_WRITE]),
            access,
            audit,
        );
        let outcomes = service
            .bulk(&mia, BulkAction::Archive, &ids)
            .await
            .expect("bulk");
        assert_eq!(outcomes.len(), 200);
        assert!(matches!(
            outcomes[0].result,
            Err(CoreError::PreconditionFailed(_))
        ));
        assert_eq!(
            outcomes.iter().filter(|o| o.result == Ok(true)).count(),
            149
        );
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o.result, Err(CoreError::NotFound(_))))
                .count(),
            50
        );
    }

    #[tokio::test]
    async fn refusals_are_answered_per_project_and_audited_in_one_append() {
        let vic = caller(&["viewer"]);
        let projects: Vec<Project> = (0..20).map(|i| stored(&vic, &format!("P{i}"))).collect();
        let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        let mut repo = MockProjectRepository::new();
        repo.expect_get_many()
            .returning(move |_, _| Ok(projects.clone()));
        repo.expect_apply_bulk().never();
        let mut access = MockProjectAccess::new();
        access.expect_access_lists().returning(|_, _| Ok(vec![]));
        let mut audit = MockAuditLog::new();
        audit
            .expect_append_many()
            .times(1)
            .withf(|entries| {
                entries.len() == 20
                    && entries
                        .iter()
                        .all(|e| e.action == usvc_core::audit::ACCESS_DENIED)
            })
            .returning(|_| Ok(()));
        let service = with_audit(
            repo,
            authorizer(&[permissions::PROJECTS_READ]),
            access,
            audit,
        );
        let outcomes = service
            .bulk(&vic, BulkAction::Delete, &ids)
            .await
            .expect("bulk");
        assert!(outcomes
            .iter()
            .all(|o| matches!(o.result, Err(CoreError::Forbidden(_)))));
        assert!(matches!(
            service.bulk(&vic, BulkAction::Delete, &[]).await,
            Err(CoreError::Validation(_))
        ));
    }
}
