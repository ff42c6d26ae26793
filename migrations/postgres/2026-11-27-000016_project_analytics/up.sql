-- Per-day creation counts for /api/v1/analytics/projects read this range.
CREATE INDEX projects_created ON projects (tenant_id, created_at);
-- Names sort and compare byte-wise, as on SQLite, so `sort=name` orders alike on both stores
-- (the database's locale collation would ignore punctuation and spaces at first).
ALTER TABLE projects ALTER COLUMN name_key TYPE text COLLATE "C";
