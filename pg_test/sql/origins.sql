-- Replication origins: what an applier sets up. only-local drops changes
-- that came through an origin; include/exclude-origins select by name;
-- include-origin shows the origin on begin.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('orig', 'wal2any');
CREATE TABLE orig_t (id int PRIMARY KEY, src text);
SELECT 'o' FROM pg_replication_origin_create('node_b');
SELECT 'o' FROM pg_replication_origin_create('node_c');

INSERT INTO orig_t VALUES (1, 'local');
SELECT 'o' FROM pg_replication_origin_session_setup('node_b');
BEGIN;
SELECT 'o' FROM pg_replication_origin_xact_setup('0/AB', '2026-01-01 00:00:00+00');
INSERT INTO orig_t VALUES (2, 'from node_b');
COMMIT;
SELECT 'o' FROM pg_replication_origin_session_reset();
SELECT 'o' FROM pg_replication_origin_session_setup('node_c');
INSERT INTO orig_t VALUES (3, 'from node_c');
SELECT 'o' FROM pg_replication_origin_session_reset();
INSERT INTO orig_t VALUES (4, 'local again');

SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'include-origin', '1');
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'only-local', '1');
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'exclude-origins', 'node_b');
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'include-origins', 'node_c, node_x');

SELECT 'drop' FROM pg_drop_replication_slot('orig');
SELECT 'o' FROM pg_replication_origin_drop('node_b');
SELECT 'o' FROM pg_replication_origin_drop('node_c');
DROP TABLE orig_t;
