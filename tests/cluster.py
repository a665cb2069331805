"""Throwaway PostgreSQL clusters of their own, for tests that must stop,
kill or restart a server (faults, failover) without touching the shared
cluster that scripts/test started. PostgreSQL refuses to run as root: the
server runs as WAL2ANY_PG_USER (default `wal2any`, created by scripts/test).

    with Cluster("faults", conf=["logical_decoding_work_mem = '64kB'"]) as c:
        conn = c.connect("postgres")
        ...
        c.kill_postmaster(); c.start()
"""
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import psycopg2

PG_BIN = pathlib.Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = os.environ.get("WAL2ANY_PG_USER", "wal2any")
# What a crash of a backend (or the server) leaves in the log.
CRASH_PATTERN = re.compile(r"terminated by signal|PANIC:|was terminated by exception")


def as_pg_user(*cmd, check=True, timeout=120):
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", PG_USER, "--"]
    return subprocess.run([*prefix, *map(str, cmd)], check=check, timeout=timeout, capture_output=True, text=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def allowed_plugins_line():
    """15.19+ only loads output plugins listed in output_plugin_libraries."""
    described = as_pg_user(PG_BIN / "postgres", "--describe-config", check=False).stdout
    if re.search(r"^output_plugin_libraries", described, re.M):
        return "output_plugin_libraries = 'pgoutput, test_decoding, wal2any, wal2json, decoderbufs'"
    return ""


class Cluster:
    def __init__(self, name, conf=(), base="/var/tmp"):
        self.dir = pathlib.Path(base) / f"wal2any-{name}"
        self.data = self.dir / "data"
        self.log = self.dir / "log"
        self.port = free_port()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        shutil.chown(self.dir, PG_USER)
        as_pg_user(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8")
        lines = [f"port = {self.port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{self.dir}'",
                 "wal_level = logical", "max_replication_slots = 20", "max_wal_senders = 20", "fsync = off",
                 "max_prepared_transactions = 10", allowed_plugins_line(), *conf]
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n".join(lines) + "\n")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        # A postmaster killed with -9 leaves backends that exit when they
        # notice; start waits for them (the shared memory block is in use).
        deadline = time.time() + 60
        while True:
            result = as_pg_user(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "start", check=False)
            if result.returncode == 0 or time.time() > deadline:
                break
            time.sleep(0.5)
        assert result.returncode == 0, result.stdout + result.stderr + self.log_text()[-3000:]

    def stop(self, mode="fast"):
        if (self.data / "postmaster.pid").exists():
            as_pg_user(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def postmaster_pid(self):
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n")[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def kill_postmaster(self):
        """kill -9 of the postmaster: no shutdown, no checkpoint."""
        os.kill(self.postmaster_pid(), signal.SIGKILL)

    def dsn(self, dbname="postgres"):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def env(self):
        """Environment for libpq programs (pg_recvlogical, psql) to reach this cluster."""
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": "postgres"}

    def connect(self, dbname="postgres", autocommit=True, **kwargs):
        conn = psycopg2.connect(self.dsn(dbname), **kwargs)
        conn.autocommit = autocommit
        return conn

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def crashes(self):
        """Log lines that show a crashed process."""
        return [line for line in self.log_text().splitlines() if CRASH_PATTERN.search(line)]
