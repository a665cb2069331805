-- Dropped, generated and added columns; identifiers that need quoting in
-- SQL are output raw (JSON-escaped, never SQL-quoted).
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('cols', 'wal2any');

CREATE SCHEMA "Weird ""Schema""";
CREATE TABLE "Weird ""Schema"""."Mixed ""Case""" (
    "Id" int PRIMARY KEY,
    "select" text,
    "with space" int,
    "ünïcödé" text,
    doomed text,
    total int GENERATED ALWAYS AS ("with space" * 2) STORED
);
INSERT INTO "Weird ""Schema"""."Mixed ""Case""" VALUES (1, 'kw', 21, 'ü', 'gone soon');
ALTER TABLE "Weird ""Schema"""."Mixed ""Case""" DROP COLUMN doomed;
INSERT INTO "Weird ""Schema"""."Mixed ""Case""" VALUES (2, 'after drop', 5, NULL);
-- rows written before ADD COLUMN ... DEFAULT lack it on disk: the default is decoded
ALTER TABLE "Weird ""Schema"""."Mixed ""Case""" ADD COLUMN added text DEFAULT 'dflt';
ALTER TABLE "Weird ""Schema"""."Mixed ""Case""" REPLICA IDENTITY FULL;
DELETE FROM "Weird ""Schema"""."Mixed ""Case""" WHERE "Id" = 1;
UPDATE "Weird ""Schema"""."Mixed ""Case""" SET "select" = 'upd' WHERE "Id" = 2;

SELECT data FROM pg_logical_slot_get_changes('cols', NULL, NULL, 'include-xids', '0',
    'include-transaction', '0', 'include-types', '1', 'include-pk', '1');

SELECT 'drop' FROM pg_drop_replication_slot('cols');
DROP SCHEMA "Weird ""Schema""" CASCADE;
