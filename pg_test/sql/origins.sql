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
-- from node_b: a non-transactional message, and a transaction large enough
-- to be streamed (stream-changes, 64kB work memory)
SELECT 'o' FROM pg_replication_origin_session_setup('node_b');
SELECT 'm' FROM pg_logical_emit_message(false, 'beat', 'from node_b');
INSERT INTO orig_t SELECT g, repeat('b', 100) FROM generate_series(100, 1100) g;
SELECT 'o' FROM pg_replication_origin_session_reset();
SELECT 'm' FROM pg_logical_emit_message(false, 'beat', 'local');
INSERT INTO orig_t VALUES (5, 'local, last');

SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'include-origin', '1') WHERE data NOT LIKE '%bbbbbbbbbb%';
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'only-local', '1');
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'exclude-origins', 'node_b');
-- the same when the large transaction is streamed: nothing of node_b's
SET logical_decoding_work_mem = '64kB';
SELECT count(*) AS events, count(*) FILTER (WHERE data LIKE '%node_b%' OR data LIKE '%bbbbbbbbbb%') AS from_node_b
FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'exclude-origins', 'node_b', 'stream-changes', '1');
SELECT count(*) FILTER (WHERE data LIKE '{"action":"stream_start"%') > 0 AS streamed,
       count(*) FILTER (WHERE data LIKE '%"action":"insert"%') AS inserts
FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'include-origins', 'node_b', 'stream-changes', '1');
RESET logical_decoding_work_mem;
SELECT data FROM pg_logical_slot_peek_changes('orig', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1',
  'include-origins', 'node_c, node_x');

SELECT 'drop' FROM pg_drop_replication_slot('orig');
SELECT 'o' FROM pg_replication_origin_drop('node_b');
SELECT 'o' FROM pg_replication_origin_drop('node_c');
DROP TABLE orig_t;
