-- Unchanged TOAST values: never detoasted, never NULL, never silently
-- dropped; listed in "unchanged_toast", optionally replaced by a placeholder.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('toast', 'wal2any');

CREATE TABLE doc (id int PRIMARY KEY, title text, body text, blob bytea, meta jsonb);
ALTER TABLE doc ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN blob SET STORAGE EXTERNAL,
                ALTER COLUMN meta SET STORAGE EXTERNAL;
INSERT INTO doc VALUES (1, 't', repeat('b', 5000), decode(repeat('ab', 3000), 'hex'),
                        jsonb_build_object('k', repeat('m', 4000)));
UPDATE doc SET title = 't2' WHERE id = 1;             -- body, blob, meta unchanged
UPDATE doc SET body = 'short now' WHERE id = 1;        -- blob, meta unchanged
UPDATE doc SET title = NULL, meta = NULL WHERE id = 1; -- blob unchanged
DELETE FROM doc WHERE id = 1;

-- the insert carries the full values (checked by length), updates list unchanged columns
SELECT data::jsonb ->> 'action' AS action,
       length(data::jsonb -> 'new' ->> 'body') AS body_len,
       length(data::jsonb -> 'new' ->> 'blob') AS blob_len,
       length(data::jsonb -> 'new' -> 'meta' ->> 'k') AS meta_k_len
FROM pg_logical_slot_peek_changes('toast', NULL, NULL, 'include-transaction', '0')
WHERE data LIKE '{"action":"insert"%';
SELECT data FROM pg_logical_slot_peek_changes('toast', NULL, NULL, 'include-xids', '0', 'include-transaction', '0')
WHERE data NOT LIKE '{"action":"insert"%';
SELECT data FROM pg_logical_slot_peek_changes('toast', NULL, NULL, 'include-xids', '0', 'include-transaction', '0',
    'unchanged-toast-placeholder', '__unchanged__')
WHERE data NOT LIKE '{"action":"insert"%';

-- REPLICA IDENTITY FULL logs the whole old row, toasted values included
ALTER TABLE doc REPLICA IDENTITY FULL;
INSERT INTO doc VALUES (2, 't', repeat('c', 5000), NULL, NULL);
UPDATE doc SET title = 'full' WHERE id = 2;
DELETE FROM doc WHERE id = 2;
SELECT data::jsonb ->> 'action' AS action,
       length(data::jsonb -> 'key' ->> 'body') AS old_body_len,
       data::jsonb -> 'unchanged_toast' AS unchanged
FROM pg_logical_slot_get_changes('toast', NULL, NULL, 'include-transaction', '0')
WHERE data::jsonb -> 'key' ->> 'id' = '2';

SELECT 'drop' FROM pg_drop_replication_slot('toast');
DROP TABLE doc;
