"""format=protobuf read by a decoder that is not ours: Python's protobuf
package with proto/wal2any/v1/wal2any.proto compiled by grpcio-tools.

One workload (tests/crossformat.py: the type matrix, TOAST, every replica
identity, truncate, messages, an origin, schema changes, streamed
transactions with a savepoint rollback and an abort, two-phase commit and
rollback, a streamed prepared transaction) is decoded on the same WAL by the
JSON format and by the Protobuf format, from pg_logical_slot_get_binary_changes
(with relation messages, and self-describing rows) and from a pg_recvlogical
file (framing=varint-newline). Every event and every value must be equal."""
import importlib
import os
import pathlib
import subprocess
import sys

import pytest

from crossformat import (README_CONSUMER_LINES, STREAMING_ENV, UNCHANGED, TypeCatalog, assert_same_events,
                         canonical_json_event, decoded, float32, json_events, numeric, parse_date_time, parse_json,
                         readme_file, recvlogical_options, run_workload, special_float, varint_frames)
from test_clients import current_lsn, recvlogical

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "proto" / "wal2any" / "v1" / "wal2any.proto"
TRANSACTION_EVENTS = {"begin", "commit", "begin_prepare", "prepare", "commit_prepared", "rollback_prepared",
                      "stream_commit", "stream_prepare"}
INT32_INFINITIES = {2**31 - 1: "infinity", -2**31: "-infinity"}
INT64_INFINITIES = {2**63 - 1: "infinity", -2**63: "-infinity"}


@pytest.fixture(scope="session")
def pb2(tmp_path_factory):
    """The schema compiled by grpcio-tools' protoc, imported."""
    from grpc_tools import protoc
    out = tmp_path_factory.mktemp("protobuf")
    args = ["protoc", f"-I{ROOT / 'proto'}", f"--python_out={out}", str(SCHEMA)]
    assert protoc.main(args) == 0
    sys.path.insert(0, str(out))
    return importlib.import_module("wal2any.v1.wal2any_pb2")


def reshape(flat, dims):
    if not dims:
        return []
    if len(dims) == 1:
        return flat
    stride = len(flat) // dims[0]
    return [reshape(flat[i * stride:(i + 1) * stride], dims[1:]) for i in range(dims[0])]


def canonical_pb_value(cat, value):
    kind = value.WhichOneof("kind")
    x = getattr(value, kind)
    if kind == "null":
        return None
    if kind == "unchanged_toast":
        return UNCHANGED
    if kind == "array":
        element = cat[1] if isinstance(cat, tuple) else cat
        return reshape([canonical_pb_value(element, e) for e in x.elements], list(x.dims))
    if kind in ("float", "double"):
        return special_float(x) or (float32(x) if kind == "float" else x)
    if kind == "numeric":
        return numeric(x)
    if kind == "json":
        return parse_json(x)
    if kind == "timetz":
        return (x.micros, x.offset_seconds)
    if kind == "interval":
        return (x.months, x.days, x.micros)
    if kind == "date":
        return INT32_INFINITIES.get(x, x)
    if kind in ("timestamp", "timestamptz"):
        return INT64_INFINITIES.get(x, x)
    if kind == "text" and cat in ("timestamp", "timestamptz"):
        return parse_date_time(x)      # beyond int64 microseconds since 1970
    if kind in ("bytes", "uuid"):
        return bytes(x)
    return x


def row_values(row, names, type_oids, catalog):
    assert len(row.values) == len(names)
    return {name: canonical_pb_value(catalog.category(oid), v) for name, oid, v in zip(names, type_oids, row.values)}


def canonical_change(ev, kind, relations, catalog):
    change = getattr(ev, kind)
    out = {}
    if change.table:                           # include-column-names: rows describe themselves
        columns = list(zip(change.new.names, change.new.type_oids))
        out["relation"] = (change.schema, change.table, tuple(columns) if columns else None)
    else:
        rel = relations[change.relation_oid]
        columns = [(c.name, c.type_oid) for c in rel.columns]
        key_columns = [(c.name, c.type_oid) for c in rel.columns if c.is_key]
        out["relation"] = (rel.schema, rel.table, tuple(columns))
    if change.HasField("new"):
        names = change.new.names or [n for n, _ in columns]
        oids = change.new.type_oids or [o for _, o in columns]
        out["new"] = row_values(change.new, names, oids, catalog)
    if kind != "insert":
        key = change.key
        if not change.HasField("key"):
            out["key"] = None
        elif key.names:
            out["key"] = row_values(key, key.names, key.type_oids, catalog)
        else:
            out["key"] = row_values(key, [n for n, _ in key_columns], [o for _, o in key_columns], catalog)
    return out


def canonical_pb_events(events, catalog):
    """Protobuf events -> the canonical events of crossformat (relation
    messages are consumed, as a consumer keeps them)."""
    relations, result, described = {}, [], []
    for ev in events:
        kind = ev.WhichOneof("event")
        if kind == "relation":
            relations[ev.relation.oid] = ev.relation
            described.append(ev.relation.table)
            continue
        out = {"action": kind, "xid": ev.xid, "lsn": ev.lsn, "subxid": ev.subxid}
        body = getattr(ev, kind)
        if kind in ("insert", "update", "delete"):
            out.update(canonical_change(ev, kind, relations, catalog))
        elif kind == "truncate":
            out.update(relations=[(r.schema, r.table) for r in body.relations], cascade=body.cascade,
                       restart_identity=body.restart_identity)
        elif kind == "message":
            out.update(transactional=body.transactional, prefix=body.prefix, content=bytes(body.content))
        elif kind == "stream_start":
            out["first_segment"] = body.first_segment
        elif kind in TRANSACTION_EVENTS:
            out.update(end_lsn=body.end_lsn, gid=body.gid, commit_time=body.commit_time,
                       origin=(body.origin.name, body.origin.lsn) if body.HasField("origin") else None)
        result.append(out)
    return result, described


def binary_events(cur, pb2, slot, extra=None):
    return [pb2.Event.FromString(data) for data in decoded(cur, slot, {"format": "protobuf", **(extra or {})}, True)]


def split_delimited(data, pb2):
    """protobuf's delimited format: varint length, then the message."""
    return [pb2.Event.FromString(frame) for frame in varint_frames(data)]


def without_column_types(events):
    """Self-describing deletes name only their key columns."""
    return [{**e, "relation": e["relation"][:2]} if "relation" in e else e for e in events]


def test_protobuf_equals_json_for_every_event_and_value(conn, database, pb2, tmp_path):
    cur = conn.cursor()
    for slot in ("pbt_json", "pbt_pb", "pbt_stateless", "pbt_file"):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any', false, true)", (slot,))
    run_workload(conn)
    end = current_lsn(cur)
    catalog = TypeCatalog(cur)
    expected = json_events(cur, "pbt_json", catalog)

    got, described = canonical_pb_events(binary_events(cur, pb2, "pbt_pb"), catalog)
    assert_same_events(got, expected)

    # What the comparison covered.
    actions = {e["action"] for e in expected}
    assert TRANSACTION_EVENTS | {"insert", "update", "delete", "truncate", "message", "stream_start",
                                 "stream_stop", "stream_abort"} <= actions
    changes = [e for e in expected if e["action"] in ("insert", "update", "delete")]
    assert sum(1 for e in changes if e["relation"][1] == "type_matrix") == 3
    assert any(UNCHANGED in e.get("new", {}).values() for e in changes), "unchanged TOAST compared"
    assert any(e["action"] == "delete" and e["key"] is None for e in changes), "missing keys compared"
    assert any(e["action"] == "stream_abort" and e["subxid"] for e in expected), "savepoint rollback streamed"
    assert any(e.get("origin") for e in expected)
    # evolve is described again after ADD COLUMN and after DROP COLUMN.
    assert described.count("evolve") >= 3

    stateless, described = canonical_pb_events(binary_events(cur, pb2, "pbt_stateless", {"include-column-names": "1"}),
                                               catalog)
    assert described == []
    assert_same_events(without_column_types(stateless), without_column_types(expected))

    out = tmp_path / "changes.pb"
    options = recvlogical_options({"format": "protobuf", "framing": "varint-newline"})
    recvlogical(database, "--slot", "pbt_file", "--start", "--no-loop", "--endpos", end, "-f", str(out), *options,
                env=STREAMING_ENV)
    from_file = split_delimited(out.read_bytes(), pb2)
    assert all(ev.record_separator == 10 for ev in from_file)
    got, _ = canonical_pb_events(from_file, catalog)
    assert_same_events(got, expected)


def test_text_functions_refuse_binary_output(conn):
    cur = conn.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot('b', 'wal2any')")
    cur.execute("CREATE TABLE t (id int)")
    with pytest.raises(Exception) as error:
        cur.execute("SELECT data FROM pg_logical_slot_get_changes('b', NULL, NULL, 'format', 'protobuf')")
    assert 'produces binary output, but function "pg_logical_slot_get_changes' in str(error.value)


def test_the_readme_consumers_run(conn, database, pb2, tmp_path):
    """The Python and Rust consumers the README shows (examples/) read a
    pg_recvlogical file and print the same lines."""
    readme = (ROOT / "README.md").read_text()
    for example in ("consume_protobuf.py", "consume_protobuf.rs"):
        assert (ROOT / "examples" / example).read_text() in readme, f"README does not show examples/{example} (run scripts/sync_readme.py)"
    out = readme_file(conn, database, tmp_path / "changes.pb", "protobuf")
    expected = README_CONSUMER_LINES
    generated = str(pathlib.Path(pb2.__file__).parents[2])
    python = subprocess.run([sys.executable, str(ROOT / "examples" / "consume_protobuf.py"), str(out)],
                            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": generated})
    assert python.stdout.splitlines() == expected
    rust = subprocess.run(["cargo", "run", "--quiet", "--example", "consume_protobuf", "--", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert rust.returncode == 0, rust.stderr
    assert rust.stdout.splitlines() == expected


def test_batched_messages_carry_the_same_events(conn, database, pb2, tmp_path):
    """batch-bytes through pg_recvlogical: a JSON Lines file and a delimited
    Protobuf file with the events of unbatched decoding, in order."""
    cur = conn.cursor()
    for slot in ("pbt_plain", "pbt_batch_json", "pbt_batch_pb"):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any', false, true)", (slot,))
    run_workload(conn)
    end = current_lsn(cur)
    catalog = TypeCatalog(cur)
    expected = json_events(cur, "pbt_plain", catalog)
    shared = recvlogical_options({"batch-bytes": "65536"})
    env = STREAMING_ENV
    lines = tmp_path / "batched.jsonl"
    recvlogical(database, "--slot", "pbt_batch_json", "--start", "--no-loop", "--endpos", end, "-f", str(lines),
                *shared, "-o", "include-type-oids=1", env=env)
    got = [canonical_json_event(parse_json(line), catalog) for line in lines.read_text().splitlines()]
    assert_same_events(got, expected)
    binary = tmp_path / "batched.pb"
    recvlogical(database, "--slot", "pbt_batch_pb", "--start", "--no-loop", "--endpos", end, "-f", str(binary),
                *shared, "-o", "format=protobuf", "-o", "framing=varint-newline", env=env)
    got, _ = canonical_pb_events(split_delimited(binary.read_bytes(), pb2), catalog)
    assert_same_events(got, expected)
