//! Statements the connection keeps prepared.
//!
//! Diesel prepares a statement once per connection and reuses it only when it can prove the
//! SQL text is one of a bounded few: it never does for an `UPDATE` (the columns set could be
//! any subset), an insert with a column left to its default, an upsert, or raw SQL
//! (`sql_query`: the text may have been built from input). Those are prepared again on every
//! call, which on Postgres is a round trip to parse and plan the statement before the one
//! that runs it, and a third to close it. The statements a request or a claim runs every
//! time (a refresh's rotation, a project create, the outbox relay's marks, the audit
//! sequencer's chain writes, the workflow engine's claims and recordings, a rate-limit hit)
//! have one fixed text per call site, so they are marked [`KeepPrepared::prepared`]: the
//! connection's statement cache keeps them by their text as it keeps diesel's own.
//!
//! Not for statements whose text varies with their input (`eq_any` over a list on SQLite,
//! which writes one placeholder per element; multi-row inserts): each length would be
//! another statement kept for the connection's life.

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

use crate::backend::Backend;

/// A statement kept prepared by its SQL text (see the module's doc).
pub(crate) struct Prepared<Q>(Q);

impl<Q: QueryFragment<Backend>> QueryFragment<Backend> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    // Diesel's own answer walks the statement; this one knows its text is fixed. (A
    // documentation-hidden method of `QueryFragment`, meant for exactly this: a fragment
    // that knows more than diesel can prove.)
    fn is_safe_to_cache_prepared(&self, _backend: &Backend) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // Kept by its SQL text and bind types, not by its Rust type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// `.prepared()` on any statement (see the module's doc for which).
pub(crate) trait KeepPrepared: Sized {
    /// This statement, kept prepared by its text.
    fn prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q> KeepPrepared for Q {}
