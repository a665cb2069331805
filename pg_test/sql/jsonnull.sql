-- The JSON literal null in a json/jsonb column is not SQL NULL: both are
-- written `null` (the column's value), and `json_null` lists the JSON
-- Pointers (RFC 6901) of the values that are the JSON literal, in `new`
-- and, for the key, in `key_json_null`. Nested nulls are not listed (they
-- are unambiguous), nor are SQL NULLs.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('jnull', 'wal2any');
CREATE TABLE j (id int PRIMARY KEY, a jsonb, b json, "we/ird~" jsonb, arr jsonb[], grid json[]);
ALTER TABLE j REPLICA IDENTITY FULL;
INSERT INTO j VALUES (1, 'null', ' null ', 'null', ARRAY['1', 'null', NULL]::jsonb[], ARRAY[ARRAY['null', '1'], ARRAY['2', NULL]]::json[]);
INSERT INTO j VALUES (2, NULL, NULL, NULL, NULL, NULL);
INSERT INTO j VALUES (3, '{"x": null}', '[null]', '"null"', '{}', '{}');
UPDATE j SET a = '1' WHERE id = 1;
DELETE FROM j WHERE id = 2;
SELECT data FROM pg_logical_slot_get_changes('jnull', NULL, NULL, 'include-xids', '0', 'include-transaction', '0');
-- the lists tell a consumer which value to store: JSON null or SQL NULL
SELECT 'drop' FROM pg_drop_replication_slot('jnull');
DROP TABLE j;
