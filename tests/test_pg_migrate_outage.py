"""`sentimon migrate --to` when the server misbehaves (issue 18), as an operator meets it: the
real command in its own process against a private cluster.

Found by acting like one: a server restarted mid-copy ended the command with only the server's
"terminating connection", not saying that the batches already copied stay and that running it
again resumes; and a server that accepts connections but never answers (a hung host, a
half-open network) left the command waiting forever, where every other command gives up after
10 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store

STUB_CLI = Path(__file__).resolve().parent / "stub_cli.py"
MENTIONS = 10_000
CONNECT_TIMEOUT = 10  # sentimon.pgstore.copy's, as every command's


def stored(url: str) -> int:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT COUNT(*) FROM mentions").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error:  # no table yet, or the server is restarting
        return 0


def deployment(tmp_path: Path, mentions: int) -> Path:
    """A SQLite deployment of ``mentions`` classified mentions, one in two with a topic; the
    config that names it."""
    at = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    store = Store(tmp_path / "s.db")
    for start in range(0, mentions, 5000):
        ids = range(start, min(start + 5000, mentions))
        store.save_batch("reviews", [
            Mention(source="reviews", external_id=f"e{i}", text=f"parcel late #{i}",
                    created_at=at + timedelta(hours=i)) for i in ids], [
            Classification(sentiment="negative", scores={"negative": 0.8, "neutral": 0.1, "positive": 0.1},
                           topics=(TopicScore("delivery", 0.6, "negative"),) if i % 2 else (), model="stub")
            for i in ids], "c", now=at)
    store.close()
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    return config


def migrate(config: Path, url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SENTIMON_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, str(STUB_CLI), "--config", str(config), "migrate",
                             "--batch", "100"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_copy_cut_by_a_server_restart_says_it_resumes_and_the_next_run_finishes(
        tmp_path: Path, own_pg_server) -> None:
    config = deployment(tmp_path, MENTIONS)
    url = own_pg_server.create_database("copy")
    first = migrate(config, url)
    deadline = time.monotonic() + 60
    while stored(url) < 1000 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    own_pg_server.restart()  # drops every connection, as a failover would
    _, err = first.communicate(timeout=60)
    if first.returncode == 0:
        pytest.skip("the copy finished before the restart (a very fast machine)")
    kept = stored(url)
    assert first.returncode == 1 and "Traceback" not in err, err
    assert "copy failed: " in err
    assert f"{kept} mentions were copied before it stopped" in err, err
    assert "run the same command again: it resumes after them" in err

    again = migrate(config, url)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert f"copied {MENTIONS - kept} mentions ({MENTIONS} there now)" in out
    assert "checked: row counts equal" in out and stored(url) == MENTIONS


def test_a_server_that_never_answers_fails_the_copy_within_its_timeout(
        tmp_path: Path, own_pg_server) -> None:
    """libpq waits for a hung server for ever unless told: 10 s, as every other command."""
    config = deployment(tmp_path, 10)
    url = own_pg_server.create_database("hung")
    postmaster = int((own_pg_server.data / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGSTOP)  # the port still accepts; nothing answers
    try:
        began = time.monotonic()
        command = migrate(config, url)
        try:
            _, err = command.communicate(timeout=CONNECT_TIMEOUT + 15)
        except subprocess.TimeoutExpired:
            command.kill()
            command.communicate()
            pytest.fail("sentimon migrate still waits for a server that never answers")
        took = time.monotonic() - began
    finally:
        os.kill(postmaster, signal.SIGCONT)
    assert command.returncode == 1 and "Traceback" not in err, err
    assert "copy failed: connection timeout expired" in err
    assert "mentions were copied" not in err  # nothing was: no resume hint
    assert took < CONNECT_TIMEOUT + 10, took
