-- The demo workload: run by scripts/demo against a throwaway cluster.
\pset tuples_only on
\pset format unaligned
SELECT 'demo' FROM pg_create_logical_replication_slot('demo', 'wal2any');
SELECT 'demo' FROM pg_create_logical_replication_slot('demo_avro', 'wal2any');

CREATE TABLE account (
    id bigint PRIMARY KEY,
    owner text NOT NULL,
    balance numeric(12,2),
    opened timestamptz,
    tags text[],
    profile jsonb,
    notes text            -- large: stored out of line (TOAST)
);
ALTER TABLE account ALTER COLUMN notes SET STORAGE EXTERNAL;

BEGIN;
INSERT INTO account VALUES
    (1, 'Ada', 1234.50, '2026-11-21 09:30:00+00', '{vip,"early adopter"}',
     '{"lang": "en", "limits": {"daily": 500}}', repeat('long note ', 400)),
    (2, 'Grace', 99.99, '2026-11-21 10:00:00+01', NULL, '{"lang": "fr"}', 'short');
SELECT pg_logical_emit_message(true, 'audit', 'two accounts opened');
COMMIT;

-- notes is not touched: its TOAST value is unchanged and is not in the WAL.
UPDATE account SET balance = balance + 100 WHERE id = 1;
DELETE FROM account WHERE id = 2;
SELECT pg_logical_emit_message(false, 'heartbeat', 'non-transactional');
CREATE TABLE audit_log (id serial PRIMARY KEY, line text);
INSERT INTO audit_log (line) VALUES ('to be truncated');
TRUNCATE audit_log RESTART IDENTITY;

\echo
\echo '== format=json (default options): one JSON document per event'
\echo '   (the 4,000-character notes value is shortened here for display)'
SELECT regexp_replace(data, '(long note ){3}(long note )+', '\1... ')
FROM pg_logical_slot_peek_changes('demo', NULL, NULL, 'skip-empty-xacts', '1', 'include-xids', '0');

\echo
\echo '== the UPDATE transaction with include-timestamp, include-lsn, include-types, unchanged-toast-placeholder'
WITH events AS (
  SELECT row_number() OVER () AS n, data
  FROM pg_logical_slot_peek_changes('demo', NULL, NULL, 'skip-empty-xacts', '1',
      'include-timestamp', '1', 'include-lsn', '1', 'include-types', '1',
      'unchanged-toast-placeholder', '__unchanged_toast__')
)
SELECT data FROM events
WHERE n BETWEEN (SELECT n - 1 FROM events WHERE data LIKE '%"update"%')
            AND (SELECT n + 1 FROM events WHERE data LIKE '%"update"%');

\echo
\echo '== format=json, pretty-print, int8-as-string and numeric-as-string (the UPDATE only)'
SELECT data FROM pg_logical_slot_peek_changes('demo', NULL, NULL, 'pretty-print', '1',
    'int8-as-string', '1', 'numeric-as-string', '1', 'include-xids', '0')
WHERE data LIKE '%"update"%';

\echo
\echo '== format=test_decoding: PostgreSQL test_decoding text, byte for byte (the UPDATE and DELETE)'
SELECT data FROM pg_logical_slot_peek_changes('demo', NULL, NULL, 'format', 'test_decoding',
    'include-xids', '0', 'skip-empty-xacts', '1')
WHERE data LIKE 'table public.account: UPDATE%' OR data LIKE 'table public.account: DELETE%'
   OR data LIKE 'table public.audit_log: TRUNCATE%';

\echo
\echo '== format=protobuf: binary wal2any.v1.Event messages (first 6, hex; decoded below by examples/consume_protobuf.py)'
SELECT length(data) || ' bytes: ' || encode(data, 'hex')
FROM pg_logical_slot_peek_binary_changes('demo', NULL, NULL, 'format', 'protobuf', 'skip-empty-xacts', '1')
WHERE length(data) < 100 LIMIT 6;

\echo
\echo '== a bad option is a clear error at startup'
\set ON_ERROR_STOP 0
SELECT data FROM pg_logical_slot_peek_changes('demo', NULL, NULL, 'format', 'xml');
\set ON_ERROR_STOP 1
