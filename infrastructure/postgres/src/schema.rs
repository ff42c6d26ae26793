//! Table definitions for Postgres (the SQLite schema has the same tables and columns).

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_key -> Text,
        sealed_private_key -> Binary,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}
