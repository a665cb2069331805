-- UPDATE and DELETE under every replica identity: the key is what the
-- identity gives; with none, the event is still emitted with "key":null.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('ident', 'wal2any');

CREATE TABLE id_default (id int PRIMARY KEY, v text);
CREATE TABLE id_nopk (id int, v text);                       -- DEFAULT without a key
CREATE TABLE id_index (a int NOT NULL, b int NOT NULL, v text);
CREATE UNIQUE INDEX id_index_ab ON id_index (a, b);
ALTER TABLE id_index REPLICA IDENTITY USING INDEX id_index_ab;
CREATE TABLE id_full (id int, v text, n numeric);
ALTER TABLE id_full REPLICA IDENTITY FULL;
CREATE TABLE id_nothing (id int PRIMARY KEY, v text);
ALTER TABLE id_nothing REPLICA IDENTITY NOTHING;

INSERT INTO id_default VALUES (1, 'a'), (2, 'b');
INSERT INTO id_nopk VALUES (1, 'a');
INSERT INTO id_index VALUES (1, 1, 'a'), (2, 2, 'b');
INSERT INTO id_full VALUES (1, 'a', 1.5), (2, NULL, NULL);
INSERT INTO id_nothing VALUES (1, 'a'), (2, 'b');

UPDATE id_default SET v = 'a2' WHERE id = 1;       -- key unchanged: taken from the new row
UPDATE id_default SET id = 20 WHERE id = 2;        -- key changed: the old key
DELETE FROM id_default WHERE id = 1;
UPDATE id_nopk SET v = 'a2';
DELETE FROM id_nopk;
UPDATE id_index SET v = 'a2' WHERE a = 1;
UPDATE id_index SET b = 20 WHERE a = 2;
DELETE FROM id_index WHERE a = 1;
UPDATE id_full SET v = 'a2' WHERE id = 1;
UPDATE id_full SET v = 'x' WHERE id = 2;
DELETE FROM id_full WHERE id = 1;
UPDATE id_nothing SET v = 'a2' WHERE id = 1;
DELETE FROM id_nothing WHERE id = 2;

SELECT data FROM pg_logical_slot_get_changes('ident', NULL, NULL, 'include-xids', '0', 'include-transaction', '0')
WHERE data NOT LIKE '{"action":"insert"%';

-- identity changes mid-stream are picked up (relcache invalidation)
ALTER TABLE id_default REPLICA IDENTITY FULL;
UPDATE id_default SET v = 'full now' WHERE id = 20;
ALTER TABLE id_default REPLICA IDENTITY NOTHING;
DELETE FROM id_default WHERE id = 20;
SELECT data FROM pg_logical_slot_get_changes('ident', NULL, NULL, 'include-xids', '0', 'include-transaction', '0');

SELECT 'drop' FROM pg_drop_replication_slot('ident');
DROP TABLE id_default, id_nopk, id_index, id_full, id_nothing;
