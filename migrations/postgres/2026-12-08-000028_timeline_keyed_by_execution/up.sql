-- The timeline is read by execution only (`GET /api/v1/executions/{id}/timeline`, in `id`
-- order), and an execution writes about 35 entries: its primary key becomes the index it is
-- read by, (execution_id, id), instead of a second index on `id` alone that nothing reads.
-- One index entry, one WAL record less per entry (docs/benchmarks.md, issue 17). Entry ids
-- are UUID v7, unique on their own, so the new key refuses nothing the old one took.
-- Building the unique index reads the whole table once (a large history takes a while).
CREATE UNIQUE INDEX workflow_timeline_key ON workflow_timeline (execution_id, id);
ALTER TABLE workflow_timeline DROP CONSTRAINT workflow_timeline_pkey;
ALTER TABLE workflow_timeline ADD CONSTRAINT workflow_timeline_pkey
    PRIMARY KEY USING INDEX workflow_timeline_key;
DROP INDEX workflow_timeline_by_execution;
