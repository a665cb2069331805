"""Fixtures for the client tests: a database on the throwaway cluster that
scripts/test started (PGHOST/PGPORT/PGUSER in the environment)."""
import os
import uuid

import psycopg2
import pytest


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
    for (gid,) in cur.fetchall():
        with psycopg2.connect(dsn(name)) as owner:
            owner.autocommit = True
            owner.cursor().execute("ROLLBACK PREPARED %s", (gid,))
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
