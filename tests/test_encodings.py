"""Encodings: in SQL_ASCII, LATIN1, WIN1252, EUC_JP and UTF8 databases,
every byte that can occur in text of the database encoding, in values (text,
varchar, text[], json, jsonb, enum labels), identifiers (schema, table and
column names), message prefixes and contents, GIDs and replication origin
names, decodes without an ERROR, in every format, through the SQL functions
and through pg_recvlogical:

- JSON, Protobuf and Avro carry UTF-8. Each character is what PostgreSQL's
  own convert(character, encoding, 'UTF8') gives in a UTF8 database, and
  U+FFFD where that conversion raises an ERROR (WIN1252's 0x81, EUC_JP codes
  with no Unicode character). In SQL_ASCII, valid UTF-8 is kept and each
  maximal invalid sequence becomes U+FFFD: Python's decode('utf-8', 'replace').
  Message content is bytes, never converted: a JSON string when it is valid
  UTF-8, else base64 with "content_encoding":"base64".
- Protobuf and Avro (decoded by protobuf and fastavro, which refuse invalid
  UTF-8 in strings) carry the same events and values as JSON.
- format=test_decoding writes the database encoding: byte for byte what
  PostgreSQL's test_decoding writes.
- pg_recvlogical writes what the SQL functions return: the same JSON bytes,
  test_decoding's own bytes for format=test_decoding, the same Protobuf and
  Avro events.

And the reported case: in a WIN1252 database, one message with prefix
E'\\x81' made every later decoding call fail with `character with byte
sequence 0x81 in encoding "WIN1252" has no equivalent in encoding "UTF8"`."""
import base64
import uuid

import psycopg2
import pytest

from conftest import drop_database, dsn
from crossformat import (SHARED_OPTIONS, STREAMING_ENV, WORK_MEM, TypeCatalog, assert_same_events,
                         canonical_json_event, parse_json, recvlogical_options)
from test_avro import Registry, canonical_avro_events, split_frames
from test_clients import current_lsn, recvlogical
from test_protobuf import canonical_pb_events, pb2, split_delimited  # noqa: F401 (pb2 is a fixture)

REPLACEMENT = "\ufffd"
ASCII = [bytes([b]) for b in range(0x01, 0x80)]    # NUL never occurs in text
EUC_BYTE = range(0xA1, 0xFF)                        # IS_EUC_RANGE_VALID in PostgreSQL's wchar.c

# PostgreSQL's limits: NAMEDATALEN - 1 for names and enum labels, GIDSIZE - 1
# for GIDs. Origin names have no limit in 15.20; 150 bytes keeps them short.
NAME_BYTES, GID_BYTES, ORIGIN_BYTES = 63, 199, 150

# Code points whose UTF-8 forms use every byte valid UTF-8 can contain:
# ASCII; U+0080..U+00BF (C2 then every continuation byte 80..BF); one per
# lead byte C3..DF, E0..EF (ED both ends before the surrogates), F0..F4;
# and the edges U+FFFD, U+FFFF, U+10FFFF.
UTF8_CODE_POINTS = (
    list(range(0x01, 0xC0)) + [(lead - 0xC0) << 6 for lead in range(0xC3, 0xE0)]
    + [0x800] + [(lead - 0xE0) << 12 for lead in range(0xE1, 0xF0) if lead != 0xED] + [0xD000, 0xD7FF, 0xFFFD, 0xFFFF]
    + [0x10000, 0x1F600] + [(lead - 0xF0) << 18 for lead in range(0xF1, 0xF4)] + [0x100000, 0x10FFFF])

# For SQL_ASCII, after every single byte: UTF-8 valid (kept) and not
# (truncated, overlong, a surrogate, beyond U+10FFFF, a 5-byte form).
SQL_ASCII_SEQUENCES = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xef\xbf\xbd", b"\xe2\x82",
                       b"\xf0\x9f\x98", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80"]

# Message contents: bytes, never converted (the text variant's is added per database).
ALL_BYTES = bytes(range(256))
VALID_UTF8 = "é€😀 ok".encode()


def single_byte():
    return [bytes([b]) for b in range(0x01, 0x100)]


def euc_jp(every_character):
    """EUC_JP as PostgreSQL validates it (pg_eucjp_verifychar): ASCII; SS2
    0x8E + 0xA1..0xDF (JIS X 0201 kana); two bytes 0xA1..0xFE (JIS X 0208);
    SS3 0x8F + two bytes 0xA1..0xFE (JIS X 0212). Every character (17,862)
    or, for names, each byte value once in each position."""
    kana = [bytes([0x8E, b]) for b in range(0xA1, 0xE0)]
    if every_character:
        return (ASCII + kana + [bytes([a, b]) for a in EUC_BYTE for b in EUC_BYTE]
                + [bytes([0x8F, a, b]) for a in EUC_BYTE for b in EUC_BYTE])
    return ASCII + kana + [bytes([b, b]) for b in EUC_BYTE] + [bytes([0x8F, b, b]) for b in EUC_BYTE]


def utf8():
    return [chr(c).encode() for c in UTF8_CODE_POINTS]


def sql_ascii():
    return single_byte() + SQL_ASCII_SEQUENCES


# encoding: (characters for values and prefixes, characters for names, GIDs, origins)
ENCODINGS = {
    "SQL_ASCII": (sql_ascii, sql_ascii),
    "LATIN1": (single_byte, single_byte),
    "WIN1252": (single_byte, single_byte),
    "EUC_JP": (lambda: euc_jp(True), lambda: euc_jp(False)),
    "UTF8": (utf8, utf8),
}

# PostgreSQL's conversion, one character at a time; NULL where it raises
# (22P05 only: an invalid character in these lists would be a test bug).
TO_UTF8_FUNCTION = """
CREATE FUNCTION pg_temp.to_utf8(characters bytea[], encoding name) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    c bytea;
    result text[] := '{}';
BEGIN
    FOREACH c IN ARRAY characters LOOP
        BEGIN
            result := result || convert_from(convert(c, encoding, 'UTF8'), 'UTF8');
        EXCEPTION WHEN untranslatable_character THEN
            result := result || NULL::text;
        END;
    END LOOP;
    RETURN result;
END $$"""

# U+FFFD in the expected text of all the characters: WIN1252's 0x81 0x8D 0x8F
# 0x90 0x9D; the EUC_JP codes PostgreSQL maps to no Unicode character; in
# SQL_ASCII the 144 maximal invalid sequences and the valid U+FFFD; in UTF8
# U+FFFD itself.
REPLACED = {"SQL_ASCII": 145, "LATIN1": 0, "WIN1252": 5, "EUC_JP": 4538, "UTF8": 1}

# (slot, plugin): all two-phase, created before the workload.
SLOTS = [("wa", "wal2any"), ("td", "test_decoding"), ("rv_json", "wal2any"), ("rv_protobuf", "wal2any"),
         ("rv_avro", "wal2any"), ("rv_td", "wal2any"), ("rv_td_ref", "test_decoding")]
TEST_DECODING_OPTION_SETS = [{}, {"include-xids": "0", "skip-empty-xacts": "1", "only-local": "1"}]


def chunks(characters, limit):
    """`characters` in consecutive groups of at most `limit` bytes."""
    groups, size = [[]], 0
    for c in characters:
        if size + len(c) > limit:
            groups.append([])
            size = 0
        groups[-1].append(c)
        size += len(c)
    return groups


class Plan:
    """What one database gets: the values' characters, and the names, GIDs
    and origin names cut from the characters that cover every byte."""

    def __init__(self, encoding, database):
        every, covering = ENCODINGS[encoding]
        self.characters = every()
        self.text = b"".join(self.characters)
        names = chunks(covering(), NAME_BYTES)
        self.schema, self.table, self.columns = names[0], names[1], names[2:]
        self.labels = names
        self.gids = chunks(covering(), GID_BYTES)
        # Named after the database, as conftest's clean-up expects.
        self.origin_suffix = "_" + database
        self.origins = chunks(covering(), ORIGIN_BYTES)
        self.messages = [(True, self.text), (False, ALL_BYTES), (True, VALID_UTF8)]


class Expected:
    """The same in UTF-8, as each format must carry it."""

    def __init__(self, encoding, plan, conversions):
        if encoding == "SQL_ASCII":
            utf8_of = lambda chars: b"".join(chars).decode("utf-8", "replace")  # noqa: E731
        else:
            conversions.execute("SELECT pg_temp.to_utf8(%s::bytea[], %s)", (plan.characters, encoding))
            converted = dict(zip(plan.characters, conversions.fetchone()[0]))
            utf8_of = lambda chars: "".join(converted.get(c) or REPLACEMENT for c in chars)  # noqa: E731
        text = utf8_of(plan.characters)
        self.schema, self.table = utf8_of(plan.schema), utf8_of(plan.table)
        self.columns = [utf8_of(c) for c in plan.columns]
        self.row = {"t": text, "v": text, "a": [utf8_of([c]) for c in plan.characters], "j": text,
                    "b": {text: text}, "e": [utf8_of(label) for label in plan.labels]}
        self.messages = [(transactional, text, content) for transactional, content in plan.messages]
        gids = [utf8_of(g) for g in plan.gids]
        self.gids = [(action, g) for i, g in enumerate(gids)
                     for action in ("begin_prepare", "prepare", "rollback_prepared" if i == 0 else "commit_prepared")]
        self.origins = [utf8_of(o) + plan.origin_suffix for o in plan.origins]


def q_ident(name):
    return b'"' + name.replace(b'"', b'""') + b'"'


def q_literal(text):
    return b"'" + text.replace(b"'", b"''") + b"'"


def q_array(items, sql_type):
    return b"ARRAY[" + b", ".join(map(q_literal, items)) + b"]::" + sql_type


def q_bytea(data):
    return b"'\\x" + data.hex().encode() + b"'::bytea"


def create_tables(cur, plan):
    """SQL as bytes in the database encoding (client_encoding is the
    database's), so any byte reaches the server unchanged."""
    table = q_ident(b"".join(plan.schema)) + b"." + q_ident(b"".join(plan.table))
    columns = [q_ident(b"".join(c)) for c in plan.columns]
    labels = b", ".join(q_literal(b"".join(label)) for label in plan.labels)
    cur.execute(b"CREATE SCHEMA " + q_ident(b"".join(plan.schema)) + b"; CREATE TABLE " + table + b" ("
                + b", ".join(c + b" int" for c in columns) + b"); ALTER TABLE " + table + b" REPLICA IDENTITY FULL;"
                b"CREATE TYPE mood AS ENUM (" + labels + b");"
                b"CREATE TABLE vals (id int, t text, v varchar, a text[], j json, b jsonb, e mood[]);"
                b"ALTER TABLE vals REPLICA IDENTITY FULL;"
                b"CREATE TABLE prepared (id int); CREATE TABLE replicated (id int)")
    return table, columns


def run_workload(cur, plan):
    table, columns = create_tables(cur, plan)
    cur.execute(b"INSERT INTO " + table + b" VALUES (" + b", ".join(b"%d" % i for i in range(len(columns))) + b")")
    cur.execute(b"UPDATE " + table + b" SET " + columns[0] + b" = 100")
    cur.execute(b"DELETE FROM " + table)
    cur.execute(b"TRUNCATE " + table)
    cur.execute(b"INSERT INTO vals SELECT 1, t, t, " + q_array(plan.characters, b"text[]")
                + b", to_json(t), jsonb_build_object(t, t), " + q_array([b"".join(x) for x in plan.labels], b"mood[]")
                + b" FROM (SELECT " + q_literal(plan.text) + b"::text AS t) s")
    cur.execute(b"UPDATE vals SET id = 2")
    cur.execute(b"DELETE FROM vals")
    prefix = q_literal(plan.text)
    (_, text), (_, all_bytes), (_, valid_utf8) = plan.messages
    cur.execute(b"SELECT pg_logical_emit_message(true, " + prefix + b", " + q_literal(text) + b")")
    cur.execute(b"SELECT pg_logical_emit_message(false, " + prefix + b", " + q_bytea(all_bytes) + b")")
    cur.execute(b"SELECT pg_logical_emit_message(true, " + prefix + b", " + q_bytea(valid_utf8) + b")")
    for i, gid in enumerate(q_literal(b"".join(g)) for g in plan.gids):
        cur.execute(b"BEGIN; INSERT INTO prepared VALUES (%d); PREPARE TRANSACTION " % i + gid)
        cur.execute((b"ROLLBACK" if i == 0 else b"COMMIT") + b" PREPARED " + gid)
    for i, origin in enumerate(q_literal(b"".join(o) + plan.origin_suffix.encode()) for o in plan.origins):
        cur.execute(b"SELECT pg_replication_origin_create(" + origin + b")")
        cur.execute(b"SELECT pg_replication_origin_session_setup(" + origin + b")")
        cur.execute(b"BEGIN; SELECT pg_replication_origin_xact_setup('0/AB', now()); "
                    b"INSERT INTO replicated VALUES (%d); COMMIT" % i)
        cur.execute(b"SELECT pg_replication_origin_session_reset()")


def create_encoded_database(encoding):
    name = "wal2any_py_enc_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(dsn("postgres"))
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name} ENCODING '{encoding}' LOCALE 'C' TEMPLATE template0")
    admin.close()
    conn = psycopg2.connect(dsn(name))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SHOW client_encoding")
    assert cur.fetchone()[0] == encoding, "the workload's SQL is written in the database encoding"
    return name, conn


def peek(cur, slot, options, shared=True):
    """Binary output of `slot` (without consuming it), with crossformat's
    SHARED_OPTIONS (streaming, LSNs, timestamps, origins) unless `shared` is false."""
    flat = [x for kv in ({**SHARED_OPTIONS, **options} if shared else options).items() for x in kv]
    cur.execute(f"SET logical_decoding_work_mem = '{WORK_MEM}'")
    cur.execute(f"SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL{', %s' * len(flat)})",
                [slot, *flat])
    return [bytes(row[0]) for row in cur.fetchall()]


def json_events(messages):
    return [parse_json(m.decode("utf-8")) for m in messages]    # strict: invalid UTF-8 fails here


class AsciiTypeCatalog(TypeCatalog):
    """The types with ASCII names (every column's type): the row types of
    the table named with every character would not decode in Python's
    codec for the client encoding (cp1252 has no 0x81)."""

    def __init__(self, cur):
        cur.execute("SELECT oid, typname, typtype, typelem, typbasetype, typcategory FROM pg_type "
                    r"WHERE typname::text !~ '[^\x01-\x7f]'")
        self.types = {row[0]: row[1:] for row in cur.fetchall()}


class Workload:
    """One database after the workload: its session, what it got, what to expect, the WAL end."""

    def __init__(self, encoding, name, cur, plan, expected, end):
        self.encoding, self.name, self.cur = encoding, name, cur
        self.plan, self.expected, self.end = plan, expected, end

    def json(self):
        return peek(self.cur, "wa", {"include-type-oids": "1"})


@pytest.fixture(scope="module")
def conversions():
    """A session in a UTF8 database with pg_temp.to_utf8."""
    conn = psycopg2.connect(dsn("postgres"))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SHOW server_encoding")
    assert cur.fetchone()[0] == "UTF8"
    cur.execute(TO_UTF8_FUNCTION)
    yield cur
    conn.close()


@pytest.fixture(scope="module", params=list(ENCODINGS))
def workload(request, conversions):
    """A database of the encoding, its slots, the workload run once."""
    encoding = request.param
    name, conn = create_encoded_database(encoding)
    cur = conn.cursor()
    plan = Plan(encoding, name)
    try:
        expected = Expected(encoding, plan, conversions)
        for slot, plugin in SLOTS:
            cur.execute("SELECT pg_create_logical_replication_slot(%s, %s, false, true)", (slot, plugin))
        run_workload(cur, plan)
        yield Workload(encoding, name, cur, plan, expected, current_lsn(cur))
    finally:
        conn.close()
        drop_origins(name, plan)
        drop_database(name)


def drop_origins(name, plan):
    """From a new session: the workload's may have failed inside an origin session."""
    conn = psycopg2.connect(dsn(name))
    conn.autocommit = True
    for origin in plan.origins:
        conn.cursor().execute(b"SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = "
                              + q_literal(b"".join(origin) + plan.origin_suffix.encode()))
    conn.close()


def message_content(event):
    """A message's content bytes; base64 exactly when they are not UTF-8."""
    if event.get("content_encoding") == "base64":
        content = base64.b64decode(event["content"], validate=True)
        with pytest.raises(UnicodeDecodeError):
            content.decode("utf-8")
        return content
    assert "content_encoding" not in event
    return event["content"].encode()


def difference(expected, actual):
    """Where two byte strings first differ, with some context (outputs can be 100 kB)."""
    at = next(k for k in range(min(len(expected), len(actual)) + 1) if expected[k:k + 1] != actual[k:k + 1])
    return f"at byte {at}:\n{expected[max(0, at - 60):at + 60]!r}\n{actual[max(0, at - 60):at + 60]!r}"


def assert_same_bytes(expected, actual, label):
    """Lists of messages, or whole files, equal byte for byte."""
    if isinstance(expected, bytes):
        assert expected == actual, f"{label}: {difference(expected, actual)}"
        return
    for i, (e, a) in enumerate(zip(expected, actual)):
        assert e == a, f"{label}: message {i} differs {difference(e, a)}"
    assert len(expected) == len(actual), label


def assert_rows(events, expected_row):
    """Every row of `vals` carries every value (or lists it as unchanged TOAST)."""
    for e in events:
        for part in ("new", "key"):
            if part not in e:
                continue
            row = dict(e[part])
            unchanged = e.get("unchanged_toast" if part == "new" else "key_unchanged_toast", [])
            assert row.pop("id") in (1, 2)
            assert row == {k: v for k, v in expected_row.items() if k not in unchanged}, f"{e['action']} {part}"
            assert len(row) + len(unchanged) == len(expected_row)


def test_json_carries_every_character_in_utf8(workload):
    """Names, values, prefixes, GIDs and origins as expected; contents as bytes."""
    events = json_events(workload.json())
    exp = workload.expected
    assert exp.row["t"].count(REPLACEMENT) == REPLACED[workload.encoding], "the expectation is PostgreSQL's"
    named = [e for e in events if e.get("table") == exp.table]
    assert [e["action"] for e in named] == ["insert", "update", "delete"]
    assert ["new" in e for e in named] == [True, True, False] and ["key" in e for e in named] == [False, True, True]
    for e in named:
        assert e["schema"] == exp.schema
        assert all(list(e[part]) == exp.columns for part in ("new", "key") if part in e)
    truncated = [e["relations"] for e in events if e["action"] == "truncate"]
    assert truncated == [[{"schema": exp.schema, "table": exp.table}]]
    rows = [e for e in events if e.get("table") == "vals"]
    assert [e["action"] for e in rows] == ["insert", "update", "delete"]
    assert_rows(rows, exp.row)
    messages = [(e["transactional"], e["prefix"], message_content(e)) for e in events if e["action"] == "message"]
    assert messages == exp.messages
    assert [(e["action"], e["gid"]) for e in events if "gid" in e] == exp.gids
    assert [e["origin"] for e in events if "origin" in e] == exp.origins


def test_protobuf_and_avro_carry_what_json_carries(workload, pb2):
    """Event by event, value by value, names, prefixes, GIDs and origins included."""
    cur = workload.cur
    raw = json_events(workload.json())
    catalog = AsciiTypeCatalog(cur)
    expected = [canonical_json_event(e, catalog) for e in raw]
    assert sum(1 for e in expected if e["action"] == "message") == len(workload.plan.messages)

    events = [pb2.Event.FromString(m) for m in peek(cur, "wa", {"format": "protobuf"})]
    got, described = canonical_pb_events(events, catalog)
    assert_same_events(got, expected)
    assert workload.expected.table in described

    got, _ = canonical_avro_events(peek(cur, "wa", {"format": "avro"}), raw, catalog)
    assert_same_events(got, expected)


@pytest.mark.parametrize("options", TEST_DECODING_OPTION_SETS, ids=lambda o: " ".join(o) or "defaults")
def test_test_decoding_format_is_test_decoding_byte_for_byte(workload, options):
    """Names, values, prefixes and GIDs written in the database encoding, as test_decoding writes them."""
    expected = peek(workload.cur, "td", options, shared=False)
    actual = peek(workload.cur, "wa", {"format": "test_decoding", **options}, shared=False)
    # The database encoding, unconverted: the messages' raw prefix is there.
    assert sum(1 for line in expected if workload.plan.text in line) >= len(workload.plan.messages)
    assert_same_bytes(expected, actual, "test_decoding vs wal2any")


def pg_recvlogical_file(workload, slot, path, *options):
    recvlogical(workload.name, "--slot", slot, "--start", "--no-loop", "--endpos", workload.end, "-f", str(path),
                *options, env=STREAMING_ENV)
    return path.read_bytes()


def test_pg_recvlogical_writes_what_the_sql_functions_return(workload, pb2, tmp_path):
    """JSON byte for byte; format=test_decoding byte for byte with
    test_decoding's own pg_recvlogical file; Protobuf and Avro decoded (under
    a walsender, type names outside the search path are qualified,
    public.mood[], as test_decoding's are: Protobuf's relation messages and
    Avro's writer schemas carry them) and equal to JSON event by event."""
    lines = lambda messages: b"".join(m + b"\n" for m in messages)  # noqa: E731 (pg_recvlogical's newline)
    got = pg_recvlogical_file(workload, "rv_json", tmp_path / "json", *recvlogical_options({"include-type-oids": "1"}))
    assert_same_bytes(lines(workload.json()), got, "pg_recvlogical vs SQL (json)")

    raw = json_events(workload.json())
    catalog = AsciiTypeCatalog(workload.cur)
    expected = [canonical_json_event(e, catalog) for e in raw]
    framing = {"framing": "varint-newline"}
    got = pg_recvlogical_file(workload, "rv_avro", tmp_path / "avro",
                              *recvlogical_options({"format": "avro", **framing}))
    avro, _ = canonical_avro_events(split_frames(got), raw, catalog)
    assert_same_events(avro, expected)
    got = pg_recvlogical_file(workload, "rv_protobuf", tmp_path / "pb",
                              *recvlogical_options({"format": "protobuf", **framing}))
    from_file = split_delimited(got, pb2)
    assert all(event.record_separator == 10 for event in from_file)
    protobuf, _ = canonical_pb_events(from_file, catalog)
    assert_same_events(protobuf, expected)
    got = pg_recvlogical_file(workload, "rv_td", tmp_path / "td", "-o", "format=test_decoding")
    reference = pg_recvlogical_file(workload, "rv_td_ref", tmp_path / "td_ref")
    assert_same_bytes(reference, got, "pg_recvlogical: test_decoding vs wal2any's format=test_decoding")


def test_win1252_prefix_0x81_does_not_wedge_the_slot(pb2, tmp_path):
    """The report: 0x81 has no Unicode character. Every format decodes the
    messages (U+FFFD in the UTF-8 formats, the byte itself in test_decoding)
    and what follows them, at every call, through SQL and pg_recvlogical;
    the non-transactional one is decoded outside any transaction."""
    name, conn = create_encoded_database("WIN1252")
    try:
        cur = conn.cursor()
        for slot in ("repro", "repro_recv"):
            cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (slot,))
        cur.execute(r"SELECT pg_logical_emit_message(true, E'\x81', 'x')")
        cur.execute(r"SELECT pg_logical_emit_message(false, E'\x81', E'\x81')")
        cur.execute("CREATE TABLE after_it (id int); INSERT INTO after_it VALUES (1)")
        end = current_lsn(cur)
        expected = [(True, REPLACEMENT, b"x"), (False, REPLACEMENT, b"\x81")]
        for _ in range(2):                 # the ERROR came back at every call
            events = json_events(peek(cur, "repro", {}))
            assert [(e["transactional"], e["prefix"], message_content(e)) for e in events
                    if e["action"] == "message"] == expected
            assert [e["new"] for e in events if e["action"] == "insert"] == [{"id": 1}]
        protobuf = [pb2.Event.FromString(m) for m in peek(cur, "repro", {"format": "protobuf"})]
        assert [(e.message.transactional, e.message.prefix, e.message.content) for e in protobuf
                if e.WhichOneof("event") == "message"] == expected
        registry = Registry()
        avro = [registry.read(m) for m in peek(cur, "repro", {"format": "avro"})]
        assert [(r["transactional"], r["prefix"], r["content"]) for kind, _, r in avro
                if kind == "wal2any.Message"] == expected
        td = peek(cur, "repro", {"format": "test_decoding", "include-xids": "0"}, shared=False)
        assert [line for line in td if line.startswith(b"message")] == [
            b"message: transactional: 1 prefix: \x81, sz: 1 content:x",
            b"message: transactional: 0 prefix: \x81, sz: 1 content:\x81"]
        recvlogical(name, "--slot", "repro_recv", "--start", "--no-loop", "--endpos", end, "-f", str(tmp_path / "out"),
                    *recvlogical_options({}), env=STREAMING_ENV)
        assert (tmp_path / "out").read_bytes() == b"".join(m + b"\n" for m in peek(cur, "repro", {}))
    finally:
        conn.close()
        drop_database(name)
