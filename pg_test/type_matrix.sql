-- The type matrix: every built-in scalar type, plus arrays, enums, domains,
-- composites and ranges. Shared by pg_test/sql/types.sql (golden output) and
-- tests/test_type_matrix.py (parses each JSON line and compares values).
CREATE TYPE tm_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN tm_positive AS int CHECK (VALUE > 0);
CREATE DOMAIN tm_email AS text CHECK (VALUE LIKE '%@%');
CREATE DOMAIN tm_tags AS text[];
CREATE TYPE tm_pair AS (a int, b text);
CREATE TABLE type_matrix (
    id int PRIMARY KEY,
    c_bool bool, c_bytea bytea, c_char "char", c_name name, c_int2 int2, c_int4 int4, c_int8 int8,
    c_oid oid, c_float4 float4, c_float8 float8, c_numeric numeric, c_numeric_10_3 numeric(10,3),
    c_money money, c_text text, c_bpchar char(5), c_varchar varchar(10),
    c_json json, c_jsonb jsonb, c_jsonpath jsonpath, c_xml xml, c_uuid uuid,
    c_date date, c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz,
    c_interval interval, c_bit bit(4), c_varbit varbit,
    c_point point, c_lseg lseg, c_path path, c_box box, c_polygon polygon, c_line line, c_circle circle,
    c_inet inet, c_cidr cidr, c_macaddr macaddr, c_macaddr8 macaddr8,
    c_tid tid, c_xid xid, c_xid8 xid8, c_cid cid, c_pg_lsn pg_lsn, c_pg_snapshot pg_snapshot,
    c_txid_snapshot txid_snapshot, c_int2vector int2vector, c_oidvector oidvector,
    c_regproc regproc, c_regprocedure regprocedure, c_regoper regoper, c_regoperator regoperator,
    c_regclass regclass, c_regtype regtype, c_regrole regrole, c_regnamespace regnamespace,
    c_regcollation regcollation, c_regconfig regconfig, c_regdictionary regdictionary,
    c_aclitem aclitem, c_refcursor refcursor, c_tsvector tsvector, c_tsquery tsquery,
    c_int4range int4range, c_int8range int8range, c_numrange numrange, c_daterange daterange,
    c_tsrange tsrange, c_tstzrange tstzrange, c_int4multirange int4multirange,
    c_enum tm_mood, c_domain tm_positive, c_domain_text tm_email, c_domain_array tm_tags,
    c_composite tm_pair,
    c_int4_array int4[], c_int8_array int8[], c_text_array text[], c_2d_array int4[][],
    c_numeric_array numeric[], c_float8_array float8[], c_bool_array bool[], c_bytea_array bytea[],
    c_date_array date[], c_timestamptz_array timestamptz[], c_interval_array interval[],
    c_uuid_array uuid[], c_jsonb_array jsonb[], c_enum_array tm_mood[], c_positive_array tm_positive[],
    c_composite_array tm_pair[], c_int4range_array int4range[]
);
INSERT INTO type_matrix VALUES (
    1, true, '\xdeadbeef00', 'x', 'a name', 32767, -2147483648, 9223372036854775807,
    4294967295, 3.14159, 0.1, 123456789012345678901234567890.123456789012345678901234567890, 12.5,
    1234.56, E'line1\nline2\t"quoted" \\ ü €', 'ab', 'varchar',
    '{"a": [1, 2.5, "x"], "b": {"c": null}}', '{"b": [true, false], "a": {"n": 1e3}}', '$.a[*] ? (@ > 1)',
    '<a href="x">t</a>', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '2026-11-21', '13:14:15.123456', '13:14:15.5-05:30', '2026-11-21 13:14:15.123456', '2026-11-21 13:14:15.123456+02',
    '1 year 2 months 3 days 04:05:06.789', B'1010', B'110',
    '(1.5,2)', '[(0,0),(1,1)]', '((0,0),(1,1),(2,0))', '((2,2),(0,0))', '((0,0),(1,1),(1,0))', '{1,-1,0}', '<(0,0),2>',
    '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
    '(1,2)', '42', '4242', '7', '16/B374D848', '10:20:10,14,15', '10:20:10,14,15', '1 2 3', '1 2 3',
    'now', 'sum(int4)', '||/', '+(int4,int4)',
    'pg_class', 'integer', 'postgres', 'pg_catalog',
    '"C"', 'english', 'simple',
    '=r/postgres', 'my_cursor', 'a fat cat', 'fat & cat',
    '[1,5)', '[10,20]', '(1.5,2.5]', '[2026-01-01,2026-02-01)',
    '[2026-01-01 00:00,2026-01-02 00:00)', '[2026-01-01 00:00+00,2026-01-02 00:00+00)', '{[1,3),[5,7)}',
    'happy', 42, 'a@example.com', '{x,y}',
    ROW(1, 'one'),
    '{1,2,3}', '{-9223372036854775808,9223372036854775807}', '{a,"b c",NULL,"d\"e"}', '{{1,2},{3,4}}',
    '{1.5,NaN,-0.000001}', '{0.1,Infinity,-Infinity}', '{true,false,NULL}', '{"\\x00ff"}',
    '{2026-01-01,infinity}', '{"2026-01-01 00:00:00+00"}', '{"1 day","-2 hours"}',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', ARRAY['{"k": [1]}'::jsonb, 'null'], '{sad,ok}', '{1,2}',
    ARRAY[ROW(1, 'a')::tm_pair, ROW(2, NULL)::tm_pair], '{"[1,2)",empty}'
), (
    2, false, '\x', '', '', -32768, 2147483647, -9223372036854775808,
    0, '-Infinity', 'NaN', 'NaN', -0.001,
    -0.01, '', '', '',
    '[]', '"just a string"', '$', '', '00000000-0000-0000-0000-000000000000',
    '-infinity', '24:00:00', '00:00:00+14', '0044-03-15 12:00:00 BC', 'infinity',
    '-1 year -2 months -3 days -04:05:06.789', B'0000', B'',
    '(-1e300,1e-300)', '[(0,0),(0,0)]', '[(0,0)]', '((0,0),(0,0))', '((0,0))', '{0,1,0}', '<(0,0),0>',
    '::1', '::/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',
    '(0,0)', '0', '0', '0', '0/0', '10:10:', '10:10:', '', '',
    '0', '0', '0', '0',
    '0', '0', '0', '0',
    '0', '0', '0',
    NULL, '', '', '',
    'empty', 'empty', 'empty', 'empty',
    '(,)', '(,)', '{}',
    'sad', 1, '@', '{}',
    ROW(NULL, NULL),
    '{}', '{}', '{}', '{}',
    '{}', '{}', '{}', '{}',
    '{}', '{}', '{}',
    '{}', '{}', '{}', '{}',
    '{}', '{}'
);
-- every column NULL
INSERT INTO type_matrix (id) VALUES (3);
