-- Per-day creation counts for /api/v1/analytics/projects read this range.
CREATE INDEX projects_created ON projects (tenant_id, created_at);
