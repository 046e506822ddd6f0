"""`sentimon worker` on a real PostgreSQL: connectors as Procrastinate jobs, one run per
connector at a time across workers, and a worker killed mid-run loses nothing (issue 18)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from polling import wait_until
from workers_support import config, rows, start, stop, write_inputs

pytest.importorskip("procrastinate")

from sentimon.worker import queue_health  # noqa: E402  (needs procrastinate)


def test_a_worker_runs_the_connectors_into_postgresql(tmp_path: Path, pg_url: str) -> None:
    total = write_inputs(tmp_path / "in" / "shop", "shop", files=2, lines=150)
    worker = start(config(tmp_path, ["shop"]), pg_url)
    try:
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions") == [(total,)], timeout=60,
                   what="every line stored", ignoring=(psycopg.errors.UndefinedTable,))
        health = queue_health(pg_url)  # what `sentimon doctor` shows on PostgreSQL
        assert health is not None and health["workers"] == 1 and health["stalled"] == 0
    finally:
        log = stop(worker)
    assert worker.returncode == 0, log
    assert rows(pg_url, "SELECT COUNT(*) FROM mentions WHERE sentiment = 'negative'") == [(100,)]
    assert rows(pg_url, "SELECT COUNT(*) FROM runs WHERE source = 'shop' AND error IS NULL")[0][0] >= 1


def test_a_worker_killed_mid_run_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    """Two workers, two sources; one worker is SIGKILLed while it runs; the other notices
    (no heartbeat for 2 s), marks that run failed and runs the source again from its cursor."""
    total = sum(write_inputs(tmp_path / "in" / s, s, files=4, lines=400) for s in ("a", "b"))
    path = config(tmp_path, ["a", "b"])
    first, second = start(path, pg_url, delay=0.05), start(path, pg_url, delay=0.05)
    try:
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions")[0][0] >= 200, timeout=60,
                   ignoring=(psycopg.errors.UndefinedTable,))
        doing = rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'")[0][0]
        assert doing >= 1
        first.kill()  # SIGKILL: no goodbye, its run stays 'doing'
        first.wait(10)
        wait_until(lambda: rows(pg_url, "SELECT COUNT(*) FROM mentions") == [(total,)], timeout=120,
                   what="every line stored after the kill")
    finally:
        log = stop(first, second)
    assert rows(pg_url, "SELECT COUNT(DISTINCT (source, external_id)) FROM mentions") == [(total,)]
    # the roll-ups (kept by triggers) agree with the rows
    assert rows(pg_url, "SELECT SUM(n) FROM daily_sentiment") == [(total,)]
    statuses = rows(pg_url, "SELECT status::text, COUNT(*) FROM procrastinate_jobs "
                            "WHERE task_name = 'sentimon.fetch' GROUP BY 1 ORDER BY 1")
    assert ("failed", 1) in statuses, (statuses, log)  # the killed run, marked failed
    assert "stopped; the next run resumes from its cursor" in log
    assert rows(pg_url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'") == [(0,)]
    health = queue_health(pg_url)
    assert health is not None and health["failed_24h"] == 1 and health["stalled"] == 0


def test_doctor_says_when_no_worker_has_started(pg_url: str) -> None:
    assert queue_health(pg_url) is None
