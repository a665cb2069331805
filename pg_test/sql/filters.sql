-- Filters evaluated before encoding: tables (wal2json's pattern syntax),
-- actions and message prefixes.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('filt', 'wal2any');
CREATE SCHEMA app;
CREATE SCHEMA "odd.schema";
CREATE TABLE app.orders (id int PRIMARY KEY);
CREATE TABLE app.secret (id int PRIMARY KEY);
CREATE TABLE public.audit (id int PRIMARY KEY);
CREATE TABLE public.other (id int PRIMARY KEY);
CREATE TABLE "odd.schema"."we*ird, name" (id int PRIMARY KEY);
BEGIN;
INSERT INTO app.orders VALUES (1);
INSERT INTO app.secret VALUES (1);
INSERT INTO public.audit VALUES (1);
INSERT INTO public.other VALUES (1);
INSERT INTO "odd.schema"."we*ird, name" VALUES (1);
UPDATE app.orders SET id = 2;
DELETE FROM public.audit;
TRUNCATE public.other, app.secret;
SELECT 'm' FROM pg_logical_emit_message(true, 'keep', 'yes');
SELECT 'm' FROM pg_logical_emit_message(true, 'noise', 'no');
COMMIT;

-- add-tables: schema.* and *.table
SELECT data FROM pg_logical_slot_peek_changes('filt', NULL, NULL, 'include-xids', '0', 'include-transaction', '0',
  'add-tables', 'app.*, *.audit', 'filter-msg-prefixes', 'keep,noise');
-- filter-tables, with backslash escapes for dots, commas, asterisks and spaces
SELECT data FROM pg_logical_slot_peek_changes('filt', NULL, NULL, 'include-xids', '0', 'include-transaction', '0',
  'filter-tables', 'app.secret,odd\.schema.we\*ird\,\ name', 'add-msg-prefixes', 'keep');
-- actions; a TRUNCATE of only filtered tables disappears, one of mixed tables keeps the passing ones
SELECT data FROM pg_logical_slot_peek_changes('filt', NULL, NULL, 'include-xids', '0', 'include-transaction', '0',
  'actions', 'delete, truncate', 'filter-tables', 'public.other', 'filter-msg-prefixes', 'keep,noise');
-- with skip-empty-xacts, a transaction whose changes are all filtered out leaves nothing
SELECT count(*) AS lines FROM pg_logical_slot_peek_changes('filt', NULL, NULL, 'skip-empty-xacts', '1',
  'add-tables', 'nosuch.*', 'add-msg-prefixes', 'nosuch');

SELECT 'drop' FROM pg_drop_replication_slot('filt');
DROP SCHEMA app, "odd.schema" CASCADE;
DROP TABLE public.audit, public.other;
