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
SELECT 'stop' FROM pg_drop_replication_slot('batch');
