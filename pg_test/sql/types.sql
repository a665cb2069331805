-- The type matrix decoded as JSON, under session settings chosen to break
-- anything that depends on them (DateStyle, TimeZone, IntervalStyle,
-- extra_float_digits, bytea_output): the output must not change.
SET client_min_messages = warning;
SELECT 'init' FROM pg_create_logical_replication_slot('types', 'wal2any');
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kathmandu';
SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = -15;
SET bytea_output = 'escape';
\i type_matrix.sql
SELECT data FROM pg_logical_slot_peek_changes('types', NULL, NULL, 'include-xids', '0', 'include-transaction', '0')
WHERE data LIKE '{"action":"insert"%';
-- every line is valid JSON
SELECT count(*) AS rows, count(data::jsonb) AS valid_json
FROM pg_logical_slot_get_changes('types', NULL, NULL, 'include-xids', '0');
-- types and type OIDs of every column, with typmods
INSERT INTO type_matrix (id) VALUES (4);
CREATE TEMP TABLE typed AS SELECT data::jsonb AS j FROM pg_logical_slot_get_changes('types', NULL, NULL,
    'include-xids', '0', 'include-transaction', '0', 'include-types', '1', 'include-type-oids', '1');
SELECT jsonb_pretty(j -> 'types') FROM typed;
-- type_oids agree with the catalog for every column (user type OIDs vary between runs)
SELECT count(*) AS columns, count(*) FILTER (WHERE o.value::text::oid = a.atttypid) AS matching
FROM typed, jsonb_each(j -> 'type_oids') o
JOIN pg_attribute a ON a.attrelid = 'type_matrix'::regclass AND a.attname = o.key;
SELECT 'drop' FROM pg_drop_replication_slot('types');
DROP TABLE type_matrix;
DROP TYPE tm_pair, tm_mood;
DROP DOMAIN tm_positive, tm_email, tm_tags;
