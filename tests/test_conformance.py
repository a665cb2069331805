"""format=test_decoding against PostgreSQL's own test_decoding, on the same
WAL: two slots (one per plugin) created at the same point, one workload
(DDL, savepoints, TOAST, rewrites, prepared transactions, origins,
messages, truncate, spill, streaming, the type matrix), then every option
set decoded by both. The output must be identical byte for byte, and bad
options must fail with the same SQLSTATE and message."""
import difflib
import pathlib

import psycopg2
import pytest

from conftest import dsn

TYPE_MATRIX = pathlib.Path(__file__).parent.parent / "pg_test" / "type_matrix.sql"

WORKLOAD = [
    "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric, b bool, bits bit(3))",
    "INSERT INTO t VALUES (1, 'it''s', 1.5, true, B'101'), (2, NULL, NULL, false, NULL)",
    "UPDATE t SET v = 'two' WHERE id = 2",
    "UPDATE t SET id = 3 WHERE id = 2",
    "DELETE FROM t WHERE id = 3",
    "ALTER TABLE t ADD COLUMN added text DEFAULT 'dflt'",
    "ALTER TABLE t DROP COLUMN n",
    "INSERT INTO t (id, v) VALUES (4, 'after ddl')",
    # savepoints
    "BEGIN; INSERT INTO t (id) VALUES (10); SAVEPOINT a; INSERT INTO t (id) VALUES (11); ROLLBACK TO a;"
    " SAVEPOINT b; INSERT INTO t (id) VALUES (12); RELEASE b; COMMIT",
    # TOAST, unchanged TOAST, REPLICA IDENTITY FULL and NOTHING
    "CREATE TABLE big (id int PRIMARY KEY, doc text, meta jsonb)",
    "ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL",
    "INSERT INTO big VALUES (1, repeat('x', 5000), '{\"a\": 1}')",
    "UPDATE big SET meta = '{\"a\": 2}' WHERE id = 1",
    "ALTER TABLE big REPLICA IDENTITY FULL",
    "UPDATE big SET meta = '{\"a\": 3}' WHERE id = 1",
    "DELETE FROM big WHERE id = 1",
    "CREATE TABLE nothing (id int, v text)",
    "ALTER TABLE nothing REPLICA IDENTITY NOTHING",
    "INSERT INTO nothing VALUES (1, 'a')",
    "UPDATE nothing SET v = 'b'",
    "DELETE FROM nothing",
    # a rewrite (ALTER COLUMN TYPE rewrites the table)
    "ALTER TABLE t ALTER COLUMN id TYPE bigint",
    # messages
    "SELECT pg_logical_emit_message(false, 'nontx', 'outside')",
    "BEGIN; SELECT pg_logical_emit_message(true, 'tx', 'inside'); COMMIT",
    "BEGIN; INSERT INTO t (id) VALUES (20); SELECT pg_logical_emit_message(true, 'tx', E'with\\nnewline'); COMMIT",
    # truncate
    "CREATE TABLE tr1 (id int PRIMARY KEY)",
    "CREATE TABLE tr2 (id int REFERENCES tr1)",
    "TRUNCATE tr1, tr2 RESTART IDENTITY CASCADE",
    "TRUNCATE tr2",
    # an origin
    "SELECT pg_replication_origin_create('conformance_origin')",
    "SELECT pg_replication_origin_session_setup('conformance_origin')",
    "INSERT INTO t (id, v) VALUES (30, 'from an origin')",
    "SELECT pg_replication_origin_session_reset()",
    # prepared transactions (decoded at PREPARE by the two-phase slots)
    "BEGIN; INSERT INTO t (id) VALUES (40); PREPARE TRANSACTION 'p1'",
    "COMMIT PREPARED 'p1'",
    "BEGIN; INSERT INTO t (id) VALUES (41); PREPARE TRANSACTION 'p''2 _nodecode'",
    "COMMIT PREPARED 'p''2 _nodecode'",
    "BEGIN; INSERT INTO t (id) VALUES (42); PREPARE TRANSACTION 'p\\3'",
    "ROLLBACK PREPARED 'p\\3'",
    # large transactions: spill (or stream with stream-changes), with a savepoint rollback
    "BEGIN; INSERT INTO t (id, v) SELECT g, repeat('s', 100) FROM generate_series(1000, 3000) g;"
    " SAVEPOINT s; INSERT INTO t (id) SELECT g FROM generate_series(5000, 5600) g; ROLLBACK TO s;"
    " DELETE FROM t WHERE id BETWEEN 1000 AND 1100; COMMIT",
    "BEGIN; INSERT INTO t (id) SELECT g FROM generate_series(6000, 7500) g; ROLLBACK",
    "BEGIN; INSERT INTO t (id, v) SELECT g, 'p' FROM generate_series(8000, 9500) g; PREPARE TRANSACTION 'big_prepared'",
    "COMMIT PREPARED 'big_prepared'",
    "BEGIN; INSERT INTO t (id) VALUES (9999); TRUNCATE tr2; COMMIT",
]

OPTION_SETS = [
    [],
    ["include-xids", "0", "skip-empty-xacts", "1"],
    ["include-timestamp", "1"],
    ["only-local", "1"],
    ["include-rewrites", "1"],
    ["stream-changes", "1"],
    ["stream-changes", "1", "skip-empty-xacts", "1", "include-xids", "0"],
    ["stream-changes", "1", "include-timestamp", "on", "only-local", "yes"],
]


@pytest.fixture
def decoded_workload(conn):
    cur = conn.cursor()
    slots = [("td", "test_decoding", False), ("wa", "wal2any", False),
             ("td2", "test_decoding", True), ("wa2", "wal2any", True)]
    for name, plugin, two_phase in slots:
        cur.execute("SELECT pg_create_logical_replication_slot(%s, %s, false, %s)", (name, plugin, two_phase))
    try:
        for statement in WORKLOAD:
            cur.execute(statement)
        # The type matrix, printed by output functions under these session settings.
        cur.execute("SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Asia/Kathmandu'")
        cur.execute(TYPE_MATRIX.read_text())
        cur.execute("SET logical_decoding_work_mem = '64kB'")
        yield cur
    finally:
        cur.execute("SELECT pg_replication_origin_drop('conformance_origin') "
                    "FROM pg_replication_origin WHERE roname = 'conformance_origin'")


def peek(cur, slot, options, binary=False):
    function = "pg_logical_slot_peek_binary_changes" if binary else "pg_logical_slot_peek_changes"
    cur.execute(f"SELECT data FROM {function}(%s, NULL, NULL, VARIADIC %s)", (slot, options))
    return [bytes(row[0]) if binary else row[0] for row in cur.fetchall()]


def assert_same(expected, actual, label):
    if expected != actual:
        diff = difflib.unified_diff([str(x) for x in expected], [str(x) for x in actual],
                                    "test_decoding", "wal2any", n=1, lineterm="")
        pytest.fail(f"{label}: outputs differ\n" + "\n".join(list(diff)[:60]))


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: " ".join(o) or "defaults")
def test_same_output_as_test_decoding(decoded_workload, options):
    cur = decoded_workload
    for reference, ours in (("td", "wa"), ("td2", "wa2")):
        expected = peek(cur, reference, options)
        actual = peek(cur, ours, ["format", "test_decoding"] + options)
        assert len(expected) > 100, "the workload decoded"
        assert_same(expected, actual, f"{reference} vs {ours} with {options}")


def test_force_binary_same_bytes(decoded_workload):
    cur = decoded_workload
    expected = peek(cur, "td", ["force-binary", "1"], binary=True)
    actual = peek(cur, "wa", ["format", "test_decoding", "force-binary", "1"], binary=True)
    assert_same(expected, actual, "force-binary")
    with pytest.raises(psycopg2.Error) as ours:
        peek(cur, "wa", ["format", "test_decoding", "force-binary", "1"])
    assert "produces binary output" in str(ours.value)


BAD_OPTIONS = [
    ["include-xids", "maybe"],
    ["no-such-option", "1"],
    ["include-lsn", "1"],
    ["stream-changes", "sometimes"],
    ["skip-empty-xacts", ""],
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: " ".join(o))
def test_same_errors_as_test_decoding(conn, database, options):
    errors = []
    for plugin, extra in (("test_decoding", []), ("wal2any", ["format", "test_decoding"])):
        c = psycopg2.connect(dsn(database))
        c.autocommit = True
        cur = c.cursor()
        cur.execute("SELECT pg_create_logical_replication_slot(%s, %s)", ("err_" + plugin, plugin))
        with pytest.raises(psycopg2.Error) as failure:
            peek(cur, "err_" + plugin, extra + options)
        errors.append((failure.value.pgcode, failure.value.diag.message_primary))
        c.close()
    assert errors[0] == errors[1]
