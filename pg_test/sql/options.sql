-- Option parsing: every error names the option, the value and what is
-- accepted, with SQLSTATE 22023 (42601 for conflicting/redundant options).
SET client_min_messages = notice;
SELECT 'init' FROM pg_create_logical_replication_slot('opts', 'wal2any');
CREATE TABLE opt_t (id bigint PRIMARY KEY, v varchar(10), n numeric);
INSERT INTO opt_t VALUES (9007199254740993, 'x', 12345678901234567890.5);

CREATE FUNCTION try_options(VARIADIC opts text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE detail text;
BEGIN
  PERFORM pg_logical_slot_peek_changes('opts', NULL, NULL, VARIADIC opts);
  RETURN 'ok';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_HINT;
  -- the full list of options is checked once below, not in every line
  RETURN SQLSTATE || ': ' || SQLERRM || ' | ' || regexp_replace(coalesce(detail, ''), 'Accepted options: .*', 'Accepted options: ...');
END $$;

SELECT try_options('include-foo', '1');
-- the unknown-option hint names every option
DO $$
DECLARE hint text;
BEGIN
  PERFORM pg_logical_slot_peek_changes('opts', NULL, NULL, 'bogus', '1');
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RAISE NOTICE 'hint lists % options, includes stream-changes: %, filter-msg-prefixes: %',
    array_length(string_to_array(hint, ','), 1), hint LIKE '%stream-changes%', hint LIKE '%filter-msg-prefixes%';
END $$;
SELECT try_options('include-xids', 'maybe');
SELECT try_options('include-xids', '');
SELECT try_options('include-xids', 'on', 'include-xids', 'off');
-- protobuf and avro are binary: the text functions refuse them (after options are checked)
SELECT try_options('format', 'protobuf');
SELECT try_options('format', 'avro');
SELECT try_options('format', 'avro', 'schema-events', 'always');
SELECT try_options('format', 'json', 'framing', 'varint');
SELECT try_options('format', 'protobuf', 'framing', 'length');
-- an option of another format is an error, whatever the order
SELECT try_options('format', 'protobuf', 'pretty-print', '1');
SELECT try_options('include-column-names', '1', 'format', 'json');
SELECT try_options('format', 'xml');
SELECT try_options('format', '');
SELECT try_options('unchanged-toast-placeholder', '');
SELECT try_options('Include-Xids', '1');
-- PostgreSQL's boolean spellings (bare options, which SQL cannot pass, are
-- tested through pg_recvlogical in tests/test_clients.py)
SELECT try_options('include-xids', 'FALSE', 'include-lsn', 'y', 'include-types', 'of', 'pretty-print', '0', 'include-pk', 'TRUE');
SELECT try_options('format', 'json');
-- list options: bad values and conflicting combinations (42601)
SELECT try_options('actions', 'insert,merge');
SELECT try_options('add-tables', 'no_schema_here');
SELECT try_options('only-local', 'on', 'include-origins', 'node_a');
SELECT try_options('include-origins', 'a', 'exclude-origins', 'b');
SELECT try_options('only-local', 'off', 'include-origins', 'node_a');
-- test_decoding's options belong to its format, and that format has test_decoding's rules
SELECT try_options('force-binary', '1');
SELECT try_options('format', 'test_decoding', 'include-lsn', '1');
SELECT try_options('format', 'test_decoding', 'include-xids', 'maybe');
SELECT try_options('format', 'test_decoding', 'include-xids', '0', 'include-xids', '1');

SELECT data FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-xids', 'no',
  'include-types', 'on', 'include-type-oids', 'yes', 'include-pk', 'true')
WHERE data LIKE '%insert%';
SELECT data FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-xids', 'no',
  'include-types', 't', 'include-typmod', 'f', 'include-schemas', 'off',
  'int8-as-string', '1', 'numeric-as-string', '1')
WHERE data LIKE '%insert%';
SELECT data FROM pg_logical_slot_peek_changes('opts', NULL, NULL, 'include-xids', 'no', 'pretty-print', '1')
WHERE data LIKE '%insert%';

SELECT 'drop' FROM pg_drop_replication_slot('opts');
DROP TABLE opt_t;
DROP FUNCTION try_options;
