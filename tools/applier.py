#!/usr/bin/env python3
"""A small wal2any applier: replays one database's changes into another.

Run one applier per direction to keep two databases in bidirectional sync:

    tools/applier.py --source "dbname=a" --target "dbname=b" --slot to_b --origin from_a
    tools/applier.py --source "dbname=b" --target "dbname=a" --slot to_a --origin from_b

How it avoids loops and duplicates:
- it applies each source transaction on the target inside a replication-origin
  session (`pg_replication_origin_session_setup`), so the target's WAL marks
  those changes as coming from that origin;
- it reads the source with wal2any's `only-local` option, so changes that an
  applier wrote there (which carry an origin) are never sent back;
- it records the source commit's end LSN as the origin's progress in the same
  target transaction, and skips transactions at or below it, so a crash
  between applying and confirming never applies a transaction twice.

Values are applied with json_populate_record, so PostgreSQL converts wal2any's
typed JSON back to column types. Unchanged TOAST columns are simply not
updated. Tables need a replica identity key (primary key or index).
"""
import argparse
import json
import sys
import time

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

OPTIONS = ["only-local", "on", "include-lsn", "on", "include-timestamp", "on", "skip-empty-xacts", "on",
           "include-xids", "on", "include-pk", "on"]


def lsn_value(text):
    high, low = text.split("/")
    return int(high, 16) << 32 | int(low, 16)


def ensure_slot(source, slot):
    with source.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (slot,))
        if cur.fetchone() is None:
            cur.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2any')", (slot,))


def ensure_origin(target, origin):
    with target.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_replication_origin WHERE roname = %s", (origin,))
        if cur.fetchone() is None:
            cur.execute("SELECT pg_replication_origin_create(%s)", (origin,))
        cur.execute("SELECT pg_replication_origin_session_is_setup()")
        if not cur.fetchone()[0]:
            cur.execute("SELECT pg_replication_origin_session_setup(%s)", (origin,))


def read_transactions(source, slot):
    """The source's pending transactions: lists of events from begin to commit."""
    with source.cursor() as cur:
        cur.execute("SELECT data FROM pg_logical_slot_peek_changes(%s, NULL, NULL, VARIADIC %s)", (slot, OPTIONS))
        transactions, current = [], None
        for (data,) in cur.fetchall():
            event = json.loads(data)
            if event["action"] == "begin":
                current = [event]
            elif event["action"] == "commit":
                transactions.append(current + [event])
                current = None
            elif current is not None:
                current.append(event)
        return transactions


def table(event):
    return sql.Identifier(event["schema"], event["table"])


def columns(names):
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def apply_change(cur, event):
    action = event["action"]
    if action == "truncate":
        names = sql.SQL(", ").join(table(r) for r in event["relations"])
        flags = (" RESTART IDENTITY" if event["restart_identity"] else "") + (" CASCADE" if event["cascade"] else "")
        cur.execute(sql.SQL("TRUNCATE {}" + flags).format(names))
        return
    if action not in ("insert", "update", "delete"):
        return                                   # messages are not applied
    if action != "insert" and event.get("key") is None:
        print(f"skipping {action} on {event['schema']}.{event['table']}: no replica identity key", file=sys.stderr)
        return
    record = sql.SQL("json_populate_record(NULL::{}, %s)").format(table(event))
    if action == "insert":
        new = event["new"]
        cur.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {r}").format(t=table(event), c=columns(new), r=record),
                    (json.dumps(new),))
        return
    key = event["key"]
    where = sql.SQL("({k}) = (SELECT {k} FROM {r})").format(k=columns(key), r=record)
    if action == "update":
        new = event["new"]
        cur.execute(sql.SQL("UPDATE {t} SET ({c}) = (SELECT {c} FROM {r}) WHERE {w}").format(
            t=table(event), c=columns(new), r=record, w=where), (json.dumps(new), json.dumps(key)))
    else:
        cur.execute(sql.SQL("DELETE FROM {t} WHERE {w}").format(t=table(event), w=where), (json.dumps(key),))


def apply_transaction(target, origin, events):
    """Applies one source transaction; returns False if it was applied before."""
    commit = events[-1]
    with target.cursor() as cur:
        cur.execute("SELECT pg_replication_origin_progress(%s, true)", (origin,))
        progress = cur.fetchone()[0]
        if progress is not None and lsn_value(commit["end_lsn"]) <= lsn_value(progress):
            return False
        cur.execute("BEGIN")
        cur.execute("SELECT pg_replication_origin_xact_setup(%s, %s)", (commit["end_lsn"], commit["commit_time"]))
        for event in events[1:-1]:
            apply_change(cur, event)
        cur.execute("COMMIT")
    return True


def run_once(source_dsn, target_dsn, slot, origin):
    """Applies every pending transaction; returns how many were applied."""
    source = psycopg2.connect(source_dsn)
    target = psycopg2.connect(target_dsn)
    source.autocommit = target.autocommit = True
    try:
        ensure_slot(source, slot)
        ensure_origin(target, origin)
        applied = 0
        for events in read_transactions(source, slot):
            applied += apply_transaction(target, origin, events)
            # Confirm on the source only after the target committed.
            with source.cursor() as cur:
                cur.execute("SELECT pg_replication_slot_advance(%s, %s)", (slot, events[-1]["end_lsn"]))
        return applied
    finally:
        source.close()
        target.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="libpq connection string of the database to read")
    parser.add_argument("--target", required=True, help="libpq connection string of the database to write")
    parser.add_argument("--slot", required=True, help="wal2any slot on the source (created if missing)")
    parser.add_argument("--origin", required=True, help="replication origin on the target (created if missing)")
    parser.add_argument("--once", action="store_true", help="apply what is pending, then exit")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    args = parser.parse_args()
    while True:
        applied = run_once(args.source, args.target, args.slot, args.origin)
        print(f"applied {applied} transaction(s)", flush=True)
        if args.once:
            return
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
