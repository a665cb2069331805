"""The seeded torture workload of tests/test_torture.py, and the stream side
of its replay: events parsed with numbers kept exact, and the transactions a
consumer applies, in order, under the streaming and two-phase protocols
(`replay_order`). The SQL side, the applier written for the test
(independent of tools/applier.py), is in tests/test_torture.py.

`generate(seed, size)` returns a deterministic list of SQL steps (each one
transaction, or one COMMIT/ROLLBACK PREPARED) for a source database whose
session has hostile settings: random tables over the type matrix with every
replica identity, DML with key changes, unchanged TOAST, savepoints,
aborts, prepared transactions, large transactions that spill or stream,
truncates, messages, and DDL between transactions.

DDL reaches the target in the stream itself: each DDL step is a transaction
that also emits a transactional logical message (prefix DDL_PREFIX) with the
DDL text. PostgreSQL decodes it in commit order, exactly between the
transactions before and after it, so the applier runs it on the target at
the right point with no LSN bookkeeping (the pattern the README suggests:
DDL is not decoded).

What the applier cannot apply, the workload does not commit: a table with
REPLICA IDENTITY NOTHING (it has a primary key) gets inserts and updates
that keep the key (the applier finds the row by `pk` in `new`), never a
committed DELETE or key change; a table with no key at all gets committed
inserts only. Both get UPDATE/DELETE inside rolled-back savepoints and
aborted transactions, which decoding must drop. FULL tables without a key
get duplicate rows: the applier touches one row per event.

    python3 tests/torture.py SEED SIZE    # prints a seed's SQL steps
"""
import json
import random
import sys

DDL_PREFIX = "torture.ddl"
END_PREFIX = "torture.end"
SHADOW_SCHEMA = "Tortüre schema"
# The source session's settings: every value's text input and output they
# change, and a search_path whose first schema (where the tables and types go)
# is not public. The steps rely on them.
HOSTILE = {"TimeZone": "Pacific/Chatham", "DateStyle": "SQL, DMY", "IntervalStyle": "sql_standard",
           "extra_float_digits": "-3", "bytea_output": "escape", "search_path": f'"{SHADOW_SCHEMA}", public'}


def q(text):
    return "'" + text.replace("'", "''") + "'"


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def element(text):
    """An array element or composite field, quoted."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- values
TEXT_PIECES = ["", " ", "NULL", "it's", 'say "hi"', "back\\slash", "\\x41\\n", "line1\nline2", "tab\t", "cr\r",
               "\x01\x1f\x7f", "\u0080\u009f", "é ü €", "😀", "e\u0301", "\u2028\u2029", "日本語", "{a,b}",
               "(1,2)", "a,b", '\\"', "'; --", "\ufeffbom", "\ufffd", "plain"]
JSON_NUMBERS = ["0", "-0", "1.50", "1e3", "-2.5E-3", "12345678901234567890123", "0.1", "-7"]
OFFSETS = ["+00", "-05:30", "+14", "-12", "+05:45", "+13:45", "-00:30", "+03:25:12"]


def rand_text(r, limit):
    return "".join(r.choice(TEXT_PIECES) for _ in range(r.randint(1, 3)))[:limit]


def rand_json(r, depth=0):
    """JSON text with odd whitespace, escapes, exact numbers and nesting."""
    kind = r.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return r.choice(["null", "true", "false"])
    if kind == 1:
        return r.choice(JSON_NUMBERS)
    if kind in (2, 3):
        return json.dumps(rand_text(r, 12), ensure_ascii=r.random() < 0.5)
    sep = r.choice([",", ", ", " ,\n\t"])
    if kind in (4, 5):
        return "[" + sep.join(rand_json(r, depth + 1) for _ in range(r.randint(0, 3))) + "]"
    items = (json.dumps(rand_text(r, 6)) + r.choice([":", ": ", " :\n"]) + rand_json(r, depth + 1)
             for _ in range(r.randint(0, 3)))
    return "{" + sep.join(items) + "}"


def rand_numeric(r):
    if r.random() < 0.3:
        return r.choice(["NaN", "Infinity", "-Infinity", "0", "-0.000", "1e-20", "99999999999999999999999999.99999999"])
    scale = r.randint(0, 12)
    frac = "." + "".join(r.choice("0123456789") for _ in range(scale)) if scale else ""
    return r.choice(["", "-"]) + str(r.randint(0, 10 ** r.randint(1, 30))) + frac


def rand_day(r):
    return f"{r.randint(1, 9999):04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"


def rand_clock(r):
    return f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}" + \
        r.choice(["", f".{r.randint(0, 999999):06d}", ".5"])


def rand_date(r):
    return r.choice(["infinity", "-infinity", "0044-03-15 BC", "4714-11-24 BC", "0001-01-01 BC", "5874897-12-31",
                     "2000-02-29", rand_day(r), rand_day(r)])


def rand_timestamp(r):
    return r.choice(["infinity", "-infinity", f"0044-03-15 {rand_clock(r)} BC", "294276-12-31 23:59:59.999999",
                     "4714-11-24 00:00:00 BC", "1999-12-31 23:59:60", f"{rand_day(r)} {rand_clock(r)}",
                     f"{rand_day(r)} {rand_clock(r)}"])


def rand_timestamptz(r):
    # Without an offset the source's TimeZone (Pacific/Chatham) applies, DST gap and overlap included.
    return r.choice(["infinity", "-infinity", "0044-03-15 12:00:00+02 BC", "294276-12-31 23:59:59.999999+00",
                     "4714-11-24 00:00:00+00 BC", "2026-04-05 03:00:00", "2026-09-27 03:00:00",
                     f"{rand_day(r)} {rand_clock(r)}", f"{rand_day(r)} {rand_clock(r)}{r.choice(OFFSETS)}"])


def rand_interval(r):
    return r.choice(["0", "-178000000 years", "178000000 years", "1 day -1 second", "-1 mons +1 day",
                     "00:00:00.000001", f"{r.randint(-100, 100)} years {r.randint(-11, 11)} mons "
                     f"{r.randint(-40, 40)} days {r.randint(-30, 30)}:{r.randint(0, 59):02d}:"
                     f"{r.randint(0, 59):02d}.{r.randint(0, 999999):06d}"])


def array_of(gen, quoted=True):
    def make(r):
        items = ["NULL" if r.random() < 0.2 else element(gen(r)) if quoted else gen(r)
                 for _ in range(r.randint(0, 4))]
        return "{" + ",".join(items) + "}"
    return make


def int_2d(r):
    cols = r.randint(1, 3)
    return "{" + ",".join("{" + ",".join(r.choice(["NULL", str(r.randint(-9, 9))]) for _ in range(cols)) + "}"
                          for _ in range(r.randint(1, 3))) + "}"


def pick(*options):
    return lambda r: r.choice(options)


def integer(*extremes, span=10 ** 6):
    return lambda r: str(r.choice([*extremes, r.randint(-span, span)]))


# type key -> (SQL type, generator of a value's text). Every key is a
# column in each run's initial tables (tests/test_torture.py's coverage).
TYPES = {
    "bool": ("boolean", pick("t", "f")),
    "int2": ("smallint", integer(32767, -32768, span=999)),
    "int4": ("integer", integer(2147483647, -2147483648)),
    "int8": ("bigint", integer(9223372036854775807, -9223372036854775808, span=10 ** 15)),
    "numeric": ("numeric", rand_numeric),
    "numeric_12_4": ("numeric(12,4)", lambda r: r.choice(["NaN", "-0.0001", f"{r.randint(-10**7, 10**7)}.{r.randint(0, 9999):04d}"])),
    "float4": ("real", pick("3.14159", "1e-45", "-3.4028235e38", "NaN", "Infinity", "-Infinity", "-0", "0.1", "16777217")),
    "float8": ("double precision", pick("0.1", "1e308", "5e-324", "-0", "NaN", "Infinity", "-Infinity",
                                        "1.7976931348623157e308", "2.2250738585072014e-308", "3.141592653589793")),
    "text": ("text", lambda r: rand_text(r, 40)),
    "varchar": ("character varying(12)", lambda r: rand_text(r, 12)),
    "char": ("character(6)", lambda r: rand_text(r, 6)),
    "bytea": ("bytea", lambda r: "\\x" + bytes(r.randrange(256) for _ in range(r.randint(0, 12))).hex()),
    "json": ("json", lambda r: "null" if r.random() < 0.15 else rand_json(r)),
    "jsonb": ("jsonb", lambda r: "null" if r.random() < 0.15 else rand_json(r)),
    "uuid": ("uuid", lambda r: "%032x" % r.getrandbits(128)),
    "date": ("date", rand_date),
    "time": ("time without time zone", lambda r: r.choice(["24:00:00", "00:00:00", rand_clock(r)])),
    "timetz": ("time with time zone", lambda r: rand_clock(r) + r.choice(OFFSETS)),
    "timestamp": ("timestamp without time zone", rand_timestamp),
    "timestamptz": ("timestamp with time zone", rand_timestamptz),
    "interval": ("interval", rand_interval),
    "int4_array": ("integer[]", array_of(integer(-2147483648), quoted=False)),
    "int4_2d": ("integer[]", int_2d),
    "text_array": ("text[]", array_of(lambda r: rand_text(r, 10))),
    "numeric_array": ("numeric[]", array_of(rand_numeric, quoted=False)),
    "float8_array": ("double precision[]", array_of(pick("0.1", "Infinity", "-Infinity", "NaN", "-0", "1e-300"), False)),
    "jsonb_array": ("jsonb[]", array_of(lambda r: "null" if r.random() < 0.3 else rand_json(r))),
    "date_array": ("date[]", array_of(rand_date)),
    "timestamptz_array": ("timestamp with time zone[]", array_of(rand_timestamptz)),
    "bool_array": ("boolean[]", array_of(pick("t", "f"), quoted=False)),
    "enum": ("torture_mood", pick("sad", "o'k", "very happy", "ünï")),
    "composite": ("torture_pair", lambda r: f"({r.choice(['', str(r.randint(-5, 5))])},"
                                            f"{r.choice(['', element(rand_text(r, 10))])})"),
    "domain": ("torture_positive", lambda r: str(r.randint(1, 10 ** 6))),
    "int4range": ("int4range", pick("[1,5)", "empty", "(,3]", "[-10,)")),
    "tstzrange": ("tstzrange", pick('["2026-01-01 00:00:00+00","2026-02-01 00:00:00+05:30")', "empty", "(,infinity)")),
    "inet": ("inet", pick("192.168.0.1/24", "::1", "10.0.0.0/8", "2001:db8::1/64")),
    "point": ("point", pick("(1.5,2)", "(-1e300,1e-300)", "(0,-0)")),
    "varbit": ("bit varying(8)", pick("", "1", "10101010")),
}
# ALTER COLUMN TYPE: conversions that cannot fail on any generated value
# (not date -> timestamp: 5874897-12-31 is out of timestamp's range).
CONVERSIONS = {"int2": "int4", "int4": "int8", "int8": "numeric", "float4": "float8", "varchar": "text",
               "char": "text", "json": "jsonb", "numeric_12_4": "numeric", "domain": "int8"}
TYPES_DDL = ("CREATE TYPE torture_mood AS ENUM ('sad', 'o''k', 'very happy', 'ünï'); "
             "CREATE TYPE torture_pair AS (a int, b text); "
             "CREATE DOMAIN torture_positive AS int CHECK (VALUE > 0)")


def qualified_type(type_sql):
    """The name the typed formats print: schema-qualified outside pg_catalog."""
    return f"{ident(SHADOW_SCHEMA)}.{type_sql}" if type_sql.startswith("torture_") else type_sql


COLUMN_NAMES = ["Mixed Case", 'quo"te', "sl/ash", "ti~lde", "über", "select", "sp ace", "dot.ted", "comma,col",
                "back\\slash", "new", "key", "json_null", "~/0"]
TABLE_NAMES = ["alpha", "Mixed Table", 'tab"quote', "tab/slash", "ümlaut", "t.dot", "t,comma", "t*star", "order"]
# (replica identity, primary key): the first four are in every run.
IDENTITIES = [("default", ("id",)), ("index", None), ("full", None), ("nothing", ("id",)),
              ("default", ("id", "k")), ("full", ("id",)), ("default", None)]


def value_sql(r, type_key, null_rate=0.1):
    type_sql, gen = TYPES[type_key]
    return f"NULL::{type_sql}" if r.random() < null_rate else f"{q(gen(r))}::{type_sql}"


# ---------------------------------------------------------------- workload
class Table:
    def __init__(self, name, identity, pk, schema=None):
        self.name, self.identity, self.pk, self.schema = name, identity, pk, schema
        self.columns = {}          # data column -> type key
        self.has_k = pk == ("id", "k") or identity == "index"
        self.has_doc = False
        self.parent = None         # a Table whose id this table's ref references

    @property
    def qname(self):
        return (ident(self.schema) + "." if self.schema else "") + ident(self.name)

    def can_change_rows(self):
        """UPDATE/DELETE/key changes the applier can replay: the key says which row."""
        return self.identity in ("full", "index") or (self.identity == "default" and self.pk)

    def ddl(self):
        cols = ["id integer" + (" NOT NULL" if self.pk or self.identity == "index" else "")]
        cols += ["k text NOT NULL"] if self.has_k else []
        cols += [f"{ident(c)} {TYPES[t][0]}" for c, t in self.columns.items()]
        cols += ["doc text"] if self.has_doc else []
        cols += [f"ref integer REFERENCES {self.parent.qname} (id) ON DELETE CASCADE ON UPDATE CASCADE"] \
            if self.parent else []
        cols += [f"PRIMARY KEY ({', '.join(self.pk)})"] if self.pk else []
        out = [f"CREATE TABLE {self.qname} ({', '.join(cols)})"]
        if self.has_doc:
            out.append(f"ALTER TABLE {self.qname} ALTER doc SET STORAGE EXTERNAL")
        if self.identity == "index":
            out.append(f"CREATE UNIQUE INDEX {ident(self.name + ' ri')} ON {self.qname} (k, id)")
            out.append(f"ALTER TABLE {self.qname} REPLICA IDENTITY USING INDEX {ident(self.name + ' ri')}")
        elif self.identity in ("full", "nothing"):
            out.append(f"ALTER TABLE {self.qname} REPLICA IDENTITY {self.identity.upper()}")
        return "; ".join(out)


class Workload:
    """Builds the steps; all randomness comes from one random.Random(seed)."""

    def __init__(self, seed, size):
        self.r, self.size, self.seed = random.Random(seed), size, seed
        self.steps, self.tables, self.key, self.serial, self.created = [], [], 0, 0, 0
        self.preparing = False

    def next_key(self, n=1):
        self.key += n
        return self.key - n + 1

    def unique(self, base):
        self.serial += 1
        return f"{base} {self.serial}"

    def ddl(self, text):
        self.steps.append(f"BEGIN; {text}; SELECT pg_logical_emit_message(true, {q(DDL_PREFIX)}, {q(text)}); COMMIT")

    def new_table(self, identity, pk, type_keys):
        r = self.r
        self.created += 1
        name = TABLE_NAMES[self.created - 1] if self.created <= len(TABLE_NAMES) else self.unique("t")
        t = Table(name, identity, pk, "public" if r.random() < 0.2 else None)
        odd = r.sample(COLUMN_NAMES, 3)     # then "c <type key>": type keys are unique
        for i, type_key in enumerate(type_keys):
            t.columns[odd[i] if i < len(odd) else f"c {type_key}"] = type_key
        t.has_doc = r.random() < 0.7 or identity == "nothing"
        parents = [p for p in self.tables if p.pk == ("id",)]
        if parents and t.can_change_rows() and r.random() < 0.4:
            t.parent = r.choice(parents)
        self.tables.append(t)
        self.ddl(t.ddl())

    def initial_tables(self):
        self.ddl(f"CREATE SCHEMA {ident(SHADOW_SCHEMA)}")
        self.ddl(TYPES_DDL)
        kinds = IDENTITIES[:4] + [self.r.choice(IDENTITIES) for _ in range(self.r.randint(0, 2))]
        keys = list(TYPES)
        self.r.shuffle(keys)
        for i, (identity, pk) in enumerate(kinds):
            own = keys[i::len(kinds)] + self.r.sample(list(TYPES), self.r.randint(0, 2))
            self.new_table(identity, pk, list(dict.fromkeys(own)))
        self.steps += [self.insert(t) for t in self.tables]     # every type decoded at least once
        # Unchanged TOAST in an update of a REPLICA IDENTITY NOTHING table, and a committed delete.
        keyed, nothing = self.tables[0], self.tables[3]
        last = f"id = (SELECT max(id) FROM {nothing.qname})"
        self.steps.append(f"BEGIN; UPDATE {nothing.qname} SET doc = repeat('big', 1000) WHERE {last}; COMMIT")
        self.steps.append(f"BEGIN; UPDATE {nothing.qname} SET id = id WHERE {last}; {self.insert(keyed)}; "
                          f"DELETE FROM {keyed.qname} WHERE id = (SELECT max(id) FROM {keyed.qname}); COMMIT")

    # ---- statements
    def selection(self, t, most=4):
        return f"id IN (SELECT id FROM {t.qname} ORDER BY id LIMIT {self.r.randint(1, most)} " \
               f"OFFSET {self.r.randint(0, 3)})"

    def doc_sql(self):
        piece = (rand_text(self.r, 4) + "dddd")[:4]   # 4 chars x 700+ > 2 kB: stored out of line
        return self.r.choice(["NULL", q(rand_text(self.r, 20)), f"repeat({q(piece)}, {self.r.randint(700, 3000)})"])

    def ref_sql(self, t):
        return f"(SELECT id FROM {t.parent.qname} ORDER BY id LIMIT 1 OFFSET {self.r.randint(0, 5)})"

    def row_sql(self, t):
        values = [str(self.next_key())] + ([q(rand_text(self.r, 10))] if t.has_k else [])
        values += [value_sql(self.r, k) for k in t.columns.values()]
        values += [self.doc_sql()] if t.has_doc else []
        return values + ([self.ref_sql(t)] if t.parent else [])

    def column_list(self, t):
        names = ["id"] + (["k"] if t.has_k else []) + list(t.columns) + (["doc"] if t.has_doc else [])
        return ", ".join(ident(n) for n in names + (["ref"] if t.parent else []))

    def insert(self, t):
        rows = ", ".join("(" + ", ".join(self.row_sql(t)) + ")" for _ in range(self.r.randint(1, 3)))
        return f"INSERT INTO {t.qname} ({self.column_list(t)}) VALUES {rows}"

    def bulk_insert(self, t, n):
        base = self.next_key(n) - 1
        exprs = [f"{base} + g"] + (["'k' || g"] if t.has_k else [])
        exprs += [f"CASE WHEN g % 5 = 0 THEN NULL ELSE {value_sql(self.r, k)} END" for k in t.columns.values()]
        exprs += ["CASE WHEN g % 100 = 0 THEN repeat('big', 1000) END"] if t.has_doc else []
        exprs += [self.ref_sql(t)] if t.parent else []
        return f"INSERT INTO {t.qname} ({self.column_list(t)}) SELECT {', '.join(exprs)} FROM generate_series(1, {n}) g"

    def update(self, t, most=4):
        cols = self.r.sample(list(t.columns), min(len(t.columns), self.r.randint(1, 3)))
        sets = [f"{ident(c)} = {value_sql(self.r, t.columns[c])}" for c in cols]
        if t.has_doc and (not sets or self.r.random() < 0.2):
            sets.append(f"doc = {self.doc_sql()}")
        sets = sets or ["id = id"]
        return f"UPDATE {t.qname} SET {', '.join(sets)} WHERE {self.selection(t, most)}"

    def key_change(self, t):
        sets = [f"id = {self.next_key()}"] + ([f"k = {q(rand_text(self.r, 10))}"] if t.has_k and self.r.random() < 0.5 else [])
        return f"UPDATE {t.qname} SET {', '.join(sets)} WHERE id = " \
               f"(SELECT id FROM {t.qname} ORDER BY id LIMIT 1 OFFSET {self.r.randint(0, 3)})"

    def truncate(self, tables=None, force_options=False):
        tables = tables or self.r.sample(self.tables, self.r.randint(1, 2))
        orphans = any(c.parent in tables and c not in tables for c in self.tables)
        cascade = orphans or force_options or self.r.random() < 0.3
        restart = force_options or self.r.random() < 0.5
        return f"TRUNCATE {', '.join(t.qname for t in tables)}" + (" RESTART IDENTITY" if restart else "") + \
            (" CASCADE" if cascade else "")

    def message(self, transactional):
        r = self.r
        content = r.choice([q(rand_text(r, 30)), "'\\xff00fe'::bytea", "'\\xc3a9'::bytea"])
        return f"SELECT pg_logical_emit_message({str(transactional).lower()}, " \
               f"{q(r.choice(['torture.msg', '', 'ünï prefix']))}, {content})"

    def statement(self, aborted):
        """One statement; `aborted`: it will be rolled back, so anything goes."""
        t = self.r.choice(self.tables)
        ops = {"insert": 30, "message": 6, "nontx message": 3, "truncate": 2}
        if aborted or t.can_change_rows() or t.identity == "nothing":
            ops["update"] = 30
        if aborted or t.can_change_rows():
            ops.update(delete=10, key=8)
        if not t.pk and t.identity != "index":
            ops["duplicate"] = 6
        op = self.r.choices(list(ops), list(ops.values()))[0]
        if op == "insert" or (op == "truncate" and self.preparing):
            return self.insert(t)
        if op in ("message", "nontx message"):
            return self.message(op == "message")
        if op == "duplicate":
            return f"INSERT INTO {t.qname} SELECT * FROM {t.qname} ORDER BY id LIMIT 1 OFFSET {self.r.randint(0, 5)}"
        if op == "truncate":
            return self.truncate()
        if op == "delete":
            return f"DELETE FROM {t.qname} WHERE {self.selection(t)}"
        return self.key_change(t) if op == "key" else self.update(t)

    def block(self, aborted, depth=0):
        """Statements, with nested savepoints released, rolled back or left open."""
        out = []
        for _ in range(self.r.randint(1, 4)):
            if depth < 2 and self.r.random() < 0.25:
                fate = self.r.choice(["ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT", None])
                name = f"s{depth}"
                out += [f"SAVEPOINT {name}", *self.block(aborted or fate == "ROLLBACK TO SAVEPOINT", depth + 1)]
                out += [f"{fate} {name}"] if fate else []
            else:
                out.append(self.statement(aborted))
        return out

    def finish(self, statements, end):
        """One transaction ending in COMMIT, ROLLBACK or PREPARE (then resolved)."""
        if end != "PREPARE":
            self.steps.append("; ".join(["BEGIN", *statements, end]))
            return
        gid = self.unique(f"torture's {self.seed}") + self.r.choice(["", " _nodecode"])
        self.steps.append("; ".join(["BEGIN", *statements, f"PREPARE TRANSACTION {q(gid)}"]))
        if self.r.random() < 0.5:    # decoded between PREPARE and its end; touches no row
            self.steps.append(self.message(False))
        self.steps.append(f"{self.r.choice(['COMMIT', 'COMMIT', 'ROLLBACK'])} PREPARED {q(gid)}")

    def transaction(self):
        end = self.r.choices(["COMMIT", "ROLLBACK", "PREPARE"], [75, 10, 15])[0]
        # No TRUNCATE in a transaction to be prepared: PostgreSQL 15.20 then fails to
        # decode (test_decoding too) after a subtransaction's TRUNCATE + INSERT,
        # ROLLBACK PREPARED and a later TRUNCATE: "could not map filenode".
        self.preparing = end == "PREPARE"
        self.finish(self.block(end == "ROLLBACK"), end)
        self.preparing = False

    def big_transaction(self, end, savepoint_fate):
        """Large enough to spill, or stream with logical_decoding_work_mem = 64kB."""
        aborted, self.preparing = end == "ROLLBACK", end == "PREPARE"
        t, other = self.r.choice(self.tables), self.r.choice(self.tables)
        # 64kB holds about 300 of these rows: both inserts stream before the savepoint ends.
        stmts = [self.bulk_insert(t, self.r.randint(600, 1500)), self.message(True), "SAVEPOINT big",
                 self.bulk_insert(other, self.r.randint(800, 1200)), self.message(True)]
        sub_aborted = aborted or savepoint_fate == "ROLLBACK TO SAVEPOINT"
        if sub_aborted or t.can_change_rows() or t.identity == "nothing":
            stmts.append(self.update(t, most=300))
        stmts += [f"{savepoint_fate} big", *(self.statement(aborted) for _ in range(3))]
        self.finish(stmts, end)
        self.preparing = False

    # ---- DDL between transactions
    def schema_change(self):
        r, t = self.r, self.r.choice(self.tables)
        convertible = [c for c, k in t.columns.items() if k in CONVERSIONS]
        op = r.choice(["add", "add", "drop", "alter", "create", "drop table", "identity"])
        if op == "add" or (op == "drop" and not t.columns) or (op == "alter" and not convertible):
            name, type_key = self.unique(r.choice(COLUMN_NAMES)), r.choice(list(TYPES))
            default = f" DEFAULT {value_sql(r, type_key, 0)}" if r.random() < 0.5 else ""
            t.columns[name] = type_key
            self.ddl(f"ALTER TABLE {t.qname} ADD COLUMN {ident(name)} {TYPES[type_key][0]}{default}")
        elif op == "drop":
            name = r.choice(list(t.columns))
            del t.columns[name]
            self.ddl(f"ALTER TABLE {t.qname} DROP COLUMN {ident(name)}")
        elif op == "alter":
            name = r.choice(convertible)
            t.columns[name] = new = CONVERSIONS[t.columns[name]]
            self.ddl(f"ALTER TABLE {t.qname} ALTER COLUMN {ident(name)} TYPE {TYPES[new][0]} "
                     f"USING {ident(name)}::{TYPES[new][0]}")
        elif op == "identity" and t.pk and t.identity in ("default", "full"):
            t.identity = "full" if t.identity == "default" else "default"
            self.ddl(f"ALTER TABLE {t.qname} REPLICA IDENTITY {t.identity.upper()}")
        elif op == "drop table" and len(self.tables) > 3:
            self.tables.remove(t)
            for child in self.tables:
                child.parent = None if child.parent is t else child.parent
            self.ddl(f"DROP TABLE {t.qname} CASCADE")
        else:
            self.new_table(*r.choice(IDENTITIES), r.sample(list(TYPES), r.randint(1, 5)))

    def build(self):
        self.initial_tables()
        # Always: a committed large transaction with a savepoint rolled back, an
        # aborted one, a prepared one, and a truncate of several tables.
        forced = {self.size * 3 // 10: ("COMMIT", "ROLLBACK TO SAVEPOINT"), self.size // 2: ("ROLLBACK", "RELEASE"),
                  self.size * 7 // 10: ("PREPARE", "ROLLBACK TO SAVEPOINT")}
        for i in range(self.size):
            if i in forced:
                self.big_transaction(*forced[i])
            elif i == self.size * 8 // 10:
                self.steps.append(self.truncate(self.r.sample(self.tables, 2), force_options=True))
            else:
                kind = self.r.choices(["tx", "ddl", "nontx", "big"], [85, 10, 4, 1])[0]
                if kind == "tx":
                    self.transaction()
                elif kind == "ddl":
                    self.schema_change()
                elif kind == "nontx":
                    self.steps.append(self.message(False))
                else:
                    self.big_transaction(self.r.choice(["COMMIT", "ROLLBACK"]), "RELEASE")
        self.steps.append(f"BEGIN; SELECT pg_logical_emit_message(true, {q(END_PREFIX)}, 'end'); COMMIT")
        return self.steps


def generate(seed, size):
    """The SQL steps of one seed: deterministic for (seed, size)."""
    return Workload(seed, size).build()


# ---------------------------------------------------------------- replay
class RawNumber(str):
    """A JSON number's text as written: numeric digits and scale, 1e3, -0."""


class Pairs(list):
    """A JSON object with a repeated key (json keeps them): its (key, value) pairs."""


def json_object(pairs):
    return dict(pairs) if len({k for k, _ in pairs}) == len(pairs) else Pairs(pairs)


def parse_event(text):
    return json.loads(text, parse_float=RawNumber, parse_int=RawNumber, object_pairs_hook=json_object)


def replay_order(events):
    """The transactions a consumer applies, in order: each a list of its
    changes and transactional messages. Streamed changes are buffered per
    xid; stream_abort drops a subtransaction's (with `subxid`) or all;
    prepared transactions wait for COMMIT PREPARED. Returns (transactions,
    what is left open at the end)."""
    done, current, streams, prepared, streaming = [], None, {}, {}, None
    for e in events:
        action = e["action"]
        if action in ("begin", "begin_prepare"):
            current = []
        elif action == "commit":
            done.append(current)
            current = None
        elif action == "prepare":
            prepared[e["gid"]], current = current, None
        elif action == "commit_prepared":
            done.append(prepared.pop(e["gid"]))
        elif action == "rollback_prepared":
            prepared.pop(e["gid"])
        elif action == "stream_start":
            streaming = e["xid"]
            streams.setdefault(streaming, [])
        elif action == "stream_stop":
            streaming = None
        elif action == "stream_abort":
            if "subxid" in e:
                streams[e["xid"]] = [c for c in streams.get(e["xid"], []) if c.get("subxid") != e["subxid"]]
            else:
                streams.pop(e["xid"], None)
        elif action == "stream_commit":
            done.append(streams.pop(e["xid"]))
        elif action == "stream_prepare":
            prepared[e["gid"]] = streams.pop(e["xid"])
        elif action == "message" and not e["transactional"]:
            continue
        elif streaming is not None:
            assert e["xid"] == streaming, f"a change of xid {e['xid']} inside the stream block of {streaming}"
            streams[streaming].append(e)
        else:
            assert current is not None, f"a change outside any transaction: {e}"
            current.append(e)
    return done, {"streams": streams, "prepared": prepared, "open": current}


if __name__ == "__main__":
    settings = [f"SELECT set_config({q(name)}, {q(value)}, false)" for name, value in HOSTILE.items()]
    print(";\n".join(settings + generate(int(sys.argv[1]), int(sys.argv[2]))) + ";")
