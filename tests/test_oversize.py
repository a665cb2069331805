"""An event larger than a message can hold (PostgreSQL's strings stop at
1 GB) must not stop decoding: it used to raise an ERROR from the change
callback at every retry (a wedged slot). A 200 MB text of control
characters is 1.2 GB in JSON (each one escaped as \\u0001): the JSON event
leaves the value out and lists it in `omitted`, the server log says why, and
decoding goes on; Protobuf, where it is 200 MB, carries it whole."""
import os
import subprocess

from conftest import dsn
from test_clients import PG_BIN, current_lsn

SIZE = 200 << 20


def test_a_row_past_the_message_limit_is_sent_with_the_value_omitted(conn, database, tmp_path):
    cur = conn.cursor()
    cur.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
    cur.execute("ALTER TABLE big ALTER v SET STORAGE EXTERNAL")   # not compressed: 200 MB in the WAL
    cur.execute("SELECT pg_create_logical_replication_slot('big', 'wal2any')")
    cur.execute("SELECT pg_create_logical_replication_slot('big_sql', 'wal2any')")
    cur.execute("INSERT INTO big VALUES (1, repeat(chr(1), %s))", (SIZE,))
    cur.execute("INSERT INTO big VALUES (2, 'small')")
    end = current_lsn(cur)
    # The walsender path: pg_recvlogical gets the event, with the value left out.
    out = tmp_path / "out.json"
    subprocess.run([f"{PG_BIN}/pg_recvlogical", "-d", dsn(database), "--slot", "big", "--start", "--no-loop",
                    "--endpos", end, "-f", str(out), "-o", "include-xids=0"], check=True, timeout=300)
    lines = out.read_text().splitlines()
    assert '{"action":"insert","schema":"public","table":"big","new":{"id":1},"omitted":["v"]}' in lines
    assert '{"action":"insert","schema":"public","table":"big","new":{"id":2,"v":"small"}}' in lines
    log = open(os.path.join(os.environ["CLUSTER_DIR"], "log"), errors="replace").read()
    assert "more than a message can hold" in log and "v left out" in log
    # The SQL path, Protobuf: 200 MB fit in one message, the value is whole.
    cur.execute("SELECT length(data) FROM pg_logical_slot_peek_binary_changes('big_sql', NULL, NULL, "
                "'format', 'protobuf', 'include-transaction', '0')")
    assert max(length for (length,) in cur.fetchall()) > SIZE
