//! `ProjectRepository::apply_bulk` (compiled into each adapter against its own schema): one
//! transaction, a constant number of statements however many projects the batch names.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::{AuditEntry, BulkAction, BulkBatch, CoreError, ProjectId, ProjectRole};
use uuid::Uuid;

use crate::backend::{insert_all, Connection, DbId};
use crate::errors;
use crate::outbox;
use crate::projects::{MemberRow, VersionRow};
use crate::schema::{project_members, project_versions, projects, users};
use crate::store::Store;

/// The projects of a batch left alone, each with why.
pub(crate) type Refusals = Vec<(ProjectId, CoreError)>;

fn project_id(id: DbId) -> ProjectId {
    ProjectId::from_uuid(Uuid::from(id))
}

impl Store {
    /// Applies `batch` to the tenant's projects: locks them, re-reads their versions, changes
    /// those still as the domain saw them, and writes their history and audit rows.
    pub(crate) async fn apply_bulk_batch(
        &self,
        tenant: DbId,
        batch: BulkBatch,
    ) -> Result<Refusals, CoreError> {
        let outcome = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| apply(conn, tenant, &batch).await)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        outcome
    }
}

async fn apply(
    conn: &mut Connection,
    tenant: DbId,
    batch: &BulkBatch,
) -> Result<Result<Refusals, CoreError>, diesel::result::Error> {
    let ids: Vec<DbId> = batch
        .items
        .iter()
        .map(|i| DbId::from(i.id.as_uuid()))
        .collect();
    let live = projects::table
        .filter(projects::tenant_id.eq(tenant))
        .filter(projects::id.eq_any(ids.clone()))
        .filter(projects::deleted_at.is_null());
    // 1. Lock the rows (a no-op write: row locks on Postgres, the write lock on SQLite).
    diesel::update(live.clone())
        .set(projects::version.eq(projects::version))
        .execute(conn)
        .await?;
    // 2. Their versions now.
    let current: HashMap<DbId, (i64, DbId)> = live
        .select((projects::id, projects::version, projects::owner_id))
        .load::<(DbId, i64, DbId)>(conn)
        .await?
        .into_iter()
        .map(|(id, version, owner)| (id, (version, owner)))
        .collect();
    // 3. The user the action names must be a live user of the tenant.
    let named_user = match batch.action {
        BulkAction::TransferOwner { to } => Some(to),
        BulkAction::AddMember { user, .. } => Some(user),
        _ => None,
    };
    if let Some(user) = named_user {
        let found: i64 = users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::id.eq(DbId::from(user.as_uuid())))
            .filter(users::deleted_at.is_null())
            .count()
            .get_result(conn)
            .await?;
        if found == 0 {
            return Ok(Err(CoreError::NotFound("user".into())));
        }
    }
    // History rows are built before anything is written, so a failure leaves nothing.
    let mut entries = Vec::new();
    for item in &batch.items {
        if let Some(entry) = &item.entry {
            match VersionRow::from_version(entry) {
                Ok(row) => entries.push((DbId::from(item.id.as_uuid()), row)),
                Err(e) => return Ok(Err(e)),
            }
        }
    }
    let mut refused = Refusals::new();
    let mut ready = Vec::new();
    for item in &batch.items {
        let id = DbId::from(item.id.as_uuid());
        match current.get(&id) {
            None => refused.push((item.id, CoreError::NotFound("project".into()))),
            Some((version, _))
                if batch.action.is_versioned() && *version != item.expected_version =>
            {
                refused.push((
                    item.id,
                    CoreError::PreconditionFailed("the project changed since it was read".into()),
                ));
            }
            Some((_, owner)) => ready.push((item, id, *owner)),
        }
    }
    // 4. The change itself.
    let applied: HashSet<DbId> = match batch.action {
        BulkAction::AddMember { user, role } => {
            add_member(conn, &ready, user, role, batch.at, tenant, &mut refused).await?
        }
        BulkAction::RemoveMember { user } => {
            remove_member(conn, &ready, user, &mut refused).await?
        }
        action => edit(conn, &ready, action, batch.at, tenant).await?,
    };
    // 5. History and audit of what changed.
    let entries: Vec<VersionRow> = entries
        .into_iter()
        .filter(|(id, _)| applied.contains(id))
        .map(|(_, row)| row)
        .collect();
    insert_all!(conn, project_versions::table, entries);
    let audits: Vec<AuditEntry> = batch
        .items
        .iter()
        .filter(|i| applied.contains(&DbId::from(i.id.as_uuid())))
        .map(|i| i.audit.clone())
        .collect();
    outbox::record(conn, &audits).await?;
    Ok(Ok(refused))
}

/// Archive, unarchive, delete or transfer: one UPDATE over every ready project.
async fn edit(
    conn: &mut Connection,
    ready: &[(&usvc_core::BulkItem, DbId, DbId)],
    action: BulkAction,
    at: DateTime<Utc>,
    tenant: DbId,
) -> Result<HashSet<DbId>, diesel::result::Error> {
    let ids: Vec<DbId> = ready.iter().map(|(_, id, _)| *id).collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let targets = projects::table.filter(projects::id.eq_any(ids.clone()));
    let bump = (
        projects::version.eq(projects::version + 1),
        projects::updated_at.eq(at),
    );
    match action {
        BulkAction::Archive => {
            diesel::update(targets)
                .set((
                    projects::status.eq(usvc_core::ProjectStatus::Archived.as_str()),
                    projects::archived_at.eq(Some(at)),
                    bump,
                ))
                .execute(conn)
                .await?;
        }
        BulkAction::Unarchive => {
            diesel::update(targets)
                .set((
                    projects::status.eq(usvc_core::ProjectStatus::Active.as_str()),
                    projects::archived_at.eq(None::<DateTime<Utc>>),
                    bump,
                ))
                .execute(conn)
                .await?;
        }
        BulkAction::Delete => {
            diesel::update(targets)
                .set(projects::deleted_at.eq(Some(at)))
                .execute(conn)
                .await?;
        }
        BulkAction::TransferOwner { to } => {
            let to = DbId::from(to.as_uuid());
            diesel::update(targets)
                .set((projects::owner_id.eq(to), bump))
                .execute(conn)
                .await?;
            // The new owner holds the owner role: promoted where a member, added elsewhere.
            let members = project_members::table
                .filter(project_members::project_id.eq_any(ids.clone()))
                .filter(project_members::user_id.eq(to));
            let already: HashSet<DbId> = members
                .clone()
                .select(project_members::project_id)
                .load::<DbId>(conn)
                .await?
                .into_iter()
                .collect();
            diesel::update(members)
                .set(project_members::role.eq(ProjectRole::Owner.as_str()))
                .execute(conn)
                .await?;
            let added: Vec<MemberRow> = ids
                .iter()
                .filter(|id| !already.contains(id))
                .map(|id| MemberRow {
                    project_id: *id,
                    user_id: to,
                    tenant_id: tenant,
                    role: ProjectRole::Owner.as_str().to_owned(),
                    added_at: at,
                })
                .collect();
            insert_all!(conn, project_members::table, added);
        }
        BulkAction::AddMember { .. } | BulkAction::RemoveMember { .. } => {}
    }
    Ok(ids.into_iter().collect())
}

/// Adds `user` to every ready project they are not on yet.
async fn add_member(
    conn: &mut Connection,
    ready: &[(&usvc_core::BulkItem, DbId, DbId)],
    user: usvc_core::UserId,
    role: ProjectRole,
    at: DateTime<Utc>,
    tenant: DbId,
    refused: &mut Refusals,
) -> Result<HashSet<DbId>, diesel::result::Error> {
    let user = DbId::from(user.as_uuid());
    let ids: Vec<DbId> = ready.iter().map(|(_, id, _)| *id).collect();
    let already: HashSet<DbId> = project_members::table
        .filter(project_members::project_id.eq_any(ids.clone()))
        .filter(project_members::user_id.eq(user))
        .select(project_members::project_id)
        .load::<DbId>(conn)
        .await?
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for id in ids {
        if already.contains(&id) {
            refused.push((
                project_id(id),
                CoreError::Conflict("the user is a member already".into()),
            ));
        } else {
            rows.push(MemberRow {
                project_id: id,
                user_id: user,
                tenant_id: tenant,
                role: role.as_str().to_owned(),
                added_at: at,
            });
        }
    }
    let applied = rows.iter().map(|r| r.project_id).collect();
    insert_all!(conn, project_members::table, rows);
    Ok(applied)
}

/// Removes `user` from every ready project they are on, except where they are the owner of
/// record.
async fn remove_member(
    conn: &mut Connection,
    ready: &[(&usvc_core::BulkItem, DbId, DbId)],
    user: usvc_core::UserId,
    refused: &mut Refusals,
) -> Result<HashSet<DbId>, diesel::result::Error> {
    let user = DbId::from(user.as_uuid());
    let ids: Vec<DbId> = ready.iter().map(|(_, id, _)| *id).collect();
    // The roles as they are now, under the lock (the domain decided on cached ones).
    let on: HashMap<DbId, String> = project_members::table
        .filter(project_members::project_id.eq_any(ids))
        .filter(project_members::user_id.eq(user))
        .select((project_members::project_id, project_members::role))
        .load::<(DbId, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let mut removing = Vec::new();
    for (item, id, owner) in ready {
        let role = on.get(id).map(String::as_str);
        if role.is_none() {
            refused.push((
                project_id(*id),
                CoreError::NotFound("project member".into()),
            ));
        } else if role == Some(ProjectRole::Owner.as_str()) && !item.owner_powers {
            refused.push((
                project_id(*id),
                CoreError::Forbidden(
                    "only the project's owners and tenant admins grant or take the owner role"
                        .into(),
                ),
            ));
        } else if *owner == user {
            refused.push((
                project_id(*id),
                CoreError::Conflict(
                    "the project's owner of record keeps the owner role; transfer ownership first"
                        .into(),
                ),
            ));
        } else {
            removing.push(*id);
        }
    }
    if !removing.is_empty() {
        diesel::delete(
            project_members::table
                .filter(project_members::project_id.eq_any(removing.clone()))
                .filter(project_members::user_id.eq(user)),
        )
        .execute(conn)
        .await?;
    }
    Ok(removing.into_iter().collect())
}
