"""Pushes are answered before the model reads them (issue 19 item 4): stored pending, 202 with
the ids, classified by the server's background worker; a crash in between loses nothing; a
pending mention is listed as such and counted by nothing until classified. Real HTTP to a
real local server, a real SQLite file, stub classifiers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import pushserver
import requests
from click.testing import CliRunner
from polling import wait_until
from pushserver import TOKEN, _models_present, push, rows, settle, start  # noqa: F401
from stubs import KeywordClassifier, TopicKeywordClassifier

from alerts import query as alert_query
from alerts.rules import AlertRule
from sentimon.cli import cli

TESTS = Path(__file__).resolve().parent


class Blocking(KeywordClassifier):
    """Classifies only once ``release`` is set: a push answered meanwhile did not wait for it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def classify(self, texts):
        self.entered.set()
        assert self.release.wait(30), "never released"
        return super().classify(texts)


@pytest.fixture
def blocking():
    """A Blocking classifier, released at the end so the server's shutdown is not held up."""
    model = Blocking()
    yield model
    model.release.set()


def _cli(tmp_path: Path, *args: str) -> str:
    config = tmp_path / "sentimon.toml"
    config.chmod(0o600)  # else the CLI warns about a readable file that names a secret
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_202_goes_out_while_the_classifier_is_still_blocked(start, blocking, tmp_path):
    url, app = start()
    model = app._classifier = blocking
    reply = push(url, [{"id": "p-1", "text": "Parcel late again", "rating": 1},
                       {"id": "p-2", "text": "Lovely shoes"}])
    assert reply.status_code == 202
    assert model.entered.wait(30) and not model.release.is_set()  # the model had not answered
    body = reply.json()
    assert body["accepted"] == 2 and body["new"] == 2 and body["pending"] == 2
    assert body["ids"] == [r[0] for r in rows(app, "SELECT id FROM mentions ORDER BY id")]
    assert rows(app, "SELECT external_id, sentiment, score_negative, model FROM mentions") == [
        ("p-1", None, None, None), ("p-2", None, None, None)]

    listed = [json.loads(line) for line in
              _cli(tmp_path, "mentions", "--pending", "--format", "jsonl").splitlines()]
    assert [(m["external_id"], m["sentiment"]) for m in listed] == [("p-2", None), ("p-1", None)]
    assert "Lovely shoes" in _cli(tmp_path, "mentions", "--pending")
    stats = json.loads(_cli(tmp_path, "stats", "--since", "2d", "--format", "json"))
    assert sum(g["total"] for g in stats["groups"]) == 0  # pending: counted by nothing yet

    model.release.set()
    settle(start)
    assert rows(app, "SELECT external_id, sentiment, model FROM mentions ORDER BY id") == [
        ("p-1", "negative", "test-keywords"), ("p-2", "positive", "test-keywords")]
    assert _cli(tmp_path, "mentions", "--pending", "--format", "jsonl") == ""
    stats = json.loads(_cli(tmp_path, "stats", "--since", "2d", "--format", "json"))
    assert sum(g["total"] for g in stats["groups"]) == 2


def test_a_resend_of_a_pending_mention_is_not_stored_twice(start, blocking):
    url, app = start()
    model = app._classifier = blocking
    first = push(url, {"id": "r-1", "text": "late"}).json()
    again = push(url, {"id": "r-1", "text": "late"}).json()
    assert first["new"] == 1 and again["new"] == 0 and again["ids"] == first["ids"]
    model.release.set()
    settle(start)
    assert rows(app, "SELECT external_id, sentiment FROM mentions") == [("r-1", "negative")]


KILLED_SERVE = """
import sys, threading
sys.path.insert(0, sys.argv[1])
from sentimon.app import App
from sentimon.cli import main

class Stuck:
    name = "stuck"
    def classify(self, texts):
        threading.Event().wait()  # the model never answers: the process is killed first

App.classifier = lambda self: Stuck()
sys.argv = sys.argv[1:]
main()
"""


@pytest.mark.skipif(not _models_present(), reason="sentimon serve loads the full config")
def test_a_killed_server_leaves_pending_rows_that_the_next_start_classifies(
    tmp_path, write_config, start, monkeypatch
):
    config = write_config('[storage]\npath = "s.db"\n[server]\ntoken = "${SENTIMON_PUSH_TOKEN}"\n')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SERVE, str(TESTS), "--config", str(config), "serve",
         "--port", str(port)],
        env={**os.environ, "SENTIMON_PUSH_TOKEN": TOKEN}, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=1).status_code == 200, 60,
                   what="sentimon serve answering",
                   ignoring=(requests.ConnectionError, requests.Timeout))
        reply = push(url, [{"id": f"k-{i}", "text": f"parcel {i} late"} for i in range(40)])
        assert reply.status_code == 202 and reply.json()["new"] == 40
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    db = str(tmp_path / "s.db")
    pending = "SELECT COUNT(*) FROM mentions WHERE sentiment IS NULL"
    with sqlite3.connect(db) as conn:
        assert conn.execute(pending).fetchone() == (40,)  # stored, and nothing lost

    monkeypatch.setattr(pushserver, "KeywordClassifier", TopicKeywordClassifier)
    _, app = start()  # the next start, on the same database; its worker's first sweep
    settle(start)
    assert rows(app, pending) == [(0,)]
    assert rows(app, "SELECT COUNT(*) FROM mention_topics WHERE topic = 'delivery'") == [(40,)]
    # the roll-ups moved the 40 from '' (pending) to negative, topics keyed by it
    assert rows(app, "SELECT sentiment, SUM(n) FROM daily_sentiment GROUP BY 1 HAVING SUM(n)") == [
        ("negative", 40)]
    assert rows(app, "SELECT DISTINCT mention_sentiment FROM daily_topics WHERE n > 0") == [
        ("negative",)]


def test_alert_rules_ignore_pending_rows(start, blocking):
    url, app = start()
    model = app._classifier = blocking
    now = datetime.now(timezone.utc)
    items = [{"id": f"a-{i}", "text": "late late late",
              "created_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")}
             for i in range(5)]
    assert push(url, items).status_code == 202
    rule = AlertRule(name="r", window=timedelta(hours=1), baseline_period=timedelta(days=1))
    store = app.store()
    [scope] = alert_query.scopes(store, rule, now + timedelta(seconds=1))
    assert (scope.window.n, scope.window.k) == (0, 0)  # five negatives on the way, none counted
    assert alert_query.series(store, rule, None, now + timedelta(seconds=1))[-1]["n"] == 0
    model.release.set()
    settle(start)
    [scope] = alert_query.scopes(store, rule, now + timedelta(seconds=1))
    assert (scope.window.n, scope.window.k) == (5, 5)


def test_the_daemon_classifies_what_was_left_pending_even_with_the_endpoint_off(
    tmp_path, write_config
):
    """Mentions pushed before ``[server] enabled`` was turned off are not stuck pending."""
    from sentimon.app import App
    from sentimon.daemon import Daemon
    from sentimon.mention import Mention

    app = App(tmp_path / "sentimon.toml", pushserver.load(write_config('[storage]\npath = "s.db"\n')))
    app._classifier = KeywordClassifier()
    store = app.store()
    now = datetime.now(timezone.utc)
    store.save_batch("webhook", [Mention("webhook", "d-1", "parcel late", now)], None,
                     advance_cursor=False)
    worker_only = Daemon(app)._start_server()
    try:
        assert worker_only.worker.wait_idle(30)
    finally:
        worker_only.shutdown()
    assert rows(app, "SELECT external_id, sentiment FROM mentions") == [("d-1", "negative")]
    app.close()


def test_the_push_benchmark_runs_at_a_reduced_size():
    """bench/push.py's two modes, with a stub model and a few small pushes (docs/BENCHMARKS.md)."""
    from argparse import Namespace

    from benchscripts import load_bench

    bench = load_bench("push")
    args = Namespace(backlog=40, gap=0.0, repeats={1: 2, 100: 1, 1000: 0},
                     before_repeats={1: 1, 100: 1, 1000: 0})
    before = bench.run_mode("in-request", args, bench.StubModel(0.0))
    now = bench.run_mode("pending", args, bench.StubModel(0.001))
    assert [(r["batch"], r["status"]) for r in before] == [(1, 200), (100, 200)]
    assert [(r["batch"], r["status"]) for r in now] == [(1, 202), (100, 202)]
    assert all(r["p95_s"] >= r["p50_s"] > 0 for r in before + now)
