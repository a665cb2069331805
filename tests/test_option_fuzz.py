"""Option fuzzing: whatever options a consumer passes (names from the
README's option table and random ones; values valid, wrong, empty, unicode,
control characters, 1 MB long; duplicates; lists and option arrays of a
million entries), through pg_logical_slot_peek_binary_changes and through
START_REPLICATION, decoding startup either succeeds or ends in an ERROR
with SQLSTATE 22023 or 42601 naming an option it was given: never another
error, never a crash (the autouse watchdog reads the server log), never a
hang (statement_timeout = 10s; a call still running after 15 s fails), and
a cancel sent midway through a long call ends it. `wal2any.*` settings: a
bad value is rejected when set (22023), an unknown name too (42602), and
bad values stored with ALTER ROLE / DATABASE only cost a WARNING when the
library loads. Random cases are seeded: WAL2ANY_FUZZ_SEED=N replays a run
(failure messages show the seed); -s prints the slowest calls."""
import json
import os
import pathlib
import random
import re
import threading
import time
import uuid
from collections import namedtuple

import psycopg2
import psycopg2.extras
import pytest

from conftest import create_database, drop_database, dsn

SEED = int(os.environ.get("WAL2ANY_FUZZ_SEED") or random.SystemRandom().randrange(1 << 32))
CLEAN_CODES = ("22023", "42601")
STATEMENT_TIMEOUT = "10s"
HANG_GUARD_S = 15          # statement_timeout plus 5 s: past this a call is hung
CANCEL_WORTH_S = 0.2       # parsing this long is worth cancelling midway
CANCEL_GUARD_S = 5         # a cancelled call must end within this
MB = 1 << 20
README = pathlib.Path(__file__).parent.parent / "README.md"


# kind: bool, choice, text, list or bytes; formats: ("all",) or format names.
Option = namedtuple("Option", "name kind choices formats")


def readme_options():
    """The README's option table (generated from src/options_table.rs)."""
    table = README.read_text().split("| option | values | default | formats | what it does |", 1)[1]
    options = []
    for line in table.split("\n\n", 1)[0].splitlines():
        if not line.startswith("| `"):
            continue
        name, values, _, formats = (cell.strip() for cell in line.split("|")[1:5])
        kind = {"boolean": "bool", "string": "text", "comma-separated list": "list"}.get(values)
        kind = kind or ("bytes" if values.startswith("bytes") else "choice")
        choices = tuple(re.findall(r"`([^`]*)`", values)) if kind == "choice" else ()
        options.append(Option(name.strip("`"), kind, choices, tuple(formats.split(", "))))
    return options


OPTIONS = readme_options()
BY_NAME = {o.name: o for o in OPTIONS}
FORMATS = BY_NAME["format"].choices

BOOL_GOOD = ["true", "false", "TRUE", "t", "f", "yes", "no", "y", "n", "on", "off", "of", "1", "0", "Tr", "fAlS"]
BOOL_BAD = ["", "maybe", "2", "o", "tru e", " true", "true ", "onn", "yess", "-1", "\uff11", "truex", "0x1", "\t",
            "null", "on\n", "\uff54rue"]
TABLES_GOOD = ["", "*.*", "public.t", "s.*", "*.t", " s . t ", "a\\.b.c", "a.b, c.d", "\\,.x", "\u65e5\u672c.\u8868",
               ",,,", "s.t,"]
TABLES_BAD = ["a", "a.b.c", ".t", "s.", "a.b,c", "*", "..", "s.t,x"]
ACTIONS_GOOD = ["insert", "INSERT, delete", "", "insert,insert", "truncate , update"]
ACTIONS_BAD = ["merge", "insert;update", "ins", "insert update", "select", "insert,merge"]
BYTES_GOOD = ["0", "1", "65536", "67108864"]
BYTES_BAD = ["", "-1", "67108865", "1e3", "0x10", " 1", "1 ", "\uff11\uff12", "99999999999999999999999999", "1kB",
             "64MB", "1.5"]
NASTY = ["", " ", ",", ".", "*", "\\", "\\,", "a\\", "'", '"', "''", "=", "\n", "\t", "\x01", "\x1f", "\x7f", "\u0085",
         "\u00e9", "e\u0301", "\ufffd", "\u202e", "\u65e5\u672c", "\U0001f600", "\U0010ffff", "-", "--", "NULL",
         "true", "0", "-1", "18446744073709551616", "json", "insert", "*.*", "\u00a0"]


def good_values(option):
    by_kind = {"bool": BOOL_GOOD, "choice": list(option.choices), "bytes": BYTES_GOOD}
    by_name = {"add-tables": TABLES_GOOD, "filter-tables": TABLES_GOOD, "actions": ACTIONS_GOOD}
    return by_kind.get(option.kind) or by_name.get(option.name, NASTY)    # text, other lists: any string


def bad_values(option):
    if option.kind == "choice":
        first = option.choices[0]
        return ["", first.upper(), " " + first, first + " ", first[:-1], first + "\n", "\uff4a",
                ",".join(option.choices)]
    by_name = {"add-tables": TABLES_BAD, "filter-tables": TABLES_BAD, "actions": ACTIONS_BAD}
    return {"bool": BOOL_BAD, "bytes": BYTES_BAD}.get(option.kind) or by_name.get(option.name, [])


def random_text(rng):
    if rng.random() < 0.05:
        return rng.choice(NASTY) * rng.randint(1000, 4096) or "x" * 4096
    pieces = [rng.choice(NASTY) if rng.random() < 0.5 else rng.choice("abcxyz_-.,*\\ 019")
              for _ in range(rng.randint(0, 12))]
    return "".join(pieces)


def random_value(rng, name):
    option = BY_NAME.get(name)
    if option is not None and rng.random() < 0.6:
        return rng.choice(good_values(option) + bad_values(option))
    return random_text(rng)


def random_case(rng, bare=0.0):
    """A random option list: table names, random names, duplicates, an
    explicit format now and then; `bare`: share of options without a value."""
    pairs = []
    if rng.random() < 0.2:
        pairs.append(("format", rng.choice(FORMATS + ("", "xml"))))
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 12])):
        if pairs and rng.random() < 0.1:
            name = rng.choice(pairs)[0]
        elif rng.random() < 0.75:
            name = rng.choice(OPTIONS).name
        else:
            name = random_text(rng)
        pairs.append((name, None if rng.random() < bare else random_value(rng, name)))
    return pairs


def home(option, *pairs):
    """`pairs` under a format `option` applies to."""
    fmt = "json" if option.formats == ("all",) or "json" in option.formats else option.formats[0]
    return ([("format", fmt)] if fmt != "json" and option.name != "format" else []) + list(pairs)


def shown(text):
    return "None" if text is None else repr(text[:40]) + (f"...({len(text)} chars)" if len(text) > 40 else "")


def describe(pairs):
    return f"seed {SEED}: [" + ", ".join(f"{shown(n)}={shown(v)}" for n, v in pairs) + "]"


def assert_clean(outcome, pairs, names=None):
    """Success, or 22023/42601 naming one of the options given."""
    if outcome is None:
        return
    code, message = outcome
    assert code in CLEAN_CODES, f"{describe(pairs)}: SQLSTATE {code}: {message[:300]}"
    names = names if names is not None else [n for n, _ in pairs]
    assert any(f'"{n}"' in message for n in names), f"{describe(pairs)}: names no option: {message[:300]}"


def assert_outcome(target, pairs, code, name=None):
    """The call on `target` ends in success (code None) or in `code` naming `name`."""
    outcome = target.peek(pairs)
    if code is None:
        assert outcome is None, f"{describe(pairs)}: expected success, got {outcome[0]}: {outcome[1][:300]}"
    else:
        assert outcome is not None and outcome[0] == code, f"{describe(pairs)}: expected {code}, got {outcome}"
        assert f'"{target.as_sent(name)}"' in outcome[1], f"{describe(pairs)}: {outcome[1][:300]}"


def outcome_of(call):
    """None when `call` succeeds, else (SQLSTATE, message)."""
    try:
        call()
    except psycopg2.Error as e:
        return e.pgcode, e.diag.message_primary or str(e)


class Target:
    """Where options go; `peek` returns None (success) or (SQLSTATE, message)
    and keeps the slowest call for the report."""
    slowest = (0.0, "")
    as_sent = staticmethod(lambda name: name)

    def close(self):
        self.conn.close()

    def timed(self, pairs, call):
        start = time.monotonic()
        outcome = outcome_of(call)
        elapsed = time.monotonic() - start
        assert elapsed < HANG_GUARD_S, f"{describe(pairs)}: {elapsed:.1f} s"
        self.slowest = max(self.slowest, (elapsed, describe(pairs)))
        return outcome


class SqlTarget(Target):
    """pg_logical_slot_peek_binary_changes on a slot (binary: every format)."""

    def __init__(self, database, slot):
        self.slot, self.conn = slot, connect(database, f"options='-c statement_timeout={STATEMENT_TIMEOUT}'")

    def peek(self, pairs):
        quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in pairs for s in p)
        with self.conn.cursor() as cur:
            return self.timed(pairs, lambda: cur.execute(
                "SELECT count(*) FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL, VARIADIC %s::text[])",
                (self.slot, "{" + ",".join(quoted) + "}")))


class ReplicationTarget(Target):
    """START_REPLICATION SLOT ... LOGICAL 0/0 (options) on a fresh
    replication connection per call; None as a value is a bare option."""

    def __init__(self, database, slot):
        self.database, self.slot, self.conn = database, slot, connect(database)

    @staticmethod
    def as_sent(name):
        """The replication scanner truncates identifiers to 63 bytes."""
        return name.encode()[:63].decode("utf-8", "ignore")

    def command(self, pairs):
        quoted = ", ".join('"' + n.replace('"', '""') + '"' + ("" if v is None else " '" + v.replace("'", "''") + "'")
                           for n, v in pairs)
        return f"START_REPLICATION SLOT {self.slot} LOGICAL 0/0" + (f" ({quoted})" if quoted else "")

    def peek(self, pairs):
        repl = replication_connection(self.database)
        outcome = self.timed(pairs, lambda: repl.cursor().start_replication_expert(self.command(pairs), decode=False))
        repl.close()
        if outcome is None:
            self.wait_slot_released()
        return outcome

    def wait_slot_released(self):
        released = "SELECT NOT active FROM pg_replication_slots WHERE slot_name = %s"
        wait_until(lambda: query(self.conn, released, self.slot), "the walsender to release the slot")


def wait_until(condition, what, timeout=30):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def connect(database, extra=""):
    conn = psycopg2.connect(f"{dsn(database)} {extra}")
    conn.autocommit = True
    return conn


def replication_connection(database, extra=""):
    return psycopg2.connect(f"{dsn(database)} {extra}", connection_factory=psycopg2.extras.LogicalReplicationConnection)


def query(conn, sql_text, *args):
    """The first column of the first row."""
    with conn.cursor() as cur:
        cur.execute(sql_text, args)
        return cur.fetchone()[0]


def slot_for(database, target_class):
    return f"{database}_{target_class.__name__}".lower()


# Backends of calls abandoned as hung: the module waits for them before
# dropping its database (a backend that ignores cancel ends on its own).
ABANDONED = []


@pytest.fixture(scope="module")
def fuzz_db():
    """A database with slots and a little WAL to decode (an insert with a
    TOAST value, an update leaving it unchanged, a message, a delete), so
    successful calls also decode under the fuzzed options."""
    name = create_database()
    conn = connect(name)
    cur = conn.cursor()
    for kind in (SqlTarget, ReplicationTarget):
        cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (slot_for(name, kind),))
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, big text, n int)")
    cur.execute("INSERT INTO t SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g")
    cur.execute("UPDATE t SET n = 1; SELECT pg_logical_emit_message(true, 'p', 'm'); DELETE FROM t")
    conn.close()
    yield name
    wait_for_abandoned()
    drop_database(name)


def wait_for_abandoned():
    if not ABANDONED:
        return
    admin = connect("postgres")
    wait_until(lambda: query(admin, "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ANY(%s)", ABANDONED),
               f"abandoned backends {ABANDONED}", timeout=600)
    admin.close()


@pytest.fixture(scope="module", params=[SqlTarget, ReplicationTarget], ids=["sql", "replication"])
def target(fuzz_db, request):
    target = request.param(fuzz_db, slot_for(fuzz_db, request.param))
    yield target
    print(f"\nslowest call ({request.param.__name__}): {target.slowest[0]:.3f} s {target.slowest[1][:200]}")
    target.close()


def test_every_option_with_good_and_wrong_values(target):
    for option in OPTIONS:
        for value in good_values(option):
            assert_outcome(target, home(option, (option.name, value)), None)
        for value in bad_values(option):
            assert_outcome(target, home(option, (option.name, value)), "22023", option.name)
        value = good_values(option)[-1]
        twice = home(option, (option.name, value), (option.name, value))
        if option.formats == ("test_decoding",):
            assert_outcome(target, twice, None)          # test_decoding's rule: the last one wins
        else:
            assert_outcome(target, twice, "42601", option.name)
        for fmt in FORMATS:
            if option.name != "format" and option.formats != ("all",) and fmt not in option.formats:
                assert_outcome(target, [("format", fmt), (option.name, value)], "22023", option.name)


CONFLICTS = [
    ([("only-local", "on"), ("include-origins", "a")], "42601", "only-local"),
    ([("only-local", "off"), ("include-origins", "a")], None, None),
    ([("include-origins", "a"), ("exclude-origins", "b")], "42601", "include-origins"),
    ([("pretty-print", "on"), ("batch-bytes", "100")], "42601", "batch-bytes"),
    ([("pretty-print", "off"), ("batch-bytes", "100")], None, None),
    ([("format", "protobuf"), ("batch-bytes", "100")], "42601", "batch-bytes"),
    ([("format", "avro"), ("batch-bytes", "100"), ("framing", "varint")], None, None),
    ([("format", "json"), ("format", "json")], "42601", "format"),
]
UNKNOWN_NAMES = ["include_xids", "Include-Xids", "include-xid", "include-xids ", " format", "FORMAT", "", "\u00e9",
                 "a" * MB, "x" * 64]
MEGABYTE_VALUES = [("include-xids", "1" * MB, "22023"), ("format", "json" * (MB // 4), "22023"),
                   ("unchanged-toast-placeholder", "\u00e9" * MB, None), ("add-tables", "a" * MB, "22023"),
                   ("add-msg-prefixes", "\U0001f600" * (MB // 4), None), ("batch-bytes", "9" * MB, "22023")]


def test_conflicts_unknown_names_and_megabyte_values(target):
    for pairs, code, name in CONFLICTS:
        assert_outcome(target, pairs, code, name)
    for name in UNKNOWN_NAMES:
        assert_outcome(target, [(name, "1")], "22023", name)
    for option, value, code in MEGABYTE_VALUES:
        assert_outcome(target, home(BY_NAME[option], (option, value)), code, option)


def test_random_option_lists(target):
    """1,500 random lists through SQL; 150 through a replication
    connection (a connection each), where some options are bare."""
    rng = random.Random(SEED)
    bare, count = (0.0, 1500) if isinstance(target, SqlTarget) else (0.15, 150)
    for _ in range(count):
        pairs = random_case(rng, bare)
        assert_clean(target.peek(pairs), pairs, names=[target.as_sent(n) for n, _ in pairs])


def test_bare_options_and_large_commands_on_the_replication_protocol(fuzz_db):
    repl = ReplicationTarget(fuzz_db, slot_for(fuzz_db, ReplicationTarget))
    for option in OPTIONS:   # bare: true for a boolean, else "needs a value" or an invalid value
        assert_outcome(repl, home(option, (option.name, None)), None if option.kind == "bool" else "22023",
                       option.name)
    assert_outcome(repl, [(f"opt{i}", "v") for i in range(100_000)], "22023", "opt0")
    assert_outcome(repl, [("add-tables", ",".join(f"s{i}.t{i}" for i in range(1_000_000)))], None)
    print(f"\nslowest START_REPLICATION: {repl.slowest[0]:.3f} s {repl.slowest[1][:200]}")
    repl.close()


def guarded_call(database, sql_text, cancel_after=None):
    """Runs `sql_text` on a connection of its own in a thread: returns
    (outcome, seconds). With `cancel_after`, sends a cancel request then
    if the call is still running. A call that outlives its guard fails the
    test; its backend is left to end on its own (see ABANDONED)."""
    conn = connect(database, f"options='-c statement_timeout={STATEMENT_TIMEOUT}'")
    result = {}

    def run():
        start = time.monotonic()
        result["outcome"] = outcome_of(lambda: conn.cursor().execute(sql_text))
        result["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if cancel_after is not None:
        thread.join(cancel_after)
        if thread.is_alive():
            conn.cancel()
        thread.join(CANCEL_GUARD_S)
        guard = f"{CANCEL_GUARD_S} s after a cancel"
    else:
        thread.join(HANG_GUARD_S)
        guard = f"{HANG_GUARD_S} s with statement_timeout={STATEMENT_TIMEOUT}"
    if thread.is_alive():
        ABANDONED.append(conn.get_backend_pid())
        pytest.fail(f"still running after {guard}: {sql_text[:300]}")
    conn.close()
    return result["outcome"], result["seconds"]


def million_entry_list(option, item, suffix=""):
    """[option, a list of 1,000,000 items built by SQL from g]."""
    return f"ARRAY['{option}', (SELECT string_agg({item}, ',') || '{suffix}' FROM generate_series(1, 1000000) g)]"


def option_array(pairs, name, value, head="ARRAY[]::text[]"):
    """`head` then `pairs` name/value pairs built by SQL from g: 2 * pairs entries."""
    return (f"(SELECT {head} || array_agg(x ORDER BY g, k) FROM generate_series(1, {pairs}) g, "
            f"LATERAL (VALUES (1, {name}), (2, {value})) v(k, x))")


# (what, the options as an SQL array, expected SQLSTATE or None, option named)
HUGE_CASES = [
    ("add-tables: 1,000,000 patterns", million_entry_list("add-tables", "'s' || g || '.t' || g"), None, None),
    ("filter-tables: 1,000,000 escaped patterns", million_entry_list("filter-tables", "'s\\,' || g || '.*'"),
     None, None),
    ("add-tables: 1,000,000 patterns, then a bad one",
     million_entry_list("add-tables", "'s' || g || '.t' || g", ",bad"), "22023", "add-tables"),
    ("add-msg-prefixes: 1,000,000 prefixes", million_entry_list("add-msg-prefixes", "'p' || g"), None, None),
    ("exclude-origins: 1,000,000 names", million_entry_list("exclude-origins", "'o' || g"), None, None),
    ("actions: 1,000,000 entries", million_entry_list("actions", "'insert'"), None, None),
    ("1,000,000 array entries: 500,000 distinct unknown options", option_array(500_000, "'name' || g", "'v'"),
     "22023", "name1"),
    ("1,000,000 array entries: 500,000 distinct unknown options and a duplicate",
     option_array(500_001, "'name' || (g % 500000)", "'v'"), "42601", "name1"),
    ("1,000,000 array entries, format=test_decoding: include-xids 499,999 times (the last one wins)",
     option_array(499_999, "'include-xids'", "'on'", head="ARRAY['format', 'test_decoding']"), None, None),
]


def test_huge_lists_end_cleanly_and_can_be_cancelled(fuzz_db):
    """Each huge case once to its end (timed), and, if that takes long
    enough to matter, once more with a cancel sent midway: it must end
    soon after, cancelled (57014) or with its normal outcome."""
    report, slot = [], slot_for(fuzz_db, SqlTarget)
    for what, array, code, name in HUGE_CASES:
        call = f"SELECT count(*) FROM pg_logical_slot_peek_binary_changes('{slot}', NULL, NULL, VARIADIC {array})"
        outcome, seconds = guarded_call(fuzz_db, call)
        _, building = guarded_call(fuzz_db, f"SELECT cardinality({array})")
        assert (outcome and outcome[0]) == code and (code is None or f'"{name}"' in outcome[1]), f"{what}: {outcome}"
        line = f"{seconds:.3f} s ({building:.3f} s building the options in SQL): {what}"
        if seconds - building > CANCEL_WORTH_S:
            cancel_at = building + (seconds - building) / 2    # while wal2any parses, roughly
            cancelled, after = guarded_call(fuzz_db, call, cancel_after=cancel_at)
            assert cancelled == outcome or cancelled[0] == "57014", f"{what}: cancelled: {cancelled}"
            line += f"; cancelled at {cancel_at:.3f} s: ended at {after:.3f} s ({cancelled and cancelled[0]})"
        report.append(line)
    print("\n" + "\n".join(report))


def set_setting(cur, name, value):
    """set_config(name, value): None, or (SQLSTATE, message)."""
    return outcome_of(lambda: cur.execute("SELECT set_config(%s, %s, false)", (name, value)))


def setting_name(option_name):
    return "wal2any." + option_name.replace("-", "_")


def test_settings_reject_bad_values_and_unknown_names(fuzz_db):
    conn = connect(fuzz_db)
    cur = conn.cursor()
    cur.execute("LOAD 'wal2any'")
    rng = random.Random(SEED + 2)
    for option in OPTIONS:
        setting = setting_name(option.name)
        bad = [v for v in bad_values(option) if v]     # the empty string means "not set": always accepted
        for value in [*good_values(option), "", *bad]:
            outcome = set_setting(cur, setting, value)
            if value in bad:
                assert outcome and outcome[0] == "22023", f"{setting} = {value!r}: {outcome}"
                assert f'invalid value for parameter "{setting}"' in outcome[1], outcome
            else:
                assert outcome is None, f"{setting} = {value!r}: {outcome}"
                assert query(conn, "SELECT current_setting(%s)", setting) == value
        for value in (random_value(rng, option.name) for _ in range(20)):
            outcome = set_setting(cur, setting, value)
            assert outcome is None or outcome[0] == "22023", f"seed {SEED}: {setting} = {value[:80]!r}: {outcome}"
        cur.execute(f"RESET {setting}")
    for name in ["wal2any.foo", "wal2any.include-xids", "wal2any.Include_Xids_", "wal2any.a.b", "wal2any.\u00e9",
                 *(f"wal2any.x{rng.randrange(1 << 30)}" for _ in range(20))]:
        outcome = set_setting(cur, name, "on")
        assert outcome and outcome[0] == "42602" and "invalid configuration parameter name" in outcome[1], name
    conn.close()


def peek_text(conn, slot, pairs=()):
    """The slot's messages as text (UTF-8, whatever the database encoding)."""
    with conn.cursor() as cur:
        cur.execute("SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL, VARIADIC %s::text[])",
                    (slot, [s for p in pairs for s in p]))
        return [bytes(row[0]).decode("utf-8", "replace") for row in cur.fetchall()]


def decode_as(database, role, pairs=()):
    """A fresh session of `role` (the library loads under its stored
    settings) peeks at the slot named after the database:
    (None or (SQLSTATE, message), messages, WARNINGs)."""
    conn = connect(database, f"user={role}")
    try:
        lines = peek_text(conn, database, pairs)
        return None, lines, [n for n in conn.notices if "WARNING" in n]
    except psycopg2.Error as e:
        return (e.pgcode, e.diag.message_primary or str(e)), [], conn.notices
    finally:
        conn.close()


@pytest.fixture
def fuzz_role(database):
    """A login role with REPLICATION (decoding needs it), a slot named
    after the database, and an admin session that never loads wal2any:
    there a wal2any.* setting is a placeholder, stored unchecked by ALTER
    ROLE / DATABASE (creating the slot loads wal2any: another session)."""
    role = "fuzz_" + database
    admin = connect(database)
    admin.cursor().execute(f"CREATE ROLE {role} LOGIN REPLICATION; CREATE TABLE t (id int PRIMARY KEY)")
    slot_maker = connect(database)
    slot_maker.cursor().execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (database,))
    slot_maker.close()
    yield role, admin.cursor()
    admin.close()
    root = connect("postgres")
    root.cursor().execute(f"DROP ROLE {role}")     # its per-database settings go with it
    root.close()


def test_bad_stored_settings_only_warn(database, fuzz_role):
    role, admin = fuzz_role
    admin.execute(f"ALTER ROLE {role} IN DATABASE {database} SET wal2any.actions = 'merge'")
    admin.execute(f"ALTER ROLE {role} IN DATABASE {database} SET wal2any.batch_bytes = '-5'")
    admin.execute(f"ALTER DATABASE {database} SET wal2any.include_xids = 'perhaps'")
    admin.execute(f"ALTER DATABASE {database} SET wal2any.no_such_option = 'x'")
    admin.execute("INSERT INTO t VALUES (1)")
    outcome, lines, warnings = decode_as(database, role, [("include-lsn", "on")])
    assert outcome is None, outcome
    # The defaults stand: the insert is emitted (actions), with its xid (include-xids), one event per message.
    inserts = [line for line in lines if '"action":"insert"' in line]
    assert len(inserts) == 1 and '"xid":' in inserts[0] and '"lsn":' in inserts[0], lines
    for expected in ['invalid value for parameter "wal2any.actions": "merge"',
                     'invalid value for parameter "wal2any.batch_bytes": "-5"',
                     'invalid value for parameter "wal2any.include_xids": "perhaps"',
                     'invalid configuration parameter name "wal2any.no_such_option"']:
        assert any(expected in w for w in warnings), (expected, warnings)
    # A walsender loads the library under the same stored settings.
    repl = replication_connection(database, f"user={role}")
    cur = repl.cursor()
    cur.start_replication_expert(f"START_REPLICATION SLOT {database} LOGICAL 0/0", decode=True)
    wait_until(lambda: '"action":"insert"' in getattr(cur.read_message(), "payload", ""), "the insert")
    repl.close()


# (stored settings, plugin options, expected SQLSTATE or None)
STORED_COMBINATIONS = [({"format": "protobuf", "batch-bytes": "100"}, [], "42601"),
                       ({"format": "protobuf", "batch-bytes": "100"}, [("framing", "varint")], None),
                       ({"only-local": "on"}, [("include-origins", "a")], "42601"),
                       ({"pretty-print": "on"}, [("format", "protobuf")], None),
                       ({"format": "avro"}, [("pretty-print", "on")], "22023")]


def test_stored_settings_combined_with_options(database, fuzz_role):
    """Valid stored settings that conflict with each other or with the
    plugin options are a clean startup error; random stored settings
    (good, bad, unknown) with random options: success or 22023/42601."""
    role, admin = fuzz_role
    where = f"ROLE {role} IN DATABASE {database}"
    for settings, pairs, code in STORED_COMBINATIONS:
        for name, value in settings.items():
            admin.execute(f"ALTER {where} SET {setting_name(name)} = %s", (value,))
        outcome = decode_as(database, role, pairs)[0]
        assert (outcome and outcome[0]) == code, (settings, pairs, outcome)
        admin.execute(f"ALTER {where} RESET ALL")
    rng = random.Random(SEED + 3)
    for _ in range(25):
        names = [rng.choice(OPTIONS).name for _ in range(rng.randint(1, 3))]
        for name in names:
            admin.execute(f"ALTER {where} SET {setting_name(name)} = %s", (random_value(rng, name)[:200],))
        if rng.random() < 0.2:
            admin.execute(f"ALTER {where} SET wal2any.x{rng.randrange(1000)} = 'on'")
        pairs = random_case(rng)[:3]
        assert_clean(decode_as(database, role, pairs)[0], pairs, names=[n for n, _ in pairs] + names)
        admin.execute(f"ALTER {where} RESET ALL")


@pytest.fixture
def latin1_db():
    name = "wal2any_py_l1_" + uuid.uuid4().hex[:8]
    admin = connect("postgres")
    admin.cursor().execute(f"CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    admin.close()
    yield name
    drop_database(name)


def test_non_ascii_options_and_settings_in_a_latin1_database(latin1_db):
    """Option values and settings arrive in the database encoding (the
    server converted them from the client's): wal2any must read them as
    LATIN1, so that a filter on é matches what its UTF-8 output calls é."""
    conn = connect(latin1_db, "client_encoding=UTF8")
    cur = conn.cursor()
    cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (latin1_db,))
    cur.execute('CREATE TABLE "café" (id int PRIMARY KEY, big text, n int); CREATE TABLE other (id int)')
    cur.execute("""INSERT INTO "café" SELECT 1, string_agg(md5(g::text), ''), 0 FROM generate_series(1, 400) g""")
    cur.execute('UPDATE "café" SET n = 1; INSERT INTO other VALUES (1)')
    cur.execute("SELECT pg_logical_emit_message(true, 'é', 'x'), pg_logical_emit_message(true, 'e', 'y')")
    events = lambda *pairs: [json.loads(line) for line in peek_text(conn, latin1_db, pairs)]  # noqa: E731
    tables = lambda *pairs: {e["table"] for e in events(*pairs) if "table" in e}  # noqa: E731
    prefixes = lambda *pairs: [e["prefix"] for e in events(*pairs) if e["action"] == "message"]  # noqa: E731
    assert tables(("add-tables", "public.café")) == {"café"}
    assert tables(("filter-tables", "public.café")) == {"other"}
    assert prefixes(("add-msg-prefixes", "é")) == ["é"]
    assert prefixes(("filter-msg-prefixes", "é")) == ["e"]
    update = [e for e in events(("unchanged-toast-placeholder", "é")) if e["action"] == "update"]
    assert update[0]["new"]["big"] == "é"
    with pytest.raises(psycopg2.Error) as error:
        events(("include-xids", "é"))
    assert error.value.pgcode == "22023" and '"é"' in error.value.diag.message_primary
    for setting in ("wal2any.add_msg_prefixes", "wal2any.unchanged_toast_placeholder"):
        assert set_setting(cur, setting, "é") is None     # the slot's creation loaded the library
    assert prefixes() == ["é"], "the setting's é is the message prefix é"
    conn.close()
