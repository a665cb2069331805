-- Decoding a prepared transaction (two-phase slot) that holds ACCESS
-- EXCLUSIVE locks returns at once: no callback waits on a lock the prepared
-- transaction holds (it would wait until statement_timeout, the prepared
-- transaction never ending by itself). One prepared transaction per
-- lock-taking command, each with changes after the command, decoded with
-- wal2any (JSON, JSON with include-pk: the primary key lookup is a lock
-- path of its own, Protobuf, Avro) and with test_decoding for comparison.
-- VACUUM FULL cannot run in a transaction block, so it cannot be
-- prepared: CLUSTER rewrites the table and its indexes the same way under
-- the same lock; LOCK TABLE, REINDEX, TRUNCATE and ALTER TABLE (with and
-- without a rewrite) take ACCESS EXCLUSIVE too.
SET client_min_messages = warning;
SET statement_timeout = '5s';
SELECT 'init' FROM pg_create_logical_replication_slot('lk', 'wal2any', false, true);
SELECT 'init' FROM pg_create_logical_replication_slot('lk_td', 'test_decoding', false, true);
CREATE TABLE lk_t (id int PRIMARY KEY, v text, n int);
INSERT INTO lk_t VALUES (1, 'one', 1), (2, 'two', 2);
CREATE TABLE lk_nopk (id int NOT NULL, v text);
INSERT INTO lk_nopk VALUES (1, 'one');
SELECT count(*) > 0 AS skipped FROM pg_logical_slot_get_changes('lk', NULL, NULL);
SELECT count(*) > 0 AS skipped FROM pg_logical_slot_get_changes('lk_td', NULL, NULL);

-- LOCK TABLE: the lock alone
BEGIN;
LOCK TABLE lk_t IN ACCESS EXCLUSIVE MODE;
INSERT INTO lk_t VALUES (10, 'after lock', 10);
UPDATE lk_t SET v = 'locked' WHERE id = 1;
DELETE FROM lk_t WHERE id = 10;
PREPARE TRANSACTION 'lk_lock';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_lock';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- CLUSTER: a new relfilenode for the table and its index (as VACUUM FULL)
BEGIN;
CLUSTER lk_t USING lk_t_pkey;
INSERT INTO lk_t VALUES (20, 'after cluster', 20);
UPDATE lk_t SET v = 'clustered' WHERE id = 1;
DELETE FROM lk_t WHERE id = 20;
PREPARE TRANSACTION 'lk_cluster';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_cluster';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- REINDEX TABLE: ACCESS EXCLUSIVE on the primary key index, rolled back
BEGIN;
REINDEX TABLE lk_t;
INSERT INTO lk_t VALUES (30, 'after reindex', 30);
UPDATE lk_t SET v = 'reindexed' WHERE id = 1;
DELETE FROM lk_t WHERE id = 30;
PREPARE TRANSACTION 'lk_reindex';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
ROLLBACK PREPARED 'lk_reindex';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- TRUNCATE: a new relfilenode, then the rows again
BEGIN;
TRUNCATE lk_t;
INSERT INTO lk_t VALUES (1, 'one', 1), (2, 'two', 2), (40, 'after truncate', 40);
UPDATE lk_t SET v = 'truncated' WHERE id = 1;
DELETE FROM lk_t WHERE id = 40;
PREPARE TRANSACTION 'lk_truncate';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_truncate';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- ALTER TABLE ADD COLUMN: a new shape, no rewrite
BEGIN;
ALTER TABLE lk_t ADD COLUMN extra text DEFAULT 'x';
INSERT INTO lk_t VALUES (50, 'after add column', 50, 'y');
UPDATE lk_t SET v = 'added' WHERE id = 1;
DELETE FROM lk_t WHERE id = 50;
PREPARE TRANSACTION 'lk_add_column';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_add_column';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- ALTER TABLE ALTER COLUMN TYPE: a rewrite, rolled back
BEGIN;
ALTER TABLE lk_t ALTER COLUMN n TYPE bigint;
INSERT INTO lk_t VALUES (60, 'after alter type', 60);
UPDATE lk_t SET v = 'retyped' WHERE id = 1;
DELETE FROM lk_t WHERE id = 60;
PREPARE TRANSACTION 'lk_alter_type';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
ROLLBACK PREPARED 'lk_alter_type';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- ALTER TABLE REPLICA IDENTITY FULL: the key becomes the old row
BEGIN;
ALTER TABLE lk_t REPLICA IDENTITY FULL;
UPDATE lk_t SET v = 'full identity' WHERE id = 1;
DELETE FROM lk_t WHERE id = 2;
PREPARE TRANSACTION 'lk_identity';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_identity';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

-- ALTER TABLE ADD PRIMARY KEY: the key index is created by the prepared
-- transaction itself
BEGIN;
ALTER TABLE lk_nopk ADD PRIMARY KEY (id);
UPDATE lk_nopk SET v = 'keyed' WHERE id = 1;
DELETE FROM lk_nopk WHERE id = 1;
PREPARE TRANSACTION 'lk_add_pk';
SELECT data FROM pg_logical_slot_peek_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT count(*) AS protobuf_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'protobuf');
SELECT count(*) AS avro_messages FROM pg_logical_slot_peek_binary_changes('lk', NULL, NULL, 'format', 'avro');
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0', 'include-pk', '1');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');
COMMIT PREPARED 'lk_add_pk';
SELECT data FROM pg_logical_slot_get_changes('lk', NULL, NULL, 'include-xids', '0');
SELECT data FROM pg_logical_slot_get_changes('lk_td', NULL, NULL, 'include-xids', '0');

SELECT 'drop' FROM pg_drop_replication_slot('lk');
SELECT 'drop' FROM pg_drop_replication_slot('lk_td');
DROP TABLE lk_t, lk_nopk;
