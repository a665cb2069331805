-- A LATIN1 database: names and values are converted to UTF-8, so the JSON
-- is valid UTF-8 whatever the database encoding. Text-mode SQL functions
-- return it in a text datum the server believes is LATIN1, so read it as
-- bytes (pg_logical_slot_*_binary_changes) or over the replication protocol.
SET client_min_messages = warning;
DROP DATABASE IF EXISTS wal2any_latin1;
CREATE DATABASE wal2any_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c wal2any_latin1
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('latin1', 'wal2any');
CREATE TABLE "tablé" ("colümn" text, "ñ" varchar(5)[], j json);
INSERT INTO "tablé" VALUES ('café ü ÿ', '{ñandú}', '{"clé": "valeür"}');
SELECT 'm' FROM pg_logical_emit_message(true, 'préfix', 'bytes in the database encoding');
-- decoded as UTF-8 and converted back by the server for display
SELECT convert_from(data, 'UTF8') AS json_line
FROM pg_logical_slot_peek_binary_changes('latin1', NULL, NULL, 'include-xids', '0', 'include-transaction', '0');
-- the raw bytes are UTF-8: é is C3 A9 (LATIN1 would be E9)
SELECT position('\xc3a9'::bytea IN data) > 0 AS utf8_e_acute, position('\xe9'::bytea IN data) = 0 AS no_latin1_byte
FROM pg_logical_slot_get_binary_changes('latin1', NULL, NULL, 'include-transaction', '0')
WHERE position('\x22696e7365727422'::bytea IN data) > 0;   -- the "insert" line
SELECT 'drop' FROM pg_drop_replication_slot('latin1');
\c wal2any_regression
DROP DATABASE wal2any_latin1;
