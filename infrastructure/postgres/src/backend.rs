//! What the shared query modules need to know about Postgres.

use diesel::sql_types as sql;

/// The database's name in trace spans (OpenTelemetry's `db.system`).
pub(crate) const DB_SYSTEM: &str = "postgresql";

/// Audit entries are queued by their change and chained later by the sequencer: concurrent
/// changes of one tenant must not wait for each other behind its chain head.
pub(crate) const CHAINS_AUDIT_IN_CHANGE: bool = false;
/// The async connection type the pool hands out.
pub(crate) type Connection = diesel_async::AsyncPgConnection;
/// The pool.
pub(crate) type Pool = diesel_async::pooled_connection::deadpool::Pool<Connection>;
/// How ids are stored: the native `uuid` type.
pub(crate) type DbId = uuid::Uuid;
/// The diesel backend, for boxed queries in the shared modules.
pub(crate) type Backend = diesel::pg::Pg;
/// The SQL type of ids in raw queries.
pub(crate) type IdSql = diesel::sql_types::Uuid;
/// The SQL type of times in raw queries.
pub(crate) type StampSql = diesel::sql_types::Timestamptz;

/// The `n`-th (from 1) bind parameter of a raw query: `$n`.
pub(crate) fn placeholder(n: usize) -> String {
    format!("${n}")
}

/// Users holding `role`: JSONB containment on the role array.
pub(crate) fn has_role(
    role: String,
) -> Box<
    dyn diesel::BoxableExpression<
        crate::schema::users::table,
        Backend,
        SqlType = diesel::sql_types::Bool,
    >,
> {
    Box::new(
        diesel::dsl::sql::<diesel::sql_types::Bool>("users.roles @> jsonb_build_array(")
            .bind::<diesel::sql_types::Text, _>(role)
            .sql("::text)"),
    )
}

/// Projects carrying `tag`: JSONB containment on the tag array.
pub(crate) fn has_tag(
    tag: String,
) -> Box<
    dyn diesel::BoxableExpression<
        crate::schema::projects::table,
        Backend,
        SqlType = diesel::sql_types::Bool,
    >,
> {
    Box::new(
        diesel::dsl::sql::<diesel::sql_types::Bool>("projects.tags @> jsonb_build_array(")
            .bind::<diesel::sql_types::Text, _>(tag)
            .sql("::text)"),
    )
}

/// Nothing on Postgres: its transactions lock the rows they touch (SQLite takes its one
/// write lock here).
#[allow(clippy::unused_async)] // the SQLite version awaits; both share one call site
pub(crate) async fn begin_write(_conn: &mut Connection) -> diesel::QueryResult<()> {
    Ok(())
}

/// Serialises owner-guarded writes of one tenant for the rest of the transaction (a
/// transaction-scoped advisory lock keyed by the tenant id).
pub(crate) async fn lock_tenant(conn: &mut Connection, tenant: DbId) -> diesel::QueryResult<()> {
    use crate::prepared::KeepPrepared as _;
    use diesel_async::RunQueryDsl as _;
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
        .bind::<diesel::sql_types::Text, _>(tenant.to_string())
        .prepared()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Stores many users and credentials inside the caller's transaction, in multi-row inserts
/// of a few hundred rows (well under Postgres's 65 535 bind parameters per statement).
pub(crate) async fn insert_users(
    conn: &mut Connection,
    users: &[crate::users::UserRow],
    credentials: &[crate::users::CredentialRow],
) -> diesel::QueryResult<()> {
    use diesel_async::RunQueryDsl as _;
    for chunk in users.chunks(500) {
        diesel::insert_into(crate::schema::users::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    for chunk in credentials.chunks(2000) {
        diesel::insert_into(crate::schema::credentials::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Stores audit rows inside the caller's transaction in one statement of fixed text, one
/// array per column (`unnest`), kept prepared: a multi-row `VALUES` list would be a new
/// statement text, parsed and planned again, for every count of rows the sequencer moves at
/// once (ADR 0027). No bind-parameter limit applies: there are 17 of them, however many rows.
pub(crate) async fn insert_audit_rows(
    conn: &mut Connection,
    rows: &[crate::audit::AuditRow],
) -> diesel::QueryResult<()> {
    use crate::prepared::KeepPrepared as _;
    use diesel::sql_types::{Array, Int8, Nullable, Text, Timestamptz, Uuid};
    use diesel_async::RunQueryDsl as _;
    fn column<T>(
        rows: &[crate::audit::AuditRow],
        of: impl Fn(&crate::audit::AuditRow) -> T,
    ) -> Vec<T> {
        rows.iter().map(of).collect()
    }
    if rows.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO audit_log (id, tenant_id, seq, at, actor_type, actor_id, session_id, \
         action, resource_type, resource_id, outcome, ip, user_agent, request_id, details, \
         prev_hash, hash) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int8[], $4::timestamptz[], \
         $5::text[], $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], \
         $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])",
    )
    .bind::<Array<Uuid>, _>(column(rows, |r| r.id))
    .bind::<Array<Uuid>, _>(column(rows, |r| r.tenant_id))
    .bind::<Array<Int8>, _>(column(rows, |r| r.seq))
    .bind::<Array<Timestamptz>, _>(column(rows, |r| r.at))
    .bind::<Array<Text>, _>(column(rows, |r| r.actor_type.clone()))
    .bind::<Array<Nullable<Uuid>>, _>(column(rows, |r| r.actor_id))
    .bind::<Array<Nullable<Uuid>>, _>(column(rows, |r| r.session_id))
    .bind::<Array<Text>, _>(column(rows, |r| r.action.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.resource_type.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.resource_id.clone()))
    .bind::<Array<Text>, _>(column(rows, |r| r.outcome.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.ip.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.user_agent.clone()))
    .bind::<Array<Nullable<Text>>, _>(column(rows, |r| r.request_id.clone()))
    .bind::<Array<Text>, _>(column(rows, |r| r.details.clone()))
    .bind::<Array<Text>, _>(column(rows, |r| r.prev_hash.clone()))
    .bind::<Array<Text>, _>(column(rows, |r| r.hash.clone()))
    .prepared()
    .execute(conn)
    .await?;
    Ok(())
}

/// The tenant's status, read under a share lock held to the end of the caller's transaction:
/// a concurrent disable (which updates the row) waits for a login in progress to commit, then
/// revokes its session too; a login behind a disable sees it.
pub(crate) async fn tenant_status_locked(
    conn: &mut Connection,
    tenant: DbId,
) -> diesel::QueryResult<Option<String>> {
    use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    crate::schema::tenants::table
        .filter(crate::schema::tenants::id.eq(tenant))
        .select(crate::schema::tenants::status)
        .for_share()
        .first(conn)
        .await
        .optional()
}

/// Inserts `rows` (a `Vec` of one table's insertable rows) into `table` inside the caller's
/// transaction, 500 rows per statement (well inside Postgres' 65 535 bind parameters). A
/// macro because the two backends' diesel bounds differ.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(500) {
            diesel::insert_into($table)
                .values(chunk)
                .execute($conn)
                .await?;
        }
    };
}
pub(crate) use insert_all;

/// The most step runs written as one statement kept prepared (their upsert's text depends on
/// the row count): at most this many texts per statement and connection.
pub(crate) const KEPT_ROWS: usize = 16;

/// A claiming query that skips rows another transaction (another replica's relay or worker)
/// holds, so each row is claimed once without waiting.
macro_rules! claim_lock {
    ($query:expr) => {
        $query.for_update().skip_locked()
    };
}
pub(crate) use claim_lock;

/// A read that locks its rows to the end of the transaction: changes to one execution wait
/// for each other and each sees the last. `FOR NO KEY UPDATE`, not `FOR UPDATE`: it is all a
/// change needs, and a foreign key's `KEY SHARE` check (SQLite keeps the timeline's and step
/// runs' keys to their execution; Postgres dropped them, ADR 0032) must not wait for it.
macro_rules! row_lock {
    ($query:expr) => {
        $query.for_no_key_update()
    };
}
pub(crate) use row_lock;

/// Keeps prepared a statement holding an `eq_any` over a list (`prepared.rs`): Postgres
/// binds the list as one array (`= ANY($1)`), so the text stays the same whatever its length.
macro_rules! list_prepared {
    ($query:expr) => {
        crate::prepared::KeepPrepared::prepared($query)
    };
}
pub(crate) use list_prepared;

/// Several writes as one statement (`together.rs`).
pub(crate) use crate::together::write_together;

/// Several tables' rows (`(table, &Vec<row>)` pairs) as one statement: a multi-row insert
/// per table, joined by `write_together!`. Kept prepared by its text, one text per number of
/// rows, so callers bound the rows (group commit's batches: `group_commit.rs`).
macro_rules! insert_rows_together {
    ($conn:expr, [$(($table:expr, $rows:expr)),+ $(,)?]) => {
        crate::together::write_together!($conn, [$(diesel::insert_into($table).values($rows)),+])
    };
}
pub(crate) use insert_rows_together;

/// The upsert of the step runs a change altered (`INSERT … ON CONFLICT DO UPDATE`): the
/// branches a fan-out unlocks are one statement, not one each.
fn steps_upsert(
    rows: &[crate::executions::StepRow],
) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId + Send + '_
{
    use crate::schema::workflow_step_runs::dsl as s;
    use diesel::upsert::excluded;
    use diesel::ExpressionMethods as _;
    diesel::insert_into(s::workflow_step_runs)
        .values(rows)
        .on_conflict((s::execution_id, s::step_id))
        .do_update()
        .set((
            s::position.eq(excluded(s::position)),
            s::kind.eq(excluded(s::kind)),
            s::status.eq(excluded(s::status)),
            s::attempts.eq(excluded(s::attempts)),
            s::output.eq(excluded(s::output)),
            s::error.eq(excluded(s::error)),
            s::skip.eq(excluded(s::skip)),
            s::state.eq(excluded(s::state)),
            s::ready_at.eq(excluded(s::ready_at)),
            s::lease_owner.eq(excluded(s::lease_owner)),
            s::lease_until.eq(excluded(s::lease_until)),
            s::started_at.eq(excluded(s::started_at)),
            s::finished_at.eq(excluded(s::finished_at)),
        ))
}

/// An execution's timeline entries as one `INSERT … SELECT FROM unnest(…)`: one column array
/// per column, so the text is the same whatever the number of entries (a fan-out of n steps
/// writes about 2n + 1) and stays prepared without one text per count.
struct TimelineInsert {
    ids: Vec<uuid::Uuid>,
    executions: Vec<uuid::Uuid>,
    ats: Vec<chrono::DateTime<chrono::Utc>>,
    steps: Vec<Option<String>>,
    statuses: Vec<String>,
    attempts: Vec<Option<i32>>,
    details: Vec<Option<String>>,
}

impl TimelineInsert {
    fn of(rows: &[crate::executions::TimelineRow]) -> Self {
        Self {
            ids: rows.iter().map(|r| r.id).collect(),
            executions: rows.iter().map(|r| r.execution_id).collect(),
            ats: rows.iter().map(|r| r.at).collect(),
            steps: rows.iter().map(|r| r.step_id.clone()).collect(),
            statuses: rows.iter().map(|r| r.status.clone()).collect(),
            attempts: rows.iter().map(|r| r.attempt).collect(),
            details: rows.iter().map(|r| r.detail.clone()).collect(),
        }
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for TimelineInsert {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamptz, Uuid};
        out.push_sql(
            "INSERT INTO workflow_timeline \
             (id, execution_id, at, step_id, status, attempt, detail) SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<Uuid>, _>(&self.ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Uuid>, _>(&self.executions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.ats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.steps)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.statuses)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Integer>>, _>(&self.attempts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.details)?;
        out.push_sql(")");
        Ok(())
    }

    // One text whatever the number of entries: kept prepared (`prepared.rs`).
    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> diesel::QueryResult<bool> {
        Ok(true)
    }
}

impl diesel::query_builder::QueryId for TimelineInsert {
    type QueryId = ();
    // Cached by its SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Locks the step rows of `execution` that something besides its changes writes: the ones
/// a claim takes (ready, waiting, running: a lease may have run out) and a heartbeat or
/// shutdown renews or hands back (running). A change locks them before it reads the steps, so
/// none is taken between its read and its writes; the others (pending, ended) change only
/// under the execution's lock, which the change holds already. Locking every row cost a
/// lock record per row in the WAL, most of them for steps no one else could touch (ADR 0034).
pub(crate) async fn lock_claimable_steps(
    conn: &mut Connection,
    execution: DbId,
) -> diesel::QueryResult<()> {
    use crate::schema::workflow_step_runs;
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl as _;
    list_prepared!(workflow_step_runs::table
        .filter(workflow_step_runs::execution_id.eq(execution))
        .filter(workflow_step_runs::status.eq_any(["ready", "waiting", "running"]))
        .select(workflow_step_runs::step_id)
        .for_no_key_update())
    .load::<String>(conn)
    .await?;
    Ok(())
}

/// Timeline entries written on their own (a claim's, a released queue's): one statement kept
/// prepared whatever their number ([`TimelineInsert`]).
pub(crate) async fn insert_timeline(
    conn: &mut Connection,
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use diesel_async::RunQueryDsl as _;
    if !timeline.is_empty() {
        TimelineInsert::of(timeline).execute(conn).await?;
    }
    Ok(())
}

/// A new execution's rows (its own, its step runs, its timeline) as one statement
/// (`together.rs`) when it has at most [`KEPT_ROWS`] steps, kept prepared as
/// [`write_change_rows`] keeps its statement (about 35 texts per connection: the step runs'
/// count, the timeline one text); a larger one as a statement per table.
pub(crate) async fn insert_execution_rows(
    conn: &mut Connection,
    execution: &crate::executions::ExecutionRow,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use crate::schema::{workflow_executions, workflow_step_runs};
    use diesel::query_builder::QueryFragment;
    use diesel_async::RunQueryDsl as _;
    let mut parts: Vec<Box<dyn QueryFragment<diesel::pg::Pg> + Send + '_>> = vec![Box::new(
        diesel::insert_into(workflow_executions::table).values(execution),
    )];
    if steps.len() > KEPT_ROWS {
        crate::together::Together(parts).execute(conn).await?;
        insert_all!(conn, workflow_step_runs::table, steps);
        parts = Vec::new();
    } else if !steps.is_empty() {
        parts.push(Box::new(
            diesel::insert_into(workflow_step_runs::table).values(steps),
        ));
    }
    if !timeline.is_empty() {
        parts.push(Box::new(TimelineInsert::of(timeline)));
    }
    if !parts.is_empty() {
        crate::together::Together(parts).execute(conn).await?;
    }
    Ok(())
}

/// What an execution change writes every time, as one statement when it is a few rows
/// (`together.rs`): the execution's row when it changed, the step runs it altered, its
/// timeline entries. A recording or a claim is then `BEGIN`, its reads, this and `COMMIT`
/// (the three as separate statements cost two more round trips, and a statement of
/// varying text a third to parse it). Kept prepared: the timeline's text is one whatever its
/// length ([`TimelineInsert`]), the step runs' depends only on their count (`None` bound as
/// NULL), bounded by [`KEPT_ROWS`]; more step runs are written by a statement of their own,
/// so a connection keeps at most 2 × 17 × 2 texts of this statement.
pub(crate) async fn write_change_rows(
    conn: &mut Connection,
    execution: Option<&crate::executions::ExecutionRow>,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use crate::schema::workflow_executions;
    use diesel::query_builder::QueryFragment;
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    let update = execution.map(|row| {
        diesel::update(workflow_executions::table.filter(workflow_executions::id.eq(row.id)))
            .set(row)
    });
    let mut parts: Vec<Box<dyn QueryFragment<diesel::pg::Pg> + Send + '_>> = Vec::new();
    if let Some(update) = update {
        parts.push(Box::new(update));
    }
    if steps.len() > KEPT_ROWS {
        steps_upsert(steps).execute(conn).await?;
    } else if !steps.is_empty() {
        parts.push(Box::new(steps_upsert(steps)));
    }
    if !timeline.is_empty() {
        parts.push(Box::new(TimelineInsert::of(timeline)));
    }
    if parts.is_empty() {
        return Ok(());
    }
    crate::together::Together(parts).execute(conn).await?;
    Ok(())
}

/// The session's user, read by [`rotate_refreshes_at_once`] beside the session: its columns
/// are prefixed `u_` there (the session's own carry the bare names).
#[derive(diesel::QueryableByName)]
struct SpentUser {
    #[diesel(sql_type = sql::Uuid, column_name = u_id)]
    id: uuid::Uuid,
    #[diesel(sql_type = sql::Uuid, column_name = u_tenant_id)]
    tenant_id: uuid::Uuid,
    #[diesel(sql_type = sql::Text, column_name = u_email)]
    email: String,
    #[diesel(sql_type = sql::Text, column_name = u_email_normalized)]
    email_normalized: String,
    #[diesel(sql_type = sql::Bool, column_name = u_email_verified)]
    email_verified: bool,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_display_name)]
    display_name: Option<String>,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_given_name)]
    given_name: Option<String>,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_family_name)]
    family_name: Option<String>,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_locale)]
    locale: Option<String>,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_timezone)]
    timezone: Option<String>,
    #[diesel(sql_type = sql::Nullable<sql::Text>, column_name = u_avatar_url)]
    avatar_url: Option<String>,
    #[diesel(sql_type = sql::Jsonb, column_name = u_metadata)]
    metadata: serde_json::Value,
    #[diesel(sql_type = sql::Jsonb, column_name = u_roles)]
    roles: serde_json::Value,
    #[diesel(sql_type = sql::Text, column_name = u_status)]
    status: String,
    #[diesel(sql_type = sql::Bool, column_name = u_mfa_enabled)]
    mfa_enabled: bool,
    #[diesel(sql_type = sql::Timestamptz, column_name = u_created_at)]
    created_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = sql::Timestamptz, column_name = u_updated_at)]
    updated_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = sql::Nullable<sql::Timestamptz>, column_name = u_last_login_at)]
    last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl SpentUser {
    fn into_row(self) -> crate::users::UserRow {
        crate::users::UserRow {
            id: self.id,
            tenant_id: self.tenant_id,
            email: self.email,
            email_normalized: self.email_normalized,
            email_verified: self.email_verified,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            locale: self.locale,
            timezone: self.timezone,
            avatar_url: self.avatar_url,
            metadata: self.metadata,
            roles: self.roles,
            status: self.status,
            mfa_enabled: self.mfa_enabled,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        }
    }
}

/// Whether [`rotate_refreshes_at_once`] rotates (here it does; SQLite rotates in the
/// caller's transaction instead): the store then batches concurrent refreshes through it.
pub(crate) const ROTATES_AT_ONCE: bool = true;

/// The common path of concurrent refresh rotations (a current token of a live session) as
/// one statement, one commit for all of them (ADR 0027, group commit of ADR 0030): spend each
/// presented token if it is current, and if its session is live store its next token and
/// move the session's idle expiry (by the session's own idle window, capped at its absolute
/// expiry). One answer per rotation, in order: `None` when its token was not spent now
/// (unknown, or spent before: reuse), which the caller decides in a transaction of its own.
///
/// Each rotation is its own pair of `UPDATE`s in the statement ([`rotations_text`]), each
/// finding its row by an equality on a key (the session's by a scalar subquery, not a join,
/// which the planner could turn into a scan of the table): kept prepared, a plan is made
/// once per connection and kept, and a key lookup is an index scan in it however small the
/// table was then. (One `UPDATE` over arrays of all the batch's tokens was planned as a sequential scan
/// while the table was small, and kept scanning it as it grew wherever statistics were not
/// refreshed: a third of the throughput.) The batch is sorted by presented hash and holds
/// each hash once, so batches lock the tokens they share in one order, and a token presented
/// twice in one batch is spent by its first presentation; the second is answered `None` and
/// finds it spent in its transaction (reuse), as it would after waiting for the first's lock.
///
/// Statement-level atomicity: of two presentations of one token in different batches the
/// second waits for the first's row lock and then finds it spent. A session is moved by an
/// `UPDATE` whose conditions Postgres re-checks on the row's latest version once it holds the
/// row lock, so a logout or revocation committing meanwhile is seen (the refresh then finds
/// the session ended, stores no next token) rather than overwritten; a separate
/// `FOR NO KEY UPDATE` read first would only write one more lock record per refresh.
pub(crate) async fn rotate_refreshes_at_once(
    conn: &mut Connection,
    rotations: &[crate::sessions::Rotation],
) -> diesel::QueryResult<Vec<Option<crate::sessions::SpentNow>>> {
    use crate::prepared::KeepPrepared as _;
    use diesel::sql_types::{Text, Timestamptz};
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl as _;

    #[derive(QueryableByName)]
    struct Spent {
        #[diesel(sql_type = Text)]
        presented: String,
        /// The session as its move left it; `None` (its columns NULL) when it had ended.
        #[diesel(embed)]
        session: Option<crate::sessions::SessionRow>,
        /// `None` (its columns NULL) when the session was not moved or its user is gone.
        #[diesel(embed)]
        user: Option<SpentUser>,
    }

    let mut asked: Vec<&crate::sessions::Rotation> = rotations.iter().collect();
    asked.sort_by(|a, b| a.presented.cmp(&b.presented));
    asked.dedup_by(|later, first| later.presented == first.presented);
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = diesel::sql_query(rotations_text(asked.len())).into_boxed();
    for rotation in &asked {
        query = query
            .bind::<Text, _>(rotation.presented.clone())
            .bind::<Text, _>(rotation.next.clone())
            .bind::<Timestamptz, _>(rotation.now);
    }
    let spent: Vec<Spent> = query.prepared().load(conn).await?;
    let mut by_presented: std::collections::HashMap<String, Spent> = spent
        .into_iter()
        .map(|spent| (spent.presented.clone(), spent))
        .collect();
    // Each hash was asked once: its answer goes to the first rotation presenting it (the one
    // the batch kept); a repeat finds the entry taken and is answered `None`.
    Ok(rotations
        .iter()
        .map(|rotation| {
            let spent = by_presented.remove(&rotation.presented)?;
            let user = spent.session.as_ref().and(spent.user);
            Some(crate::sessions::SpentNow {
                rotated: spent.session,
                user: user.map(SpentUser::into_row),
            })
        })
        .collect())
}

/// The text of [`rotate_refreshes_at_once`] for `count` rotations (one per batch size: at
/// most the store's largest batch of texts kept per connection). Rotation `i` binds its
/// presented hash, next hash and time as `$3i+1`, `$3i+2`, `$3i+3`; `spent_i` spends its
/// token, `moved_i` moves its session; the next tokens are stored by one `INSERT`, and each
/// spent token answers one row: its hash, the session as moved (NULL when it had ended) and
/// the session's user as stored now, prefixed `u_` (NULL when gone). The window is added
/// as seconds, not as an interval of days, so a session's time zone cannot shift it.
/// Columns are named, not `*`: a column added by a migration while the statement is kept
/// would change a `*`'s result type under it.
fn rotations_text(count: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("WITH ");
    for i in 0..count {
        let (p, n, t) = (3 * i + 1, 3 * i + 2, 3 * i + 3);
        // `write!` to a `String` cannot fail.
        let _ = write!(
            text,
            "spent_{i} AS ( \
                 UPDATE refresh_tokens SET spent_at = ${t} \
                 WHERE hash = ${p} AND spent_at IS NULL \
                 RETURNING session_id, ${p}::text AS presented), \
             moved_{i} AS ( \
                 UPDATE sessions SET last_seen_at = ${t}, idle_expires_at = LEAST( \
                     ${t} + make_interval(secs => (EXTRACT(EPOCH FROM sessions.idle_expires_at) \
                         - EXTRACT(EPOCH FROM sessions.last_seen_at))::float8), \
                     sessions.absolute_expires_at) \
                 WHERE sessions.id = (SELECT session_id FROM spent_{i}) \
                   AND sessions.revoked_at IS NULL AND sessions.idle_expires_at > ${t} \
                   AND sessions.absolute_expires_at > ${t} \
                 RETURNING ${p}::text AS presented, ${n}::text AS next, sessions.id, \
                     sessions.tenant_id, sessions.user_id, sessions.created_at, \
                     sessions.last_seen_at, sessions.idle_expires_at, \
                     sessions.absolute_expires_at, sessions.revoked_at, \
                     sessions.revoked_reason, sessions.ip, sessions.user_agent), "
        );
    }
    let union = |name: &str| {
        (0..count)
            .map(|i| format!("SELECT * FROM {name}_{i}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    let _ = write!(
        text,
        "spent AS ({spent}), moved AS ({moved}), \
         issued AS ( \
             INSERT INTO refresh_tokens (hash, session_id, created_at) \
             SELECT next, id, last_seen_at FROM moved) \
         SELECT spent.presented, moved.id, moved.tenant_id, moved.user_id, moved.created_at, \
                moved.last_seen_at, moved.idle_expires_at, moved.absolute_expires_at, \
                moved.revoked_at, moved.revoked_reason, moved.ip, moved.user_agent, \
                u.id AS u_id, u.tenant_id AS u_tenant_id, u.email AS u_email, \
                u.email_normalized AS u_email_normalized, \
                u.email_verified AS u_email_verified, u.display_name AS u_display_name, \
                u.given_name AS u_given_name, u.family_name AS u_family_name, \
                u.locale AS u_locale, u.timezone AS u_timezone, \
                u.avatar_url AS u_avatar_url, u.metadata AS u_metadata, u.roles AS u_roles, \
                u.status AS u_status, u.mfa_enabled AS u_mfa_enabled, \
                u.created_at AS u_created_at, u.updated_at AS u_updated_at, \
                u.last_login_at AS u_last_login_at \
         FROM spent LEFT JOIN moved ON moved.presented = spent.presented \
         LEFT JOIN users u ON u.id = moved.user_id AND u.tenant_id = moved.tenant_id \
              AND u.deleted_at IS NULL",
        spent = union("spent"),
        moved = union("moved"),
    );
    text
}
