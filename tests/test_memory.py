"""Memory of the decoding process, measured from /proc/<pid>/status (the
tests run as root): the peak (VmHWM, reset between steps through
/proc/<pid>/clear_refs) and what stays resident afterwards (RssAnon: the
process's private memory, without the shared buffers and files it maps).

The decoding process is the walsender of a live pg_recvlogical (-f -,
output thrown away): the SQL functions would also keep the whole result in
a tuplestore. Cases, at WAL2ANY_MEMORY_SCALE (default 1: the sizes below,
about 3 minutes on 2 cores; 0.1 for a quick run):
  - one row with a 10,000,000-element numeric[] and one with an int[];
  - one row with a 500 MB text value (STORAGE EXTERNAL: not compressed;
    a 1 MB random-ish block repeated, incompressible by pglz's 4 kB window
    anyway);
  - one transaction of 10,000,000 small changes, with and without
    stream-changes;
  - a long session: one walsender decoding several big rows one after
    another must not grow from row to row.
Bounds (see each test for why): array peak growth under 128 bytes per
element; the 500 MB value's peak growth under 5 times its size; after the
big rows, RssAnon no more than test_decoding's (plus 64 MB): PostgreSQL's
walsender send buffer, which it enlarges for a big message and never
shrinks, and the heap its reorder buffer fragmented; the 10-million-change transaction
under 256 MB of growth (PostgreSQL streams or spills it past
logical_decoding_work_mem, 64 MB). test_decoding decodes the same rows for
comparison. The numbers are printed (for the README) whatever the outcome.

The server runs with glibc's MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ at 128 kB, so memory freed goes back to the system
and RssAnon counts memory kept, not memory glibc caches for reuse."""
import os
import shutil
import signal
import subprocess
import time

import pytest

from cluster import PG_BIN, Cluster

SCALE = float(os.environ.get("WAL2ANY_MEMORY_SCALE", "1"))
MB = 1 << 20
ELEMENTS = int(10_000_000 * SCALE)
TEXT_BYTES = int(500 * SCALE) * MB          # 500 MB: 500 copies of a 1 MB block
CHANGES = int(10_000_000 * SCALE)
# WAL, kept until the end (no checkpoint): 4 x 500 MB values, the arrays,
# the long session, 10M rows: ~4.5 GB; spill files: 4 x 500 MB, 1.3 GB.
DISK_NEEDED = int(8 * 1024 * MB * SCALE) + 1024 * MB
# A walsender decoding the 500 MB value peaks at about 6 times it, the
# writer building it at about 2 times, the SQL functions at about 7 times.
MEMORY_NEEDED = 10 * TEXT_BYTES + 1024 * MB
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
CONF = ["autovacuum = off", "max_wal_size = 16GB", "checkpoint_timeout = 1h", "max_replication_slots = 10",
        "max_wal_senders = 10"]
BIG_ROW_CONSUMERS = {
    "test_decoding": ("test_decoding", {}),
    "json": ("wal2any", {}),
    "protobuf": ("wal2any", {"format": "protobuf"}),
    "avro": ("wal2any", {"format": "avro"}),
}
WAL2ANY = ("json", "protobuf", "avro")


@pytest.fixture(scope="module")
def server():
    free = shutil.disk_usage("/var/tmp").free
    if free < DISK_NEEDED:
        pytest.skip(f"{free // MB} MB free in /var/tmp, {DISK_NEEDED // MB} MB needed at scale {SCALE}")
    available = memory_available()
    if available < MEMORY_NEEDED:
        pytest.skip(f"{available // MB} MB of memory available, {MEMORY_NEEDED // MB} MB needed at scale {SCALE} "
                    "(set WAL2ANY_MEMORY_SCALE lower)")
    saved = {k: os.environ.get(k) for k in MALLOC_ENV}
    os.environ.update(MALLOC_ENV)         # inherited by pg_ctl, the postmaster, every backend
    try:
        with Cluster("memory", conf=CONF) as c:
            conn = c.connect()
            conn.cursor().execute("""
                CREATE TABLE arr (id int, a numeric[], b int[]);
                CREATE TABLE big (id int, v text);
                ALTER TABLE big ALTER v SET STORAGE EXTERNAL;
                CREATE TABLE small (id int);
                CREATE TABLE marker (n int)""")
            conn.close()
            yield c
            assert c.crashes() == []
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def memory_available():
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) * 1024


def usage(pid):
    """(VmHWM, RssAnon) of a process, in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = int(value.split()[0]) * 1024 // MB if value.strip().endswith("kB") else 0
    return fields["VmHWM"], fields["RssAnon"]


def reset_peak(pid):
    """VmHWM becomes the current RSS (Linux 4.0+)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


class Walsenders:
    """Live pg_recvlogical consumers, one slot each, created now; `step`
    runs SQL and returns each walsender's peak growth and what it keeps."""

    def __init__(self, server, consumers, work_mem=None):
        self.server, self.conn = server, server.connect()
        self.cur = self.conn.cursor()
        env = dict(server.env())
        if work_mem:
            env["PGOPTIONS"] = f"-c logical_decoding_work_mem={work_mem}"
        self.procs, self.pids = {}, {}
        for name, (plugin, options) in consumers.items():
            self.cur.execute("SELECT pg_create_logical_replication_slot(%s, %s)", (name, plugin))
            flags = [x for k, v in options.items() for x in ("-o", f"{k}={v}")]
            self.procs[name] = subprocess.Popen(
                [str(PG_BIN / "pg_recvlogical"), "-d", server.dsn(), "--slot", name, "--start", "-f", "-",
                 "-s", "1", "-F", "1", *flags], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.pids[name] = self.walsender_pid(name)
        self.baseline = {name: usage(pid)[1] for name, pid in self.pids.items()}

    def walsender_pid(self, slot, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.cur.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot,))
            pid = self.cur.fetchone()[0]
            if pid:
                return pid
            time.sleep(0.05)
        raise AssertionError(f"no walsender for {slot}: {self.procs[slot].stderr.read().decode()}")

    def step(self, sql, timeout=900):
        """{name: (peak growth, kept growth)} in MB over the baseline, once
        every consumer confirmed a commit made after `sql`."""
        for pid in self.pids.values():
            reset_peak(pid)
        self.cur.execute(sql)
        self.cur.execute("SELECT pg_current_wal_lsn()")
        before = self.cur.fetchone()[0]
        self.cur.execute("INSERT INTO marker VALUES (1)")
        deadline = time.time() + timeout
        for name in self.pids:
            while True:
                assert self.procs[name].poll() is None, self.procs[name].stderr.read().decode()
                assert time.time() < deadline, f"{name} did not decode within {timeout}s"
                self.cur.execute("SELECT confirmed_flush_lsn > %s::pg_lsn FROM pg_replication_slots "
                                 "WHERE slot_name = %s", (before, name))
                if self.cur.fetchone()[0]:
                    break
                time.sleep(0.1)
        result = {}
        for name, pid in self.pids.items():
            peak, kept = usage(pid)
            result[name] = (peak - self.baseline[name], kept - self.baseline[name])
        return result

    def close(self):
        for name, proc in self.procs.items():
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
            # The walsender outlives its client for a moment: the slot stays
            # active until it has exited.
            deadline = time.time() + 60
            while True:
                self.cur.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (name,))
                if not self.cur.fetchone()[0] or time.time() > deadline:
                    break
                time.sleep(0.05)
            self.cur.execute("SELECT pg_drop_replication_slot(%s)", (name,))
        self.conn.close()


def report(capsys, title, rows):
    with capsys.disabled():
        print(f"\n{title} (MB over the idle walsender's {rows.pop('baseline', '?')} MB; peak growth / kept)")
        for step, by_consumer in rows.items():
            cells = "  ".join(f"{name} {peak}/{kept}" for name, (peak, kept) in by_consumer.items())
            print(f"  {step:<28} {cells}")


def text_row(megabytes):
    """A value of `megabytes` MB: a 1 MB block of md5 hex repeated."""
    return (f"INSERT INTO big SELECT 1, repeat(string_agg(md5(g::text), ''), {megabytes}) "
            "FROM generate_series(1, 32768) g")


def array_row(column, element, count):
    return f"INSERT INTO arr (id, {column}) SELECT 1, array_agg({element}) FROM generate_series(1, {count}) g"


ARRAY_STEPS = {
    f"numeric[] of {ELEMENTS:,}": array_row("a", "g::numeric", ELEMENTS),
    f"int[] of {ELEMENTS:,}": array_row("b", "g", ELEMENTS),
}
TEXT_STEP = f"text of {TEXT_BYTES // MB} MB"
BIG_ROWS = {**ARRAY_STEPS, TEXT_STEP: text_row(TEXT_BYTES // MB)}


def sql_path_peak(server, slot, end):
    """Peak growth (MB) of a backend decoding `slot` up to `end` with the SQL
    functions, and the number of messages."""
    conn = server.connect()
    cur = conn.cursor()
    pid = conn.info.backend_pid
    baseline = usage(pid)[1]
    reset_peak(pid)
    cur.execute("SELECT count(*) FROM pg_logical_slot_peek_binary_changes(%s, %s, NULL)", (slot, end))
    count = cur.fetchone()[0]
    peak = usage(pid)[0] - baseline
    conn.close()
    return peak, count


def test_big_values_peak_and_release(server, capsys):
    """Arrays: under 128 bytes per element at the peak (test_decoding, whose
    array_out keeps a string per element, takes about 75 here; per-element
    buffers held for the whole row would take more). The 500 MB value:
    PostgreSQL holds its TOAST chunks in the reorder buffer, the reassembled
    value, the logical decoding context's output buffer (ctx->out) and the
    walsender's send buffer (4 times the value): 5 times allows one copy of
    the plugin's own (test_decoding itself takes about 5.3). Afterwards the
    walsender's send buffer (PostgreSQL never shrinks it) and the heap the
    reorder buffer fragmented with the value's TOAST chunks stay, as they do
    for test_decoding: wal2any may keep no more than test_decoding does
    (it gives ctx->out back, which test_decoding does not), give or take
    64 MB of allocator noise."""
    rows, baselines = {label: {} for label in BIG_ROWS}, []
    # One walsender at a time, each on a slot of its own created just
    # before its rows: four decoding a 500 MB value at once would need 12 GB.
    for name, consumer in BIG_ROW_CONSUMERS.items():
        consumers = Walsenders(server, {name: consumer})
        if name == "json":      # the SQL functions decode the same rows below
            consumers.cur.execute("SELECT pg_create_logical_replication_slot('sql', 'wal2any')")
        baselines.append(consumers.baseline[name])
        try:
            for label, sql in BIG_ROWS.items():
                rows[label][name] = consumers.step(sql)[name]
            if name == "json":
                consumers.cur.execute("SELECT pg_current_wal_lsn()")
                json_end = consumers.cur.fetchone()[0]
        finally:
            consumers.close()
    report(capsys, "walsender memory, one big row per step", {"baseline": max(baselines), **rows})
    # The json walsender's three rows through the SQL functions (the result
    # is kept in a tuplestore that spills past work_mem): for comparison.
    sql_peak, count = sql_path_peak(server, "sql", json_end)
    with capsys.disabled():
        print(f"  SQL functions, the three rows in one call: peak growth {sql_peak} MB ({count} messages)")
    assert count == 6 * 3          # three rows and three markers: begin, insert, commit each
    value = TEXT_BYTES / MB           # the largest message is the value and a few bytes
    problems = []
    for name in WAL2ANY:
        for label in ARRAY_STEPS:
            peak, _ = rows[label][name]
            if peak * MB / ELEMENTS >= 128:
                problems.append(f"{name}, {label}: {peak} MB at the peak")
        peak, kept = rows[TEXT_STEP][name]
        if peak >= 5 * value:
            problems.append(f"{name}: {peak} MB at the peak for a {value:.0f} MB value")
        reference = rows[TEXT_STEP]["test_decoding"][1]
        if kept >= reference + 64:
            problems.append(f"{name}: keeps {kept} MB after a {value:.0f} MB message (test_decoding {reference})")
    assert not problems, "\n".join(problems)


def test_long_session_keeps_nothing_per_row(server, capsys):
    """One walsender decodes big rows one after another: what it keeps after
    the last row is what it kept after the first (memory is released per
    change, not kept for the session)."""
    elements, megabytes, count = ELEMENTS // 4, TEXT_BYTES // MB // 4, 4
    consumers = Walsenders(server, {"json": ("wal2any", {}), "protobuf": ("wal2any", {"format": "protobuf"})})
    rows = {"baseline": max(consumers.baseline.values())}
    try:
        for i in range(count):
            rows[f"numeric[] #{i + 1}"] = consumers.step(array_row("a", "g::numeric", elements))
        for i in range(count):
            rows[f"text #{i + 1}"] = consumers.step(text_row(megabytes))
    finally:
        consumers.close()
        report(capsys, f"walsender memory over a long session ({elements:,} elements, {megabytes} MB)", rows)
    for name in consumers.pids:
        for kind in ("numeric[]", "text"):
            first, last = rows[f"{kind} #1"][name][1], rows[f"{kind} #{count}"][name][1]
            assert last <= first + 16, f"{name}: kept {first} MB after the first {kind} row, {last} MB after the last"


def test_ten_million_changes_in_one_transaction(server, capsys):
    """PostgreSQL keeps at most logical_decoding_work_mem (64 MB) of a
    transaction in memory, then spills it to disk or (stream-changes)
    streams it: the walsender stays within 256 MB of growth either way.
    Afterwards PostgreSQL's reorder buffer keeps some of its memory:
    test_decoding keeps the same as wal2any (25 MB spilled, 96 MB streamed,
    measured on 3,000,000 changes, again after a second transaction), so
    the bound on what is kept is 128 MB."""
    consumers = Walsenders(server, {"json": ("wal2any", {}), "json_stream": ("wal2any", {"stream-changes": "on"})},
                           work_mem="64MB")
    rows = {"baseline": max(consumers.baseline.values())}
    try:
        rows[f"{CHANGES:,} inserts"] = consumers.step(f"INSERT INTO small SELECT generate_series(1, {CHANGES})")
    finally:
        consumers.close()
        report(capsys, "walsender memory, one transaction of many small changes", rows)
    for name, (peak, kept) in rows[f"{CHANGES:,} inserts"].items():
        assert peak < 256, f"{name}: {peak} MB at the peak"
        assert kept < 128, f"{name}: keeps {kept} MB"
