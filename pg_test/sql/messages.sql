-- Logical messages: prefix, transactional flag, content as text when it is
-- valid UTF-8, otherwise base64 with "content_encoding"; control
-- characters are escaped in all strings.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('msgs', 'wal2any');

SELECT 'm' FROM pg_logical_emit_message(false, 'plain', 'hello');
SELECT 'm' FROM pg_logical_emit_message(false, 'empty', '');
SELECT 'm' FROM pg_logical_emit_message(false, 'ctl', E'tab\t nl\n cr\r bell\x07 del\x7f quote" backslash\\');
SELECT 'm' FROM pg_logical_emit_message(false, 'unicode ü', 'ünïcödé €');
SELECT 'm' FROM pg_logical_emit_message(false, 'binary', '\xff00fe'::bytea);
BEGIN;
SELECT 'm' FROM pg_logical_emit_message(true, 'tx', 'kept with the transaction');
SELECT 'm' FROM pg_logical_emit_message(true, 'bytes', '\x00010203'::bytea);
COMMIT;
BEGIN;
SELECT 'm' FROM pg_logical_emit_message(true, 'rolled back', 'never seen');
ROLLBACK;
-- a non-transactional message inside a rolled-back transaction is still seen
BEGIN;
SELECT 'm' FROM pg_logical_emit_message(false, 'survives', 'rollback');
ROLLBACK;
SELECT 'm' FROM pg_logical_emit_message(true, 'flush', 'makes the WAL above readable');

SELECT data FROM pg_logical_slot_get_changes('msgs', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
-- every line is valid JSON, and the control characters come back intact
SELECT 'm' FROM pg_logical_emit_message(true, 'ctl', E'a\x01b\x1fc\x7f');
SELECT data::jsonb ->> 'content' = E'a\x01b\x1fc\x7f' AS round_trip,
       data !~ '[\x01-\x1f\x7f]' AS no_raw_controls
FROM pg_logical_slot_get_changes('msgs', NULL, NULL, 'include-transaction', '0');

SELECT 'drop' FROM pg_drop_replication_slot('msgs');
