"""A seeded differential torture test. The workload generator and the
stream side of the replay are in tests/torture.py; the applier's SQL side is
here.

For each seed, a random workload runs on a source database whose session
has hostile settings (torture.HOSTILE: TimeZone Pacific/Chatham, DateStyle SQL/DMY,
IntervalStyle sql_standard, extra_float_digits -3, bytea_output escape, and
a search_path whose first schema, where the tables and types go, is not
public): tables over the type matrix with every replica identity, DML with
key changes, unchanged TOAST, savepoints, aborts, prepared transactions,
large transactions that spill or stream, truncates, messages, DDL between
transactions. Odd seeds decode through a two-phase slot. On the same WAL:

- JSON is the same byte for byte through pg_logical_slot_peek_changes under
  the hostile settings, under default settings, and through pg_recvlogical
  (a walsender, settings from PGOPTIONS; pg_recvlogical clears search_path);
- replaying the JSON events into a second database that got the same DDL at
  the same points (carried by logical messages, see tests/torture.py) gives
  every table the source's rows: streamed changes buffered per xid and
  dropped on stream_abort, unchanged TOAST not updated, JSON null apart from
  SQL NULL, REPLICA IDENTITY FULL rows matched one at a time;
- streamed decoding and spilled decoding (no stream-changes) apply the same
  changes in the same transactions;
- format=protobuf and format=avro carry the same events and values as JSON
  (tests/crossformat.py's canonical comparison);
- format=test_decoding is PostgreSQL's test_decoding byte for byte.

Where two decodings may legitimately differ, the comparisons leave it out
and say why: the contents of aborted streamed (sub)transactions and of
prepared transactions rolled back (settled()), and the order of events at
the same LSN (lsn_order()). A failure names the seed and the first
differing table, event or line.

CI runs seeds 1,2,3 at size 200 (about 25 s here). The soak, not in CI:

    WAL2ANY_TORTURE_SEEDS=$(seq -s, 1 200) WAL2ANY_TORTURE_SIZE=2000 \\
        python3 -m pytest -q -p no:cacheprovider tests/test_torture.py

and `python3 tests/torture.py SEED SIZE` prints a seed's SQL steps."""
import collections
import json
import os
import re
import tempfile

import psycopg2
import pytest
from psycopg2 import sql

import torture
from conftest import create_database, drop_database, dsn
from crossformat import (SHARED_OPTIONS, WORK_MEM, TypeCatalog, assert_same_events, canonical_json_event, lsn_number,
                         parse_json)
from test_avro import Registry, canonical_avro_events
from test_clients import current_lsn, recvlogical
from test_protobuf import canonical_pb_events, pb2  # noqa: F401  (pb2 is a fixture)

SEEDS = [int(s) for s in os.environ.get("WAL2ANY_TORTURE_SEEDS", "1,2,3").split(",") if s.strip()]
SIZE = int(os.environ.get("WAL2ANY_TORTURE_SIZE", "200"))
HOSTILE = torture.HOSTILE
# The applier matches REPLICA IDENTITY FULL rows by their text: floats must print exactly there.
APPLIER_SETTINGS = {**HOSTILE, "extra_float_digits": "3"}
# Rows are compared as text under these settings on both sides (floats exact).
COMPARE_SETTINGS = {"search_path": HOSTILE["search_path"], "extra_float_digits": "3", "TimeZone": "UTC"}
JSON_OPTIONS = {**SHARED_OPTIONS, "include-type-oids": "1", "include-types": "1", "include-pk": "1"}
# The "types" member: an object of type names (none of the workload's contains a brace).
TYPES_MEMBER = re.compile(r',"types":\{[^{}]*\}')
TEST_DECODING_OPTIONS = [[], ["stream-changes", "1"], ["include-xids", "0", "skip-empty-xacts", "1"]]


# ---------------------------------------------------------------- the applier
# Values go back in as text with a cast to the target column's type, never
# through Python numbers: numeric digits and scale, 1e3 and -0 arrive as the
# JSON format wrote them (torture.RawNumber).
def json_text(v):
    """A json/jsonb value back to JSON text, numbers exactly as decoded."""
    if isinstance(v, torture.RawNumber):
        return str(v)
    if isinstance(v, (dict, torture.Pairs)):
        items = v.items() if isinstance(v, dict) else v
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + json_text(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(json_text(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


ISO_DATE_TIME = re.compile(r"^([+-]?)(\d{4,})(-\d\d-\d\d)(?:T([\d:.]+))?(Z)?$")


def pg_date_time(text):
    """ISO 8601 with astronomical years (-0043 is 44 BC, +20000) -> PostgreSQL input."""
    m = ISO_DATE_TIME.match(text)
    if not m:
        return text                       # infinity, -infinity
    year = int(m[2]) * (-1 if m[1] == "-" else 1)
    era = " BC" if year <= 0 else ""
    out = f"{year if year > 0 else 1 - year:04d}{m[3]}"
    return out + (" " + m[4] if m[4] else "") + ("+00" if m[5] else "") + era


def pointer(name):
    """A column's JSON Pointer token (RFC 6901)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def to_text(cat, v, path, json_nulls):
    """A decoded value -> its PostgreSQL input text (None: SQL NULL)."""
    if v is None:
        return "null" if path in json_nulls else None     # the JSON literal null, listed in json_null
    if isinstance(cat, tuple):
        return array_text(cat[1], v, path, json_nulls)
    if cat == "json":
        return json_text(v)
    if cat in ("date", "timestamp", "timestamptz"):
        return pg_date_time(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def array_text(elem, items, path, json_nulls):
    """Nested lists are dimensions, except in json/jsonb arrays, where the
    JSON format cannot tell a 2-D array from JSON arrays as elements: the
    workload's json arrays are 1-D, so a list there is an element."""
    parts = []
    for i, x in enumerate(items):
        if isinstance(x, list) and elem != "json":
            parts.append(array_text(elem, x, f"{path}/{i}", json_nulls))
            continue
        text = to_text(elem, x, f"{path}/{i}", json_nulls)
        parts.append("NULL" if text is None else torture.element(text))
    return "{" + ",".join(parts) + "}"


class ApplyError(Exception):
    pass


class Applier:
    """Applies replay_order's transactions to the target, one target
    transaction each, with session_replication_role = replica (as
    PostgreSQL's apply workers: no triggers, no foreign key actions: the
    decoded cascades are in the stream). Values go in as text with a cast
    to the target column's type. Every UPDATE/DELETE must touch one row."""

    def __init__(self, conn):
        self.conn, self.columns, self.catalog = conn, {}, None
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
        conn.commit()

    def apply(self, transaction):
        with self.conn.cursor() as cur:
            for e in transaction:
                try:
                    self.apply_event(cur, e)
                except Exception as error:
                    self.conn.rollback()
                    raise ApplyError(f"{type(error).__name__}: {error}\nwhile applying "
                                     f"{json.dumps(e, ensure_ascii=False)[:3000]}") from error
        self.conn.commit()

    def apply_event(self, cur, e):
        action = e["action"]
        if action == "message":
            if e["prefix"] == torture.DDL_PREFIX:
                cur.execute(e["content"])
                self.columns, self.catalog = {}, None
        elif action == "truncate":
            names = sql.SQL(", ").join(sql.Identifier(r["schema"], r["table"]) for r in e["relations"])
            cur.execute(sql.SQL("TRUNCATE {}" + " RESTART IDENTITY" * e["restart_identity"] +
                                " CASCADE" * e["cascade"]).format(names))
        elif action == "insert":
            columns = self.table_columns(cur, e)
            names, values, params = self.new_row(e, columns)
            cur.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(e["schema"], e["table"]), sql.SQL(", ").join(names), sql.SQL(", ").join(values)), params)
        else:
            self.change_one_row(cur, e)

    def table_columns(self, cur, e):
        """name -> (type as format_type prints it, type OID) on the target;
        checks the event has the same columns and types."""
        key = (e["schema"], e["table"])
        if key not in self.columns:
            # Type names as the typed formats print them: with only pg_catalog on the search path.
            cur.execute("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog', false)")
            search_path = cur.fetchone()[0]
            cur.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid FROM pg_attribute a "
                        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
                        "ORDER BY a.attnum", key)
            self.columns[key] = {name: (type_sql, oid) for name, type_sql, oid in cur.fetchall()}
            cur.execute("SELECT set_config('search_path', %s, false)", (search_path,))
            self.catalog = self.catalog or TypeCatalog(cur)
        columns = self.columns[key]
        types = {name: type_sql for name, (type_sql, _) in columns.items()}
        if e["types"] != types:
            raise ApplyError(f"the event's types {e['types']} are not the target table's {types}")
        return columns

    def typed(self, columns, name, value, json_nulls):
        type_sql, oid = columns[name]
        text = to_text(self.catalog.category(oid), value, pointer(name), json_nulls)
        return sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(type_sql)), text

    def new_row(self, e, columns):
        """`new` as column names, cast placeholders and values; unchanged TOAST columns are left out."""
        row, unchanged = e["new"], e.get("unchanged_toast", [])
        if set(row) | set(unchanged) != set(columns):
            raise ApplyError(f"the event's columns {list(row)} + unchanged {unchanged} are not {list(columns)}")
        names, values, params = [], [], []
        for name, value in row.items():
            placeholder, text = self.typed(columns, name, value, e.get("json_null", []))
            names.append(sql.Identifier(name))
            values.append(placeholder)
            params.append(text)
        return names, values, params

    def change_one_row(self, cur, e):
        columns = self.table_columns(cur, e)
        table = sql.Identifier(e["schema"], e["table"])
        where, where_params = self.row_match(e, columns, table)
        if e["action"] == "delete":
            cur.execute(sql.SQL("DELETE FROM {} WHERE {}").format(table, where), where_params)
        else:
            names, values, params = self.new_row(e, columns)
            sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(n, v) for n, v in zip(names, values))
            cur.execute(sql.SQL("UPDATE {} SET {} WHERE {}").format(table, sets, where), params + where_params)
        if cur.rowcount != 1:
            raise ApplyError(f"{e['action']} touched {cur.rowcount} rows, not 1")

    def row_match(self, e, columns, table):
        """The WHERE clause that finds the event's row: `=` on the key
        columns; for REPLICA IDENTITY FULL (the key is the whole old row),
        text equality on every column (json, point have no `=`) and one row
        by ctid, since FULL tables may hold identical rows."""
        key, json_nulls = e.get("key"), e.get("key_json_null", [])
        skip = set(e.get("key_unchanged_toast", []))
        if key is None:
            if e["action"] == "delete" or not e.get("pk"):
                raise ApplyError("the event has no key (REPLICA IDENTITY NOTHING or no primary key)")
            key, json_nulls = {c: e["new"][c] for c in e["pk"]}, e.get("json_null", [])   # the key did not change
        full = set(key) | skip == set(columns)
        conditions, params = [], []
        for name, value in key.items():
            if name in skip:
                continue
            placeholder, text = self.typed(columns, name, value, json_nulls)
            template = "{}::text IS NOT DISTINCT FROM ({})::text" if full else "{} = {}"
            conditions.append(sql.SQL(template).format(sql.Identifier(name), placeholder))
            params.append(text)
        where = sql.SQL(" AND ").join(conditions)
        if full:
            where = sql.SQL("ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(table, where)
        return where, params


# ---------------------------------------------------------------- the runs
def connect(database, settings):
    conn = psycopg2.connect(dsn(database))
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute("SELECT set_config(%s, %s, false)", (name, value))
    return conn


def pgoptions(settings):
    """PGOPTIONS for a walsender: -c name=value, spaces escaped."""
    escape = lambda v: v.replace("\\", "\\\\").replace(" ", "\\ ")  # noqa: E731
    return " ".join(f"-c {name}={escape(value)}" for name, value in settings.items())


def reproduce(seed):
    return f"(reproduce: WAL2ANY_TORTURE_SEEDS={seed} WAL2ANY_TORTURE_SIZE={SIZE} pytest tests/test_torture.py)"


def peek(cur, slot, end, options, binary=False):
    flat = [x for kv in options.items() for x in kv]
    function = "pg_logical_slot_peek_binary_changes" if binary else "pg_logical_slot_peek_changes"
    cur.execute(f"SET logical_decoding_work_mem = '{WORK_MEM}'")
    cur.execute(f"SELECT data FROM {function}(%s, %s, NULL{', %s' * len(flat)})", [slot, end, *flat])
    return [bytes(row[0]) if binary else row[0] for row in cur.fetchall()]


class Run:
    """One seed's workload, run on `source`; `target` is empty."""

    def __init__(self, seed, source, target):
        self.seed, self.source, self.target = seed, source, target
        self.two_phase = seed % 2 == 1
        self.conn = connect(source, HOSTILE)
        self.cur = self.conn.cursor()
        for slot, plugin in (("torture", "wal2any"), ("torture_recv", "wal2any"), ("torture_td", "test_decoding")):
            self.cur.execute("SELECT pg_create_logical_replication_slot(%s, %s, false, %s)",
                             (slot, plugin, self.two_phase))
        # A hang guard: a generator bug that waits on a prepared transaction's lock fails instead.
        self.cur.execute("SET lock_timeout = '30s'")
        for number, step in enumerate(torture.generate(seed, SIZE)):
            try:
                self.cur.execute(step)
            except psycopg2.Error as error:
                pytest.fail(f"seed {seed}: workload step {number} failed: {error}\n{step[:3000]}\n{reproduce(seed)}")
        self.end = current_lsn(self.cur)
        self.json = peek(self.cur, "torture", self.end, JSON_OPTIONS)

    def events(self):
        return [torture.parse_event(text) for text in self.json]


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def run(request):
    source, target = create_database(), create_database()
    result = None
    try:
        result = Run(request.param, source, target)
        yield result
    finally:
        if result is not None:
            result.conn.close()
        drop_database(source)
        drop_database(target)


CHANGES = {"insert", "update", "delete", "truncate", "message"}


def settled(events):
    """Indexes of the events that every decoding of this WAL must agree on.

    PostgreSQL stops streaming a transaction (or decoding it at PREPARE) as
    soon as a catalog scan made while it is processed sees that it aborted
    ("concurrent abort" in ReorderBufferProcessTXN): how many changes of an
    aborted (sub)transaction go out, and where stream blocks end, depend on
    which catalog lookups miss the caches of that process and plugin (the
    first row with an enum label not looked up before in that process ends
    the stream there; a walsender starts with cold caches, a SQL session
    does not). Left out: stream_start/stream_stop, and the changes and
    messages of aborted streamed (sub)transactions and of prepared
    transactions rolled back. Works on JSON events and canonical ones."""
    aborted, rolled_back, gids = set(), set(), {}
    for e in events:
        if e["action"] == "stream_abort":
            aborted.add((e["xid"], e.get("subxid") or None))
        elif e["action"] == "rollback_prepared":
            rolled_back.add(e["gid"])
        elif e["action"] in ("begin_prepare", "prepare", "stream_prepare"):
            gids[e["xid"]] = e["gid"]
    keep = []
    for i, e in enumerate(events):
        if e["action"] in ("stream_start", "stream_stop"):
            continue
        doomed = (e.get("xid"), None) in aborted or (e.get("xid"), e.get("subxid") or None) in aborted or \
            gids.get(e.get("xid")) in rolled_back
        if not (e["action"] in CHANGES and e.get("transactional", True) and doomed):
            keep.append(i)
    return keep


def settled_lines(lines):
    events = [parse_json(line) for line in lines]
    return [lines[i] for i in settled(events)]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i}:\n  {x!r:.3000}\n  {y!r:.3000}"
    return f"lengths {len(a)} and {len(b)}; first extra line: {(a[len(b):] or b[len(a):])[0]!r:.3000}"


def test_json_is_the_same_through_both_paths_and_any_settings(run):
    plain = connect(run.source, {})
    try:
        default_settings = peek(plain.cursor(), "torture", run.end, JSON_OPTIONS)
    finally:
        plain.close()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "changes.jsonl")
        options = [x for k, v in JSON_OPTIONS.items() for x in ("-o", f"{k}={v}")]
        env = {"PGOPTIONS": pgoptions({**HOSTILE, "logical_decoding_work_mem": WORK_MEM})}
        recvlogical(run.source, "--slot", "torture_recv", "--start", "--no-loop", "--endpos", run.end, "-f", out,
                    *options, env=env)
        with open(out, encoding="utf-8") as f:
            walsender = f.read().split("\n")[:-1]     # pg_recvlogical ends each message with a newline
    assert len(run.json) > 100, f"seed {run.seed}: the workload decoded"
    expected = settled_lines(run.json)
    for label, lines in (("pg_recvlogical", walsender), ("default settings", default_settings)):
        lines = settled_lines(lines)
        # "types" first apart: type names are the likeliest to follow a session's search_path.
        untyped, expected_untyped = ([TYPES_MEMBER.sub("", x) for x in ls] for ls in (lines, expected))
        assert untyped == expected_untyped, f"seed {run.seed}: {label} differs from hostile settings in the SQL " \
            f"function (not counting \"types\") at {first_difference(untyped, expected_untyped)}\n{reproduce(run.seed)}"
        assert lines == expected, f"seed {run.seed}: {label} differs from hostile settings in the SQL function " \
            f"at {first_difference(lines, expected)}\n{reproduce(run.seed)}"


def table_rows(conn, schema, table):
    """The table's rows as text (json compared as jsonb: the format compacts json)."""
    with conn.cursor() as cur:
        cur.execute("SELECT a.attname, a.atttypid = 'json'::regtype FROM pg_attribute a JOIN pg_class c ON "
                    "c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND "
                    "c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (schema, table))
        columns = [psycopg2.extensions.quote_ident(name, cur) + ("::jsonb" if is_json else "")
                   for name, is_json in cur.fetchall()]
        cur.execute(f"SELECT ROW({', '.join(columns)})::text FROM "
                    f"{psycopg2.extensions.quote_ident(schema, cur)}.{psycopg2.extensions.quote_ident(table, cur)}")
        return collections.Counter(row[0] for row in cur.fetchall()), columns


def user_tables(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname IN (%s, 'public') ORDER BY 1, 2", (torture.SHADOW_SCHEMA,))
        return cur.fetchall()


def test_replay_reproduces_every_table(run):
    transactions, left_open = torture.replay_order(run.events())
    assert left_open == {"streams": {}, "prepared": {}, "open": None}, f"seed {run.seed}: left open {left_open}"
    target = connect(run.target, APPLIER_SETTINGS)
    target.autocommit = False
    try:
        applier = Applier(target)
        for number, transaction in enumerate(transactions):
            try:
                applier.apply(transaction)
            except ApplyError as error:
                pytest.fail(f"seed {run.seed}: transaction {number} of {len(transactions)} does not apply: {error}\n"
                            f"{reproduce(run.seed)}")
    finally:
        target.close()
    source, target = connect(run.source, COMPARE_SETTINGS), connect(run.target, COMPARE_SETTINGS)
    try:
        tables, compared = user_tables(source), 0
        assert user_tables(target) == tables, f"seed {run.seed}: the target's tables differ"
        for schema, table in tables:
            expected, columns = table_rows(source, schema, table)
            compared += sum(expected.values())
            got, target_columns = table_rows(target, schema, table)
            assert target_columns == columns, f"seed {run.seed}: {schema}.{table} columns differ"
            missing, extra = list((expected - got).elements()), list((got - expected).elements())
            assert not missing and not extra, (
                f"seed {run.seed}: {schema}.{table} differs ({sum(expected.values())} rows in the source): "
                f"missing {missing[:3]}, extra {extra[:3]}\n{reproduce(run.seed)}")
        assert compared, f"seed {run.seed}: no rows compared"
    finally:
        source.close()
        target.close()


def lsn_order(transactions, seed):
    """Each transaction's events without subxid, in LSN order; equal LSNs in
    any order: a transactional message's LSN is the end of its record
    (DecodeLogicalMsg), the start of the next change, and when that change is
    in another subtransaction the reorder buffer's merge may deliver either
    first (seed 107 at size 400: the message first when streamed, the insert
    first when spilled)."""
    ordered = []
    for t in transactions:
        lsns = [lsn_number(e["lsn"]) for e in t]
        assert lsns == sorted(lsns), f"seed {seed}: a transaction's changes out of LSN order: {lsns}"
        events = [{k: v for k, v in e.items() if k != "subxid"} for e in t]
        ordered.append(sorted(events, key=lambda e: (lsn_number(e["lsn"]), json.dumps(e, sort_keys=True))))
    return ordered


def test_streamed_and_spilled_decoding_apply_the_same_transactions(run):
    streamed, _ = torture.replay_order(run.events())
    spilled_text = peek(run.cur, "torture", run.end, {**JSON_OPTIONS, "stream-changes": "0"})
    spilled, left_open = torture.replay_order([torture.parse_event(t) for t in spilled_text])
    assert left_open == {"streams": {}, "prepared": {}, "open": None}, f"seed {run.seed}: left open {left_open}"
    assert not any(e.startswith('{"action":"stream_') for e in spilled_text)
    assert any(e.startswith('{"action":"stream_start"') for e in run.json), f"seed {run.seed}: nothing streamed"
    got, expected = lsn_order(streamed, run.seed), lsn_order(spilled, run.seed)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert a == b, f"seed {run.seed}: transaction {i} differs:\nstreamed {a}\nspilled  {b}"
    assert len(got) == len(expected)


def test_protobuf_carries_the_same_events(run, pb2):  # noqa: F811
    catalog = TypeCatalog(run.cur)
    expected = [canonical_json_event(parse_json(text), catalog) for text in run.json]
    binary = peek(run.cur, "torture", run.end, {**SHARED_OPTIONS, "format": "protobuf"}, binary=True)
    got, _ = canonical_pb_events([pb2.Event.FromString(data) for data in binary], catalog)
    try:
        assert_same_events([got[i] for i in settled(got)], [expected[i] for i in settled(expected)])
    except AssertionError as error:
        pytest.fail(f"seed {run.seed}: {error}\n{reproduce(run.seed)}")


def settled_avro(messages):
    """The Avro messages of settled() events, and every SchemaEvent."""
    registry, events, positions = Registry(), [], []
    for i, message in enumerate(messages):
        name, _, rec = registry.read(message)
        if name == "wal2any.SchemaEvent":
            continue
        source = rec.get("source", rec)
        events.append({"action": rec.get("op") or rec.get("event") or name.split(".")[-1].lower(),
                       "xid": source.get("xid"), "subxid": source.get("subxid"), "gid": rec.get("gid"),
                       "transactional": rec.get("transactional", True)})
        positions.append(i)
    dropped = set(positions) - {positions[j] for j in settled(events)}
    return [m for i, m in enumerate(messages) if i not in dropped]


def test_avro_carries_the_same_events(run):
    catalog = TypeCatalog(run.cur)
    raw = [parse_json(text) for text in run.json]
    binary = peek(run.cur, "torture", run.end, {**SHARED_OPTIONS, "format": "avro"}, binary=True)
    # canonical_avro_events types each change by the JSON event at its position:
    # only the settled events line up.
    raw = [raw[i] for i in settled(raw)]
    got, _ = canonical_avro_events(settled_avro(binary), raw, catalog)
    try:
        assert_same_events(got, [canonical_json_event(e, catalog) for e in raw])
    except AssertionError as error:
        pytest.fail(f"seed {run.seed}: {error}\n{reproduce(run.seed)}")


@pytest.mark.parametrize("options", TEST_DECODING_OPTIONS, ids=lambda o: " ".join(o) or "defaults")
def test_test_decoding_format_is_test_decoding(run, options):
    """Binary peeks: message contents may be any bytes; output functions run under HOSTILE."""
    pairs, outputs = dict(zip(options[::2], options[1::2])), []
    # Each in a fresh session: PostgreSQL's own catalog lookups then miss the same caches in both.
    for slot, extra in (("torture_td", {}), ("torture", {"format": "test_decoding"})):
        conn = connect(run.source, HOSTILE)
        try:
            outputs.append(peek(conn.cursor(), slot, run.end, {**extra, **pairs}, binary=True))
        finally:
            conn.close()
    expected, got = outputs
    assert len(expected) > 100
    assert got == expected, f"seed {run.seed}, options {options}: differs from test_decoding at " \
        f"{first_difference(got, expected)}\n{reproduce(run.seed)}"


def test_the_workload_covers_what_it_claims(run):
    """What the comparisons above covered, so a generator change cannot quietly drop it."""
    events = run.events()
    actions = collections.Counter(e["action"] for e in events)
    assert {"insert", "update", "delete", "truncate", "message", "stream_start", "stream_stop", "stream_abort",
            "stream_commit"} <= set(actions), f"seed {run.seed}: {actions}"
    assert any(e["action"] == "stream_abort" and "subxid" in e for e in events), "a streamed savepoint rolled back"
    assert any(e["action"] == "stream_abort" and "subxid" not in e for e in events), "a streamed transaction aborted"
    assert any(e.get("unchanged_toast") for e in events), "unchanged TOAST"
    assert any(e["action"] == "truncate" and e["cascade"] and e["restart_identity"] for e in events)
    assert any(e["action"] == "update" and e["key"] is None for e in events), "REPLICA IDENTITY NOTHING"
    assert any(e["action"] == "message" and not e["transactional"] for e in events)
    assert any(e.get("json_null") for e in events), "a JSON null apart from SQL NULL"
    prepared = {"begin_prepare", "prepare", "commit_prepared"} if run.two_phase else set()
    assert prepared <= set(actions)
    assert run.two_phase == ("stream_prepare" in actions), "the forced large prepared transaction streams"
    types = {t for e in events for t in e.get("types", {}).values()}
    declared = {torture.qualified_type(torture.TYPES[k][0]) for k in torture.TYPES}
    assert declared <= types, f"seed {run.seed}: types never decoded: {declared - types}"
