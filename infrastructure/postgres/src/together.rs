//! Several writes as one statement: `WITH s0 AS (<first>), s1 AS (<second>) <last>`.
//!
//! On this machine a small write's cost on Postgres is its statements, not its rows: a
//! project create as `BEGIN`, five inserts and `COMMIT` ran at a seventh of the database's
//! raw commit rate (docs/benchmarks.md). Sent as one statement outside an explicit
//! transaction, the writes commit together or not at all (a statement is atomic), in one
//! round trip. Foreign keys between them hold: Postgres checks them when the whole statement
//! has run, so a child row may name a parent inserted by a sibling.
//!
//! Each part is an ordinary diesel statement; its bind parameters are numbered in the order
//! the parts are given. The combined text is the same for the same parts, so the connection's
//! statement cache (keyed by the SQL text) prepares it once.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// The parts, in order; the last is the statement's main part.
pub(crate) struct Together<'a>(pub(crate) Vec<Box<dyn QueryFragment<Pg> + Send + 'a>>);

impl QueryFragment<Pg> for Together<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((last, first)) = self.0.split_last() else {
            return Err(diesel::result::Error::QueryBuilderError(
                "writing together needs at least one statement".into(),
            ));
        };
        for (i, part) in first.iter().enumerate() {
            out.push_sql(if i == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("s{i} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        if !first.is_empty() {
            out.push_sql(" ");
        }
        last.walk_ast(out.reborrow())
    }

    // Kept prepared by its text (`prepared.rs`): its parts are single-row statements, whose
    // text varies at most with which columns take their defaults, or multi-row inserts of
    // rows that write NULL for `None` (`treat_none_as_default_value = false`), whose text varies only with
    // the row count, which their callers bound (group commit: at most 16, ADR 0030).
    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl QueryId for Together<'_> {
    type QueryId = ();
    // Cached by its SQL text instead (see the module's doc).
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Runs the writes as one statement (`Together`) on `$conn`; `Ok(())` or the first error.
macro_rules! write_together {
    ($conn:expr, [$($statement:expr),+ $(,)?]) => {{
        use diesel_async::RunQueryDsl as _;
        let parts: Vec<Box<dyn diesel::query_builder::QueryFragment<diesel::pg::Pg> + Send + '_>> =
            vec![$(Box::new($statement)),+];
        crate::together::Together(parts).execute($conn).await.map(|_| ())
    }};
}
pub(crate) use write_together;
