DROP INDEX projects_created;
