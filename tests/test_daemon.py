"""The daemon as a real process: schedules, SIGTERM, restart, the single-daemon lock."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from polling import wait_until

pytestmark = pytest.mark.slow
STUB_CLI = Path(__file__).with_name("stub_cli.py")


def append(path: Path, start: int, count: int) -> None:
    with path.open("a", encoding="utf-8") as f:
        for i in range(start, start + count):
            f.write(json.dumps({"id": f"m{i}", "text": f"Order {i}: the parcel was late again", "created_at": "2026-11-20T10:00:00Z"}) + "\n")


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return conn.execute(sql).fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def stored(daemon: subprocess.Popen, db: Path) -> int:
    """Mentions stored so far; fails at once (with its log) if the daemon has exited."""
    if daemon.poll() is not None:
        raise AssertionError(f"the daemon exited ({daemon.returncode}): {daemon.communicate()[1]}")
    return count(db, "SELECT COUNT(*) FROM mentions")


def start(config: Path) -> subprocess.Popen:
    """The real daemon with the keyword classifier (``stub_cli``): this test is about schedules,
    signals and the lock, and a model load per start only made it slow and timing-sensitive."""
    return subprocess.Popen(
        [sys.executable, str(STUB_CLI), "--config", str(config), "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_daemon_runs_stops_on_sigterm_and_resumes_without_loss(tmp_path, write_config):
    data = tmp_path / "in.jsonl"
    append(data, 0, 30)
    config = write_config(
        '[[connectors]]\nname = "feed"\ntype = "files"\npath = "in.jsonl"\nevery = "1s"\n'
        'fields = { external_id = "id" }\n'
        '[[connectors]]\nname = "broken"\ntype = "files"\npath = "missing.jsonl"\nevery = "1s"\n'
    )
    db = tmp_path / "sentimon.db"
    daemon = start(config)
    try:
        wait_until(lambda: stored(daemon, db) == 30, 90, what="30 stored")
        second = subprocess.run(
            [sys.executable, str(STUB_CLI), "--config", str(config), "run"],
            capture_output=True, text=True, timeout=60,
        )
        assert second.returncode == 1 and "already running" in second.stderr
        append(data, 30, 20)
        wait_until(lambda: stored(daemon, db) == 50, 90, what="50 stored")
        # the broken source failed on its own; the healthy one kept running
        assert count(db, "SELECT COUNT(*) FROM runs WHERE source = 'broken' AND error LIKE '%no such file%'") >= 1
    finally:
        started = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert time.monotonic() - started < 10
    assert "scheduled" in err and "stopped" in err

    append(data, 50, 10)
    daemon = start(config)
    try:
        wait_until(lambda: stored(daemon, db) == 60, 90, what="60 stored after the restart")
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.communicate(timeout=30)
    assert daemon.returncode == 0
    assert count(db, "SELECT COUNT(DISTINCT external_id) FROM mentions") == 60
    assert count(db, "SELECT COUNT(*) FROM runs WHERE source = 'feed' AND finished_at IS NOT NULL") >= 2
