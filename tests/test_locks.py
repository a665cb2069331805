"""Decoding through a replication connection (walsender) never waits on a
lock held by the transaction being decoded: a prepared transaction that
took ACCESS EXCLUSIVE (LOCK TABLE, CLUSTER, REINDEX, TRUNCATE, ALTER TABLE
with and without a rewrite, REPLICA IDENTITY, ADD PRIMARY KEY) arrives at
once, in every format and with include-pk (the primary key lookup was a
lock path of its own); so do the stream blocks of an open transaction that
holds such a lock. A callback that waited would never return: the prepared
transaction never ends by itself, and the open one only when its writer
commits, after it reads what we wait for. So each wait is bounded by a
hang guard of 20 s (decoding these takes well under a second here).

VACUUM FULL cannot run inside a transaction block, so it cannot be
prepared: CLUSTER rewrites the table and its indexes the same way under
the same lock. pg_test/sql/locks.sql is the same through the SQL functions
(with statement_timeout = 5s)."""
import json
import os
import select
import time

import psycopg2
import pytest

from conftest import dsn
from test_replication_path import flushed_end, protocol_path, read_to_end, recv_path, replication_connection

HANG_GUARD = 20
COMMANDS = {
    "lock": "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
    "cluster": "CLUSTER t USING t_pkey",
    "reindex": "REINDEX TABLE t",
    "truncate": "TRUNCATE t",
    "add_column": "ALTER TABLE t ADD COLUMN extra text DEFAULT 'x'",
    "alter_type": "ALTER TABLE t ALTER COLUMN n TYPE bigint",
    "identity_full": "ALTER TABLE t REPLICA IDENTITY FULL",
    "add_primary_key": "ALTER TABLE t DROP CONSTRAINT t_pkey, ADD PRIMARY KEY (id, n)",
}
FORMATS = {
    "json": {"format": "json", "include-pk": "on", "include-xids": "off"},
    "protobuf": {"format": "protobuf"},
    "avro": {"format": "avro"},
    "test_decoding": {"format": "test_decoding"},
}
CHANGES = ("INSERT INTO t VALUES (1, 'one', 1), (2, 'two', 2), (10, 'after the command', 10);"
           "UPDATE t SET v = 'changed' WHERE id = 1; DELETE FROM t WHERE id = 2")


class SharedServer:
    """The cluster scripts/test started (PGHOST/PGPORT), with the interface
    of tests/cluster.py's Cluster that test_replication_path's paths use."""

    def dsn(self, db):
        return dsn(db)

    def connect(self, db, autocommit=True):
        conn = psycopg2.connect(dsn(db))
        conn.autocommit = autocommit
        return conn

    def env(self):
        return dict(os.environ)


@pytest.fixture
def locked_table(conn):
    """A table and two-phase slots; the prepared transaction (which holds
    the lock) is rolled back whatever happens, so cleaning up never waits."""
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text, n int)")
    for slot in (*FORMATS, "recv"):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any', false, true)", (slot,))
    yield cur
    cur.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active_pid IS NOT NULL "
                "AND database = current_database()")
    cur.execute("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")
    for (gid,) in cur.fetchall():
        cur.execute("ROLLBACK PREPARED %s", (gid,))


@pytest.mark.parametrize("command", COMMANDS)
def test_prepared_transaction_holding_access_exclusive_arrives_at_once(locked_table, database, tmp_path, command):
    cur, server = locked_table, SharedServer()
    # The rows are inserted in the prepared transaction itself (TRUNCATE
    # would remove rows inserted before).
    cur.execute(f"BEGIN; {COMMANDS[command]}; {CHANGES}; PREPARE TRANSACTION 'locked'")
    end = flushed_end(cur)
    for fmt, options in FORMATS.items():
        messages = protocol_path(server, database, fmt, options, end, confirm=True, timeout=HANG_GUARD)
        assert len(messages) >= 7, f"{fmt}: {messages}"     # begin, 3 inserts, update, delete, prepare
        if fmt == "json":
            events = [json.loads(m) for m in messages]
            changes = [e["action"] for e in events if e["action"] in ("insert", "update", "delete")]
            assert changes == ["insert", "insert", "insert", "update", "delete"]
            assert events[-1] == {"action": "prepare", "gid": "locked"}
            assert all(e["pk"] for e in events if e["action"] in changes)
        if fmt == "test_decoding":
            assert messages[-1].startswith(b"PREPARE TRANSACTION 'locked'")
    data = recv_path(server, database, "recv", FORMATS["json"], end, tmp_path / "out", timeout=HANG_GUARD)
    assert data.splitlines()[-1] == b'{"action":"prepare","gid":"locked"}'
    cur.execute("COMMIT PREPARED 'locked'")
    end = flushed_end(cur)
    messages = protocol_path(server, database, "json", FORMATS["json"], end, timeout=HANG_GUARD)
    assert messages == [b'{"action":"commit_prepared","gid":"locked"}']


@pytest.mark.parametrize("command", ["cluster", "truncate", "alter_type"])
def test_streamed_blocks_of_an_open_transaction_holding_access_exclusive(locked_table, database, command):
    """stream-changes with 64kB of work memory: the blocks of an open
    transaction that took ACCESS EXCLUSIVE arrive while it is still open."""
    cur = locked_table
    writer = psycopg2.connect(dsn(database))
    wcur = writer.cursor()
    wcur.execute(COMMANDS[command])
    wcur.execute("INSERT INTO t SELECT g, repeat('x', 200), g FROM generate_series(1, 3000) g")   # ~700 kB
    repl = replication_connection(SharedServer(), database)
    try:
        rcur = repl.cursor()
        rcur.start_replication(slot_name="json", decode=False, status_interval=1,
                               options={**FORMATS["json"], "stream-changes": "on"})
        # A whole block: its stream_stop.
        blocks = read_until_event(rcur, "stream_stop")
        assert any(json.loads(m)["action"] == "insert" for m in blocks)
        writer.commit()
        end = flushed_end(cur)
        rest = read_to_end(rcur, end, HANG_GUARD)
        assert json.loads(rest[-1])["action"] == "stream_commit"
    finally:
        repl.close()
        writer.close()


def read_until_event(repl_cur, action):
    """Messages until a JSON event with `action`, within the hang guard."""
    messages, deadline = [], time.time() + HANG_GUARD
    while time.time() < deadline:
        msg = repl_cur.read_message()
        if msg is None:
            select.select([repl_cur], [], [], 0.2)
            continue
        messages.append(bytes(msg.payload))
        if json.loads(msg.payload)["action"] == action:
            return messages
    raise AssertionError(f"no {action} within {HANG_GUARD}s ({len(messages)} messages): a callback waits on a lock")
