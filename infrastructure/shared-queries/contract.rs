//! The contract between the shared query modules and a store adapter: every item the queries
//! take from the adapter's `crate::backend` module, with the shape they rely on and why it
//! differs between backends. Compiled into each adapter, so an adapter that lacks an item, or
//! gives it another shape, fails to compile *here*, on the line that says what is expected.
//!
//! Changing a query: write it once in its shared module; if it needs something the backends
//! do differently, add the item here first, then to each adapter's `backend.rs` (the compiler
//! points at every adapter that lacks it). Besides these items each adapter provides
//! `crate::schema` (diesel's `table!`s, ids and times in the backend's own SQL types) and
//! migrations under `migrations/<backend>/`, and the whole adapter must implement every port
//! of `usvc_core::ports::Store` (checked below).
#![allow(dead_code)] // nothing here runs: it only has to compile.
#![allow(clippy::useless_conversion)] // `DbId` is `Uuid` itself on Postgres, a newtype on SQLite.

use diesel::sql_types::Bool;
use diesel::{BoxableExpression, QueryResult};

use crate::backend::{self, Backend, Connection, DbId};
use crate::schema::{project_members, projects, users, workflow_executions, workflow_timeline};

/// The adapter's store implements every port the service needs of a store.
fn the_store_implements_every_port() {
    fn store<S: usvc_core::ports::Store + Clone>() {}
    store::<crate::store::Store>();
}

/// `db.system` of trace spans (OpenTelemetry's name for the database).
const DB_SYSTEM: &str = backend::DB_SYSTEM;

/// Whether a change chains its audit entries in its own transaction (one writer at a time:
/// nothing to gain from a queue) or leaves them queued for the sequencer (`audit_queue.rs`).
const CHAINS_AUDIT_IN_CHANGE: bool = backend::CHAINS_AUDIT_IN_CHANGE;

/// Whether concurrent refresh rotations go through `rotate_refreshes_at_once`, batched
/// (`sessions.rs`), or each through its own transaction.
const ROTATES_AT_ONCE: bool = backend::ROTATES_AT_ONCE;

/// The async connection every query runs on, of the backend the schema is written for.
fn connection(conn: &mut Connection) -> &mut impl diesel_async::AsyncConnection<Backend = Backend> {
    conn
}

/// The pool handing those connections out.
fn pool(pool: backend::Pool) -> diesel_async::pooled_connection::deadpool::Pool<Connection> {
    pool
}

/// How ids are stored (native `uuid`, or UUID text): made from and read back as UUIDs.
fn ids(id: uuid::Uuid) -> uuid::Uuid {
    uuid::Uuid::from(DbId::from(id))
}

/// Raw SQL: the SQL types of ids and times, and the `n`-th (from 1) bind parameter (`$n` or
/// `?`).
type RawSqlTypes = std::marker::PhantomData<(backend::IdSql, backend::StampSql)>;
fn raw_sql() -> (fn(usize) -> String, RawSqlTypes) {
    (backend::placeholder, std::marker::PhantomData)
}

/// Filters on JSON arrays (roles of a user, tags of a project): JSONB containment or
/// `json_each`.
type Filter<T> = fn(String) -> Box<dyn BoxableExpression<T, Backend, SqlType = Bool>>;
fn json_array_filters() -> (Filter<users::table>, Filter<projects::table>) {
    (backend::has_role, backend::has_tag)
}

/// Transactions: take the write lock first (SQLite; nothing on Postgres), serialise a
/// tenant's owner-guarded writes (an advisory lock on Postgres; SQLite has one writer), read
/// a tenant's status inside the writing transaction.
async fn transactions(conn: &mut Connection, tenant: DbId) -> QueryResult<Option<String>> {
    backend::begin_write(conn).await?;
    backend::lock_tenant(conn, tenant).await?;
    backend::tenant_status_locked(conn, tenant).await
}

/// Many rows at once inside the caller's transaction: one multi-row statement on Postgres,
/// one statement per row on SQLite (its async wrapper cannot run multi-row inserts).
async fn bulk_inserts(
    conn: &mut Connection,
    users: &[crate::users::UserRow],
    credentials: &[crate::users::CredentialRow],
    audit: &[crate::audit::AuditRow],
) -> QueryResult<()> {
    backend::insert_users(conn, users, credentials).await?;
    backend::insert_audit_rows(conn, audit).await
}

/// `insert_all!(conn, table, rows)`: the same for any table (a macro: the backends' diesel
/// bounds differ).
async fn insert_all(
    conn: &mut Connection,
    rows: Vec<crate::executions::TimelineRow>,
) -> QueryResult<()> {
    use diesel_async::RunQueryDsl as _;
    backend::insert_all!(conn, workflow_timeline::table, rows);
    Ok(())
}

/// Before a change reads an execution's steps: locks the ones a claim could take (Postgres;
/// SQLite's write transactions run one at a time).
async fn lock_claimable_steps(conn: &mut Connection, execution: DbId) -> QueryResult<()> {
    backend::lock_claimable_steps(conn, execution).await
}

/// Timeline entries on their own: one statement on Postgres, one per entry on SQLite.
async fn insert_timeline(
    conn: &mut Connection,
    rows: &[crate::executions::TimelineRow],
) -> QueryResult<()> {
    backend::insert_timeline(conn, rows).await
}

/// A new execution's rows: one statement on Postgres for a few steps, a statement per row on
/// SQLite.
async fn insert_execution_rows(
    conn: &mut Connection,
    execution: &crate::executions::ExecutionRow,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> QueryResult<()> {
    backend::insert_execution_rows(conn, execution, steps, timeline).await
}

/// What an execution change writes every time (its row, the step runs it altered, its
/// timeline): one statement on Postgres for a few rows, a statement per row on SQLite.
async fn write_change_rows(
    conn: &mut Connection,
    execution: Option<&crate::executions::ExecutionRow>,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> QueryResult<()> {
    backend::write_change_rows(conn, execution, steps, timeline).await
}

/// `write_together!(conn, [statement, …])`: independent writes committed together, as one
/// `WITH …` statement on Postgres (one round trip, atomic without `BEGIN`), in order in one
/// transaction on SQLite (ADR 0025). `Ok(())` or the first error.
async fn write_together(conn: &mut Connection, a: DbId, b: DbId) -> QueryResult<()> {
    use diesel::ExpressionMethods as _;
    backend::write_together!(
        conn,
        [
            diesel::delete(workflow_timeline::table).filter(workflow_timeline::execution_id.eq(a)),
            diesel::delete(workflow_timeline::table).filter(workflow_timeline::execution_id.eq(b)),
        ]
    )
}

/// `insert_rows_together!(conn, [(table, &rows), …])`: several tables' rows committed
/// together, as one statement of multi-row inserts on Postgres, a statement per row in one
/// transaction on SQLite. `Ok(())` or the first error.
async fn insert_rows_together(
    conn: &mut Connection,
    a: Vec<crate::projects::MemberRow>,
) -> QueryResult<()> {
    backend::insert_rows_together!(
        conn,
        [(project_members::table, &a), (project_members::table, &a)]
    )
}

/// `rotate_refreshes_at_once(conn, rotations)`: concurrent refresh rotations' common path in
/// one statement where the store can (`ROTATES_AT_ONCE`: Postgres, ADR 0027 and 0030), one
/// answer per rotation; `None` sends its caller to its transaction.
async fn rotate_refreshes_at_once(
    conn: &mut Connection,
    now: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Vec<Option<crate::sessions::SpentNow>>> {
    let rotation = crate::sessions::Rotation {
        presented: "presented".into(),
        next: "next".into(),
        now,
    };
    backend::rotate_refreshes_at_once(conn, &[rotation]).await
}

/// `list_prepared!(statement)`: a statement holding an `eq_any` over a list, kept prepared
/// where the list is one bind (Postgres) and left unprepared where it is one placeholder per
/// element (SQLite; `prepared.rs`).
async fn list_prepared(conn: &mut Connection, ids: Vec<DbId>) -> QueryResult<usize> {
    use diesel::ExpressionMethods as _;
    use diesel_async::RunQueryDsl as _;
    backend::list_prepared!(diesel::delete(workflow_timeline::table)
        .filter(workflow_timeline::execution_id.eq_any(ids)))
    .execute(conn)
    .await
}

/// `claim_lock!(query)` and `row_lock!(query)`: `FOR UPDATE SKIP LOCKED` and `FOR UPDATE` on
/// Postgres; the query as it is on SQLite (one writer at a time).
#[allow(clippy::if_same_then_else)]
async fn locks(conn: &mut Connection) -> QueryResult<(Vec<DbId>, Option<DbId>)> {
    use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    let claimed = backend::claim_lock!(workflow_executions::table
        .select(workflow_executions::id)
        .limit(1))
    .load(conn)
    .await?;
    let locked = backend::row_lock!(workflow_executions::table
        .filter(workflow_executions::status.eq("running"))
        .select(workflow_executions::id))
    .first(conn)
    .await
    .optional()?;
    Ok((claimed, locked))
}
