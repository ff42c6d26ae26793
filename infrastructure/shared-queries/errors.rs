//! Driver and pool errors mapped to `CoreError` (compiled into each adapter).
//! Messages never include the database URL or query parameters.

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::pooled_connection::deadpool::PoolError;
use usvc_core::CoreError;

/// A failed query.
pub(crate) fn query(err: Error) -> CoreError {
    match err {
        Error::NotFound => CoreError::NotFound("record".into()),
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
            if touches_audit_trail(info.as_ref()) =>
        {
            CoreError::Internal(format!("the audit trail disagrees with its head: {err}"))
        }
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            CoreError::Conflict("a record with the same unique value already exists".into())
        }
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => {
            CoreError::Unavailable("the database connection was lost".into())
        }
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
            CoreError::Unavailable("the database could not serialise the transaction; retry".into())
        }
        Error::DatabaseError(_, info) if info.message().contains("database is locked") => {
            CoreError::Unavailable("the database is busy; retry".into())
        }
        other => CoreError::Internal(format!("database error: {other}")),
    }
}

/// A failed query where a unique violation means `message` (a taken slug, an existing email).
pub(crate) fn conflict(err: Error, message: &str) -> CoreError {
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, ref info)
            if !touches_audit_trail(info.as_ref()) =>
        {
            CoreError::Conflict(message.to_owned())
        }
        other => query(other),
    }
}

/// Whether a database error comes from the audit tables: a clash there is a damaged trail,
/// never the caller's taken email or slug. (Postgres names the table; SQLite only the
/// columns, in its message.)
fn touches_audit_trail(info: &dyn diesel::result::DatabaseErrorInformation) -> bool {
    info.table_name().is_some_and(|t| t.starts_with("audit_"))
        || info.message().contains("audit_log.")
        || info.message().contains("audit_heads.")
}

/// No connection could be had: the database is down, unreachable or saturated.
pub(crate) fn pool(err: PoolError) -> CoreError {
    match err {
        PoolError::Timeout(_) => {
            CoreError::Unavailable("no database connection became available in time".into())
        }
        PoolError::Backend(_) => CoreError::Unavailable("cannot connect to the database".into()),
        other => CoreError::Unavailable(format!("database pool: {other}")),
    }
}
