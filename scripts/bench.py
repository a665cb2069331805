#!/usr/bin/env python3
"""wal2any's benchmark: every wal2any format and the peers, side by side, on
one cluster and the same WAL. Run through scripts/bench (which sets up the
cluster); PGHOST/PGPORT/PGUSER come from the environment.

For each workload one slot per variant is created, the workload runs once,
then every variant decodes the same WAL with the SQL peek functions, several
rounds in interleaved order. Reported: min and median seconds, changes per
second, microseconds per change above the floor (pgoutput publishing only an
unrelated table: decoding with no output), output bytes per change, and
ratios against wal2json format 2 and decoderbufs. Absolute times vary
between machines; the ratios are the claim.
"""
import argparse
import os
import statistics
import subprocess
import time

import psycopg2

# name, plugin, binary, options
VARIANTS = [
    ("floor", "pgoutput", True, ["proto_version", "1", "publication_names", "floor_pub"]),
    ("pgoutput", "pgoutput", True, ["proto_version", "1", "publication_names", "all_pub"]),
    ("test_decoding", "test_decoding", False, ["include-xids", "0"]),
    ("wal2json-1", "wal2json", False, ["format-version", "1"]),
    ("wal2json-2", "wal2json", False, ["format-version", "2"]),
    ("decoderbufs", "decoderbufs", True, []),
    ("wal2any-json", "wal2any", False, []),
    ("wal2any-protobuf", "wal2any", True, ["format", "protobuf"]),
    ("wal2any-avro", "wal2any", True, ["format", "avro"]),
    ("wal2any-test_decoding", "wal2any", False, ["format", "test_decoding", "include-xids", "0"]),
]
PEERS = ("wal2json-2", "decoderbufs")

SETUP = """
DROP TABLE IF EXISTS w, wide, doc, unrelated CASCADE;
CREATE TABLE unrelated (id int PRIMARY KEY);
CREATE TABLE w (id bigint PRIMARY KEY, name text, amount numeric, created timestamptz, payload jsonb);
CREATE TABLE wide (id bigint PRIMARY KEY, {wide_columns});
CREATE TABLE doc (id int PRIMARY KEY, title text, body text);
ALTER TABLE doc ALTER COLUMN body SET STORAGE EXTERNAL;
DROP PUBLICATION IF EXISTS all_pub; DROP PUBLICATION IF EXISTS floor_pub;
CREATE PUBLICATION all_pub FOR ALL TABLES;
CREATE PUBLICATION floor_pub FOR TABLE unrelated;
"""
WIDE_TYPES = ["int", "bigint", "text", "numeric", "timestamptz", "bool", "float8", "date", "jsonb", "uuid"]
WIDE_VALUES = ["g", "g * 1000", "'name ' || g", "g * 1.5", "now()", "g % 2 = 0", "g / 3.0", "current_date",
               "jsonb_build_object('k', g)", "gen_random_uuid()"]


def wide_columns():
    return ", ".join(f"c{i} {WIDE_TYPES[i % 10]}" for i in range(50))


def wide_values():
    return ", ".join(WIDE_VALUES[i % 10] for i in range(50))


def workloads(rows, small):
    w1 = (f"INSERT INTO w SELECT g, 'name ' || g, g * 1.25, now(), jsonb_build_object('k', g, 'v', 'x') "
          f"FROM generate_series(1, {rows}) g")
    return [
        # name, preparation (not decoded), workload, changes, session settings,
        # variant -> options replacing the variant's defaults
        ("W1 inserts", "", w1, rows, {}, {}),
        ("W2 updates", w1, "UPDATE w SET amount = amount + 1, name = name || '!'", rows, {}, {}),
        ("W3 one-row txns", "", [f"INSERT INTO w VALUES ({i}, 'n', 1, now(), '{{}}')" for i in range(small)],
         small, {}, {}),
        ("wide 50 cols", "", f"INSERT INTO wide SELECT g, {wide_values()} FROM generate_series(1, {small * 2}) g",
         small * 2, {}, {}),
        ("TOAST updates", f"INSERT INTO doc SELECT g, 't', repeat(md5(g::text), 100) FROM generate_series(1, {small}) g",
         "UPDATE doc SET title = title || '!'", small, {}, {}),
        ("W1 4MB spill", "", w1, rows, {"logical_decoding_work_mem": "4MB"}, {}),
        # Variants that can stream do (the floor and pgoutput through protocol 2);
        # wal2json and decoderbufs cannot, and spill.
        ("W1 4MB stream", "", w1, rows, {"logical_decoding_work_mem": "4MB"},
         {"floor": ["proto_version", "2", "streaming", "on", "publication_names", "floor_pub"],
          "pgoutput": ["proto_version", "2", "streaming", "on", "publication_names", "all_pub"],
          "test_decoding": ["include-xids", "0", "stream-changes", "1"],
          "wal2any-json": ["stream-changes", "1"],
          "wal2any-protobuf": ["format", "protobuf", "stream-changes", "1"],
          "wal2any-avro": ["format", "avro", "stream-changes", "1"],
          "wal2any-test_decoding": ["format", "test_decoding", "include-xids", "0", "stream-changes", "1"]}),
    ]


def connect(dbname):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    return conn


def run_statements(cur, statements):
    for statement in [statements] if isinstance(statements, str) else statements:
        if statement:
            cur.execute(statement)


def flush_wal(cur):
    """The cluster runs with synchronous_commit = off, and decoding reads only
    flushed WAL: one synchronous commit that wrote WAL flushes everything
    before it, so no round can decode a partial workload (an xid alone
    writes no WAL, so the commit would not wait)."""
    cur.execute("BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'bench', 'flush'); "
                "COMMIT")


def decode(cur, slot, binary, options):
    function = "pg_logical_slot_peek_binary_changes" if binary else "pg_logical_slot_peek_changes"
    started = time.perf_counter()
    cur.execute(f"SELECT count(*), coalesce(sum(octet_length(data)), 0) FROM {function}(%s, NULL, NULL, VARIADIC %s)",
                (slot, options))
    _, size = cur.fetchone()
    return time.perf_counter() - started, size


def measure(cur, workload, rounds):
    name, preparation, statements, changes, settings, extra = workload
    run_statements(cur, preparation)
    slots = [f"b_{v[0].replace('-', '_')}" for v in VARIANTS]
    for slot, (_, plugin, _, _) in zip(slots, VARIANTS):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, %s)", (slot, plugin))
    run_statements(cur, statements)
    flush_wal(cur)
    # One connection per variant: pgoutput caches its publications per
    # backend, so the floor's publication would leak into pgoutput's run.
    sessions = {}
    for variant, *_ in VARIANTS:
        sessions[variant] = connect(cur.connection.info.dbname)
        for key, value in settings.items():
            sessions[variant].cursor().execute(f"SET {key} = %s", (value,))
    times = {v[0]: [] for v in VARIANTS}
    sizes = {}
    try:
        for round_index in range(rounds):
            order = list(zip(slots, VARIANTS))
            order = order[round_index % len(order):] + order[:round_index % len(order)]   # interleave
            for slot, (variant, _, binary, options) in order:
                seconds, size = decode(sessions[variant].cursor(), slot, binary, extra.get(variant, options))
                # wal2json 1 writes a transaction per message: check bytes, not messages.
                if variant != "floor" and size < changes:
                    raise RuntimeError(f"{name}: {variant} wrote {size} bytes for {changes} changes")
                times[variant].append(seconds)
                sizes[variant] = size
    finally:
        for session in sessions.values():
            session.close()
        for slot in slots:
            cur.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        cur.execute("TRUNCATE w, wide, doc")
    return name, changes, times, sizes


def report(name, changes, times, sizes):
    floor = min(times["floor"])
    print(f"\n### {name} ({changes:,} changes)\n")
    print("| variant | min s | median s | changes/s | µs/change above floor | bytes/change | "
          "vs wal2json-2 | vs decoderbufs |")
    print("|---|---|---|---|---|---|---|---|")
    for variant, samples in times.items():
        best = min(samples)
        ratios = [f"{min(times[p]) / best:.2f}x" for p in PEERS]
        above = "" if variant == "floor" else f"{(best - floor) / changes * 1e6:.2f}"
        print(f"| {variant} | {best:.3f} | {statistics.median(samples):.3f} | {changes / best:,.0f} | {above} | "
              f"{sizes[variant] / changes:.0f} | {ratios[0]} | {ratios[1]} |")


def replication_path(cur, rows, dbname, rounds, sql_seconds):
    """W1 through pg_recvlogical to /dev/null, wal2json-2 against wal2any,
    interleaved; pg_recvlogical consumes its slot, so one slot per run.
    `sql_seconds`: wal2json-2's SQL-path time on W1, the target."""
    batch = ["batch-bytes=65536"]
    candidates = [("wal2json-2", "wal2json", ["format-version=2"]), ("wal2any-json", "wal2any", []),
                  ("wal2any-json batch-bytes=65536", "wal2any", batch),
                  ("wal2any-protobuf batch-bytes=65536", "wal2any", batch + ["format=protobuf", "framing=varint"]),
                  ("wal2any-avro batch-bytes=65536", "wal2any", batch + ["format=avro", "framing=varint"])]
    runs = [(r, c) for r in range(rounds) for c in (candidates if r % 2 == 0 else candidates[::-1])]
    for i, (r, (_, plugin, _)) in enumerate(runs):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, %s)", (f"r_{i}", plugin))
    cur.execute(workloads(rows, 1)[0][2])
    flush_wal(cur)
    cur.execute("SELECT pg_current_wal_lsn()")
    end = cur.fetchone()[0]
    times = {c[0]: [] for c in candidates}
    for i, (r, (variant, plugin, options)) in enumerate(runs):
        cmd = ["pg_recvlogical", "-d", dbname, "--slot", f"r_{i}", "--start", "--no-loop",
               "--endpos", end, "-f", "/dev/null"]
        for option in options:
            cmd += ["-o", option]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times[variant].append(time.perf_counter() - started)
        cur.execute("SELECT pg_drop_replication_slot(%s)", (f"r_{i}",))
    print(f"\n### replication connection: W1 through pg_recvlogical to /dev/null ({rows:,} changes)\n")
    print(f"Target: no slower than wal2json-2's SQL path on W1 ({sql_seconds:.3f} s, min above).\n")
    print("| variant | min s | median s | vs wal2json-2 SQL path |")
    print("|---|---|---|---|")
    for variant, samples in times.items():
        print(f"| {variant} | {min(samples):.3f} | {statistics.median(samples):.3f} | "
              f"{sql_seconds / min(samples):.2f}x |")
    cur.execute("TRUNCATE w")


def peak_memory(dbname, rows_list):
    """Peak backend memory (VmHWM above the connection's own) decoding one
    streamed transaction with logical_decoding_work_mem = 4MB."""
    print("\n### peak backend memory, one streamed transaction (stream-changes, 4MB work mem)\n")
    print("| changes | VmHWM growth MiB |")
    print("|---|---|")
    for rows in rows_list:
        setup = connect(dbname)
        cur = setup.cursor()
        cur.execute("SELECT pg_create_logical_replication_slot('mem', 'wal2any')")
        cur.execute(workloads(rows, 1)[0][2])
        flush_wal(cur)
        probe = connect(dbname)
        pcur = probe.cursor()
        pcur.execute("SELECT pg_backend_pid()")
        pid = pcur.fetchone()[0]
        before = vm_hwm(pid)
        pcur.execute("SET logical_decoding_work_mem = '4MB'")
        pcur.execute("SELECT count(*) FROM pg_logical_slot_peek_changes('mem', NULL, NULL, 'stream-changes', '1')")
        growth = (vm_hwm(pid) - before) / 1024
        print(f"| {rows:,} | {growth:.1f} |")
        probe.close()
        cur.execute("SELECT pg_drop_replication_slot('mem')")
        cur.execute("TRUNCATE w")
        setup.close()


def vm_hwm(pid):
    """Peak resident set of a backend, in KiB (it runs on this machine)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def main():
    parser = argparse.ArgumentParser(description="wal2any benchmark")
    parser.add_argument("--rows", type=int, default=200_000, help="changes in W1/W2")
    parser.add_argument("--small", type=int, default=20_000, help="transactions in W3; rows of the other workloads / 2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-rows", default="500000,2000000")
    args = parser.parse_args()
    dbname = os.environ.get("BENCH_DB", "wal2any_bench")
    admin = connect("postgres")
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {dbname}")
    admin.cursor().execute(f"CREATE DATABASE {dbname}")
    conn = connect(dbname)
    cur = conn.cursor()
    cur.execute(SETUP.format(wide_columns=wide_columns()))
    cur.execute("SELECT version()")
    print(f"PostgreSQL: {cur.fetchone()[0]}\nmachine: {os.cpu_count()} cores; rounds: {args.rounds}")
    sql_seconds = None
    for workload in workloads(args.rows, args.small):
        result = measure(cur, workload, args.rounds)
        sql_seconds = sql_seconds or min(result[2]["wal2json-2"])   # W1 comes first
        report(*result)
    replication_path(cur, args.rows, dbname, args.rounds, sql_seconds)
    peak_memory(dbname, [int(r) for r in args.memory_rows.split(",")])
    conn.close()


if __name__ == "__main__":
    main()
