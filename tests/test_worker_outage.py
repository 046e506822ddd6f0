"""A `sentimon worker` outlives a PostgreSQL outage (issue 18: availability).

Procrastinate's worker stops when its LISTEN connection fails and returns as if asked to stop,
so every worker exited with status 0 on a server restart: systemd's and compose's
``on-failure`` did not restart them, and nothing was fetched again. ``sentimon.worker_runner``
starts the worker again once the server answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from polling import wait_until
from workers_support import config, rows, start, stop, write_inputs

pytest.importorskip("procrastinate")


def stored(url: str) -> int:
    try:
        return int(rows(url, "SELECT COUNT(*) FROM mentions")[0][0])
    except Exception:  # noqa: BLE001 - tables not there yet, or the server is away
        return -1


def test_a_worker_fetches_again_after_the_server_was_away(tmp_path: Path, own_pg_server) -> None:
    url = own_pg_server.create_database("outage")
    first = write_inputs(tmp_path / "in" / "a", "a", files=1, lines=50)
    worker = start(config(tmp_path, ["a"]), url)
    try:
        wait_until(lambda: stored(url) == first, timeout=60, what="the first lines stored")
        own_pg_server.pause()
        time.sleep(5)  # the outage: the worker's connections fail meanwhile
        assert worker.poll() is None, "the worker exited during the outage"
        own_pg_server.resume()
        with (tmp_path / "in" / "a" / "a-later.jsonl").open("w") as out:
            for i in range(10):
                out.write(json.dumps({"id": f"later-{i}", "text": "parcel late again",
                                      "created_at": "2026-11-30T10:00:00Z"}) + "\n")
        wait_until(lambda: stored(url) == first + 10 or worker.poll() is not None, timeout=60,
                   what="the lines written after the outage stored")
        assert worker.poll() is None, "the worker exited after the outage"
        assert stored(url) == first + 10
    finally:
        log = stop(worker)  # SIGTERM still stops it for good
    assert worker.returncode == 0, log
    assert "starting it again when postgresql://" in log, log
    assert "answers again; starting the worker" in log



def test_a_worker_that_finds_a_newer_schema_after_an_outage_stops(tmp_path: Path, own_pg_server) -> None:
    """Another machine upgraded sentimon and the schema (here: before the outage, which a
    running worker does not look at): when the server is back, this worker must not run jobs
    on a schema it does not know, so it exits 1 saying why (systemd retries, and every start
    refuses the same way until this machine is upgraded)."""
    import psycopg

    from sentimon.pgstore.migrate import SCHEMA_VERSION

    url = own_pg_server.create_database("newer")
    first = write_inputs(tmp_path / "in" / "a", "a", files=1, lines=20)
    worker = start(config(tmp_path, ["a"]), url)
    try:
        wait_until(lambda: stored(url) == first, timeout=60, what="the first lines stored")
        later = SCHEMA_VERSION + 1
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'from_a_later_sentimon')",
                         [later])
        own_pg_server.pause()
        time.sleep(3)
        own_pg_server.resume()
        wait_until(lambda: worker.poll() is not None, timeout=60, what="the worker stopping")
    finally:
        log = stop(worker)
    assert worker.returncode == 1, log
    assert f"the database's schema is newer than this sentimon's (it has migration {later:04d}" in log, log


def test_sighup_stops_a_worker_cleanly_naming_why(tmp_path: Path, pg_url: str) -> None:
    """As `run` and `serve` on SQLite (tests/test_sighup.py): SIGHUP's default action killed the
    worker (exit -1) with nothing in the log."""
    import signal

    first = write_inputs(tmp_path / "in" / "a", "a", files=1, lines=5)
    worker = start(config(tmp_path, ["a"]), pg_url)
    try:
        wait_until(lambda: stored(pg_url) == first, timeout=60, what="the lines stored")
        worker.send_signal(signal.SIGHUP)
        wait_until(lambda: worker.poll() is not None, timeout=30, what="the worker stopping")
    finally:
        log = stop(worker)
    assert worker.returncode == 0, log
    assert "received SIGHUP: sentimon does not reload its config" in log, log
