"""Fixtures for the client tests: a database on the throwaway cluster that
scripts/test started (PGHOST/PGPORT/PGUSER in the environment)."""
import os
import pathlib
import uuid

import psycopg2
import pytest

from cluster import CRASH_PATTERN


def dsn(dbname):
    return "host={} port={} user={} dbname={}".format(
        os.environ["PGHOST"], os.environ["PGPORT"], os.environ.get("PGUSER", "postgres"), dbname)


def create_database():
    name = "wal2any_py_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(dsn("postgres"))
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    return name


def drop_database(name):
    """Drops a test database with what would keep it alive: slots, prepared xacts."""
    admin = psycopg2.connect(dsn("postgres"))
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("SELECT gid FROM pg_prepared_xacts WHERE database = %s", (name,))
    gids = [gid for (gid,) in cur.fetchall()]
    if gids:
        # Not `with connect(...)`: that opens a transaction block, where
        # ROLLBACK PREPARED cannot run.
        owner = psycopg2.connect(dsn(name))
        owner.autocommit = True
        for gid in gids:
            owner.cursor().execute("ROLLBACK PREPARED %s", (gid,))
        owner.close()
    # A test that failed mid-stream may leave its walsender running.
    cur.execute("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = %s AND active",
                (name,))
    cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = %s "
                "AND NOT active", (name,))
    cur.execute(f"DROP DATABASE {name} WITH (FORCE)")
    # Replication origins are cluster-wide: tests name theirs after the database.
    cur.execute("SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname LIKE %s",
                ("%" + name,))
    admin.close()


@pytest.fixture
def database():
    """A fresh database per test; dropped with its slots afterwards."""
    name = create_database()
    yield name
    drop_database(name)


@pytest.fixture
def two_databases():
    names = (create_database(), create_database())
    yield names
    for name in names:
        drop_database(name)


@pytest.fixture
def conn(database):
    c = psycopg2.connect(dsn(database))
    c.autocommit = True
    yield c
    c.close()


def shared_cluster_state():
    """(postmaster PID, log size) of the cluster scripts/test started."""
    data = pathlib.Path(os.environ["CLUSTER_DIR"])
    pid = int((data / "data" / "postmaster.pid").read_text().split("\n")[0])
    return pid, (data / "log").stat().st_size


@pytest.fixture(autouse=True)
def crash_watchdog():
    """Every test, whatever it checks, also fails if the shared server
    crashed while it ran: the postmaster changed, or its log says a process
    was terminated by a signal or PANICked (a backend crash restarts every
    backend but keeps the postmaster, so the log is what tells)."""
    if "CLUSTER_DIR" not in os.environ:
        yield
        return
    pid, offset = shared_cluster_state()
    yield
    now_pid, _ = shared_cluster_state()
    with open(pathlib.Path(os.environ["CLUSTER_DIR"]) / "log", errors="replace") as log:
        log.seek(offset)
        crashes = [line for line in log.read().splitlines() if CRASH_PATTERN.search(line)]
    assert now_pid == pid, f"the postmaster changed ({pid} -> {now_pid})"
    assert not crashes, "the server log shows a crash:\n" + "\n".join(crashes)
