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
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            ref info,
        ) => {
            // The driver's catch-all for errors without a SQLSTATE: mostly a lost connection,
            // rarely a client-side fault. Logged, so the rare kind does not hide behind 503s.
            tracing::warn!(error = %info.message(), "database connection lost");
            CoreError::Unavailable("the database connection was lost".into())
        }
        Error::BrokenTransactionManager => {
            CoreError::Unavailable("the database connection was lost".into())
        }
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => {
            CoreError::Unavailable("the database is read-only (failing over?); retry".into())
        }
        Error::DatabaseError(_, ref info) if going_away(info.message()) => {
            tracing::warn!(error = %info.message(), "the database is unavailable");
            CoreError::Unavailable(
                "the database is restarting, overloaded or broke a tie; retry".into(),
            )
        }
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
            CoreError::Unavailable("the database could not serialise the transaction; retry".into())
        }
        // SQLite: `SQLITE_BUSY` past `busy_timeout`, or `SQLITE_LOCKED` (a table lock).
        Error::DatabaseError(_, info)
            if info.message().contains("database is locked")
                || info.message().contains("database table is locked") =>
        {
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
        || info.message().contains("audit_queue.")
}

/// Whether a server error says the database is stopping, starting, overloaded or broke a tie,
/// so the request may succeed if retried: PostgreSQL's classes 57 (operator intervention: a
/// restart or failover terminates every session), 53 (too many connections) and 40P01
/// (deadlock). The driver hands over no SQLSTATE for these, so the server's (stable, English)
/// messages are matched; anything else stays an internal error.
fn going_away(message: &str) -> bool {
    const TRANSIENT: &[&str] = &[
        "terminating connection due to administrator command",
        "terminating connection because of crash of another server process",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
        "the database system is not accepting connections",
        "canceling statement due to conflict with recovery",
        "sorry, too many clients already",
        "remaining connection slots are reserved",
        "deadlock detected",
    ];
    TRANSIENT.iter().any(|t| message.contains(t))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_restarting_or_unreachable_database_is_unavailable_not_internal() {
        for message in [
            "terminating connection due to administrator command",
            "FATAL: the database system is shutting down",
            "the database system is starting up",
            "deadlock detected",
            "sorry, too many clients already",
            "database is locked",
            "database table is locked",
        ] {
            let err = query(server_error(DatabaseErrorKind::Unknown, message));
            assert!(
                matches!(err, CoreError::Unavailable(_)),
                "{message}: {err:?}"
            );
        }
        let lost = query(server_error(
            DatabaseErrorKind::UnableToSendCommand,
            "error communicating with database: connection reset",
        ));
        assert!(matches!(lost, CoreError::Unavailable(_)), "{lost:?}");
        let read_only = query(server_error(
            DatabaseErrorKind::ReadOnlyTransaction,
            "cannot execute INSERT in a read-only transaction",
        ));
        assert!(
            matches!(read_only, CoreError::Unavailable(_)),
            "{read_only:?}"
        );
    }

    #[test]
    fn other_server_errors_stay_internal_and_clashes_conflicts() {
        let err = query(server_error(
            DatabaseErrorKind::Unknown,
            "column \"x\" does not exist",
        ));
        assert!(matches!(err, CoreError::Internal(_)), "{err:?}");
        let clash = conflict(
            server_error(DatabaseErrorKind::UniqueViolation, "duplicate key"),
            "taken",
        );
        assert!(matches!(clash, CoreError::Conflict(m) if m == "taken"));
    }
}
