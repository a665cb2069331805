"""What a long-lived walsender caches must follow the catalogs. One
replication connection (the SQL functions start a new decoding session per
call, so they cannot show it) decodes while the catalogs change under it:

- a replication origin dropped and its id reused under another name: the
  origin filter follows the name, not an answer cached for the id;
- a schema and a column type renamed: changes after the rename carry the
  new names (neither sends a relcache invalidation for the table)."""
from conftest import dsn
from test_clients import read_until, replication_connection


def start(repl_cur, slot, **options):
    repl_cur.create_replication_slot(slot, output_plugin="wal2any")
    opts = {"include-xids": "0", "skip-empty-xacts": "1", **options}
    repl_cur.start_replication(slot_name=slot, decode=True, options=opts)


def marker(cur, text):
    cur.execute("SELECT pg_logical_emit_message(true, 'marker', %s)", (text,))


def events_until_marker(repl_cur, text):
    events = [e for _, e in read_until(repl_cur, "message", timeout=30)]
    assert events[-1]["content"] == text, events
    return events


def insert_from_origin(cur, origin, value):
    cur.execute("SELECT pg_replication_origin_session_setup(%s)", (origin,))
    cur.execute("INSERT INTO t VALUES (%s)", (value,))
    cur.execute("SELECT pg_replication_origin_session_reset()")


def test_origin_id_reused_under_another_name(conn, database):
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (v text)")
    # Origins are cluster-wide: named after the database (conftest drops them).
    first, second = f"first_{database}", f"second_{database}"
    cur.execute("SELECT pg_replication_origin_create(%s)", (first,))
    first_id = cur.fetchone()[0]
    repl = replication_connection(database)
    try:
        repl_cur = repl.cursor()
        start(repl_cur, "origins", **{"exclude-origins": first, "include-origin": "1"})
        insert_from_origin(cur, first, "filtered out")
        marker(cur, "one")
        assert not [e for e in events_until_marker(repl_cur, "one") if e["action"] == "insert"]
        cur.execute("SELECT pg_replication_origin_drop(%s)", (first,))
        cur.execute("SELECT pg_replication_origin_create(%s)", (second,))
        assert cur.fetchone()[0] == first_id, "the freed id is reused (lowest free)"
        insert_from_origin(cur, second, "passes")
        marker(cur, "two")
        events = events_until_marker(repl_cur, "two")
        assert [e["new"]["v"] for e in events if e["action"] == "insert"] == ["passes"]
        assert [e.get("origin") for e in events if e["action"] == "begin"][0] == second
    finally:
        repl.close()


def test_schema_and_type_renamed_under_a_running_walsender(conn, database):
    cur = conn.cursor()
    cur.execute("CREATE SCHEMA old_schema; CREATE TYPE old_type AS ENUM ('a');"
                "CREATE TABLE old_schema.t (id int PRIMARY KEY, k old_type)")
    repl = replication_connection(database)
    try:
        repl_cur = repl.cursor()
        start(repl_cur, "renames", **{"include-types": "1"})
        cur.execute("INSERT INTO old_schema.t VALUES (1, 'a')")
        marker(cur, "before")
        inserts = [e for e in events_until_marker(repl_cur, "before") if e["action"] == "insert"]
        assert (inserts[0]["schema"], inserts[0]["types"]["k"]) == ("old_schema", "public.old_type")
        cur.execute("ALTER SCHEMA old_schema RENAME TO new_schema; ALTER TYPE old_type RENAME TO new_type")
        cur.execute("INSERT INTO new_schema.t VALUES (2, 'a')")
        marker(cur, "after")
        inserts = [e for e in events_until_marker(repl_cur, "after") if e["action"] == "insert"]
        assert (inserts[0]["schema"], inserts[0]["types"]["k"]) == ("new_schema", "public.new_type")
    finally:
        repl.close()
