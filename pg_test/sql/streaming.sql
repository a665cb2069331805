-- Streaming of in-progress transactions (stream-changes) with
-- logical_decoding_work_mem = 64kB: a committed transaction with a
-- rolled-back savepoint, and an aborted one. Output varies in xids, so this
-- shows its shape; tests/test_streaming.py replays it as a consumer would.
SET client_min_messages = warning;
SET logical_decoding_work_mem = '64kB';
SELECT 'init' FROM pg_create_logical_replication_slot('strm', 'wal2any');
CREATE TABLE strm_t (id int PRIMARY KEY, data text);
BEGIN;
INSERT INTO strm_t SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;
SELECT 'm' FROM pg_logical_emit_message(true, 'kept', 'in the toplevel transaction');
SAVEPOINT s1;
SELECT 'm' FROM pg_logical_emit_message(true, 'dropped', 'in the savepoint');
INSERT INTO strm_t SELECT g, 'rolled back' FROM generate_series(1001, 1500) g;
ROLLBACK TO s1;
INSERT INTO strm_t VALUES (2000, 'after the savepoint');
COMMIT;
BEGIN;
INSERT INTO strm_t SELECT g, repeat('y', 100) FROM generate_series(3001, 4000) g;
ROLLBACK;
INSERT INTO strm_t VALUES (5000, 'small, not streamed');

CREATE TEMP TABLE ev AS
SELECT row_number() OVER () AS n, data::jsonb AS j
FROM pg_logical_slot_peek_changes('strm', NULL, NULL, 'stream-changes', '1', 'skip-empty-xacts', '1', 'include-xids', '0');
-- invariants of the stream (block sizes depend on memory accounting)
WITH blocks AS (
  SELECT e.n, e.j, (SELECT max(s.n) FROM ev s WHERE s.n <= e.n AND s.j ->> 'action' = 'stream_start') AS block_start,
         (SELECT max(s.n) FROM ev s WHERE s.n <= e.n AND s.j ->> 'action' = 'stream_stop') AS last_stop
  FROM ev e
)
SELECT count(*) FILTER (WHERE j ->> 'action' = 'stream_start') > 1 AS several_blocks,
       count(*) FILTER (WHERE j ->> 'action' = 'stream_start') = count(*) FILTER (WHERE j ->> 'action' = 'stream_stop') AS balanced,
       count(*) FILTER (WHERE j ->> 'action' = 'stream_start' AND (j ->> 'first_segment')::bool) AS first_segments,
       bool_and(j ->> 'xid' = (SELECT s.j ->> 'xid' FROM ev s WHERE s.n = block_start))
         FILTER (WHERE j ->> 'action' = 'insert' AND block_start > coalesce(last_stop, 0)) AS streamed_changes_carry_block_xid,
       count(*) FILTER (WHERE j ->> 'action' = 'insert' AND j ? 'subxid') > 0 AS savepoint_changes_carry_subxid,
       count(*) FILTER (WHERE j ->> 'action' = 'stream_commit') AS stream_commits
FROM blocks;
-- one stream_abort names the rolled-back savepoint, another the whole aborted transaction
SELECT count(*) FILTER (WHERE j ? 'subxid') AS subtransaction_aborts,
       count(*) FILTER (WHERE NOT j ? 'subxid') AS transaction_aborts
FROM ev WHERE j ->> 'action' = 'stream_abort';
-- streamed messages carry the subtransaction they were sent in, like rows:
-- the message of the rolled-back savepoint names the subxid its stream_abort
-- discards, so a consumer drops it with the rows
SELECT j ->> 'prefix' AS prefix, j ? 'subxid' AS has_subxid,
       (j ->> 'subxid') IS NOT DISTINCT FROM (SELECT a.j ->> 'subxid' FROM ev a
         WHERE a.j ->> 'action' = 'stream_abort' AND a.j ? 'subxid') AS subxid_of_the_aborted_savepoint
FROM ev WHERE j ->> 'action' = 'message' ORDER BY n;
-- the small transaction is not streamed: plain begin/insert/commit without xid (include-xids=0)
SELECT j FROM ev WHERE n > (SELECT max(n) FROM ev WHERE j ->> 'action' LIKE 'stream%');
-- without stream-changes the same WAL decodes as plain transactions
SELECT count(*) FILTER (WHERE data LIKE '{"action":"stream%') AS stream_events,
       count(*) FILTER (WHERE data LIKE '{"action":"insert"%') AS inserts
FROM pg_logical_slot_get_changes('strm', NULL, NULL);
SELECT 'drop' FROM pg_drop_replication_slot('strm');
DROP TABLE strm_t;
