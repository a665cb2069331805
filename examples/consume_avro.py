"""Prints the row changes in a file that pg_recvlogical wrote with
-o format=avro -o framing=varint-newline (pip install fastavro). Each
message names its writer schema by fingerprint: the fixed ones are in
avro/*.avsc, the tables' arrive in the stream as SchemaEvents."""
import io
import json
import pathlib
import sys

import fastavro
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

schemas, keys = {}, {}  # fingerprint -> writer schema, and its key columns


def register(schema):
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
    schemas[fp] = parse_schema(schema)
    return fp


for avsc in (pathlib.Path(__file__).resolve().parent.parent / "avro").glob("*.avsc"):
    register(json.loads(avsc.read_text()))


def messages(data):
    """A varint length, then the message; the length counts the newline
    pg_recvlogical writes after each message."""
    pos = 0
    while pos < len(data):
        size = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        yield data[pos:pos + size - 1]
        pos += size


def show(value):
    return "NULL" if value is None else str(value)


with open(sys.argv[1], "rb") as f:
    for message in messages(f.read()):
        assert message[:2] == b"\xc3\x01"  # the single-object encoding's marker
        fp = message[2:10]
        record = fastavro.schemaless_reader(io.BytesIO(message[10:]), schemas[fp])
        kind = schemas[fp]["name"].rsplit(".", 1)[-1]
        if kind == "SchemaEvent":
            keys[register(json.loads(record["avro_schema"]))] = record["key"]
        elif kind == "Envelope":
            source = record["source"]
            if record["after"] is not None:
                values = record["after"].items()
            else:  # a delete: the replica identity key
                values = [(k, v) for k, v in record["before"].items() if k in keys[fp]]
            print(record["op"], f"{source['schema']}.{source['table']}",
                  " ".join(f"{k}={show(v)}" for k, v in values))
        else:
            print(record.get("event", kind.lower()))
