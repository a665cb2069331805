-- Encoding conversion never raises an ERROR (one in a change or message
-- callback would come back at every retry: a wedged slot). What has no
-- UTF-8 equivalent becomes U+FFFD (bytes EF BF BD, shown by encode(...,
-- 'escape') as \357\277\275).
--
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

-- WIN1252: 0x81 is a valid byte of the database encoding with no Unicode
-- equivalent, in a message prefix, a table name, a column name and a value.
DROP DATABASE IF EXISTS wal2any_win1252;
CREATE DATABASE wal2any_win1252 ENCODING 'WIN1252' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c wal2any_win1252
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('win', 'wal2any');
DO $$ BEGIN EXECUTE format('CREATE TABLE %I (%I text, e text)', E't\x81', E'c\x81'); END $$;
DO $$ BEGIN EXECUTE format('INSERT INTO %I VALUES (%L, %L)', E't\x81', E'v\x81', E'\x80 euro'); END $$;
SELECT 'm' FROM pg_logical_emit_message(false, E'p\x8d', E'\x81 content stays bytes');
SELECT 'm' FROM pg_logical_emit_message(true, E'\x81', 'x');
SELECT encode(data, 'escape') FROM pg_logical_slot_peek_binary_changes('win', NULL, NULL, 'include-xids', '0');
-- every format decodes it, and the slot advances (a second call is empty)
SELECT count(*) > 0 AS decoded FROM pg_logical_slot_peek_binary_changes('win', NULL, NULL, 'format', 'protobuf');
SELECT count(*) > 0 AS decoded FROM pg_logical_slot_peek_binary_changes('win', NULL, NULL, 'format', 'avro');
SELECT count(*) > 0 AS decoded FROM pg_logical_slot_get_binary_changes('win', NULL, NULL);
SELECT count(*) AS left_over FROM pg_logical_slot_get_binary_changes('win', NULL, NULL);
SELECT 'drop' FROM pg_drop_replication_slot('win');
\c wal2any_regression
DROP DATABASE wal2any_win1252;

-- SQL_ASCII: bytes have no declared encoding; valid UTF-8 is kept, each
-- maximal invalid sequence becomes U+FFFD.
DROP DATABASE IF EXISTS wal2any_sqlascii;
CREATE DATABASE wal2any_sqlascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c wal2any_sqlascii
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('ascii', 'wal2any');
DO $$ BEGIN EXECUTE format('CREATE TABLE %I (v text)', E'\xff\xfe'); END $$;
DO $$ BEGIN EXECUTE format('INSERT INTO %I VALUES (%L)', E'\xff\xfe', E'ok \xc3\xa9, bad \xc3 \xe2\x82 \xff'); END $$;
SELECT 'm' FROM pg_logical_emit_message(true, E'\xc0\xaf', 'x');
SELECT encode(data, 'escape') FROM pg_logical_slot_get_binary_changes('ascii', NULL, NULL, 'include-xids', '0');
SELECT 'drop' FROM pg_drop_replication_slot('ascii');
\c wal2any_regression
DROP DATABASE wal2any_sqlascii;
