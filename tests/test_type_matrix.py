"""Decodes the type matrix (pg_test/type_matrix.sql) with wal2any, parses
every JSON line with Python's json module, and checks every value against
an independent oracle: PostgreSQL's own to_jsonb() of the same row under
fixed settings, or the column's text output for types wal2any renders as
text. Numbers are compared exactly (Decimal), date/times as instants."""
import json
import pathlib
import re
from decimal import Decimal

TYPE_MATRIX = pathlib.Path(__file__).parent.parent / "pg_test" / "type_matrix.sql"
CANONICAL = ("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601';"
             "SET extra_float_digits = 1; SET bytea_output = 'hex';")

DATE_TIME = re.compile(
    r"^(?P<neg>-)?(?P<y>\d{4,})-(?P<mo>\d\d)-(?P<d>\d\d)"
    r"(?:[T ](?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d\d(?::?\d\d)?(?::\d\d)?)?(?P<bc> BC)?$")
TIME = re.compile(r"^(?P<h>\d\d):(?P<mi>\d\d):(?P<s>\d\d)(?:\.(?P<f>\d+))?(?P<tz>[+-]\d\d(?::\d\d)?(?::\d\d)?)?$")


def offset_seconds(tz):
    if not tz or tz == "Z":
        return 0
    sign = -1 if tz[0] == "-" else 1
    parts = [int(p) for p in tz[1:].split(":")] + [0, 0]
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


def normalize(value):
    """Date/time strings to comparable tuples; anything else unchanged."""
    if not isinstance(value, str):
        return value
    m = DATE_TIME.match(value)
    if m:
        year = int(m["y"])
        if m["bc"]:                      # PostgreSQL's "0044 BC" is ISO year -43
            year = 1 - year
        if m["neg"]:
            year = -year
        micros = int((m["f"] or "0").ljust(6, "0"))
        clock = (int(m["h"] or 0), int(m["mi"] or 0), int(m["s"] or 0), micros)
        return ("datetime", year, int(m["mo"]), int(m["d"]), clock, offset_seconds(m["tz"]) if m["h"] else None)
    m = TIME.match(value)
    if m:
        micros = int((m["f"] or "0").ljust(6, "0"))
        return ("time", int(m["h"]), int(m["mi"]), int(m["s"]), micros, offset_seconds(m["tz"]))
    return value


def same(ours, oracle):
    if isinstance(ours, list) and isinstance(oracle, list):
        return len(ours) == len(oracle) and all(same(a, b) for a, b in zip(ours, oracle))
    if isinstance(ours, dict) and isinstance(oracle, dict):
        return ours.keys() == oracle.keys() and all(same(ours[k], oracle[k]) for k in ours)
    if isinstance(ours, bool) or isinstance(oracle, bool):
        return ours is oracle
    return normalize(ours) == normalize(oracle)


def parse(text):
    return json.loads(text, parse_float=Decimal, parse_int=int)


def decode_rows(cur):
    cur.execute("SELECT data FROM pg_logical_slot_get_changes('tm', NULL, NULL, 'include-xids', '0')")
    lines = [row[0] for row in cur.fetchall()]
    events = [parse(line) for line in lines]      # every line must be JSON
    return {e["new"]["id"]: e["new"] for e in events if e["action"] == "insert"}


def oracle_rows(cur):
    cur.execute(CANONICAL)
    cur.execute("SELECT id, to_jsonb(t)::text FROM type_matrix t")
    as_json = {row[0]: parse(row[1]) for row in cur.fetchall()}
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = 'type_matrix'::regclass AND attnum > 0")
    columns = [row[0] for row in cur.fetchall()]
    text_list = ", ".join(f"{c}::text" for c in columns)
    cur.execute(f"SELECT {text_list} FROM type_matrix ORDER BY id")
    as_text = {row[0] and int(row[0]): dict(zip(columns, row)) for row in cur.fetchall()}
    return as_json, as_text


def test_every_type_matrix_value_matches_postgres(conn):
    cur = conn.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot('tm', 'wal2any')")
    # Session settings that would break a plugin relying on them.
    cur.execute("SET DateStyle = 'German, DMY'; SET TimeZone = 'Pacific/Chatham'; SET extra_float_digits = -10")
    cur.execute(TYPE_MATRIX.read_text())
    decoded = decode_rows(cur)
    as_json, as_text = oracle_rows(cur)
    assert sorted(decoded) == [1, 2, 3]
    checked = 0
    for row_id, ours_row in decoded.items():
        assert ours_row.keys() == as_json[row_id].keys()
        for column, ours in ours_row.items():
            oracle = as_json[row_id][column]
            text = as_text[row_id][column]
            if column == "c_oid":
                assert ours == (None if text is None else int(text)), column  # a number, not to_jsonb's string
            elif column in ("c_int2vector", "c_oidvector"):
                expected = None if text is None else [int(x) for x in text.split()]
                assert ours == expected, column            # wal2any renders these as arrays
            elif isinstance(oracle, dict) and column == "c_composite":
                assert ours == text, column                # composites: their text output
            elif column == "c_composite_array" and oracle is not None:
                assert [None if e is None else str(e) for e in ours] == [
                    None if e is None else "(" + ",".join("" if v is None else str(v) for v in e.values()) + ")"
                    for e in oracle], column
            else:
                assert same(ours, oracle), f"row {row_id} {column}: ours {ours!r} != postgres {oracle!r}"
            checked += 1
    assert checked == 3 * len(as_json[1])


def test_json_values_are_nested_and_exact(conn):
    cur = conn.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot('tm', 'wal2any')")
    cur.execute("CREATE TABLE j (id int8 PRIMARY KEY, n numeric, doc jsonb, raw json)")
    cur.execute("""INSERT INTO j VALUES (9007199254740993, 0.1000000000000000000000000001,
                   '{"deep": {"list": [1, 2.50, "s"]}}', '{"k":  [true,  null]}')""")
    new = decode_rows(cur)[9007199254740993]
    assert new["n"] == Decimal("0.1000000000000000000000000001")
    assert new["doc"] == {"deep": {"list": [1, Decimal("2.50"), "s"]}}
    assert new["raw"] == {"k": [True, None]}
