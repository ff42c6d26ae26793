//! Table definitions for SQLite (the Postgres schema has the same tables and columns).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        status -> Text,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_key -> Text,
        sealed_private_key -> Binary,
        created_at -> TimestamptzSqlite,
        retired_at -> Nullable<TimestamptzSqlite>,
    }
}
