//! What the shared query modules need to know about SQLite.

use diesel::SqliteConnection;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

/// The database's name in trace spans (OpenTelemetry's `db.system`).
pub(crate) const DB_SYSTEM: &str = "sqlite";

/// Audit entries are chained in their change's own transaction: SQLite runs one writer at a
/// time anyway, so there is no concurrency to gain, and a sequencer writing between two
/// statements of a request's deferred transaction would end that transaction with
/// `SQLITE_BUSY` (its snapshot went stale).
pub(crate) const CHAINS_AUDIT_IN_CHANGE: bool = true;
/// The async connection type the pool hands out.
pub(crate) type Connection = SyncConnectionWrapper<SqliteConnection>;
/// The pool.
pub(crate) type Pool = diesel_async::pooled_connection::deadpool::Pool<Connection>;
/// How ids are stored: UUID text.
pub(crate) use crate::sql_uuid::SqlUuid as DbId;
/// The diesel backend, for boxed queries in the shared modules.
pub(crate) type Backend = diesel::sqlite::Sqlite;
/// The SQL type of ids in raw queries (UUID text).
pub(crate) type IdSql = diesel::sql_types::Text;
/// The SQL type of times in raw queries.
pub(crate) type StampSql = diesel::sql_types::TimestamptzSqlite;

/// The `n`-th (from 1) bind parameter of a raw query: `?` (bound in order of appearance).
pub(crate) fn placeholder(_n: usize) -> String {
    "?".to_owned()
}

/// Users holding `role`: the role list is a JSON array in a text column.
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
        diesel::dsl::sql::<diesel::sql_types::Bool>(
            "EXISTS (SELECT 1 FROM json_each(users.roles) WHERE json_each.value = ",
        )
        .bind::<diesel::sql_types::Text, _>(role)
        .sql(")"),
    )
}

/// Projects carrying `tag`: a scan of the tag array.
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
        diesel::dsl::sql::<diesel::sql_types::Bool>(
            "EXISTS (SELECT 1 FROM json_each(projects.tags) WHERE json_each.value = ",
        )
        .bind::<diesel::sql_types::Text, _>(tag)
        .sql(")"),
    )
}

/// Takes SQLite's write lock at the start of a transaction, with a write that matches no row
/// (found by primary key, so it reads nothing): concurrent writers then queue on the lock
/// instead of failing to upgrade a read lock halfway through.
pub(crate) async fn begin_write(conn: &mut Connection) -> diesel::QueryResult<()> {
    use crate::schema::workflow_step_runs as runs;
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    diesel::update(
        runs::table
            .filter(runs::execution_id.eq(DbId::from(uuid::Uuid::nil())))
            .filter(runs::step_id.eq("")),
    )
    .set(runs::attempts.eq(runs::attempts))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Serialises owner-guarded writes of one tenant. SQLite already runs one write transaction at
/// a time, and a transaction's first statement being a write makes it read the latest state.
#[allow(clippy::unused_async)] // the Postgres version awaits; both share one call site
pub(crate) async fn lock_tenant(_conn: &mut Connection, _tenant: DbId) -> diesel::QueryResult<()> {
    Ok(())
}

/// Stores many users and credentials inside the caller's transaction. One statement per row:
/// diesel-async's SQLite wrapper cannot run multi-row inserts, and inside one transaction a
/// row costs microseconds here.
pub(crate) async fn insert_users(
    conn: &mut Connection,
    users: &[crate::users::UserRow],
    credentials: &[crate::users::CredentialRow],
) -> diesel::QueryResult<()> {
    use diesel_async::RunQueryDsl as _;
    for row in users {
        diesel::insert_into(crate::schema::users::table)
            .values(row)
            .execute(conn)
            .await?;
    }
    for row in credentials {
        diesel::insert_into(crate::schema::credentials::table)
            .values(row)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Stores audit rows inside the caller's transaction, one statement per row (see
/// `insert_users`).
pub(crate) async fn insert_audit_rows(
    conn: &mut Connection,
    rows: &[crate::audit::AuditRow],
) -> diesel::QueryResult<()> {
    use diesel_async::RunQueryDsl as _;
    for row in rows {
        diesel::insert_into(crate::schema::audit_log::table)
            .values(row)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The tenant's status, read inside the caller's write transaction (SQLite has one writer at
/// a time, so a disable cannot interleave once this transaction has written).
pub(crate) async fn tenant_status_locked(
    conn: &mut Connection,
    tenant: DbId,
) -> diesel::QueryResult<Option<String>> {
    use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    crate::schema::tenants::table
        .filter(crate::schema::tenants::id.eq(tenant))
        .select(crate::schema::tenants::status)
        .first(conn)
        .await
        .optional()
}

/// Inserts `rows` (a `Vec` of one table's insertable rows) into `table` inside the caller's
/// transaction: one statement per row here (see `insert_users`), a multi-row insert on
/// Postgres. A macro because the two backends' diesel bounds differ.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        for row in &$rows {
            crate::prepared::KeepPrepared::prepared(diesel::insert_into($table).values(row))
                .execute($conn)
                .await?;
        }
    };
}
pub(crate) use insert_all;

/// A statement holding an `eq_any` over a list, as it is: SQLite writes one placeholder per
/// element, so each length is another text, not one to keep prepared (Postgres keeps it:
/// `prepared.rs`).
macro_rules! list_prepared {
    ($query:expr) => {
        $query
    };
}
pub(crate) use list_prepared;

/// A claiming query as it is: SQLite runs one writer at a time, and one relay per process
/// claims (Postgres adds `FOR UPDATE SKIP LOCKED`).
macro_rules! claim_lock {
    ($query:expr) => {
        $query
    };
}
pub(crate) use claim_lock;

/// A locking read as it is: SQLite's write transactions already run one at a time (the
/// transaction starts with a write, so it holds the lock from its first statement).
macro_rules! row_lock {
    ($query:expr) => {
        $query
    };
}
pub(crate) use row_lock;

/// Several writes, in order, in one transaction. On SQLite a statement is a call inside the
/// process, so joining them buys nothing (Postgres sends them as one statement).
macro_rules! write_together {
    ($conn:expr, [$($statement:expr),+ $(,)?]) => {{
        use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
        $conn
            .transaction(async |conn| {
                $($statement.execute(conn).await?;)+
                Ok::<(), diesel::result::Error>(())
            })
            .await
    }};
}
pub(crate) use write_together;

/// Several tables' rows (`(table, &Vec<row>)` pairs) in one transaction, a statement per row
/// (Postgres sends one multi-row insert per table, all as one statement).
macro_rules! insert_rows_together {
    ($conn:expr, [$(($table:expr, $rows:expr)),+ $(,)?]) => {{
        use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
        $conn
            .transaction(async |conn| {
                $(for row in $rows {
                    crate::prepared::KeepPrepared::prepared(diesel::insert_into($table).values(row))
                        .execute(conn)
                        .await?;
                })+
                Ok::<(), diesel::result::Error>(())
            })
            .await
    }};
}
pub(crate) use insert_rows_together;

/// A new execution's rows (its own, its step runs, its timeline), a statement per row
/// (Postgres sends them as one statement).
pub(crate) async fn insert_execution_rows(
    conn: &mut Connection,
    execution: &crate::executions::ExecutionRow,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use crate::prepared::KeepPrepared as _;
    use crate::schema::{workflow_executions, workflow_step_runs, workflow_timeline};
    use diesel_async::RunQueryDsl as _;
    diesel::insert_into(workflow_executions::table)
        .values(execution)
        .prepared()
        .execute(conn)
        .await?;
    insert_all!(conn, workflow_step_runs::table, *steps);
    insert_all!(conn, workflow_timeline::table, *timeline);
    Ok(())
}

/// Nothing to lock: SQLite's write transactions run one at a time (Postgres locks the step
/// rows a claim could take).
#[allow(clippy::unused_async)] // the shape the shared queries call on both backends
pub(crate) async fn lock_claimable_steps(
    _conn: &mut Connection,
    _execution: DbId,
) -> diesel::QueryResult<()> {
    Ok(())
}

/// Timeline entries written on their own, a statement per entry (Postgres: one statement).
pub(crate) async fn insert_timeline(
    conn: &mut Connection,
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use crate::schema::workflow_timeline;
    use diesel_async::RunQueryDsl as _;
    insert_all!(conn, workflow_timeline::table, *timeline);
    Ok(())
}

/// What an execution change writes every time: the execution's row when it changed, one
/// `UPDATE` per step run it altered, its timeline entries. Statements are calls inside the
/// process here (Postgres sends them as one statement).
pub(crate) async fn write_change_rows(
    conn: &mut Connection,
    execution: Option<&crate::executions::ExecutionRow>,
    steps: &[crate::executions::StepRow],
    timeline: &[crate::executions::TimelineRow],
) -> diesel::QueryResult<()> {
    use crate::prepared::KeepPrepared as _;
    use crate::schema::{workflow_executions, workflow_step_runs::dsl as s, workflow_timeline};
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;
    if let Some(row) = execution {
        diesel::update(workflow_executions::table.filter(workflow_executions::id.eq(row.id)))
            .set(row)
            .prepared()
            .execute(conn)
            .await?;
    }
    for row in steps {
        diesel::update(
            s::workflow_step_runs
                .filter(s::execution_id.eq(row.execution_id))
                .filter(s::step_id.eq(&row.step_id)),
        )
        .set(row)
        .prepared()
        .execute(conn)
        .await?;
    }
    insert_all!(conn, workflow_timeline::table, *timeline);
    Ok(())
}

/// Whether `rotate_refreshes_at_once` rotates: not here. SQLite has no writing CTEs, and
/// its statements are calls inside the process, so the caller's transaction costs no round
/// trips (Postgres batches concurrent rotations into one statement).
pub(crate) const ROTATES_AT_ONCE: bool = false;

/// Never called ([`ROTATES_AT_ONCE`] is `false`); the same signature as Postgres's so the
/// shared code compiles here. Answers every rotation `None`: the caller's transaction
/// decides.
#[allow(clippy::unused_async)] // the same signature as Postgres's
pub(crate) async fn rotate_refreshes_at_once(
    _conn: &mut Connection,
    rotations: &[crate::sessions::Rotation],
) -> diesel::QueryResult<Vec<Option<crate::sessions::SpentNow>>> {
    Ok(rotations.iter().map(|_| None).collect())
}
