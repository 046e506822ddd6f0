"""Two processes starting on a fresh database at once (a daemon and a `sentimon serve`, or two
cron jobs) both find the schema missing; only one may create it, the other must wait and
find it done instead of failing with "table ... already exists"."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sentimon.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
OPEN_AT = """
import sys, time
from sentimon.store import Store
start = float(sys.argv[2])
while time.time() < start:
    pass
Store(sys.argv[1]).close()
print("ok")
"""
ROUNDS = 6
PROCESSES = 3


def test_processes_creating_one_fresh_database_at_once_all_start(tmp_path):
    failures = []
    for round_ in range(ROUNDS):
        db = tmp_path / f"race{round_}.db"
        start = time.time() + 2.0  # every process imports first, then opens at the same instant
        procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, str(db), str(start)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(PROCESSES)]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            if proc.returncode != 0 or out.strip() != "ok":
                failures.append(err.strip().splitlines()[-1:] or [f"exit {proc.returncode}"])
        with sqlite3.connect(db) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
        assert len(names) == SCHEMA_VERSION == len(set(names)), names
    assert failures == []
