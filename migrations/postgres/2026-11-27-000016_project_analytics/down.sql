ALTER TABLE projects ALTER COLUMN name_key TYPE text COLLATE "default";
DROP INDEX projects_created;
