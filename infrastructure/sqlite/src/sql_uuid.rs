//! UUIDs stored as lowercase hyphenated text, which sorts like the UUID itself, so keyset
//! pagination on UUID v7 ids orders by creation on SQLite exactly as on Postgres.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use uuid::Uuid;

/// A UUID in a `TEXT` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub(crate) struct SqlUuid(Uuid);

impl From<Uuid> for SqlUuid {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<SqlUuid> for Uuid {
    fn from(id: SqlUuid) -> Self {
        id.0
    }
}

impl ToSql<Text, Sqlite> for SqlUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Sqlite> for SqlUuid {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(Uuid::parse_str(&text)?))
    }
}
