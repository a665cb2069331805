-- Cached relation facts follow the catalogs that do not invalidate the
-- table itself: a schema renamed (pg_namespace), a column type renamed
-- (pg_type). The next change after the DDL shows the new names.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('inval', 'wal2any');
CREATE SCHEMA before_rename;
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE SCHEMA type_home;
CREATE DOMAIN type_home.score AS int;
CREATE TABLE before_rename.t (id int PRIMARY KEY, m mood, s type_home.score);
INSERT INTO before_rename.t VALUES (1, 'happy');
ALTER SCHEMA before_rename RENAME TO after_rename;
INSERT INTO after_rename.t VALUES (2, 'sad');
ALTER TYPE mood RENAME TO feeling;
INSERT INTO after_rename.t VALUES (3, 'happy');
ALTER TYPE feeling RENAME VALUE 'happy' TO 'glad';
UPDATE after_rename.t SET id = 4 WHERE id = 3;
-- the schema of a column's type (not the table's) renamed
ALTER SCHEMA type_home RENAME TO type_moved;
INSERT INTO after_rename.t VALUES (5, 'sad', 1);
SELECT data FROM pg_logical_slot_get_changes('inval', NULL, NULL, 'include-xids', '0', 'include-transaction', '0',
  'include-types', '1');
SELECT 'drop' FROM pg_drop_replication_slot('inval');
DROP SCHEMA after_rename CASCADE;
DROP TYPE feeling;
DROP SCHEMA type_moved CASCADE;
