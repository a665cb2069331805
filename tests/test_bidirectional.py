"""Bidirectional sync through wal2any: two databases, one applier
(tools/applier.py) per direction. A row written on either side arrives once
on the other and never comes back: the applier writes inside a
replication-origin session and reads with only-local."""
import pathlib
import sys

import psycopg2
import pytest

from conftest import dsn

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "tools"))
import applier  # noqa: E402

SCHEMA = """CREATE TABLE account (id int PRIMARY KEY, owner text, balance numeric(12,2), tags text[],
                                  profile jsonb, updated timestamptz, notes text)"""


@pytest.fixture
def nodes(two_databases):
    a, b = two_databases
    conns = []
    for name in (a, b):
        c = psycopg2.connect(dsn(name))
        c.autocommit = True
        c.cursor().execute(SCHEMA)
        conns.append(c)
    yield a, b, conns[0].cursor(), conns[1].cursor()
    for c in conns:
        c.close()


def sync(a, b):
    """One round each way; returns (applied a->b, applied b->a)."""
    return (applier.run_once(dsn(a), dsn(b), "to_b", "from_a"),
            applier.run_once(dsn(b), dsn(a), "to_a", "from_b"))


def rows(cur):
    cur.execute("SELECT id, owner, balance, tags, profile, updated, notes FROM account ORDER BY id")
    return cur.fetchall()


def test_rows_cross_once_and_never_come_back(nodes):
    a, b, on_a, on_b = nodes
    assert sync(a, b) == (0, 0)           # creates the slots and origins
    on_a.execute("""INSERT INTO account VALUES (1, 'Ada', 10.50, '{x,"y z"}', '{"k": [1, 2]}',
                    '2026-11-21 10:00+00', repeat('n', 5000))""")
    on_b.execute("INSERT INTO account VALUES (2, 'Grace', 20, NULL, NULL, NULL, 'short')")
    assert sync(a, b) == (1, 1)
    assert rows(on_a) == rows(on_b) and len(rows(on_a)) == 2
    # Nothing echoes back: a second round has nothing to apply in either direction.
    assert sync(a, b) == (0, 0)

    # Updates (one leaving the TOAST column unchanged) and deletes, from both sides.
    on_b.execute("UPDATE account SET balance = balance + 1, tags = '{b}' WHERE id = 1")
    on_a.execute("DELETE FROM account WHERE id = 2")
    assert sync(a, b) == (1, 1)
    assert sync(a, b) == (0, 0)
    assert rows(on_a) == rows(on_b)
    assert rows(on_a)[0][2:4] == (11.50, ["b"]) and len(rows(on_a)[0][6]) == 5000
    assert len(rows(on_a)) == 1

    # A key change, and a transaction with several changes.
    on_a.execute("BEGIN; UPDATE account SET id = 10 WHERE id = 1;"
                 "INSERT INTO account (id, owner) SELECT g, 'bulk' FROM generate_series(100, 149) g; COMMIT")
    assert sync(a, b) == (1, 0)
    assert rows(on_a) == rows(on_b) and len(rows(on_b)) == 51


def test_a_crash_before_confirming_does_not_apply_twice(nodes):
    a, b, on_a, on_b = nodes
    sync(a, b)
    on_a.execute("INSERT INTO account (id, owner) VALUES (7, 'once')")
    # Apply on B without advancing A's slot, as if the applier died right after B's commit.
    source, target = psycopg2.connect(dsn(a)), psycopg2.connect(dsn(b))
    source.autocommit = target.autocommit = True
    applier.ensure_origin(target, "from_a")
    pending = applier.read_transactions(source, "to_b")
    assert len(pending) == 1 and applier.apply_transaction(target, "from_a", pending[0])
    source.close()
    target.close()
    # The restarted applier sees the same transaction again and skips it.
    assert sync(a, b) == (0, 0)
    on_b.execute("SELECT count(*) FROM account WHERE id = 7")
    assert on_b.fetchone()[0] == 1
