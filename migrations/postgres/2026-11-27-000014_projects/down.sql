DROP TABLE project_versions;
DROP TABLE project_members;
DROP TABLE projects;
