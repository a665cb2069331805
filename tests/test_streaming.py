"""Streaming (stream-changes) consumed as a CDC consumer must consume it:
buffer streamed changes per toplevel xid, discard a subtransaction's
changes on stream_abort with its subxid and a whole transaction's on
stream_abort without one, apply on stream_commit. The replayed rows must
equal the table's rows. Also through two-phase: stream_prepare."""
import json


def replay(events):
    """Applies decoded events to a dict id -> row, as a consumer would."""
    rows, buffers, current = {}, {}, []

    def apply(change):
        if change["action"] == "insert":
            rows[change["new"]["id"]] = change["new"]
        elif change["action"] == "update":
            rows.pop(change["key"]["id"], None)
            rows[change["new"]["id"]] = change["new"]
        elif change["action"] == "delete":
            rows.pop(change["key"]["id"], None)

    in_stream = False
    for e in events:
        action = e["action"]
        if action == "stream_start":
            in_stream = True
            buffers.setdefault(e["xid"], [])
        elif action == "stream_stop":
            in_stream = False
        elif action == "stream_abort":
            if "subxid" in e:
                buffers[e["xid"]] = [c for c in buffers.get(e["xid"], []) if c.get("subxid") != e["subxid"]]
            else:
                buffers.pop(e["xid"], None)
        elif action in ("stream_commit", "stream_prepare"):
            for change in buffers.pop(e["xid"], []):
                apply(change)
        elif action == "begin":
            current = []
        elif action == "commit":
            for change in current:
                apply(change)
        elif action in ("insert", "update", "delete"):
            if in_stream:
                buffers[e["xid"]].append(e)
            else:
                current.append(e)
    return rows, buffers


def test_streamed_transactions_replay_to_the_table(conn):
    cur = conn.cursor()
    cur.execute("SET logical_decoding_work_mem = '64kB'")
    cur.execute("SELECT pg_create_logical_replication_slot('s', 'wal2any')")
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    conn.autocommit = False
    cur.execute("INSERT INTO t SELECT g, repeat('a', 100) FROM generate_series(1, 1500) g")
    cur.execute("SAVEPOINT one")
    cur.execute("INSERT INTO t SELECT g, 'gone' FROM generate_series(2001, 2600) g")
    cur.execute("SAVEPOINT nested")
    cur.execute("UPDATE t SET v = 'also gone' WHERE id <= 300")
    cur.execute("ROLLBACK TO SAVEPOINT one")
    cur.execute("UPDATE t SET v = 'kept' WHERE id BETWEEN 10 AND 900")
    cur.execute("DELETE FROM t WHERE id > 1400")
    conn.commit()
    cur.execute("INSERT INTO t SELECT g, 'aborted' FROM generate_series(5001, 6500) g")
    conn.rollback()
    cur.execute("INSERT INTO t VALUES (9999, 'small')")
    conn.commit()
    conn.autocommit = True
    cur.execute("SELECT data FROM pg_logical_slot_get_changes('s', NULL, NULL, 'stream-changes', '1', 'include-xids', '0')")
    events = [json.loads(row[0]) for row in cur.fetchall()]
    actions = {e["action"] for e in events}
    assert {"stream_start", "stream_stop", "stream_abort", "stream_commit"} <= actions
    assert any("subxid" in e for e in events if e["action"] == "stream_abort"), "savepoint rollback streamed"
    rows, leftover = replay(events)
    cur.execute("SELECT id, v FROM t")
    assert rows == {i: {"id": i, "v": v} for i, v in cur.fetchall()}
    assert leftover == {}


def test_streamed_prepared_transaction(conn):
    cur = conn.cursor()
    cur.execute("SET logical_decoding_work_mem = '64kB'")
    cur.execute("SELECT pg_create_logical_replication_slot('s2', 'wal2any', false, true)")
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    cur.execute("BEGIN; INSERT INTO t SELECT g, repeat('p', 100) FROM generate_series(1, 1200) g;"
                "PREPARE TRANSACTION 'big_one'")
    cur.execute("SELECT data FROM pg_logical_slot_get_changes('s2', NULL, NULL, 'stream-changes', '1')")
    events = [json.loads(row[0]) for row in cur.fetchall()]
    prepare = [e for e in events if e["action"] == "stream_prepare"]
    assert len(prepare) == 1 and prepare[0]["gid"] == "big_one"
    rows, _ = replay(events)
    assert len(rows) == 1200
    cur.execute("COMMIT PREPARED 'big_one'")
    cur.execute("SELECT data FROM pg_logical_slot_get_changes('s2', NULL, NULL, 'stream-changes', '1')")
    after = [json.loads(row[0]) for row in cur.fetchall()]
    assert [e["action"] for e in after] == ["commit_prepared"] and after[0]["gid"] == "big_one"
