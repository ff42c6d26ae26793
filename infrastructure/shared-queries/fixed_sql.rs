//! Raw SQL that the connection prepares once.
//!
//! `diesel::sql_query` marks every query unsafe to cache, since it cannot know whether its
//! text was built from input: each call prepares the statement again, which on Postgres is a
//! round trip to parse and plan it before the one that runs it. The claim's window query,
//! the quota room a taking change reads and the refresh rotation run on every request or
//! claim, so they are [`FixedSql`]: text fixed at the call site (never built from input, so
//! the cache keyed by the text stays as small as the code), cached like diesel's own queries.
//!
//! The text names its binds `$1`, `$2`, … on both stores; a bind named twice is sent twice.

use std::marker::PhantomData;

use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::QueryResult;

use crate::backend::Backend;

/// One bind value of SQL type `ST`.
struct Bind<ST, T>(T, PhantomData<ST>);

impl<ST, T> QueryFragment<Backend> for Bind<ST, T>
where
    Backend: HasSqlType<ST>,
    T: ToSql<ST, Backend>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        out.push_bind_param::<ST, T>(&self.0)
    }
}

/// Raw SQL with fixed text and its binds (see the module's doc).
pub(crate) struct FixedSql<'a> {
    text: &'a str,
    binds: Vec<Box<dyn QueryFragment<Backend> + Send + 'a>>,
}

impl<'a> FixedSql<'a> {
    /// `text`, never built from input, with its binds named `$1`, `$2`, ….
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            binds: Vec::new(),
        }
    }

    /// The next bind (`$1` first).
    pub(crate) fn bind<ST, T>(mut self, value: T) -> Self
    where
        Backend: HasSqlType<ST>,
        T: ToSql<ST, Backend> + Send + 'a,
        ST: Send + 'a,
    {
        self.binds.push(Box::new(Bind(value, PhantomData::<ST>)));
        self
    }
}

/// The text split at its binds: `(text before, bind number)` pairs and the text after the
/// last bind.
fn pieces(text: &str) -> (Vec<(&str, usize)>, &str) {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        match rest[at + 1..at + 1 + digits].parse::<usize>() {
            Ok(n) if digits > 0 => {
                out.push((&rest[..at], n));
                rest = &rest[at + 1 + digits..];
            }
            _ => {
                out.push((&rest[..=at], 0));
                rest = &rest[at + 1..];
            }
        }
    }
    (out, rest)
}

impl QueryFragment<Backend> for FixedSql<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        let (before, last) = pieces(self.text);
        for (sql, n) in before {
            out.push_sql(sql);
            if n == 0 {
                continue;
            }
            let bind = self.binds.get(n - 1).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(format!("no bind for ${n}").into())
            })?;
            bind.walk_ast(out.reborrow())?;
        }
        out.push_sql(last);
        Ok(())
    }
}

impl QueryId for FixedSql<'_> {
    type QueryId = ();
    // Cached by its SQL text instead (see the module's doc).
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for FixedSql<'_> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn the_text_is_split_at_each_numbered_bind_and_nowhere_else() {
        let (before, last) = pieces("SELECT $1, $12 + $1 AS x, '$' || 'a$b', $ FROM t");
        assert_eq!(
            before,
            vec![
                ("SELECT ", 1),
                (", ", 12),
                (" + ", 1),
                (" AS x, '$", 0),
                ("' || 'a$", 0),
                ("b', $", 0),
            ]
        );
        assert_eq!(last, " FROM t");
        assert_eq!(pieces("no binds"), (vec![], "no binds"));
        assert_eq!(pieces("$2"), (vec![("", 2)], ""));
    }
}
