CREATE INDEX workflow_timeline_by_execution ON workflow_timeline (execution_id, id);
ALTER TABLE workflow_timeline DROP CONSTRAINT workflow_timeline_pkey;
ALTER TABLE workflow_timeline ADD PRIMARY KEY (id);
