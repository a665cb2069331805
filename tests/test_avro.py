"""format=avro read by a decoder that is not ours: Python's fastavro, which
takes each message's writer schema from the stream by fingerprint (its own
CRC-64-AVRO of the schema's canonical form) and decodes the single-object
encoding. The workload of tests/crossformat.py is decoded on the same WAL by
the JSON format and the Avro format (from pg_logical_slot_get_binary_changes
and from a pg_recvlogical file); every event and value must be equal, and
rows written before and after ALTER TABLE decode with their own schemas."""
import datetime
import io
import json
import pathlib
import subprocess
import sys
from decimal import Decimal
from uuid import UUID

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from crossformat import (README_CONSUMER_LINES, STREAMING_ENV, UNCHANGED, TypeCatalog, assert_same_events,
                         canonical_json_event, canonical_json_value, decoded, float32, numeric, parse_date_time,
                         parse_interval, parse_json, parse_time, raw_json_events, readme_file, recvlogical_options,
                         run_workload, special_float, varint_frames)
from test_clients import current_lsn, recvlogical

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXED = ["Transaction", "Stream", "Truncate", "Message", "SchemaEvent", "OmittedMessage"]
EPOCH = datetime.datetime(1970, 1, 1)
EPOCH_UTC = EPOCH.replace(tzinfo=datetime.timezone.utc)
MICRO = datetime.timedelta(microseconds=1)


class Registry:
    """Writer schemas by fingerprint: the published ones, then each
    SchemaEvent's, as a consumer keeps them."""

    def __init__(self):
        self.schemas, self.columns = {}, {}
        for name in FIXED:
            self.add(json.loads((ROOT / "avro" / f"{name}.avsc").read_text()))

    def add(self, schema):
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
        self.schemas[fp] = parse_schema(schema)
        if schema["name"] == "Envelope":
            value = schema["fields"][1]["type"][1]
            self.columns[fp] = [(f["name"], f["pg_name"]) for f in value["fields"]]
        return fp

    def read(self, message):
        assert message[:2] == b"\xc3\x01", "single-object marker"
        fp = message[2:10]
        assert fp in self.schemas, "writer schema announced before its first use"
        record = fastavro.schemaless_reader(io.BytesIO(message[10:]), self.schemas[fp])
        name = self.schemas[fp]["name"]
        if name == "wal2any.SchemaEvent":
            assert self.add(json.loads(record["avro_schema"])) == record["fingerprint"]
        return name, fp, record


def canonical_avro_value(cat, v):
    if v is None:
        return None
    if v == "UNCHANGED_TOAST":
        return UNCHANGED
    if isinstance(cat, tuple):
        if isinstance(v, str):                       # multi-dimensional: JSON text
            return canonical_json_value(cat, parse_json(v))
        return [canonical_avro_value(cat[1], x) for x in v]
    if isinstance(v, datetime.datetime):
        return (v - (EPOCH_UTC if v.tzinfo else EPOCH)) // MICRO
    if isinstance(v, datetime.date):
        return (v - EPOCH.date()).days
    if isinstance(v, datetime.time):
        return ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
    if isinstance(v, Decimal):
        return v.as_tuple()
    if isinstance(v, UUID):
        return v.bytes
    if isinstance(v, float):
        return special_float(v) or (float32(v) if cat == "float4" else v)
    if isinstance(v, str):
        if cat in ("date", "timestamp", "timestamptz"):
            return parse_date_time(v)
        if cat in ("time", "timetz"):
            return parse_time(v)
        parse = {"interval": parse_interval, "numeric": numeric, "json": parse_json}.get(cat)
        return parse(v) if parse else v
    return v


def canonical_change(registry, fp, rec, raw, catalog, key_fields):
    types = raw["type_oids"]
    columns = registry.columns[fp]
    assert [pg for _, pg in columns] == list(types), "the writer schema has the row's columns"
    src = rec["source"]
    out = {"action": rec["op"], "xid": src["xid"], "lsn": src["lsn"], "subxid": src["subxid"],
           "relation": (src["schema"], src["table"], tuple(types.items()))}

    def row(record, names):
        return {pg: canonical_avro_value(catalog.category(types[pg]), record[f]) for f, pg in columns if f in names}
    if rec["after"] is not None:
        out["new"] = row(rec["after"], {f for f, _ in columns})
        unchanged = [f for f, _ in columns if rec["after"][f] == "UNCHANGED_TOAST"]
        assert rec["unchanged_toast"] == unchanged
    if rec["op"] != "insert":
        out["key"] = None if rec["before"] is None else row(rec["before"], key_fields[fp])
    return out


def canonical_avro_events(messages, raw_json, catalog):
    """Avro messages -> canonical events; change events are canonicalised
    with the type OIDs of the JSON event at the same position."""
    registry, key_fields, result, fingerprints = Registry(), {}, [], {}
    for message in messages:
        name, fp, rec = registry.read(message)
        if name == "wal2any.SchemaEvent":
            key_fields[rec["fingerprint"]] = set(rec["key"])
            continue
        raw = raw_json[len(result)] if len(result) < len(raw_json) else {}
        if name.endswith(".Envelope"):
            result.append(canonical_change(registry, fp, rec, raw, catalog, key_fields))
            fingerprints.setdefault(rec["source"]["table"], set()).add(fp)
            continue
        out = {"action": rec.get("event", name.split(".")[-1].lower()), "xid": rec["xid"], "lsn": rec.get("lsn", 0),
               "subxid": rec.get("subxid", 0) if name != "wal2any.Stream" or rec["event"] == "stream_abort" else 0}
        if name == "wal2any.Transaction":
            t = rec["commit_time"]
            out.update(end_lsn=rec["end_lsn"], gid=rec["gid"] or "", commit_time=(t - EPOCH_UTC) // MICRO if t else 0,
                       origin=(rec["origin"], rec["origin_lsn"]) if rec["origin"] is not None else None)
        elif name == "wal2any.Stream" and rec["event"] == "stream_start":
            out["first_segment"] = rec["first_segment"]
        elif name == "wal2any.Truncate":
            out.update(relations=[(r["schema"], r["table"]) for r in rec["relations"]], cascade=rec["cascade"],
                       restart_identity=rec["restart_identity"])
        elif name == "wal2any.Message":
            out.update(transactional=rec["transactional"], prefix=rec["prefix"], content=rec["content"])
        result.append(out)
    return result, fingerprints


def binary_messages(cur, slot):
    return decoded(cur, slot, {"format": "avro"}, True)


def split_frames(data):
    """framing=varint-newline: a varint length that counts pg_recvlogical's newline."""
    frames = varint_frames(data)
    assert all(frame[-1:] == b"\n" for frame in frames)
    return [frame[:-1] for frame in frames]


def test_avro_equals_json_for_every_event_and_value(conn, database, tmp_path):
    cur = conn.cursor()
    for slot in ("avt_json", "avt_avro", "avt_file"):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any', false, true)", (slot,))
    run_workload(conn)
    end = current_lsn(cur)
    catalog = TypeCatalog(cur)
    raw = raw_json_events(cur, "avt_json")
    expected = [canonical_json_event(e, catalog) for e in raw]

    got, fingerprints = canonical_avro_events(binary_messages(cur, "avt_avro"), raw, catalog)
    assert_same_events(got, expected)
    assert len(fingerprints["evolve"]) == 3, "rows before and after each ALTER TABLE use their own schema"
    assert sum(1 for e in expected if e.get("relation", ("",) * 2)[1] == "type_matrix") == 3

    out = tmp_path / "changes.avro"
    options = recvlogical_options({"format": "avro", "framing": "varint-newline"})
    recvlogical(database, "--slot", "avt_file", "--start", "--no-loop", "--endpos", end, "-f", str(out), *options,
                env=STREAMING_ENV)
    got, _ = canonical_avro_events(split_frames(out.read_bytes()), raw, catalog)
    assert_same_events(got, expected)


def test_schemas_once_per_session_for_registries(conn):
    cur = conn.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot('avt_once', 'wal2any')")
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    cur.execute("INSERT INTO t VALUES (1, 'a')")
    cur.execute("ALTER TABLE t ADD COLUMN w int")
    cur.execute("INSERT INTO t VALUES (2, 'b', 3)")
    cur.execute("ALTER TABLE t DROP COLUMN w")
    cur.execute("INSERT INTO t VALUES (3, 'c')")
    cur.execute("SELECT data FROM pg_logical_slot_get_binary_changes('avt_once', NULL, NULL, 'format', 'avro', "
                "'schema-events', 'once', 'skip-empty-xacts', '1')")
    registry = Registry()
    names = [registry.read(bytes(row[0]))[0] for row in cur.fetchall()]
    # The third row has the first row's shape: its schema was sent already.
    assert names.count("wal2any.SchemaEvent") == 2
    assert sum(1 for n in names if n.endswith(".public.t.Envelope")) == 3


def test_the_readme_consumer_runs(conn, database, tmp_path):
    """examples/consume_avro.py, shown in the README, reads a pg_recvlogical file."""
    example = ROOT / "examples" / "consume_avro.py"
    assert example.read_text() in (ROOT / "README.md").read_text(), "run scripts/sync_readme.py"
    out = readme_file(conn, database, tmp_path / "changes.avro", "avro")
    result = subprocess.run([sys.executable, str(example), str(out)], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == README_CONSUMER_LINES
