"""The replication path as a first-class tier: a replication connection
decodes, byte for byte, what the SQL functions decode from the same WAL, in
every format, with origins, origin filters, streaming and two-phase on.

Three paths read the same WAL up to the same end LSN, with
logical_decoding_work_mem = 64kB (the SQL session's SET, PGOPTIONS, the
connection's options):
  sql       pg_logical_slot_{peek,get}_binary_changes(slot, end, ...) on a
            fresh connection (cold caches, like a new walsender);
  recv      pg_recvlogical --endpos end -f FILE: FILE must be the SQL rows,
            each followed by its newline (binary formats with
            framing=varint-newline on both sides);
  protocol  psycopg2's LogicalReplicationConnection, options on the wire,
            raw payloads (decode=False).
pg_recvlogical empties search_path, the others keep public in it: type
names (JSON include-types, Protobuf relations, Avro schemas) must not
change. `end` is pg_current_wal_lsn(), once flushed, after the last commit. The SQL functions stop after the record reaching upto_lsn;
pg_recvlogical after writing the message at `end` (a commit's position is
its end LSN) or at a keepalive past it, dropping any message past `end`;
the protocol client stops the same way.

Workloads: tests/crossformat.py's plus transactions under a second origin
(streamed with savepoints, prepared, streamed and prepared, messages); the
pg_test scenarios streaming, twophase, origins, messages, consumed stage by
stage; a live pg_recvlogical reconnecting across streamed and prepared
transactions under an origin (this crashed the server with SIGSEGV at
every reconnect). On a cluster of its own (tests/cluster.py): 25 slots at
once, and no autovacuum, whose ANALYZE would invalidate relations at
moments that differ between paths (Protobuf re-sends a relation then)."""
import contextlib
import difflib
import json
import select
import signal
import subprocess
import time

import psycopg2
import psycopg2.extras
import pytest

from cluster import PG_BIN, Cluster
from crossformat import WORK_MEM, lsn_number, run_workload, varint_frames

CONF = ["autovacuum = off", "max_replication_slots = 40", "max_wal_senders = 16"]
BINARY_FORMATS = ("protobuf", "avro")
ORIGIN = "node_c"           # the second origin, added to crossformat's node_b_<db>
BASE = {"stream-changes": "on", "include-origin": "on", "include-lsn": "on", "include-timestamp": "on"}
OPTION_SETS = {
    "base": BASE,
    "exclude": {**BASE, "exclude-origins": ORIGIN},
    "include": {**BASE, "include-origins": ORIGIN},
    "only_local": {**BASE, "only-local": "on"},
    "skip_empty": {"stream-changes": "on", "skip-empty-xacts": "on"},
    "types": {**BASE, "include-types": "on", "include-pk": "on"},       # JSON only
}
CASES = [(fmt, name) for fmt in ("json", *BINARY_FORMATS) for name in OPTION_SETS if name != "types" or fmt == "json"]
# test_decoding accepts only test_decoding's options.
TD_OPTION_SETS = {
    "base": {"stream-changes": "on", "include-timestamp": "on"},
    "only_local": {"stream-changes": "on", "only-local": "on"},
    "skip_empty": {"stream-changes": "on", "skip-empty-xacts": "on", "include-xids": "off"},
}


@pytest.fixture(scope="module")
def server():
    with Cluster("replpath", conf=CONF) as c:
        yield c


@pytest.fixture(autouse=True)
def no_crash(server):
    """A test fails when the server log shows a crashed process."""
    before = len(server.crashes())
    yield
    assert server.crashes()[before:] == []


@contextlib.contextmanager
def session(server, db):
    conn = server.connect(db)
    try:
        yield conn.cursor()
    finally:
        conn.close()


def poll(cur, query, args, what, timeout=60):
    """Waits until `query` returns true."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        cur.execute(query, args)
        if cur.fetchone()[0]:
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def new_database(server, name):
    with session(server, "postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")


def flushed_end(cur):
    """The insert position, once flushed (the SQL functions and the
    walsender read flushed WAL only)."""
    cur.execute("SELECT pg_current_wal_lsn()")
    end = cur.fetchone()[0]
    poll(cur, "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", (end,), f"WAL flushed up to {end}")
    return end


def create_slots(cur, names, two_phase=True, plugin="wal2any"):
    for name in names:
        cur.execute("SELECT pg_create_logical_replication_slot(%s, %s, false, %s)", (name, plugin, two_phase))


def options_for(fmt, options, framed):
    opts = {"format": fmt, **options}
    if framed and fmt in BINARY_FORMATS:
        opts["framing"] = "varint-newline"
    return opts


# --- the three paths ---------------------------------------------------

def sql_path(server, db, slot, options, end, consume=False):
    """The SQL functions, on a fresh connection (cold caches, as a new
    walsender has): one bytes object per message."""
    flat = [x for kv in options.items() for x in kv]
    with session(server, db) as cur:
        cur.execute(f"SET logical_decoding_work_mem = '{WORK_MEM}'")
        cur.execute(f"SELECT data FROM pg_logical_slot_{'get' if consume else 'peek'}_binary_changes"
                    f"(%s, %s, NULL{', %s' * len(flat)})", [slot, end, *flat])
        return [bytes(r[0]) for r in cur.fetchall()]


def wait_inactive(server, db, slot):
    """A walsender that just ended may hold its slot a moment longer."""
    with session(server, db) as cur:
        poll(cur, "SELECT NOT active FROM pg_replication_slots WHERE slot_name = %s", (slot,), f"{slot} released")


def recvlogical_cmd(server, db, slot, options, out, *extra):
    flags = [x for k, v in options.items() for x in ("-o", f"{k}={v}")]
    return [str(PG_BIN / "pg_recvlogical"), "-d", server.dsn(db), "--slot", slot, "--start", "-f", str(out),
            *extra, *flags]


def recvlogical_env(server):
    return {**server.env(), "PGOPTIONS": f"-c logical_decoding_work_mem={WORK_MEM}"}


def recv_path(server, db, slot, options, end, out, timeout=300):
    """pg_recvlogical --endpos: the file's bytes."""
    wait_inactive(server, db, slot)
    cmd = recvlogical_cmd(server, db, slot, options, out, "--no-loop", "--endpos", end)
    result = subprocess.run(cmd, capture_output=True, timeout=timeout, env=recvlogical_env(server))
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return out.read_bytes()


def replication_connection(server, db):
    return psycopg2.connect(server.dsn(db) + f" options='-c logical_decoding_work_mem={WORK_MEM}'",
                            connection_factory=psycopg2.extras.LogicalReplicationConnection)


def read_to_end(repl_cur, end, timeout=300):
    """Raw payloads up to `end`, stopping where pg_recvlogical stops."""
    end, messages, deadline = lsn_number(end), [], time.time() + timeout
    while time.time() < deadline:
        msg = repl_cur.read_message()
        if msg is None:
            # XLogData and keepalives carry the walsender's position: past
            # `end`, everything up to `end` has been sent.
            if repl_cur.wal_end >= end:
                return messages
            select.select([repl_cur], [], [], 0.2)
            continue
        if msg.data_start > end:
            return messages
        messages.append(bytes(msg.payload))
        if msg.data_start == end:
            return messages
    raise AssertionError(f"the walsender did not reach {end:X} within {timeout}s ({len(messages)} messages)")


def protocol_path(server, db, slot, options, end, confirm=False, timeout=300):
    """A replication-protocol client: raw payloads up to `end`. With
    `confirm` it reports `end` as flushed and the slot advances, as for a
    consumer that applied everything."""
    wait_inactive(server, db, slot)
    repl = replication_connection(server, db)
    try:
        cur = repl.cursor()
        # status_interval 1 s: psycopg2 answers keepalives, so the walsender
        # keeps sending its position while we wait for `end`.
        cur.start_replication(slot_name=slot, decode=False, options=options, status_interval=1)
        messages = read_to_end(cur, end, timeout)
        if confirm:
            cur.send_feedback(flush_lsn=lsn_number(end), force=True)
            with session(server, db) as check:
                poll(check, "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots "
                     "WHERE slot_name = %s", (end, slot), f"{slot} confirmed up to {end}")
        return messages
    finally:
        repl.close()


def newline_file(rows):
    """What pg_recvlogical writes for these messages: each and a newline."""
    return b"".join(row + b"\n" for row in rows)


def assert_same_messages(expected, got, label):
    if expected == got:
        return
    show = [repr(x)[:300] for x in expected], [repr(x)[:300] for x in got]
    diff = difflib.unified_diff(*show, "sql", label, n=1, lineterm="")
    pytest.fail(f"{label}: {len(got)} messages, the SQL path {len(expected)}\n" + "\n".join(list(diff)[:40]))


def assert_same_file(expected_rows, data, binary, label):
    """pg_recvlogical's file: the SQL rows, each followed by a newline. On
    a difference, shows it message by message."""
    if data == newline_file(expected_rows):
        return
    if binary:     # varint_frames reads a SQL row's frame without the newline
        expected_rows = [varint_frames(row)[0] for row in expected_rows]
        got = [frame[:-1] for frame in varint_frames(data)]
    else:
        got = data.split(b"\n")[:-1]
    assert_same_messages(expected_rows, got, label)
    pytest.fail(f"{label}: the file differs from the SQL rows, each followed by a newline")


def json_events(rows):
    return [json.loads(r) for r in rows]


def actions(rows):
    return [e["action"] for e in json_events(rows)]


# --- the cross-format workload through every path ----------------------

def under_origin(cur, origin, *statements):
    cur.execute("SELECT pg_replication_origin_session_setup(%s)", (origin,))
    for statement in statements:
        cur.execute(statement)
    cur.execute("SELECT pg_replication_origin_session_reset()")


# About 200 kB of changes: streamed with 64kB of work memory.
STREAMED_UNDER_ORIGIN = (
    "BEGIN; INSERT INTO from_origin SELECT g, repeat('o', 200) FROM generate_series(10, 1000) g;"
    "SAVEPOINT kept; SELECT pg_logical_emit_message(true, 'origin-sub', 'in a subtransaction');"
    "INSERT INTO from_origin VALUES (1001, 'released'); RELEASE kept;"
    "SAVEPOINT gone; INSERT INTO from_origin SELECT g, repeat('r', 200) FROM generate_series(2000, 2400) g;"
    "ROLLBACK TO gone; COMMIT")


def origin_workload(cur, origin):
    """Transactions under `origin`: plain, streamed with savepoints and a
    transactional message in a subtransaction, a non-transactional message,
    prepared then committed or rolled back, streamed and prepared."""
    cur.execute("CREATE TABLE from_origin (id int PRIMARY KEY, pad text)")
    cur.execute("SELECT pg_replication_origin_create(%s)", (origin,))
    under_origin(
        cur, origin,
        "BEGIN; SELECT pg_replication_origin_xact_setup('0/CD', '2026-01-01 00:00+00');"
        "INSERT INTO from_origin VALUES (1, 'small'); COMMIT",
        STREAMED_UNDER_ORIGIN,
        "SELECT pg_logical_emit_message(false, 'origin-nontx', 'outside a transaction')",
        "BEGIN; INSERT INTO from_origin VALUES (3000, 'prepared'); PREPARE TRANSACTION 'origin_p1'",
        "COMMIT PREPARED 'origin_p1'",
        "BEGIN; INSERT INTO from_origin VALUES (3001, 'rolled back'); PREPARE TRANSACTION 'origin_p2'",
        "ROLLBACK PREPARED 'origin_p2'",
        "BEGIN; INSERT INTO from_origin SELECT g, repeat('p', 200) FROM generate_series(4000, 5000) g;"
        "SELECT pg_logical_emit_message(true, 'origin-tx', 'streamed and prepared');"
        "PREPARE TRANSACTION 'origin_p3'",
        "COMMIT PREPARED 'origin_p3'")


@pytest.fixture(scope="module")
def workload(server):
    """Every slot created at the same point, the workload, and `end`. The
    SQL and protocol paths share a slot they never advance; each
    pg_recvlogical run has its own."""
    db = "replpath"
    new_database(server, db)
    conn = server.connect(db)
    cur = conn.cursor()
    create_slots(cur, ["shared"] + [f"recv_{fmt}_{name}" for fmt, name in CASES] +
                 [f"recv_test_decoding_{name}" for name in TD_OPTION_SETS])
    create_slots(cur, ["shared_td"] + [f"recv_td_{name}" for name in TD_OPTION_SETS], plugin="test_decoding")
    run_workload(conn)
    origin_workload(cur, ORIGIN)
    cur.execute("CREATE TABLE the_end (id int); INSERT INTO the_end VALUES (1)")   # a local commit
    end = flushed_end(cur)
    conn.close()
    return db, end


def assert_origin_filter(name, events):
    """The filters filtered: rows, messages and prepared transactions of a
    filtered origin are absent, the others' present."""
    ours = [e for e in events if e.get("table") == "from_origin" or e.get("prefix", "").startswith("origin-")
            or e.get("gid", "").startswith("origin_")]
    node_b = [e for e in events if e.get("new", {}).get("v") == "from node_b"]
    assert [e for e in events if e.get("table") == "the_end"], "local changes always pass"
    if name in ("exclude", "only_local"):
        assert ours == [], f"{name}: events of {ORIGIN} passed"
    else:
        assert len(ours) > 1900
        assert [e for e in ours if e["action"] == "stream_prepare"], "the streamed prepared transaction"
    assert len(node_b) == (0 if name in ("include", "only_local") else 1)


@pytest.mark.parametrize("fmt,name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_replication_paths_equal_the_sql_path(server, workload, tmp_path, fmt, name):
    db, end = workload
    plain = options_for(fmt, OPTION_SETS[name], framed=False)
    expected = sql_path(server, db, "shared", plain, end)
    assert len(expected) > 1000, "the workload decoded"
    if fmt == "json":
        assert_origin_filter(name, json_events(expected))
        assert any(e["action"] == "stream_start" for e in json_events(expected)), "transactions streamed"

    got = protocol_path(server, db, "shared", plain, end)
    assert_same_messages(expected, got, f"protocol client {fmt} {name}")

    framed = options_for(fmt, OPTION_SETS[name], framed=True)
    expected_framed = sql_path(server, db, "shared", framed, end) if framed != plain else expected
    data = recv_path(server, db, f"recv_{fmt}_{name}", framed, end, tmp_path / "out")
    assert_same_file(expected_framed, data, fmt in BINARY_FORMATS, f"pg_recvlogical {fmt} {name}")


@pytest.mark.parametrize("name", TD_OPTION_SETS)
def test_test_decoding_format_equals_test_decoding_on_every_path(server, workload, tmp_path, name):
    """format=test_decoding is test_decoding's text on each path. (Not the
    SQL path's text on the others: test_decoding prints type names as
    format_type() does in the decoding process, "public.tm_mood" under
    pg_recvlogical's empty search_path.)"""
    db, end = workload
    options = TD_OPTION_SETS[name]
    ours = {"format": "test_decoding", **options}
    expected = sql_path(server, db, "shared_td", options, end)
    assert len(expected) > 1000, "the workload decoded"
    assert_same_messages(expected, sql_path(server, db, "shared", ours, end), f"SQL test_decoding {name}")
    expected = protocol_path(server, db, "shared_td", options, end)
    assert_same_messages(expected, protocol_path(server, db, "shared", ours, end), f"protocol client {name}")
    expected = recv_path(server, db, f"recv_td_{name}", options, end, tmp_path / "td")
    got = recv_path(server, db, f"recv_test_decoding_{name}", ours, end, tmp_path / "ours")
    assert_same_file(expected.split(b"\n")[:-1], got, False, f"pg_recvlogical {name}")


# --- staged consumers: the pg_test scenarios ---------------------------

class Consumers:
    """One consumer per path, each on its own slot created at the same
    point, each consuming (confirming) up to the current end after every
    stage of a scenario, as live consumers do. Keeps the SQL path's rows."""

    def __init__(self, server, db, name, options, tmp, two_phase=True):
        self.server, self.db, self.name, self.tmp = server, db, name, tmp
        self.plain = options_for(options["format"], options, framed=False)
        self.framed = options_for(options["format"], options, framed=True)
        self.binary = options["format"] in BINARY_FORMATS
        self.rows, self.framed_rows = [], []
        with session(server, db) as cur:
            create_slots(cur, [f"{path}_{name}" for path in ("sql", "sqlf", "recv", "proto")], two_phase)

    def stage(self):
        """Every path reads to the current end; returns the SQL path's rows."""
        with session(self.server, self.db) as cur:
            end = flushed_end(cur)
        label = f"{self.name} stage {len(self.rows) + 1}"
        expected = sql_path(self.server, self.db, f"sql_{self.name}", self.plain, end, consume=True)
        got = protocol_path(self.server, self.db, f"proto_{self.name}", self.plain, end, confirm=True)
        assert_same_messages(expected, got, f"protocol client {label}")
        framed = sql_path(self.server, self.db, f"sqlf_{self.name}", self.framed, end, consume=True)
        data = recv_path(self.server, self.db, f"recv_{self.name}", self.framed, end, self.tmp / f"{label}.out")
        assert_same_file(framed, data, self.binary, f"pg_recvlogical {label}")
        self.rows.append(expected)
        self.framed_rows.extend(framed)
        return expected


@pytest.fixture
def scenario(server):
    """A database for one scenario, dropped with its slots afterwards."""
    db = "scenario"
    new_database(server, db)
    conn = server.connect(db)
    yield db, conn.cursor()
    conn.close()
    with session(server, "postgres") as admin:
        admin.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE active")
        admin.execute(f"DROP DATABASE {db} WITH (FORCE)")


STAGE_FORMATS = ("json", *BINARY_FORMATS)


@pytest.mark.parametrize("fmt", STAGE_FORMATS)
def test_streaming_scenario(server, scenario, tmp_path, fmt):
    """pg_test/sql/streaming.sql through every path."""
    db, cur = scenario
    consumers = Consumers(server, db, "strm", {"format": fmt, "stream-changes": "1", "skip-empty-xacts": "1",
                                               "include-xids": "0"}, tmp_path)
    cur.execute("CREATE TABLE strm_t (id int PRIMARY KEY, data text)")
    cur.execute("BEGIN; INSERT INTO strm_t SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;"
                "SAVEPOINT s1; INSERT INTO strm_t SELECT g, 'rolled back' FROM generate_series(1001, 1500) g;"
                "ROLLBACK TO s1; INSERT INTO strm_t VALUES (2000, 'after the savepoint'); COMMIT")
    cur.execute("BEGIN; INSERT INTO strm_t SELECT g, repeat('y', 100) FROM generate_series(3001, 4000) g; ROLLBACK")
    cur.execute("INSERT INTO strm_t VALUES (5000, 'small, not streamed')")
    rows = consumers.stage()
    if fmt == "json":
        kinds = actions(rows)
        assert kinds.count("stream_start") > 1 and kinds.count("stream_commit") == 1
        assert kinds.count("stream_abort") == 2          # the savepoint, then the aborted transaction
        assert kinds[-3:] == ["begin", "insert", "commit"]


@pytest.mark.parametrize("fmt", STAGE_FORMATS)
def test_twophase_scenario(server, scenario, tmp_path, fmt):
    """pg_test/sql/twophase.sql through every path, each consuming between
    PREPARE and COMMIT/ROLLBACK PREPARED (a reconnect in between)."""
    db, cur = scenario
    options = {"format": fmt, "include-xids": "0", "skip-empty-xacts": "1"}
    consumers = Consumers(server, db, "tp", options, tmp_path)
    plain = Consumers(server, db, "tpoff", options, tmp_path, two_phase=False)
    cur.execute("CREATE TABLE tp_t (id int PRIMARY KEY, v text)")
    cur.execute("BEGIN; INSERT INTO tp_t VALUES (1, 'committed later'); PREPARE TRANSACTION 'tx_commit'")
    consumers.stage()
    cur.execute("COMMIT PREPARED 'tx_commit'")
    consumers.stage()
    cur.execute("BEGIN; INSERT INTO tp_t VALUES (2, 'rolled back later'); DELETE FROM tp_t WHERE id = 1;"
                "PREPARE TRANSACTION 'tx ''quoted'' gid'")
    consumers.stage()
    cur.execute("ROLLBACK PREPARED 'tx ''quoted'' gid'")
    consumers.stage()
    cur.execute("BEGIN; INSERT INTO tp_t VALUES (5, 'never seen'); PREPARE TRANSACTION 'tx_late'")
    cur.execute("ROLLBACK PREPARED 'tx_late'")
    consumers.stage()
    cur.execute("BEGIN; INSERT INTO tp_t VALUES (4, 'y'); PREPARE TRANSACTION 'tx_plain'")
    plain.stage()     # everything so far, as plain transactions
    consumers.stage()
    cur.execute("COMMIT PREPARED 'tx_plain'")
    plain.stage()
    consumers.stage()
    if fmt == "json":
        assert [actions(rows) for rows in consumers.rows] == [
            ["begin_prepare", "insert", "prepare"], ["commit_prepared"],
            ["begin_prepare", "insert", "delete", "prepare"], ["rollback_prepared"], ["rollback_prepared"],
            ["begin_prepare", "insert", "prepare"], ["commit_prepared"]]
        assert actions(plain.rows[1]) == ["begin", "insert", "commit"]


ORIGIN_SCENARIO_SETS = {
    "include_origin": {"include-origin": "1"},
    "only_local": {"only-local": "1"},
    "exclude": {"exclude-origins": "node_b"},
    "include": {"include-origins": "node_c, node_x"},
}


@pytest.mark.parametrize("fmt", STAGE_FORMATS)
def test_origins_scenario(server, scenario, tmp_path, fmt):
    """pg_test/sql/origins.sql through every path, for each origin option."""
    db, cur = scenario
    consumers = {name: Consumers(server, db, f"orig_{name}", {"format": fmt, "include-xids": "0",
                                                              "skip-empty-xacts": "1", **options}, tmp_path)
                 for name, options in ORIGIN_SCENARIO_SETS.items()}
    cur.execute("CREATE TABLE orig_t (id int PRIMARY KEY, src text)")
    cur.execute("SELECT pg_replication_origin_create(o) FROM unnest('{node_b,node_c}'::text[]) o "
                "WHERE o NOT IN (SELECT roname FROM pg_replication_origin)")
    cur.execute("INSERT INTO orig_t VALUES (1, 'local')")
    under_origin(cur, "node_b", "BEGIN; SELECT pg_replication_origin_xact_setup('0/AB', '2026-01-01 00:00:00+00');"
                 "INSERT INTO orig_t VALUES (2, 'from node_b'); COMMIT")
    under_origin(cur, "node_c", "INSERT INTO orig_t VALUES (3, 'from node_c')")
    cur.execute("INSERT INTO orig_t VALUES (4, 'local again')")
    rows = {name: c.stage() for name, c in consumers.items()}
    if fmt == "json":
        def ids(name):
            return [e["new"]["id"] for e in json_events(rows[name]) if e["action"] == "insert"]
        assert [ids(name) for name in ORIGIN_SCENARIO_SETS] == [[1, 2, 3, 4], [1, 4], [1, 3, 4], [1, 3, 4]]
        begins = [e for e in json_events(rows["include_origin"]) if e["action"] == "begin"]
        assert [e.get("origin") for e in begins] == [None, "node_b", "node_c", None]


@pytest.mark.parametrize("fmt", STAGE_FORMATS)
def test_messages_scenario(server, scenario, tmp_path, fmt):
    """pg_test/sql/messages.sql through every path."""
    db, cur = scenario
    consumers = Consumers(server, db, "msgs", {"format": fmt, "include-xids": "0", "skip-empty-xacts": "1"},
                          tmp_path)
    for prefix, content in [("plain", "'hello'"), ("empty", "''"), ("unicode ü", "'ünïcödé €'"),
                            ("ctl", r"E'tab\t nl\n cr\r bell\x07 del\x7f quote\" backslash\\'"),
                            ("binary", r"'\xff00fe'::bytea")]:
        cur.execute(f"SELECT pg_logical_emit_message(false, %s, {content})", (prefix,))
    cur.execute("BEGIN; SELECT pg_logical_emit_message(true, 'tx', 'kept with the transaction');"
                r"SELECT pg_logical_emit_message(true, 'bytes', '\x00010203'::bytea); COMMIT")
    cur.execute("BEGIN; SELECT pg_logical_emit_message(true, 'rolled back', 'never seen'); ROLLBACK")
    cur.execute("BEGIN; SELECT pg_logical_emit_message(false, 'survives', 'rollback'); ROLLBACK")
    # Non-transactional messages after the last commit are decoded once a
    # later commit is in the WAL (on every path; test_decoding too).
    cur.execute("SELECT pg_logical_emit_message(true, 'flush', 'makes the WAL above readable')")
    rows = consumers.stage()
    if fmt == "json":
        prefixes = [e["prefix"] for e in json_events(rows) if e["action"] == "message"]
        assert prefixes == ["plain", "empty", "unicode ü", "ctl", "binary", "tx", "bytes", "survives", "flush"]


# --- a live pg_recvlogical that reconnects ------------------------------

class LiveRecvlogical:
    """pg_recvlogical as a service runs it: no --endpos, status and fsync
    every second, stopped with SIGINT, started again: a reconnect."""

    def __init__(self, server, db, slot, options, out):
        self.cmd = recvlogical_cmd(server, db, slot, options, out, "--no-loop", "-s", "1", "-F", "1")
        self.server, self.db, self.slot, self.out, self.proc = server, db, slot, out, None

    def start(self):
        wait_inactive(self.server, self.db, self.slot)
        self.proc = subprocess.Popen(self.cmd, env=recvlogical_env(self.server), stderr=subprocess.PIPE)

    def wait_confirmed_past(self, lsn, timeout=120):
        """Until the slot is confirmed past `lsn` (the consumer wrote and
        reported a commit after it); fails at once if the consumer died."""
        with session(self.server, self.db) as cur:
            deadline = time.time() + timeout
            while time.time() < deadline:
                assert self.proc.poll() is None, f"pg_recvlogical died: {self.proc.stderr.read().decode()}"
                cur.execute("SELECT confirmed_flush_lsn > %s::pg_lsn FROM pg_replication_slots "
                            "WHERE slot_name = %s", (lsn, self.slot))
                if cur.fetchone()[0]:
                    return
                time.sleep(0.1)
        raise AssertionError(f"{self.slot} not confirmed past {lsn} within {timeout}s")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)

    def written(self):
        """What it wrote so far (nothing before it opened its file)."""
        return self.out.read_bytes() if self.out.exists() else b""


def marker(cur, live, n):
    """A local commit after a step; returns once the live consumer has it."""
    cur.execute("SELECT pg_current_wal_lsn()")
    before = cur.fetchone()[0]
    cur.execute("INSERT INTO marker VALUES (%s)", (n,))
    live.wait_confirmed_past(before)


@pytest.fixture
def live_db(scenario):
    db, cur = scenario
    cur.execute("CREATE TABLE from_origin (id int PRIMARY KEY, pad text); CREATE TABLE marker (n int)")
    cur.execute("SELECT pg_replication_origin_create(%s) WHERE %s NOT IN (SELECT roname FROM pg_replication_origin)",
                (ORIGIN, ORIGIN))
    return db, cur


LIVE_CASES = [("json", {}), ("json", {"exclude-origins": ORIGIN}), ("json", {"include-origins": ORIGIN}),
              ("json", {"only-local": "on"}), ("protobuf", {}), ("avro", {"exclude-origins": ORIGIN})]


@pytest.mark.parametrize("fmt,filters", LIVE_CASES, ids=[f"{f}-{'-'.join(o) or 'all'}" for f, o in LIVE_CASES])
def test_live_consumer_reconnects_across_origin_streams_and_prepares(server, live_db, tmp_path, fmt, filters):
    """The SIGSEGV reproduction: a live pg_recvlogical with stream-changes
    and include-origin (and origin filters) while a streamed transaction
    commits under an origin; reconnected; prepared transactions under the
    origin (one streamed); stopped; COMMIT/ROLLBACK PREPARED; started again.
    Its file must equal the staged SQL path's rows."""
    db, cur = live_db
    options = {"format": fmt, "stream-changes": "on", "include-origin": "on", **filters}
    staged = Consumers(server, db, "staged", options, tmp_path)
    create_slots(cur, ["live"])
    live = LiveRecvlogical(server, db, "live", staged.framed, tmp_path / "live.out")
    live.start()
    # About 1 MB: many stream blocks with 64kB of work memory.
    under_origin(cur, ORIGIN, "BEGIN; INSERT INTO from_origin SELECT g, repeat('x', 200) "
                              "FROM generate_series(1, 5000) g; COMMIT")
    marker(cur, live, 1)
    staged.stage()
    live.stop()
    live.start()
    under_origin(cur, ORIGIN, "BEGIN; INSERT INTO from_origin SELECT g, repeat('p', 200) "
                              "FROM generate_series(5001, 7000) g; PREPARE TRANSACTION 'o_big'",
                 "BEGIN; INSERT INTO from_origin VALUES (9000, 'small'); PREPARE TRANSACTION 'o_small'")
    marker(cur, live, 2)
    staged.stage()
    live.stop()
    under_origin(cur, ORIGIN, "COMMIT PREPARED 'o_big'", "ROLLBACK PREPARED 'o_small'")
    live.start()
    marker(cur, live, 3)
    live.stop()
    staged.stage()
    assert_same_file(staged.framed_rows, live.out.read_bytes(), staged.binary, "live pg_recvlogical")
    if fmt == "json":
        rows = [e for stage in staged.rows for e in json_events(stage) if e.get("table") == "from_origin"]
        assert len(rows) == (0 if filters and "include-origins" not in filters else 7001)


def test_reconnect_in_the_middle_of_a_streamed_origin_transaction(server, live_db, tmp_path):
    """The consumer stops after the first stream blocks of a transaction
    under an origin and reconnects: the transaction is streamed again from
    its first segment (delivery is at least once) and commits."""
    db, cur = live_db
    create_slots(cur, ["live"])
    live = LiveRecvlogical(server, db, "live", {"stream-changes": "on", "include-origin": "on"},
                           tmp_path / "live.out")
    live.start()
    writer = server.connect(db, autocommit=False)
    writer.cursor().execute("SELECT pg_replication_origin_session_setup(%s)", (ORIGIN,))
    writer.cursor().execute("INSERT INTO from_origin SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g")
    seen = 0
    for _ in range(2):      # twice: stopped after two new blocks, started again
        deadline = time.time() + 60
        while live.written().count(b'"stream_start"') < seen + 2 and time.time() < deadline:
            time.sleep(0.1)
        live.stop()
        streamed = live.out.read_bytes().count(b'"stream_start"')
        assert streamed >= seen + 2, "blocks of the open transaction were streamed"
        seen = streamed
        live.start()
    writer.commit()
    writer.close()
    marker(cur, live, 1)
    live.stop()
    events = [json.loads(line) for line in live.out.read_bytes().splitlines()]
    firsts = [e for e in events if e["action"] == "stream_start" and e["first_segment"]]
    assert len(firsts) == 3, "streamed again from the first segment after each reconnect"
    assert [e["action"] for e in events if e["action"].startswith("stream_c")] == ["stream_commit"]
    assert {e["new"]["id"] for e in events if e.get("table") == "from_origin"} == set(range(1, 5001))
