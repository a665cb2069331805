"""Shared by the independent-decoder tests (Protobuf, Avro): one workload
that exercises everything a format must carry, and the JSON format's events
turned into canonical Python values, so another format's events, decoded by
a decoder that is not ours, can be compared with them value by value.

Canonical values: None, bool, int, float (float4 rounded to 32 bits),
"NaN"/"Infinity"/"-Infinity", Decimal tuples for numeric, bytes for bytea
and uuid, parsed JSON for json/jsonb, numbers for dates and times
(days / microseconds since 1970-01-01, (micros, offset east) for timetz,
(months, days, micros) for intervals), nested lists for arrays, str for the
rest, and UNCHANGED for an unchanged TOAST value."""
import base64
import json
import pathlib
import re
import struct
from decimal import Decimal

TYPE_MATRIX = pathlib.Path(__file__).parent.parent / "pg_test" / "type_matrix.sql"
UNCHANGED = "<unchanged toast>"
SPECIAL_FLOATS = {"NaN", "Infinity", "-Infinity"}
INFINITIES = {"infinity", "-infinity"}
MICROS_PER_DAY = 86_400_000_000

DATE_TIME = re.compile(
    r"^(?P<y>[+-]?\d{4,})-(?P<mo>\d\d)-(?P<d>\d\d)"
    r"(?:T(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d+))?)?(?P<tz>Z)?$")
TIME = re.compile(r"^(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d+))?(?P<tz>[+-]\d\d(?::\d\d)?(?::\d\d)?)?$")
INTERVAL = re.compile(
    r"^P(?:(?P<y>-?\d+)Y)?(?:(?P<mo>-?\d+)M)?(?:(?P<d>-?\d+)D)?"
    r"(?:T(?:(?P<h>-?\d+)H)?(?:(?P<mi>-?\d+)M)?(?:(?P<s>-?\d+(?:\.\d+)?)S)?)?$")


def days_from_civil(y, m, d):
    """Days since 1970-01-01 in the proleptic Gregorian calendar, any year
    (year 0 is 1 BC), after Howard Hinnant's algorithm."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def fraction_micros(f):
    return int((f or "0").ljust(6, "0")[:6])


def offset_seconds(tz):
    sign = -1 if tz[0] == "-" else 1
    parts = [int(p) for p in tz[1:].split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def parse_date_time(text):
    """ISO 8601 text as the JSON format writes it -> days or micros since 1970."""
    if text in INFINITIES:
        return text
    m = DATE_TIME.match(text)
    assert m, f"not an ISO date/time: {text!r}"
    days = days_from_civil(int(m["y"]), int(m["mo"]), int(m["d"]))
    if m["h"] is None:
        return days
    clock = (int(m["h"]) * 3600 + int(m["mi"]) * 60 + int(m["s"])) * 1_000_000 + fraction_micros(m["f"])
    return days * MICROS_PER_DAY + clock


def parse_time(text):
    m = TIME.match(text)
    assert m, f"not an ISO time: {text!r}"
    micros = (int(m["h"]) * 3600 + int(m["mi"]) * 60 + int(m["s"])) * 1_000_000 + fraction_micros(m["f"])
    return (micros, offset_seconds(m["tz"])) if m["tz"] else micros


def parse_interval(text):
    m = INTERVAL.match(text)
    assert m, f"not an ISO 8601 interval: {text!r}"
    part = lambda name: int(m[name] or 0)  # noqa: E731
    seconds = Decimal(m["s"] or 0)
    micros = (part("h") * 3600 + part("mi") * 60) * 1_000_000 + int(seconds * 1_000_000)
    return (part("y") * 12 + part("mo"), part("d"), micros)


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def special_float(x):
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    return None


def numeric(text):
    return text if text in SPECIAL_FLOATS else Decimal(text).as_tuple()


def parse_json(text):
    return json.loads(text, parse_float=Decimal)


class TypeCatalog:
    """What each type OID is, for canonicalising values: a category name,
    or ("array", element category)."""
    SCALARS = {
        "bool": "bool", "int2": "int", "int4": "int", "int8": "int", "oid": "int",
        "float4": "float4", "float8": "float8", "numeric": "numeric", "bytea": "bytea", "uuid": "uuid",
        "json": "json", "jsonb": "json", "date": "date", "time": "time", "timetz": "timetz",
        "timestamp": "timestamp", "timestamptz": "timestamptz", "interval": "interval",
    }

    def __init__(self, cur):
        cur.execute("SELECT oid, typname, typtype, typelem, typbasetype, typcategory FROM pg_type")
        self.types = {row[0]: row[1:] for row in cur.fetchall()}

    def category(self, oid):
        name, typtype, elem, base, typcategory = self.types[oid]
        if typtype == "d":
            return self.category(base)
        if name in ("int2vector", "oidvector"):
            return ("array", "int")
        if typcategory == "A" and elem:
            return ("array", self.category(elem))
        return self.SCALARS.get(name, "text")


def canonical_json_value(cat, v):
    """A value of the JSON format -> canonical."""
    if v is None:
        return None
    if isinstance(cat, tuple):
        return [canonical_json_value(cat if isinstance(x, list) else cat[1], x) for x in v] \
            if isinstance(v, list) else v
    if cat in ("float4", "float8"):
        if isinstance(v, str):
            return v
        return float32(float(v)) if cat == "float4" else float(v)
    if cat == "numeric":
        return v if isinstance(v, str) else Decimal(v).as_tuple()
    if cat == "bytea":
        return bytes.fromhex(v[2:])
    if cat == "uuid":
        return bytes.fromhex(v.replace("-", ""))
    if cat in ("date", "timestamp", "timestamptz"):
        return parse_date_time(v)
    if cat in ("time", "timetz"):
        return parse_time(v)
    if cat == "interval":
        return parse_interval(v)
    return v


def lsn_number(text):
    if not text:
        return 0
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def canonical_json_row(row, unchanged, types, catalog):
    values = {name: canonical_json_value(catalog.category(types[name]), v) for name, v in row.items()}
    values.update({name: UNCHANGED for name in unchanged})
    return values


def canonical_json_event(e, catalog):
    """One JSON event -> the canonical event dict other formats must match."""
    action = e["action"]
    ev = {"action": action, "xid": e.get("xid", 0), "lsn": lsn_number(e.get("lsn")), "subxid": e.get("subxid", 0)}
    if action in ("insert", "update", "delete"):
        types = e["type_oids"]
        ev["relation"] = (e["schema"], e["table"], tuple(types.items()))
        if "new" in e:
            ev["new"] = canonical_json_row(e["new"], e.get("unchanged_toast", []), types, catalog)
        if action != "insert":
            key = e["key"]
            ev["key"] = None if key is None else canonical_json_row(
                key, e.get("key_unchanged_toast", []), types, catalog)
    elif action == "truncate":
        ev.update(relations=[(r["schema"], r["table"]) for r in e["relations"]],
                  cascade=e["cascade"], restart_identity=e["restart_identity"])
    elif action == "message":
        content = e["content"]
        content = base64.b64decode(content) if e.get("content_encoding") == "base64" else content.encode()
        ev.update(transactional=e["transactional"], prefix=e["prefix"], content=content)
    elif action == "stream_start":
        ev["first_segment"] = e["first_segment"]
    elif action.startswith("stream_") and action not in ("stream_commit", "stream_prepare"):
        pass
    else:
        time = e.get("commit_time") or e.get("prepare_time")
        ev.update(end_lsn=lsn_number(e.get("end_lsn")), gid=e.get("gid", ""),
                  commit_time=parse_date_time(time) if time else 0,
                  origin=(e["origin"], lsn_number(e["origin_lsn"])) if "origin" in e else None)
    return ev


def run_workload(conn):
    """Every kind of event, on the database of `conn` (autocommit).

    Decoding it with logical_decoding_work_mem = 64kB and stream-changes
    streams the three large transactions."""
    cur = conn.cursor()
    cur.execute(TYPE_MATRIX.read_text())
    cur.execute("""
        CREATE TABLE id_default (id int PRIMARY KEY, v text);
        CREATE TABLE id_nopk (id int, v text);
        CREATE TABLE id_full (id int, v text, doc text);
        ALTER TABLE id_full REPLICA IDENTITY FULL;
        CREATE TABLE id_nothing (id int PRIMARY KEY, v text);
        ALTER TABLE id_nothing REPLICA IDENTITY NOTHING;
        CREATE TABLE id_index (a int NOT NULL, b text NOT NULL, v text);
        CREATE UNIQUE INDEX id_index_ab ON id_index (a, b);
        ALTER TABLE id_index REPLICA IDENTITY USING INDEX id_index_ab;
        ALTER TABLE id_full ALTER doc SET STORAGE EXTERNAL;""")
    cur.execute("""
        INSERT INTO id_default VALUES (1, 'one'), (2, 'two');
        INSERT INTO id_nopk VALUES (1, 'one'), (2, 'two');
        INSERT INTO id_nothing VALUES (1, 'one'), (2, 'two');
        INSERT INTO id_full VALUES (1, 'one', repeat('d', 5000)), (2, 'two', 'short');
        INSERT INTO id_index VALUES (1, 'k', 'one'), (2, 'l', 'two');""")
    for table, key in [("id_default", "id"), ("id_nopk", "id"), ("id_nothing", "id"), ("id_full", "id"),
                       ("id_index", "a")]:
        cur.execute(f"UPDATE {table} SET v = 'changed' WHERE {key} = 1")
        cur.execute(f"UPDATE {table} SET {key} = {key} + 10 WHERE {key} = 1")
        cur.execute(f"DELETE FROM {table} WHERE {key} = 2")
    cur.execute("""
        CREATE TABLE toasty (id int PRIMARY KEY, big text, small int);
        ALTER TABLE toasty ALTER big SET STORAGE EXTERNAL;
        INSERT INTO toasty VALUES (1, repeat('x', 10000), 1);
        UPDATE toasty SET small = 2;
        UPDATE toasty SET big = repeat('y', 9000);
        CREATE TABLE trunc_a (id serial PRIMARY KEY);
        CREATE TABLE trunc_b (id int REFERENCES trunc_a);
        INSERT INTO trunc_a DEFAULT VALUES;""")
    cur.execute("TRUNCATE trunc_a, trunc_b RESTART IDENTITY CASCADE")
    cur.execute("BEGIN; SELECT pg_logical_emit_message(true, 'tx', 'in a transaction'); "
                "INSERT INTO id_default VALUES (50, 'with message'); COMMIT")
    cur.execute(r"SELECT pg_logical_emit_message(false, 'nontx', '\xff00'::bytea)")
    cur.execute("""
        CREATE TABLE evolve (id int PRIMARY KEY, a text);
        INSERT INTO evolve VALUES (1, 'before');
        ALTER TABLE evolve ADD COLUMN b numeric(10,2) DEFAULT 1.5;
        INSERT INTO evolve VALUES (2, 'added', 2.25);
        ALTER TABLE evolve DROP COLUMN a;
        INSERT INTO evolve VALUES (3, 3.5);
        UPDATE evolve SET b = 9 WHERE id = 1;""")
    origin = "node_b_" + conn.info.dbname    # origins are cluster-wide; conftest drops it
    cur.execute("SELECT pg_replication_origin_create(%s)", (origin,))
    cur.execute("SELECT pg_replication_origin_session_setup(%s)", (origin,))
    cur.execute("BEGIN; SELECT pg_replication_origin_xact_setup('0/AB', now()); "
                "INSERT INTO id_default VALUES (60, 'from node_b'); COMMIT")
    cur.execute("SELECT pg_replication_origin_session_reset()")
    cur.execute("""
        CREATE TABLE big (id int PRIMARY KEY, pad text);
        BEGIN;
        INSERT INTO big SELECT g, repeat('s', 100) FROM generate_series(1, 1500) g;
        SAVEPOINT s1;
        INSERT INTO big SELECT g, repeat('r', 100) FROM generate_series(1501, 2500) g;
        ROLLBACK TO s1;
        UPDATE big SET pad = 'u' WHERE id <= 10;
        COMMIT;
        BEGIN;
        INSERT INTO big SELECT g, 'aborted' FROM generate_series(5001, 7000) g;
        ROLLBACK;""")
    cur.execute("BEGIN; INSERT INTO id_default VALUES (100, 'prepared'); PREPARE TRANSACTION 'g1'")
    cur.execute("COMMIT PREPARED 'g1'")
    cur.execute("BEGIN; INSERT INTO id_default VALUES (101, 'rolled back'); PREPARE TRANSACTION 'g2'")
    cur.execute("ROLLBACK PREPARED 'g2'")
    cur.execute("BEGIN; INSERT INTO big SELECT g, 'p' FROM generate_series(3001, 4500) g; "
                "PREPARE TRANSACTION 'g3'")
    cur.execute("COMMIT PREPARED 'g3'")


# What the README's consumers (examples/) print for `readme_file`'s changes.
README_CONSUMER_LINES = [
    "begin", "insert public.items id=1 name=apple", "insert public.items id=2 name=NULL", "commit",
    "begin", "update public.items id=1 name=pear", "commit",
    "begin", "delete public.items id=2", "commit"]


def readme_file(conn, database, path, fmt):
    """The README's consumer example: a few changes to `items`, written to
    `path` by pg_recvlogical with format `fmt` and framing=varint-newline."""
    from test_clients import current_lsn, recvlogical
    slot = f"readme_{fmt}"
    recvlogical(database, "--slot", slot, "--create-slot", "--plugin=wal2any")
    cur = conn.cursor()
    cur.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
    cur.execute("INSERT INTO items VALUES (1, 'apple'), (2, NULL)")
    cur.execute("UPDATE items SET name = 'pear' WHERE id = 1")
    cur.execute("DELETE FROM items WHERE id = 2")
    recvlogical(database, "--slot", slot, "--start", "--no-loop", "--endpos", current_lsn(cur), "-f", str(path),
                "-o", f"format={fmt}", "-o", "framing=varint-newline", "-o", "skip-empty-xacts")
    return path


# Options both formats are decoded with (the JSON slot also adds type OIDs).
SHARED_OPTIONS = {"stream-changes": "1", "include-lsn": "1", "include-timestamp": "1", "include-origin": "1"}


# Small enough that the workload's large transactions stream.
WORK_MEM = "64kB"
# For pg_recvlogical: the walsender takes its settings from PGOPTIONS.
STREAMING_ENV = {"PGOPTIONS": f"-c logical_decoding_work_mem={WORK_MEM}"}


def decoded(cur, slot, options, binary=False):
    """What `slot` decodes with SHARED_OPTIONS plus `options` (a dict)."""
    flat = [x for kv in {**SHARED_OPTIONS, **options}.items() for x in kv]
    function = "pg_logical_slot_get_binary_changes" if binary else "pg_logical_slot_get_changes"
    cur.execute(f"SET logical_decoding_work_mem = '{WORK_MEM}'")
    cur.execute(f"SELECT data FROM {function}(%s, NULL, NULL{', %s' * len(flat)})", [slot, *flat])
    return [bytes(row[0]) if binary else row[0] for row in cur.fetchall()]


def recvlogical_options(options):
    """pg_recvlogical's `-o key=value` for SHARED_OPTIONS plus `options`."""
    return [x for k, v in {**SHARED_OPTIONS, **options}.items() for x in ("-o", f"{k}={v}")]


def varint_frames(data):
    """The messages of a stream of varint-length-prefixed messages
    (framing=varint or varint-newline)."""
    frames, pos = [], 0
    while pos < len(data):
        size = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        frames.append(data[pos:pos + size])
        pos += size
    return frames


def raw_json_events(cur, slot):
    """The JSON format's events, parsed (with type OIDs for canonicalising)."""
    return [parse_json(text) for text in decoded(cur, slot, {"include-type-oids": "1"})]


def json_events(cur, slot, catalog):
    return [canonical_json_event(e, catalog) for e in raw_json_events(cur, slot)]


def assert_same_events(got, expected):
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"event {i} differs:\nours {g}\njson {e}"
    assert len(got) == len(expected)
