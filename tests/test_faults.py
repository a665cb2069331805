"""Faults while pg_recvlogical streams wal2any's output from a server of its
own (tests/cluster.py), with writers committing numbered batches (each
transaction inserts rows tagged with its batch id; every 7th is large enough
to be streamed past logical_decoding_work_mem = 64kB):

- kill -9 of the postmaster mid-stream; in the middle of a large open
  transaction being streamed; and while a large committed transaction is
  being decoded and sent; restart; pg_recvlogical resumes from the slot;
- pg_terminate_backend of the walsender while it streams an open transaction;
- the library replaced (copy + rename, as scripts/install does) while a
  walsender streams from the old file.

Each consumer run writes its own file. Rebuilding the committed
transactions from every file (a streamed transaction counts only at its
stream_commit; a partial transaction or stream is discarded at the end of
each file, as a consumer discards it when it reconnects) and keeping one
copy per commit LSN must give every batch the table holds after recovery
exactly once, with all its rows, and no batch the table does not hold:
delivery is at-least-once (pg_recvlogical confirms only what it wrote, and
a crash rewinds the slot to its last saved position), never lossy. The
server log must show no crashed process: a postmaster killed with -9 writes
nothing, and its children exit on their own when they notice."""
import json
import os
import pathlib
import re
import signal
import subprocess
import threading
import time
from collections import Counter

import psycopg2
import pytest

from cluster import PG_BIN, Cluster

LARGE_ROWS = 2000          # ~280 kB of changes: streamed in several blocks at 64kB
OPEN_TXN_ROWS = 20000      # the transaction left open while the fault happens
COMMITTED_ROWS = 100000    # the committed transaction being decoded when the fault happens (~1 s)
TABLE_DDL = "CREATE TABLE t (batch int, n int, pad text)"
RECVLOGICAL_OPTIONS = ["-o", "include-lsn", "-o", "include-xids", "-o", "stream-changes"]


def rows_in(batch):
    """Rows of batch `batch`: every 7th is large (streamed), the rest 1-3."""
    return LARGE_ROWS if batch % 7 == 0 else 1 + batch % 3


def insert_batch(cur, batch, rows):
    cur.execute("INSERT INTO t SELECT %s, g, repeat('x', 100) FROM generate_series(1, %s) g", (batch, rows))


@pytest.fixture(scope="module")
def cluster():
    with Cluster("faults", conf=["logical_decoding_work_mem = '64kB'"]) as c:
        yield c


@pytest.fixture
def db(cluster, request):
    """A database per test, with table t and a slot of the same name."""
    name = re.sub(r"\W", "_", request.node.name)[:40].lower()
    admin = cluster.connect()
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    conn = cluster.connect(name)
    conn.cursor().execute(TABLE_DDL)
    conn.cursor().execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (name,))
    conn.close()
    return name


class Writer(threading.Thread):
    """Commits batches first, first+1, ... (one INSERT, one transaction
    each) until stopped or the server goes away. `acknowledged` holds the
    batches whose COMMIT returned: they must survive any crash."""

    def __init__(self, cluster, db, first):
        super().__init__(daemon=True)
        self.cluster, self.db, self.next_batch = cluster, db, first
        self.acknowledged, self.error = [], None
        self.stopping = threading.Event()

    def run(self):
        try:
            conn = self.cluster.connect(self.db)
            cur = conn.cursor()
            while not self.stopping.is_set():
                insert_batch(cur, self.next_batch, rows_in(self.next_batch))
                self.acknowledged.append(self.next_batch)
                self.next_batch += 1
                time.sleep(0.005)
            conn.close()
        except psycopg2.Error as e:   # the server was killed under it
            self.error = e

    def stop(self):
        self.stopping.set()
        self.join(timeout=60)
        assert not self.is_alive(), "writer did not stop"


class Consumer:
    """One pg_recvlogical run (--no-loop: it exits when its connection
    ends) writing to its own file: pg_recvlogical appends to a file. With
    -F 1 -s 1 it confirms what it wrote every second: what it wrote after
    its last confirmation (or after the slot's last save, for a crash) is
    sent again by the next run."""

    def __init__(self, cluster, db, path, endpos=None):
        self.path = path
        cmd = [PG_BIN / "pg_recvlogical", "-d", cluster.dsn(db), "--slot", db, "--start", "--no-loop",
               "-f", path, "-F", "1", "-s", "1", *RECVLOGICAL_OPTIONS]
        if endpos:
            cmd += ["--endpos", endpos]
        self.process = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def events(self):
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        # A line still being written is not an event yet.
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n") and line.strip()]

    def pause(self):
        """SIGSTOP: pg_recvlogical stops reading; the walsender's socket
        fills and it blocks in a wait, where it notices a dead postmaster
        (while its client keeps up, it sends on without looking)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        """SIGTERM: pg_recvlogical confirms what it wrote and exits."""
        self.process.terminate()
        self.wait()

    def wait(self, timeout=60):
        try:
            _, stderr = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
            raise AssertionError(f"pg_recvlogical still running after {timeout}s: {stderr}")
        return self.process.returncode, stderr


def wait_for(condition, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def replay(events):
    """Rebuilds transactions from `events`: returns [(commit_lsn, Counter
    batch -> rows)] of those whose commit arrived, and whether a
    transaction or stream block is still open at the end (what a consumer
    discards when it reconnects). A stream_abort discards its stream."""
    done, current, streams, streaming_xid = [], None, {}, None
    for e in events:
        action = e["action"]
        if action == "begin":
            current = Counter()
        elif action == "commit":
            done.append((e["lsn"], current))
            current = None
        elif action == "stream_start":
            streaming_xid = e["xid"]
            streams.setdefault(streaming_xid, Counter())
        elif action == "stream_stop":
            streaming_xid = None
        elif action == "stream_abort":
            assert "subxid" not in e, "the workload has no subtransactions"
            streams.pop(e["xid"], None)
        elif action == "stream_commit":
            done.append((e["lsn"], streams.pop(e["xid"])))
        elif action == "insert":
            target = streams[streaming_xid] if streaming_xid is not None else current
            target[e["new"]["batch"]] += 1
    return done, current is not None or streaming_xid is not None


def transactions_in(events):
    return replay(events)[0]


def mid_transaction(consumer, streamed_commits):
    """At least `streamed_commits` streamed transactions arrived, and the
    consumer is now inside a transaction or a stream block."""
    done, inside = replay(consumer.events())
    return inside and sum(1 for _, batches in done if sum(batches.values()) == LARGE_ROWS) >= streamed_commits


def delivered_batches(consumers):
    """batch -> rows, after keeping one copy per commit LSN; asserts that a
    repeated transaction is identical and no batch has two commit LSNs.
    Also returns how many transactions arrived more than once."""
    by_lsn, repeats = {}, 0
    for consumer in consumers:
        for lsn, batches in transactions_in(consumer.events()):
            if lsn in by_lsn:
                assert by_lsn[lsn] == batches, f"transaction at {lsn} differs when repeated"
                repeats += 1
            by_lsn[lsn] = batches
    rows, lsn_of = {}, {}
    for lsn, batches in by_lsn.items():
        for batch, count in batches.items():
            assert batch not in lsn_of, f"batch {batch} committed at {lsn_of[batch]} and at {lsn}"
            lsn_of[batch], rows[batch] = lsn, count
    return rows, repeats


def table_batches(cluster, db):
    conn = cluster.connect(db)
    cur = conn.cursor()
    cur.execute("SELECT batch, count(*) FROM t GROUP BY batch")
    rows = dict(cur.fetchall())
    conn.close()
    return rows


def end_lsn(cluster, db):
    conn = cluster.connect(db)
    cur = conn.cursor()
    cur.execute("SELECT pg_current_wal_lsn()")
    lsn = cur.fetchone()[0]
    conn.close()
    return lsn


def catch_up(cluster, db, consumers, tmp_path):
    """A last pg_recvlogical run from the slot up to the current end of WAL
    (once the previous run's walsender has released the slot)."""
    wait_for(lambda: slot_is_free(cluster, db), "the slot to be released")
    consumer = Consumer(cluster, db, tmp_path / f"run{len(consumers)}.jsonl", endpos=end_lsn(cluster, db))
    code, stderr = consumer.wait()
    assert code == 0, stderr
    consumers.append(consumer)


def assert_exactly_once(cluster, db, consumers, writers):
    """Every batch the table holds arrived exactly once (after dedup by
    commit LSN) with all its rows, and nothing else arrived."""
    expected = table_batches(cluster, db)
    delivered, repeats = delivered_batches(consumers)
    acknowledged = {b for w in writers for b in w.acknowledged}
    assert acknowledged <= set(expected), f"acknowledged commits lost: {sorted(acknowledged - set(expected))}"
    assert all(count == rows_in(b) for b, count in expected.items() if b >= 0), "the table holds whole batches"
    missing = sorted(set(expected) - set(delivered))
    phantom = sorted(set(delivered) - set(expected))
    assert not missing and not phantom, f"missing {missing}, never committed {phantom}"
    assert delivered == expected, {b: (delivered[b], expected[b]) for b in expected if delivered[b] != expected[b]}
    print(f"{len(expected)} batches, {repeats} transactions delivered twice")
    return delivered


# FATALs the faults cause: backends exiting after the postmaster was killed,
# pg_ctl start retried while they still hold the lock file, the walsender
# terminated by pg_terminate_backend.
EXPECTED_FATALS = ("terminating connection due to unexpected postmaster exit",
                   'lock file "postmaster.pid" already exists',
                   "terminating connection due to administrator command")


def assert_no_crash(cluster):
    """No crashed process, no ERROR or PANIC, and only the FATALs the
    faults themselves cause (a postmaster killed with -9 logs nothing)."""
    assert cluster.crashes() == [], "\n".join(cluster.crashes())
    unexpected = [line for line in cluster.log_text().splitlines()
                  if re.search(r"\b(ERROR|PANIC):", line)
                  or ("FATAL:" in line and not any(f in line for f in EXPECTED_FATALS))]
    assert unexpected == [], "\n".join(unexpected)


RECOVERY = "database system was not properly shut down; automatic recovery in progress"


def kill_and_restart(cluster, consumer, writer):
    """kill -9 of the postmaster; the walsender notices and exits, so the
    --no-loop consumer ends with an error, and so does the writer; then a
    normal start, which recovers."""
    recoveries = cluster.log_text().count(RECOVERY)
    cluster.kill_postmaster()
    consumer.resume()
    code, _ = consumer.wait(timeout=60)
    assert code != 0, "pg_recvlogical noticed the lost connection"
    writer.join(timeout=60)
    assert not writer.is_alive() and writer.error is not None, "the writer saw the server go away"
    cluster.start()
    assert cluster.log_text().count(RECOVERY) == recoveries + 1, "crash recovery ran"


def test_kill_postmaster_mid_stream(cluster, db, tmp_path):
    consumers = [Consumer(cluster, db, tmp_path / "run0.jsonl")]
    writer = Writer(cluster, db, first=1)
    writer.start()
    # Kill once several large (streamed) transactions have arrived, while
    # the consumer is in the middle of a transaction.
    wait_for(lambda: mid_transaction(consumers[0], streamed_commits=6), "6 streamed commits, then mid-transaction")
    kill_and_restart(cluster, consumers[0], writer)
    resumed = Writer(cluster, db, first=writer.next_batch + 1000)
    consumers.append(Consumer(cluster, db, tmp_path / "run1.jsonl"))
    resumed.start()
    wait_for(lambda: mid_transaction(consumers[1], streamed_commits=4), "the resumed stream")
    resumed.stop()
    consumers[1].stop()
    catch_up(cluster, db, consumers, tmp_path)
    assert transactions_in(consumers[0].events()), "transactions arrived before the kill"
    assert_exactly_once(cluster, db, consumers, [writer, resumed])
    assert_no_crash(cluster)


def open_large_transaction(cluster, db, batch):
    """A transaction that inserts OPEN_TXN_ROWS rows of `batch` and stays
    open: its changes are streamed (stream_start ... stream_stop) before
    it commits, if it ever does. Returns its connection and xid."""
    conn = cluster.connect(db, autocommit=False)
    cur = conn.cursor()
    insert_batch(cur, batch, OPEN_TXN_ROWS)
    cur.execute("SELECT txid_current()")
    return conn, cur.fetchone()[0]


def streamed_rows_of(consumer, xid):
    return sum(1 for e in consumer.events() if e["action"] == "insert" and e.get("xid") == xid)


def rows_seen(consumer, batch):
    """Inserts of `batch` in the consumer's file so far (counted without
    parsing: the file grows by a megabyte every few polls)."""
    try:
        return consumer.path.read_text(encoding="utf-8").count(f'"new":{{"batch":{batch},')
    except FileNotFoundError:
        return 0


def test_kill_postmaster_during_large_streamed_transaction(cluster, db, tmp_path):
    consumers = [Consumer(cluster, db, tmp_path / "run0.jsonl")]
    writer = Writer(cluster, db, first=1)
    writer.start()
    big, xid = open_large_transaction(cluster, db, batch=-1)
    # Half of it decoded and sent: the walsender is inside the stream.
    wait_for(lambda: streamed_rows_of(consumers[0], xid) >= OPEN_TXN_ROWS // 2, "the open transaction streamed")
    kill_and_restart(cluster, consumers[0], writer)
    with pytest.raises(psycopg2.Error):
        big.commit()   # its backend is gone: the transaction never committed
    resumed = Writer(cluster, db, first=writer.next_batch + 1000)
    resumed.start()
    wait_for(lambda: len(resumed.acknowledged) >= 30, "writes after the restart")
    resumed.stop()
    catch_up(cluster, db, consumers, tmp_path)
    assert -1 not in table_batches(cluster, db)
    assert_exactly_once(cluster, db, consumers, [writer, resumed])
    assert_no_crash(cluster)


def test_kill_postmaster_while_a_committed_large_transaction_is_decoded(cluster, db, tmp_path):
    """A transaction committed before the consumer starts is decoded (and
    streamed) from the WAL in one go; the kill lands when a tenth of it
    has arrived. After the restart it must arrive whole, once."""
    conn = cluster.connect(db)
    insert_batch(conn.cursor(), -3, COMMITTED_ROWS)
    conn.close()
    consumers = [Consumer(cluster, db, tmp_path / "run0.jsonl")]
    writer = Writer(cluster, db, first=1)
    writer.start()
    wait_for(lambda: rows_seen(consumers[0], -3) >= COMMITTED_ROWS // 10, "a tenth of the large transaction")
    consumers[0].pause()
    time.sleep(0.5)    # the socket buffers fill: far less than the 90% left (~12 MB)
    kill_and_restart(cluster, consumers[0], writer)
    assert rows_seen(consumers[0], -3) < COMMITTED_ROWS, "the kill came while it was being sent"
    catch_up(cluster, db, consumers, tmp_path)
    delivered = assert_exactly_once(cluster, db, consumers, [writer])
    assert delivered[-3] == COMMITTED_ROWS
    assert_no_crash(cluster)


def slot_is_free(cluster, db):
    conn = cluster.connect(db)
    cur = conn.cursor()
    cur.execute("SELECT NOT active FROM pg_replication_slots WHERE slot_name = %s", (db,))
    free = cur.fetchone()[0]
    conn.close()
    return free


def walsender_pid(cluster, db):
    conn = cluster.connect(db)
    cur = conn.cursor()
    cur.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s AND active", (db,))
    pids = [p for (p,) in cur.fetchall()]
    conn.close()
    assert len(pids) == 1, pids
    return pids[0]


def test_terminate_walsender_mid_transaction(cluster, db, tmp_path):
    consumers = [Consumer(cluster, db, tmp_path / "run0.jsonl")]
    writer = Writer(cluster, db, first=1)
    writer.start()
    big, xid = open_large_transaction(cluster, db, batch=-2)
    wait_for(lambda: streamed_rows_of(consumers[0], xid) >= OPEN_TXN_ROWS // 2, "the open transaction streamed")
    admin = cluster.connect(db)
    admin.cursor().execute("SELECT pg_terminate_backend(%s)", (walsender_pid(cluster, db),))
    code, stderr = consumers[0].wait()
    assert code != 0 and "terminating connection due to administrator command" in stderr, stderr
    big.commit()       # committed after the walsender died: must arrive once, whole
    wait_for(lambda: slot_is_free(cluster, db), "the terminated walsender to release the slot")
    consumers.append(Consumer(cluster, db, tmp_path / "run1.jsonl"))
    wait_for(lambda: len(writer.acknowledged) >= 60, "more writes")
    writer.stop()
    consumers[1].stop()
    catch_up(cluster, db, consumers, tmp_path)
    expected = table_batches(cluster, db)
    assert expected.pop(-2) == OPEN_TXN_ROWS
    delivered, _ = delivered_batches(consumers)
    assert delivered.pop(-2) == OPEN_TXN_ROWS, "the transaction streamed across the reconnect arrived whole"
    assert_exactly_once(cluster, db, consumers, [writer])
    assert_no_crash(cluster)
    admin.close()


def library_path():
    libdir = subprocess.run([PG_BIN / "pg_config", "--pkglibdir"], capture_output=True, text=True, check=True)
    return pathlib.Path(libdir.stdout.strip()) / "wal2any.so"


def mapped_library_inodes(pid):
    """Inodes of the wal2any.so files process `pid` has mapped."""
    lines = pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {int(line.split()[4]) for line in lines if "wal2any.so" in line}


def replace_library(path):
    """scripts/install's replacement: the installed file is copied to a
    temporary name next to it and renamed over it (a new inode; the file a
    running backend mapped is never written). Refuses to rename if the file
    changed under it (someone installed a build meanwhile)."""
    before = path.stat().st_ino
    temporary = path.parent / f".{path.name}.new.{os.getpid()}"
    subprocess.run(["install", "-m", "0644", path, temporary], check=True)
    if path.stat().st_ino != before:
        temporary.unlink()
        return replace_library(path)
    os.rename(temporary, path)
    os.chmod(path, 0o755)
    return path.stat().st_ino


def test_library_replaced_during_a_stream(cluster, db, tmp_path):
    consumer = Consumer(cluster, db, tmp_path / "run0.jsonl")
    writer = Writer(cluster, db, first=1)
    writer.start()
    wait_for(lambda: sum(e["action"] == "stream_commit" for e in consumer.events()) >= 2, "streamed commits")
    sender = walsender_pid(cluster, db)
    loaded = mapped_library_inodes(sender)
    new_inode = replace_library(library_path())
    assert new_inode not in loaded
    assert mapped_library_inodes(sender) == loaded, "the walsender keeps the file it loaded"
    before = len(writer.acknowledged)
    wait_for(lambda: len(writer.acknowledged) >= before + 60, "writes after the replacement")
    # A new session loads the new file, and decodes with it.
    fresh = cluster.connect(db)
    cur = fresh.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot('fresh', 'wal2any')")
    cur.execute("SELECT count(*) FROM pg_logical_slot_peek_changes('fresh', NULL, NULL)")
    assert mapped_library_inodes(fresh.info.backend_pid) == {new_inode}
    cur.execute("SELECT pg_drop_replication_slot('fresh')")
    fresh.close()
    writer.stop()
    last = writer.acknowledged[-1]
    wait_for(lambda: last in delivered_batches([consumer])[0], f"batch {last} to arrive")
    assert walsender_pid(cluster, db) == sender, "the same walsender streamed throughout"
    consumer.stop()
    # One uninterrupted connection: exactly once without any dedup.
    delivered, repeats = delivered_batches([consumer])
    assert repeats == 0
    assert delivered == table_batches(cluster, db)
    assert oct(library_path().stat().st_mode & 0o777) == oct(0o755)
    assert_no_crash(cluster)
