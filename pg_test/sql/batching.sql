-- batch-bytes: several events per message, flushed at every transaction
-- end, stream block end and non-transactional message, and when full.
SELECT 'init' FROM pg_create_logical_replication_slot('batch', 'wal2any');
CREATE TABLE bt (id int PRIMARY KEY, v text);
INSERT INTO bt VALUES (1, 'one'), (2, 'two'), (3, 'three');
BEGIN;
UPDATE bt SET v = 'uno' WHERE id = 1;
DELETE FROM bt WHERE id = 2;
COMMIT;
SELECT 'sent' FROM pg_logical_emit_message(false, 'alone', 'flushed by itself');
INSERT INTO bt VALUES (4, 'four');

-- one message per transaction (events on their own lines)
SELECT data FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'include-xids', '0',
  'skip-empty-xacts', '1', 'batch-bytes', '65536');
-- without begin/commit events the batch is still written at the commit
SELECT data FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'include-xids', '0',
  'include-transaction', '0', 'batch-bytes', '65536');
-- a small limit writes a message as soon as it is reached
SELECT data FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'include-xids', '0',
  'skip-empty-xacts', '1', 'batch-bytes', '60');
-- the same events as without batching
SELECT (SELECT string_agg(data, E'\n') FROM pg_logical_slot_peek_changes('batch', NULL, NULL,
          'include-xids', '0', 'batch-bytes', '100')) =
       (SELECT string_agg(data, E'\n') FROM pg_logical_slot_peek_changes('batch', NULL, NULL,
          'include-xids', '0')) AS same_events;
-- binary formats need framing to tell events apart
SELECT data FROM pg_logical_slot_peek_binary_changes('batch', NULL, NULL, 'format', 'protobuf',
  'batch-bytes', '100');
SELECT count(*) AS messages FROM pg_logical_slot_peek_binary_changes('batch', NULL, NULL, 'format', 'protobuf',
  'framing', 'varint', 'skip-empty-xacts', '1', 'batch-bytes', '65536');
SELECT data FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'batch-bytes', 'lots');
SELECT data FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'pretty-print', '1', 'batch-bytes', '100');
-- an event larger than the limit is written on its own, and the events after
-- it in the same transaction still arrive (the grown buffer is released only
-- once the batch is empty)
SELECT count(*) > 0 AS consumed FROM pg_logical_slot_get_changes('batch', NULL, NULL);
BEGIN;
INSERT INTO bt VALUES (10, repeat('x', 9000000));
INSERT INTO bt VALUES (11, 'after the large row');
COMMIT;
SELECT count(*) AS messages, max(length(data)) > 9000000 AS large_alone,
       bool_or(data LIKE '%"id":11%') AS small_row_arrives
FROM pg_logical_slot_peek_changes('batch', NULL, NULL, 'batch-bytes', '65536');
SELECT 'stop' FROM pg_drop_replication_slot('batch');
