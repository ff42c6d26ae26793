//! `ProjectRepository` (compiled into each adapter against its own schema).
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use usvc_core::ports::ProjectRepository;
use usvc_core::{
    AuditEntry, BulkBatch, CoreError, IdempotencyRecord, Page, PageRequest, Project, ProjectFilter,
    ProjectId, ProjectMember, ProjectRole, ProjectSort, ProjectVersion, TenantId, UserId,
};
use uuid::Uuid;

use crate::backend::{has_tag, Connection, DbId};
use crate::errors;
use crate::idempotency;
use crate::outbox;
use crate::schema::{
    audit_queue, outbox_events, project_members, project_versions, projects, users,
};
use crate::store::Store;

/// Why a change of an owner's membership was refused.
const OWNERS_ONLY: &str =
    "only the project's owners and tenant admins grant or take the owner role";

const NAME_TAKEN: &str = "a project with this name (or the same slug) already exists";

// NULL for `None`, not `DEFAULT` (the column's default is NULL anyway): a multi-row insert
// then has one text per row count whichever fields are empty, so it can stay prepared
// (group commit, ADR 0030).
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects, treat_none_as_default_value = false)]
struct ProjectRow {
    id: DbId,
    tenant_id: DbId,
    name: String,
    name_key: String,
    slug: String,
    description: String,
    status: String,
    visibility: String,
    tags: serde_json::Value,
    settings: serde_json::Value,
    owner_id: DbId,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    archived_at: Option<DateTime<Utc>>,
}

impl ProjectRow {
    fn from_project(p: &Project) -> Self {
        Self {
            id: DbId::from(p.id.as_uuid()),
            tenant_id: DbId::from(p.tenant_id.as_uuid()),
            name: p.name.clone(),
            name_key: p.name.to_lowercase(),
            slug: p.slug.clone(),
            description: p.description.clone(),
            status: p.status.as_str().to_owned(),
            visibility: p.visibility.as_str().to_owned(),
            tags: serde_json::Value::from(p.tags.clone()),
            settings: p.settings.clone(),
            owner_id: DbId::from(p.owner_id.as_uuid()),
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
            archived_at: p.archived_at,
        }
    }

    fn into_project(self) -> Result<Project, CoreError> {
        let stored = |what: &str| CoreError::Internal(format!("stored project {what}"));
        Ok(Project {
            id: ProjectId::from_uuid(Uuid::from(self.id)),
            tenant_id: TenantId::from_uuid(Uuid::from(self.tenant_id)),
            name: self.name,
            slug: self.slug,
            description: self.description,
            status: self.status.parse().map_err(|_| stored("status"))?,
            visibility: self.visibility.parse().map_err(|_| stored("visibility"))?,
            tags: serde_json::from_value(self.tags).map_err(|_| stored("tags"))?,
            settings: self.settings,
            owner_id: UserId::from_uuid(Uuid::from(self.owner_id)),
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived_at: self.archived_at,
        })
    }
}

// NULL for `None`, not `DEFAULT` (the column's default is NULL anyway): a multi-row insert
// then has one text per row count whichever fields are empty, so it can stay prepared
// (group commit, ADR 0030).
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_versions, treat_none_as_default_value = false)]
pub(crate) struct VersionRow {
    project_id: DbId,
    version: i64,
    tenant_id: DbId,
    snapshot: serde_json::Value,
    changed: serde_json::Value,
    actor_id: Option<DbId>,
    at: DateTime<Utc>,
}

impl VersionRow {
    pub(crate) fn from_version(v: &ProjectVersion) -> Result<Self, CoreError> {
        Ok(Self {
            project_id: DbId::from(v.project_id.as_uuid()),
            version: v.version,
            tenant_id: DbId::from(v.snapshot.tenant_id.as_uuid()),
            snapshot: serde_json::to_value(&v.snapshot)
                .map_err(|e| CoreError::Internal(format!("project snapshot: {e}")))?,
            changed: serde_json::Value::from(v.changed.clone()),
            actor_id: v.actor.map(|a| DbId::from(a.as_uuid())),
            at: v.at,
        })
    }

    fn into_version(self) -> Result<ProjectVersion, CoreError> {
        let stored = || CoreError::Internal("stored project version".into());
        Ok(ProjectVersion {
            project_id: ProjectId::from_uuid(Uuid::from(self.project_id)),
            version: self.version,
            snapshot: serde_json::from_value(self.snapshot).map_err(|_| stored())?,
            changed: serde_json::from_value(self.changed).map_err(|_| stored())?,
            actor: self.actor_id.map(|a| UserId::from_uuid(Uuid::from(a))),
            at: self.at,
        })
    }
}

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_members)]
pub(crate) struct MemberRow {
    pub(crate) project_id: DbId,
    pub(crate) user_id: DbId,
    pub(crate) tenant_id: DbId,
    pub(crate) role: String,
    pub(crate) added_at: DateTime<Utc>,
}

impl MemberRow {
    fn into_member(self) -> Result<ProjectMember, CoreError> {
        Ok(ProjectMember {
            project_id: ProjectId::from_uuid(Uuid::from(self.project_id)),
            user_id: UserId::from_uuid(Uuid::from(self.user_id)),
            role: self
                .role
                .parse()
                .map_err(|_| CoreError::Internal("stored project role".into()))?,
            added_at: self.added_at,
        })
    }
}

/// Where a page of a sorted listing ends: the last project's id and sort value. The cursor
/// text names its sort (`n` name, `u` updated, nothing for creation order), then the
/// 36-character id, then the value, so a cursor of one sort is refused by another.
enum Keyset {
    Id(DbId),
    Name(DbId, String),
    Updated(DbId, DateTime<Utc>),
}

impl Keyset {
    fn position(sort: ProjectSort, p: &Project) -> String {
        match sort {
            ProjectSort::Created | ProjectSort::CreatedDesc => p.id.to_string(),
            ProjectSort::Name | ProjectSort::NameDesc => {
                format!("n{}{}", p.id, p.name.to_lowercase())
            }
            ProjectSort::Updated | ProjectSort::UpdatedDesc => {
                format!("u{}{}", p.id, p.updated_at.to_rfc3339())
            }
        }
    }

    fn parse(sort: ProjectSort, position: &str) -> Result<Self, CoreError> {
        let wrong = || CoreError::invalid("cursor", "is not a cursor of this listing and sort");
        let tag = match sort {
            ProjectSort::Created | ProjectSort::CreatedDesc => "",
            ProjectSort::Name | ProjectSort::NameDesc => "n",
            ProjectSort::Updated | ProjectSort::UpdatedDesc => "u",
        };
        let rest = position.strip_prefix(tag).ok_or_else(wrong)?;
        let (id, value) = (rest.get(..36), rest.get(36..).unwrap_or_default());
        let id = DbId::from(id.and_then(|i| i.parse::<Uuid>().ok()).ok_or_else(wrong)?);
        Ok(match sort {
            ProjectSort::Created | ProjectSort::CreatedDesc if value.is_empty() => Self::Id(id),
            ProjectSort::Created | ProjectSort::CreatedDesc => return Err(wrong()),
            ProjectSort::Name | ProjectSort::NameDesc => Self::Name(id, value.to_owned()),
            ProjectSort::Updated | ProjectSort::UpdatedDesc => Self::Updated(
                id,
                DateTime::parse_from_rfc3339(value)
                    .map_err(|_| wrong())?
                    .with_timezone(&Utc),
            ),
        })
    }
}

/// `%text%` for LIKE, with the wildcards of `text` escaped.
fn like_contains(text: &str) -> String {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// Takes the project's row lock (a no-op update: portable, and on Postgres held to the end of
/// the transaction) so membership changes of one project run one at a time; `false` if there
/// is no such live project.
async fn lock_live_project(
    conn: &mut Connection,
    tenant: DbId,
    id: DbId,
) -> Result<bool, diesel::result::Error> {
    let locked = diesel::update(
        projects::table
            .filter(projects::tenant_id.eq(tenant))
            .filter(projects::id.eq(id))
            .filter(projects::deleted_at.is_null()),
    )
    .set(projects::version.eq(projects::version))
    .execute(conn)
    .await?;
    Ok(locked > 0)
}

/// The role a membership change must leave alone: `owner` for a caller without the owner's
/// powers (so a role read from a cache that is a moment behind cannot let a maintainer demote
/// or remove an owner), none otherwise (no stored role is empty).
fn spared_role(owner_powers: bool) -> &'static str {
    if owner_powers {
        ""
    } else {
        ProjectRole::Owner.as_str()
    }
}

impl Store {
    /// `changed` as the answer of a membership change, unless nothing changed because the
    /// member is an owner the caller may not touch: then `Forbidden`.
    async fn owner_spared(
        &self,
        changed: bool,
        owner_powers: bool,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
    ) -> Result<bool, CoreError> {
        if changed || owner_powers {
            return Ok(changed);
        }
        match ProjectRepository::member_role(self, tenant, id, user).await? {
            Some(ProjectRole::Owner) => Err(CoreError::Forbidden(OWNERS_ONLY.into())),
            _ => Ok(false),
        }
    }

    /// Runs `change` on a live project's members under its lock, refusing (and undoing) it
    /// when the project would be left without an owner.
    async fn change_members<F>(&self, tenant: DbId, id: DbId, change: F) -> Result<bool, CoreError>
    where
        F: for<'c> FnOnce(
                &'c mut Connection,
            ) -> std::pin::Pin<
                Box<
                    dyn std::future::Future<Output = Result<bool, diesel::result::Error>>
                        + Send
                        + 'c,
                >,
            > + Send
            + 'static,
    {
        let outcome = self
            .run(move |conn| {
                Box::pin(async move {
                    Ok(conn
                        .transaction(async move |conn| {
                            if !lock_live_project(conn, tenant, id).await? {
                                return Ok(false);
                            }
                            if !change(conn).await? {
                                return Ok(false);
                            }
                            // The owner of record must still hold the owner role (and so
                            // the project keeps at least one owner).
                            let of_record: i64 = project_members::table
                                .inner_join(
                                    projects::table.on(projects::id
                                        .eq(project_members::project_id)
                                        .and(projects::owner_id.eq(project_members::user_id))),
                                )
                                .filter(project_members::project_id.eq(id))
                                .filter(project_members::role.eq(ProjectRole::Owner.as_str()))
                                .count()
                                .get_result(conn)
                                .await?;
                            if of_record == 0 {
                                return Err(diesel::result::Error::RollbackTransaction);
                            }
                            Ok(true)
                        })
                        .await)
                })
            })
            .await?;
        match outcome {
            Err(diesel::result::Error::RollbackTransaction) => Err(CoreError::Conflict(
                "the project's owner of record keeps the owner role; transfer ownership first"
                    .into(),
            )),
            other => other.map_err(errors::query),
        }
    }
}

/// A project create without an idempotency key, as group commit batches it: the project,
/// its owner, version 1 and the audit entry.
#[derive(Clone)]
pub(crate) struct NewProject {
    row: ProjectRow,
    member: MemberRow,
    version: VersionRow,
    audit: AuditEntry,
}

/// Creates' rows, their audit entries (chained here) and events, inside the caller's
/// transaction: a batch of creates on a store that chains in the change, and a create with
/// an idempotency key (which records its key in the same transaction) on either store.
async fn insert_chained(
    conn: &mut Connection,
    rows: Vec<ProjectRow>,
    members: Vec<MemberRow>,
    versions: Vec<VersionRow>,
    audits: Vec<AuditEntry>,
) -> diesel::QueryResult<()> {
    crate::backend::insert_all!(conn, projects::table, rows);
    crate::backend::insert_all!(conn, project_members::table, members);
    crate::backend::insert_all!(conn, project_versions::table, versions);
    outbox::record(conn, &audits).await
}

/// Writes a batch of creates, all or nothing: where audit entries are only queued (Postgres)
/// as one statement, one multi-row insert per table (`write_together!`: one round trip, no
/// `BEGIN` or `COMMIT`); elsewhere in one transaction, chaining the entries in it.
pub(crate) fn create_many<'c>(
    conn: &'c mut Connection,
    creates: &'c [NewProject],
) -> crate::store::Work<'c, Vec<()>> {
    Box::pin(async move {
        let answers = vec![(); creates.len()];
        // One order for every batch (by name, then tenant): two batches written at once that
        // hold the same names wait for each other in that order instead of deadlocking.
        let mut creates: Vec<&NewProject> = creates.iter().collect();
        creates.sort_by_cached_key(|c| (c.row.name_key.clone(), Uuid::from(c.row.tenant_id)));
        let rows: Vec<ProjectRow> = creates.iter().map(|c| c.row.clone()).collect();
        let members: Vec<MemberRow> = creates.iter().map(|c| c.member.clone()).collect();
        let versions: Vec<VersionRow> = creates.iter().map(|c| c.version.clone()).collect();
        let audits: Vec<AuditEntry> = creates.iter().map(|c| c.audit.clone()).collect();
        if crate::backend::CHAINS_AUDIT_IN_CHANGE {
            return conn
                .transaction(async move |conn| {
                    insert_chained(conn, rows, members, versions, audits).await
                })
                .await
                .map(|()| answers)
                .map_err(|e| errors::conflict(e, NAME_TAKEN));
        }
        let (queued, events): (Vec<_>, Vec<_>) = audits.iter().map(outbox::record_row).unzip();
        crate::backend::insert_rows_together!(
            conn,
            [
                (projects::table, &rows),
                (project_members::table, &members),
                (project_versions::table, &versions),
                (audit_queue::table, &queued),
                (outbox_events::table, &events),
            ]
        )
        .map_err(|e| errors::conflict(e, NAME_TAKEN))?;
        crate::audit_queue::announce();
        Ok(answers)
    })
}

#[async_trait]
impl ProjectRepository for Store {
    async fn create(
        &self,
        project: &Project,
        owner: &ProjectMember,
        first: &ProjectVersion,
        audit: &AuditEntry,
        key: Option<IdempotencyRecord>,
    ) -> Result<(), CoreError> {
        let row = ProjectRow::from_project(project);
        let member = MemberRow {
            project_id: row.id,
            user_id: DbId::from(owner.user_id.as_uuid()),
            tenant_id: row.tenant_id,
            role: owner.role.as_str().to_owned(),
            added_at: owner.added_at,
        };
        let version = VersionRow::from_version(first)?;
        let audit = audit.clone();
        let Some(key) = key else {
            // Concurrent creates share a statement and a commit (`group_commit.rs`).
            let create = NewProject {
                row,
                member,
                version,
                audit,
            };
            return self.project_creates.write(self, create).await;
        };
        self.write(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    insert_chained(conn, vec![row], vec![member], vec![version], vec![audit])
                        .await?;
                    idempotency::remember(conn, &key).await
                })
                .await
                .map_err(|e| errors::conflict(e, NAME_TAKEN))
            })
        })
        .await
    }

    async fn get(&self, tenant: TenantId, id: ProjectId) -> Result<Option<Project>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                projects::table
                    .filter(projects::tenant_id.eq(tenant))
                    .filter(projects::id.eq(id))
                    .filter(projects::deleted_at.is_null())
                    .select(ProjectRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(ProjectRow::into_project)
                    .transpose()
            })
        })
        .await
    }

    async fn get_many(
        &self,
        tenant: TenantId,
        ids: &[ProjectId],
    ) -> Result<Vec<Project>, CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let ids: Vec<DbId> = ids.iter().map(|id| DbId::from(id.as_uuid())).collect();
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    projects::table
                        .filter(projects::tenant_id.eq(tenant))
                        .filter(projects::id.eq_any(ids))
                        .filter(projects::deleted_at.is_null())
                        .select(ProjectRow::as_select())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        rows.into_iter().map(ProjectRow::into_project).collect()
    }

    async fn apply_bulk(
        &self,
        tenant: TenantId,
        batch: &BulkBatch,
    ) -> Result<Vec<(ProjectId, CoreError)>, CoreError> {
        self.apply_bulk_batch(DbId::from(tenant.as_uuid()), batch.clone())
            .await
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: ProjectFilter,
        page: PageRequest,
    ) -> Result<Page<Project>, CoreError> {
        let sort = filter.sort;
        let after = page
            .after_position::<String>()?
            .map(|position| Keyset::parse(sort, &position))
            .transpose()?;
        let tenant = DbId::from(tenant.as_uuid());
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = projects::table
                        .filter(projects::tenant_id.eq(tenant))
                        .filter(projects::deleted_at.is_null())
                        .select(ProjectRow::as_select())
                        .limit(limit)
                        .into_boxed();
                    query = match sort {
                        ProjectSort::Created => query.order(projects::id.asc()),
                        ProjectSort::CreatedDesc => query.order(projects::id.desc()),
                        ProjectSort::Name => {
                            query.order((projects::name_key.asc(), projects::id.asc()))
                        }
                        ProjectSort::NameDesc => {
                            query.order((projects::name_key.desc(), projects::id.desc()))
                        }
                        ProjectSort::Updated => {
                            query.order((projects::updated_at.asc(), projects::id.asc()))
                        }
                        ProjectSort::UpdatedDesc => {
                            query.order((projects::updated_at.desc(), projects::id.desc()))
                        }
                    };
                    query = match after {
                        None => query,
                        Some(Keyset::Id(id)) if sort == ProjectSort::CreatedDesc => {
                            query.filter(projects::id.lt(id))
                        }
                        Some(Keyset::Id(id)) => query.filter(projects::id.gt(id)),
                        Some(Keyset::Name(id, name)) if sort == ProjectSort::NameDesc => query
                            .filter(
                                projects::name_key
                                    .lt(name.clone())
                                    .or(projects::name_key.eq(name).and(projects::id.lt(id))),
                            ),
                        Some(Keyset::Name(id, name)) => query.filter(
                            projects::name_key
                                .gt(name.clone())
                                .or(projects::name_key.eq(name).and(projects::id.gt(id))),
                        ),
                        Some(Keyset::Updated(id, at)) if sort == ProjectSort::UpdatedDesc => query
                            .filter(
                                projects::updated_at
                                    .lt(at)
                                    .or(projects::updated_at.eq(at).and(projects::id.lt(id))),
                            ),
                        Some(Keyset::Updated(id, at)) => query.filter(
                            projects::updated_at
                                .gt(at)
                                .or(projects::updated_at.eq(at).and(projects::id.gt(id))),
                        ),
                    };
                    if let Some(status) = filter.status {
                        query = query.filter(projects::status.eq(status.as_str()));
                    }
                    if let Some(tag) = filter.tag {
                        query = query.filter(has_tag(tag));
                    }
                    if let Some(search) = filter.search {
                        query = query
                            .filter(projects::name_key.like(like_contains(&search)).escape('\\'));
                    }
                    if let Some(member) = filter.member {
                        let theirs = project_members::table
                            .filter(project_members::tenant_id.eq(tenant))
                            .filter(project_members::user_id.eq(DbId::from(member.as_uuid())))
                            .select(project_members::project_id);
                        query = query.filter(projects::id.eq_any(theirs));
                    }
                    if let Some(viewer) = filter.visible_to {
                        let theirs = project_members::table
                            .filter(project_members::tenant_id.eq(tenant))
                            .filter(project_members::user_id.eq(DbId::from(viewer.as_uuid())))
                            .select(project_members::project_id);
                        query = query.filter(
                            projects::visibility
                                .eq(usvc_core::Visibility::Tenant.as_str())
                                .or(projects::id.eq_any(theirs)),
                        );
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows
            .into_iter()
            .map(ProjectRow::into_project)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |p: &Project| {
            Keyset::position(sort, p)
        }))
    }

    async fn update(
        &self,
        project: &Project,
        expected_version: i64,
        entry: &ProjectVersion,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let row = ProjectRow::from_project(project);
        let version = VersionRow::from_version(entry)?;
        let audit = audit.clone();
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let updated = diesel::update(
                        projects::table
                            .filter(projects::tenant_id.eq(row.tenant_id))
                            .filter(projects::id.eq(row.id))
                            .filter(projects::deleted_at.is_null())
                            .filter(projects::version.eq(expected_version)),
                    )
                    .set((
                        projects::name.eq(&row.name),
                        projects::name_key.eq(&row.name_key),
                        projects::description.eq(&row.description),
                        projects::status.eq(&row.status),
                        projects::visibility.eq(&row.visibility),
                        projects::tags.eq(&row.tags),
                        projects::settings.eq(&row.settings),
                        projects::owner_id.eq(row.owner_id),
                        projects::version.eq(row.version),
                        projects::updated_at.eq(row.updated_at),
                        projects::archived_at.eq(row.archived_at),
                    ))
                    .execute(conn)
                    .await?;
                    if updated == 0 {
                        return Ok(false);
                    }
                    diesel::insert_into(project_versions::table)
                        .values(&version)
                        .execute(conn)
                        .await?;
                    outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(|e| errors::conflict(e, NAME_TAKEN))
            })
        })
        .await
    }

    async fn delete(
        &self,
        tenant: TenantId,
        id: ProjectId,
        expected_version: i64,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let (audit, at) = (audit.clone(), audit.at);
        self.run(move |conn| {
            Box::pin(async move {
                conn.transaction(async move |conn| {
                    let deleted = diesel::update(
                        projects::table
                            .filter(projects::tenant_id.eq(tenant))
                            .filter(projects::id.eq(id))
                            .filter(projects::deleted_at.is_null())
                            .filter(projects::version.eq(expected_version)),
                    )
                    .set(projects::deleted_at.eq(Some(at)))
                    .execute(conn)
                    .await?;
                    if deleted == 0 {
                        return Ok(false);
                    }
                    outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    Ok::<_, diesel::result::Error>(true)
                })
                .await
                .map_err(errors::query)
            })
        })
        .await
    }

    async fn versions(
        &self,
        tenant: TenantId,
        id: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ProjectVersion>, CoreError> {
        let before = page.after_position::<i64>()?;
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let limit = i64::from(page.limit) + 1;
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    let mut query = project_versions::table
                        .filter(project_versions::tenant_id.eq(tenant))
                        .filter(project_versions::project_id.eq(id))
                        .select(VersionRow::as_select())
                        .order(project_versions::version.desc())
                        .limit(limit)
                        .into_boxed();
                    if let Some(before) = before {
                        query = query.filter(project_versions::version.lt(before));
                    }
                    query.load(conn).await.map_err(errors::query)
                })
            })
            .await?;
        let items = rows
            .into_iter()
            .map(VersionRow::into_version)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(
            items,
            page.limit,
            |v: &ProjectVersion| v.version.to_string(),
        ))
    }

    async fn version(
        &self,
        tenant: TenantId,
        id: ProjectId,
        version: i64,
    ) -> Result<Option<ProjectVersion>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        self.run(move |conn| {
            Box::pin(async move {
                project_versions::table
                    .filter(project_versions::tenant_id.eq(tenant))
                    .filter(project_versions::project_id.eq(id))
                    .filter(project_versions::version.eq(version))
                    .select(VersionRow::as_select())
                    .first(conn)
                    .await
                    .optional()
                    .map_err(errors::query)?
                    .map(VersionRow::into_version)
                    .transpose()
            })
        })
        .await
    }

    async fn members(
        &self,
        tenant: TenantId,
        id: ProjectId,
    ) -> Result<Vec<ProjectMember>, CoreError> {
        let (tenant, id) = (DbId::from(tenant.as_uuid()), DbId::from(id.as_uuid()));
        let rows = self
            .run(move |conn| {
                Box::pin(async move {
                    project_members::table
                        .filter(project_members::tenant_id.eq(tenant))
                        .filter(project_members::project_id.eq(id))
                        .select(MemberRow::as_select())
                        .order(project_members::added_at.asc())
                        .load(conn)
                        .await
                        .map_err(errors::query)
                })
            })
            .await?;
        let mut members = rows
            .into_iter()
            .map(MemberRow::into_member)
            .collect::<Result<Vec<_>, _>>()?;
        members.sort_by_key(|m| m.role);
        Ok(members)
    }

    async fn add_member(
        &self,
        tenant: TenantId,
        member: &ProjectMember,
        audit: &AuditEntry,
    ) -> Result<(), CoreError> {
        let tenant = DbId::from(tenant.as_uuid());
        let row = MemberRow {
            project_id: DbId::from(member.project_id.as_uuid()),
            user_id: DbId::from(member.user_id.as_uuid()),
            tenant_id: tenant,
            role: member.role.as_str().to_owned(),
            added_at: member.added_at,
        };
        let audit = audit.clone();
        let outcome = self
            .run(move |conn| {
                Box::pin(async move {
                    conn.transaction(async move |conn| {
                        if !lock_live_project(conn, tenant, row.project_id).await? {
                            return Ok(Err(CoreError::NotFound("project".into())));
                        }
                        let live_user: i64 = users::table
                            .filter(users::tenant_id.eq(tenant))
                            .filter(users::id.eq(row.user_id))
                            .filter(users::deleted_at.is_null())
                            .count()
                            .get_result(conn)
                            .await?;
                        if live_user == 0 {
                            return Ok(Err(CoreError::NotFound("user".into())));
                        }
                        diesel::insert_into(project_members::table)
                            .values(&row)
                            .execute(conn)
                            .await?;
                        outbox::record(conn, std::slice::from_ref(&audit)).await?;
                        Ok::<_, diesel::result::Error>(Ok(()))
                    })
                    .await
                    .map_err(|e| errors::conflict(e, "the user is a member already"))
                })
            })
            .await?;
        outcome
    }

    async fn set_member_role(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
        role: ProjectRole,
        owner_powers: bool,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant_id, project_id, user_id) = (tenant, id, user);
        let (tenant, id, user) = (
            DbId::from(tenant.as_uuid()),
            DbId::from(id.as_uuid()),
            DbId::from(user.as_uuid()),
        );
        let audit = audit.clone();
        let spared = spared_role(owner_powers);
        let changed = self
            .change_members(tenant, id, move |conn| {
                Box::pin(async move {
                    let changed = diesel::update(
                        project_members::table
                            .filter(project_members::project_id.eq(id))
                            .filter(project_members::user_id.eq(user))
                            .filter(project_members::role.ne(spared)),
                    )
                    .set(project_members::role.eq(role.as_str()))
                    .execute(conn)
                    .await?;
                    if changed > 0 {
                        outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    }
                    Ok(changed > 0)
                })
            })
            .await?;
        self.owner_spared(changed, owner_powers, tenant_id, project_id, user_id)
            .await
    }

    async fn remove_member(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
        owner_powers: bool,
        audit: &AuditEntry,
    ) -> Result<bool, CoreError> {
        let (tenant_id, project_id, user_id) = (tenant, id, user);
        let (tenant, id, user) = (
            DbId::from(tenant.as_uuid()),
            DbId::from(id.as_uuid()),
            DbId::from(user.as_uuid()),
        );
        let audit = audit.clone();
        let spared = spared_role(owner_powers);
        let removed = self
            .change_members(tenant, id, move |conn| {
                Box::pin(async move {
                    let removed = diesel::delete(
                        project_members::table
                            .filter(project_members::project_id.eq(id))
                            .filter(project_members::user_id.eq(user))
                            .filter(project_members::role.ne(spared)),
                    )
                    .execute(conn)
                    .await?;
                    if removed > 0 {
                        outbox::record(conn, std::slice::from_ref(&audit)).await?;
                    }
                    Ok(removed > 0)
                })
            })
            .await?;
        self.owner_spared(removed, owner_powers, tenant_id, project_id, user_id)
            .await
    }

    async fn member_role(
        &self,
        tenant: TenantId,
        id: ProjectId,
        user: UserId,
    ) -> Result<Option<ProjectRole>, CoreError> {
        let (tenant, id, user) = (
            DbId::from(tenant.as_uuid()),
            DbId::from(id.as_uuid()),
            DbId::from(user.as_uuid()),
        );
        let role: Option<String> = self
            .run(move |conn| {
                Box::pin(async move {
                    project_members::table
                        .filter(project_members::tenant_id.eq(tenant))
                        .filter(project_members::project_id.eq(id))
                        .filter(project_members::user_id.eq(user))
                        .select(project_members::role)
                        .first(conn)
                        .await
                        .optional()
                        .map_err(errors::query)
                })
            })
            .await?;
        role.map(|r| {
            r.parse()
                .map_err(|_| CoreError::Internal("stored project role".into()))
        })
        .transpose()
    }
}
