"""Prints the row changes in a file that pg_recvlogical wrote with
-o format=protobuf -o framing=varint-newline. First compile the schema:
  pip install protobuf grpcio-tools
  python3 -m grpc_tools.protoc -Iproto --python_out=. proto/wal2any/v1/wal2any.proto"""
import sys

from google.protobuf.internal.decoder import _DecodeVarint32
from wal2any.v1.wal2any_pb2 import Event


def events(data):
    """protobuf's delimited format: a varint length, then the message."""
    pos = 0
    while pos < len(data):
        size, pos = _DecodeVarint32(data, pos)
        yield Event.FromString(data[pos:pos + size])
        pos += size


def show(value):
    kind = value.WhichOneof("kind")
    if kind == "null":
        return "NULL"
    if kind == "unchanged_toast":
        return "(unchanged TOAST)"
    if kind == "array":
        return "[" + ", ".join(show(e) for e in value.array.elements) + "]"
    return str(getattr(value, kind))


relations = {}  # relation OID -> the latest Relation message
with open(sys.argv[1], "rb") as f:
    for event in events(f.read()):
        kind = event.WhichOneof("event")
        if kind == "relation":
            relations[event.relation.oid] = event.relation
        elif kind in ("insert", "update", "delete"):
            change = getattr(event, kind)
            rel = relations[change.relation_oid]
            if change.HasField("new"):
                columns, row = rel.columns, change.new
            else:  # a delete: the replica identity key
                columns, row = [c for c in rel.columns if c.is_key], change.key
            values = " ".join(f"{c.name}={show(v)}" for c, v in zip(columns, row.values))
            print(f"{kind} {rel.schema}.{rel.table} {values}")
        else:
            print(kind)
