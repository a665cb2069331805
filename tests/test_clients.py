"""wal2any through real clients: pg_recvlogical (options with -o, bare
options, a bad option), and a replication-protocol connection that runs
CREATE_REPLICATION_SLOT ... LOGICAL wal2any EXPORT_SNAPSHOT, copies the
existing data under the exported snapshot, then streams the changes made
after it: the full + incremental migration pattern."""
import json
import os
import select
import subprocess
import tempfile
import time

import psycopg2
import psycopg2.extras

from conftest import dsn

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def recvlogical(database, *args, check=True, env=None):
    cmd = [f"{PG_BIN}/pg_recvlogical", "-d", dsn(database), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=check,
                          env=None if env is None else {**os.environ, **env})


def current_lsn(cur):
    cur.execute("SELECT pg_current_wal_lsn()")
    return cur.fetchone()[0]


def test_pg_recvlogical_with_options_and_bare_options(conn, database):
    recvlogical(database, "--slot", "recv", "--create-slot", "--plugin=wal2any")
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id bigint PRIMARY KEY, name text)")
    cur.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    cur.execute("UPDATE t SET name = 'uno' WHERE id = 1")
    cur.execute("DELETE FROM t WHERE id = 2")
    cur.execute("SELECT pg_logical_emit_message(true, 'p', 'end')")
    end = current_lsn(cur)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "changes.jsonl")
        recvlogical(database, "--slot", "recv", "--start", "--no-loop", "--endpos", end, "-f", out,
                    "-o", "include-xids=0", "-o", "include-lsn", "-o", "skip-empty-xacts", "-o", "int8-as-string")
        with open(out, encoding="utf-8") as f:
            events = [json.loads(line) for line in f if line.strip()]
    actions = [e["action"] for e in events]
    assert actions == ["begin", "insert", "insert", "commit", "begin", "update", "commit",
                       "begin", "delete", "commit", "begin", "message", "commit"]
    # bare -o include-lsn means true; include-xids=0 is false; int8-as-string applies
    assert all("lsn" in e and "xid" not in e for e in events)
    assert events[1]["new"] == {"id": "1", "name": "one"}
    assert events[5]["key"] == {"id": "1"} and events[5]["new"]["name"] == "uno"
    assert events[8]["key"] == {"id": "2"}
    lsns = [int(e["lsn"].split("/")[0], 16) << 32 | int(e["lsn"].split("/")[1], 16) for e in events if e["action"] == "insert"]
    assert lsns == sorted(lsns)


def test_pg_recvlogical_reports_a_bad_option(conn, database):
    recvlogical(database, "--slot", "bad", "--create-slot", "--plugin=wal2any")
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id int)")
    result = recvlogical(database, "--slot", "bad", "--start", "--no-loop", "-f", "-", "--endpos", current_lsn(cur),
                         "-o", "include-xids=perhaps", check=False)
    assert result.returncode != 0
    assert 'option "include-xids" has invalid value "perhaps"' in result.stderr


def replication_connection(database):
    return psycopg2.connect(dsn(database), connection_factory=psycopg2.extras.LogicalReplicationConnection)


def read_until(repl_cur, action, timeout=60, poll=0.1, on_idle=None):
    """Reads messages, without ending replication, until an event with
    `action`; returns [(data_start, event)]. `on_idle` runs whenever no
    message is waiting."""
    events, deadline = [], time.time() + timeout
    while time.time() < deadline:
        msg = repl_cur.read_message()
        if msg is None:
            if on_idle is not None:
                on_idle()
            select.select([repl_cur], [], [], poll)
            continue
        events.append((msg.data_start, json.loads(msg.payload)))
        if events[-1][1]["action"] == action:
            return events
    raise AssertionError(f"no {action} within {timeout}s; got {events}")


def test_replication_protocol_create_slot_export_snapshot_and_stream(conn, database):
    cur = conn.cursor()
    cur.execute("CREATE TABLE account (id int PRIMARY KEY, balance numeric)")
    cur.execute("INSERT INTO account SELECT g, g * 10 FROM generate_series(1, 5) g")

    repl = replication_connection(database)
    repl_cur = repl.cursor()
    repl_cur.execute("CREATE_REPLICATION_SLOT migrate LOGICAL wal2any EXPORT_SNAPSHOT")
    slot_name, consistent_point, snapshot, plugin = repl_cur.fetchone()
    assert (slot_name, plugin) == ("migrate", "wal2any")

    # Changes after the slot exists: not in the snapshot, but in the stream.
    cur.execute("INSERT INTO account VALUES (6, 60)")
    cur.execute("UPDATE account SET balance = 0 WHERE id = 1")

    # Full copy under the exported snapshot sees exactly the 5 original rows.
    copier = psycopg2.connect(dsn(database))
    ccur = copier.cursor()
    ccur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    ccur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
    ccur.execute("SELECT id, balance FROM account ORDER BY id")
    assert ccur.fetchall() == [(i, i * 10) for i in range(1, 6)]
    copier.rollback()
    copier.close()

    # Incremental: the stream, with a bare option sent on the protocol.
    repl_cur.start_replication_expert(
        f"START_REPLICATION SLOT migrate LOGICAL {consistent_point} "
        "(\"include-lsn\", \"include-xids\" '0', \"skip-empty-xacts\" 'true')", decode=True)
    events = read_until(repl_cur, "update")
    changes = [e for _, e in events if e["action"] in ("insert", "update")]
    assert changes[0]["new"] == {"id": 6, "balance": 60}
    assert changes[1]["key"] == {"id": 1} and changes[1]["new"] == {"id": 1, "balance": 0}
    assert all("lsn" in e for _, e in events)
    # Confirming what was applied advances the slot (at-least-once delivery).
    repl_cur.send_feedback(flush_lsn=events[-1][0], force=True)
    deadline = time.time() + 10
    advanced = False
    while not advanced and time.time() < deadline:
        cur.execute("SELECT confirmed_flush_lsn > %s::pg_lsn FROM pg_replication_slots WHERE slot_name = 'migrate'",
                    (consistent_point,))
        advanced = cur.fetchone()[0]
        time.sleep(0.1)
    repl.close()
    assert advanced, "feedback advanced the slot"


def test_settings_from_pgoptions_reach_the_walsender(conn, database):
    """A consumer that cannot pass plugin options sets defaults per connection."""
    recvlogical(database, "--slot", "opts", "--create-slot", "--plugin=wal2any")
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY)")
    cur.execute("INSERT INTO t VALUES (1)")
    end = current_lsn(cur)
    settings = {"PGOPTIONS": "-c wal2any.include_xids=off -c wal2any.include_lsn=on -c wal2any.skip_empty_xacts=on"}
    result = recvlogical(database, "--slot", "opts", "--start", "--no-loop", "--endpos", end, "-f", "-", env=settings)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [e["action"] for e in events] == ["begin", "insert", "commit"]
    assert all("lsn" in e and "xid" not in e for e in events)


def test_long_filtered_transaction_keeps_the_walsender_talking(conn, database):
    """While every change of a long transaction is filtered out, wal2any
    reports progress, so the walsender keeps sending keepalives (and reading
    replies) instead of going silent until the transaction is decoded."""
    cur = conn.cursor()
    cur.execute("CREATE TABLE wanted (id int PRIMARY KEY); CREATE TABLE noise (id int)")
    repl = psycopg2.connect(dsn(database) + " options='-c wal_sender_timeout=2s'",
                            connection_factory=psycopg2.extras.LogicalReplicationConnection)
    repl_cur = repl.cursor()
    repl_cur.create_replication_slot("progress", output_plugin="wal2any")
    cur.execute("INSERT INTO noise SELECT generate_series(1, 2000000)")   # ~5.5 s to decode here
    cur.execute("INSERT INTO wanted VALUES (1)")
    # The client sends no status on its own: it only answers keepalives.
    repl_cur.start_replication(slot_name="progress", decode=True, status_interval=3600,
                               options={"add-tables": "public.wanted", "include-xids": "0"})
    contacts = set()
    events = read_until(repl_cur, "insert", timeout=120, poll=0.02, on_idle=lambda: contacts.add(repl_cur.io_timestamp))
    assert events[-1][1] == {"action": "insert", "schema": "public", "table": "wanted", "new": {"id": 1}}
    # Keepalives every wal_sender_timeout/2 while the noise was decoded.
    assert len(contacts) >= 3, f"only {len(contacts)} contacts from the walsender during the filtered transaction"
    # And the walsender did not time out: it is still there.
    cur.execute("SELECT count(*) FROM pg_stat_replication WHERE pid = %s", (repl.info.backend_pid,))
    assert cur.fetchone()[0] == 1
    repl.close()


def test_two_phase_slot_created_on_the_replication_protocol(conn, database):
    """CREATE_REPLICATION_SLOT ... LOGICAL wal2any (TWO_PHASE): a prepared
    transaction streams at PREPARE, with its GID, then COMMIT PREPARED."""
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY)")
    repl = replication_connection(database)
    repl_cur = repl.cursor()
    repl_cur.execute("CREATE_REPLICATION_SLOT tp LOGICAL wal2any (TWO_PHASE)")
    slot_name, consistent_point, _, plugin = repl_cur.fetchone()
    assert (slot_name, plugin) == ("tp", "wal2any")
    cur.execute("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'over the wire'")
    repl_cur.start_replication_expert(
        f"START_REPLICATION SLOT tp LOGICAL {consistent_point} (\"include-xids\" '0')", decode=True)
    try:
        events = [e for _, e in read_until(repl_cur, "prepare")]
        assert [e["action"] for e in events] == ["begin_prepare", "insert", "prepare"]
        assert events[-1]["gid"] == "over the wire"
        cur.execute("COMMIT PREPARED 'over the wire'")
        events = [e for _, e in read_until(repl_cur, "commit_prepared")]
        assert events == [{"action": "commit_prepared", "gid": "over the wire"}]
    finally:
        repl.close()
