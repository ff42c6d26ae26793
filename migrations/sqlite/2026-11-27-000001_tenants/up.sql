-- Tenants: the isolation unit. Ids are UUID v7 text (sorts by creation), times are RFC 3339 UTC.
-- The CHECKs match the Postgres schema, so both stores refuse the same rows.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE CHECK (
        length(slug) BETWEEN 2 AND 63
        AND slug NOT GLOB '*[^a-z0-9-]*'
        AND slug NOT LIKE '-%'
        AND slug NOT LIKE '%-'
    ),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
