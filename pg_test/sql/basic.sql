-- Every operation, transaction framing, messages and truncate in format=json.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('basic', 'wal2any');

CREATE TABLE item (id int PRIMARY KEY, name text, price numeric(8,2), tags text[]);
CREATE TABLE other (id serial PRIMARY KEY, item_id int REFERENCES item(id));

BEGIN;
INSERT INTO item VALUES (1, 'apple', 1.25, '{red,green}'), (2, 'pear', NULL, '{}');
UPDATE item SET price = 2.50 WHERE id = 1;
UPDATE item SET id = 3 WHERE id = 2;          -- key change: key shows the old id
DELETE FROM item WHERE id = 3;
SELECT 'msg' FROM pg_logical_emit_message(true, 'app', 'in a transaction');
COMMIT;

SELECT 'msg' FROM pg_logical_emit_message(false, 'heartbeat', 'outside');
-- an empty transaction (catalog-only change)
CREATE TABLE empty_xact (id int);
INSERT INTO other (item_id) VALUES (1);
TRUNCATE item, other RESTART IDENTITY CASCADE;
TRUNCATE other;

-- default options: xids are present, so only check their shape here
SELECT count(*) AS events, count(*) FILTER (WHERE data ~ '"xid":[0-9]+') AS with_xid
FROM pg_logical_slot_peek_changes('basic', NULL, NULL);

SELECT data FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'include-xids', '0');
-- skip-empty-xacts drops the empty transaction (the CREATE TABLE)
SELECT data FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'include-xids', '0', 'skip-empty-xacts', '1');
-- include-transaction=false: no begin/commit at all
SELECT data FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'include-xids', 'off', 'include-transaction', 'off');

-- include-lsn and include-timestamp give well-formed values
SELECT data::jsonb ->> 'action' AS action,
       (data::jsonb ->> 'lsn')::pg_lsn IS NOT NULL AS has_lsn,
       (data::jsonb ->> 'end_lsn')::pg_lsn > (data::jsonb ->> 'lsn')::pg_lsn AS end_after_commit,
       data::jsonb ->> 'commit_time' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS iso_commit_time
FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'include-lsn', '1', 'include-timestamp', '1', 'skip-empty-xacts', '1')
WHERE data::jsonb ->> 'action' IN ('commit');

-- begin's lsn is the commit's lsn; changes carry increasing lsns
WITH e AS (
  SELECT row_number() OVER () AS n, data::jsonb AS j
  FROM pg_logical_slot_peek_changes('basic', NULL, NULL, 'include-lsn', '1', 'skip-empty-xacts', '1', 'include-xids', '1')
)
SELECT b.j ->> 'xid' = c.j ->> 'xid' AS same_xid, b.j ->> 'lsn' = c.j ->> 'lsn' AS same_lsn
FROM e b JOIN e c ON c.n > b.n AND c.j ->> 'action' = 'commit' AND b.j ->> 'action' = 'begin'
 AND NOT EXISTS (SELECT 1 FROM e m WHERE m.n > b.n AND m.n < c.n AND m.j ->> 'action' IN ('begin', 'commit'));

-- consume, then nothing is left
SELECT count(*) > 0 AS consumed FROM pg_logical_slot_get_changes('basic', NULL, NULL);
SELECT count(*) AS left_over FROM pg_logical_slot_get_changes('basic', NULL, NULL);
SELECT 'drop' FROM pg_drop_replication_slot('basic');
DROP TABLE item, other, empty_xact;
