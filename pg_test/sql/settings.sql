-- wal2any.<option> settings give every option a default, for consumers
-- that cannot pass plugin options; plugin options override them. Once the
-- library is loaded, a bad value is rejected when it is set.
SET client_min_messages = warning;
LOAD 'wal2any';
SELECT 'init' FROM pg_create_logical_replication_slot('sets', 'wal2any');
CREATE TABLE sets_t (id int PRIMARY KEY);
INSERT INTO sets_t VALUES (1);
SELECT 'm' FROM pg_logical_emit_message(true, 'p', 'x');

-- rejected when set: bad values, and names that are not options
SET wal2any.include_xids = 'maybe';
SET wal2any.actions = 'insert,merge';
SET wal2any.add_tables = 'nodot';
SET wal2any.no_such_option = 'on';
SET wal2any.format = 'xml';
-- options of the binary formats are checked too, though JSON ignores them
SET wal2any.framing = 'bogus';

-- defaults from settings
SET wal2any.include_xids = off;
SET wal2any.include_transaction = 'no';
SET wal2any.add_msg_prefixes = 'nothing';
SHOW wal2any.include_xids;
SELECT data FROM pg_logical_slot_peek_changes('sets', NULL, NULL);
-- plugin options override them
SELECT data FROM pg_logical_slot_peek_changes('sets', NULL, NULL, 'include-transaction', 'on', 'add-msg-prefixes', 'p');
-- a conflict between a setting and a plugin option is still a conflict
SET wal2any.only_local = on;
SELECT data FROM pg_logical_slot_peek_changes('sets', NULL, NULL, 'include-origins', 'node_a');
SELECT count(*) > 0 AS decodes FROM pg_logical_slot_peek_changes('sets', NULL, NULL, 'only-local', 'off', 'include-origins', 'node_a');
RESET ALL;
-- back to the defaults: the empty string means "not set"
SELECT current_setting('wal2any.include_xids') = '' AS unset;
SELECT count(*) FILTER (WHERE data LIKE '%"xid":%') > 0 AS has_xids FROM pg_logical_slot_get_changes('sets', NULL, NULL);
SELECT 'drop' FROM pg_drop_replication_slot('sets');
DROP TABLE sets_t;
