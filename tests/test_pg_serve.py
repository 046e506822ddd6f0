"""`sentimon serve` on PostgreSQL (issue 18): the real command in its own process, a real
PostgreSQL server and real HTTP to the port it serves. A push is stored pending and answered
``202``, the background worker classifies it (keyword stub classifier), and ``/metrics`` shows
the stored counts, the connector's run and the push counters read from PostgreSQL; nothing is
written to SQLite and no output holds the database password.

Also: ``/metrics`` reads only store methods, so the same rows give the same scrape on both
stores (the push counters aside, which live in the process).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import requests
from polling import wait_until

from sentimon.mention import Classification, Mention
from sentimon.metrics import Counters, render
from sentimon.store import Store

TESTS = Path(__file__).resolve().parent
STUB_CLI = TESTS / "stub_cli.py"
TOKEN = "pg-serve-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "Hunter2-not-in-any-output"
CONFIG = """
[storage]
url = "${SENTIMON_DATABASE_URL}"

[server]
token = "${SENTIMON_PUSH_TOKEN}"
metrics = true

[[connectors]]
name = "shop"
type = "files"
path = "reviews.jsonl"
fields = { external_id = "id" }
"""
ROWS = [
    {"id": "r1", "text": "The parcel arrived two weeks late.", "rating": 1, "created_at": "2026-11-20T10:00:00Z"},
    {"id": "r2", "text": "Love these boots.", "rating": 5, "created_at": "2026-11-20T11:00:00Z"},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def project(tmp_path, write_config, pg_url):
    """A config on a fresh PostgreSQL schema, a files connector with 2 rows, and the process
    environment (the URL with a password the test cluster ignores, the push token)."""
    (tmp_path / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    config = write_config(CONFIG)
    config.chmod(0o600)  # it references secrets: no warning about its mode in the output
    url = pg_url.replace("postgresql://sentimon@", f"postgresql://sentimon:{PASSWORD}@", 1)
    env = {**os.environ, "SENTIMON_DATABASE_URL": url, "SENTIMON_PUSH_TOKEN": TOKEN}
    return config, env


def _metric(text: str, sample: str) -> float:
    """The value of the exact sample line ``name{labels}`` in a scrape."""
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    raise AssertionError(f"{sample} not in the scrape:\n{text}")


def test_serve_on_postgresql_stores_classifies_and_reports_pushes(project, tmp_path, pg_url):
    config, env = project
    fetched = subprocess.run([sys.executable, str(STUB_CLI), "--config", str(config), "fetch"],
                             capture_output=True, text=True, timeout=60, env=env)
    assert fetched.returncode == 0, fetched.stderr  # a run in the record, for /metrics
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(STUB_CLI), "--config", str(config), "-v", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def answering() -> bool:
            assert process.poll() is None, f"sentimon serve exited: {process.communicate()}"
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200

        wait_until(answering, 60, what="sentimon serve answering /healthz",
                   ignoring=(requests.ConnectionError, requests.Timeout))
        reply = requests.post(f"{url}/v1/mentions", timeout=10, headers={**AUTH, "Content-Type": "application/json"},
                              data=json.dumps([{"id": "p-1", "text": "Parcel late again", "rating": 1},
                                               {"id": "p-2", "text": "Lovely shoes"},
                                               {"id": "p-1", "text": "Parcel late again", "rating": 1}]))
        assert reply.status_code == 202, reply.text
        body = reply.json()
        assert (body["accepted"], body["new"], body["pending"]) == (3, 2, 2)
        assert body["ids"][0] == body["ids"][2] != body["ids"][1]  # a repeated id is stored once

        def pushed() -> list[tuple[str, str | None]]:
            with psycopg.connect(pg_url) as conn:
                return conn.execute("SELECT external_id, sentiment FROM mentions WHERE source = 'webhook' "
                                    "ORDER BY external_id").fetchall()

        wait_until(lambda: all(sentiment for _, sentiment in pushed()), 30,
                   what="the pending worker classifying the push")
        assert pushed() == [("p-1", "negative"), ("p-2", "positive")]
        with psycopg.connect(pg_url) as conn:
            ids = [row[0] for row in conn.execute(
                "SELECT id FROM mentions WHERE source = 'webhook' ORDER BY external_id").fetchall()]
        assert ids == [body["ids"][0], body["ids"][1]]

        assert requests.get(f"{url}/metrics", timeout=10).status_code == 401  # the token guards it
        scrape = requests.get(f"{url}/metrics", headers=AUTH, timeout=10)
        assert scrape.status_code == 200, scrape.text
        text = scrape.text
        assert _metric(text, 'sentimon_mentions_stored{source="webhook",sentiment="negative"}') == 1
        assert _metric(text, 'sentimon_mentions_stored{source="webhook",sentiment="positive"}') == 1
        assert _metric(text, 'sentimon_mentions_stored{source="shop",sentiment="negative"}') == 1
        assert _metric(text, 'sentimon_mentions_pending') == 0
        assert _metric(text, 'sentimon_connector_last_run_new{connector="shop"}') == 2
        assert _metric(text, 'sentimon_connector_last_run_success{connector="shop"}') == 1
        assert _metric(text, 'sentimon_connector_runs_total{connector="shop",result="ok"}') == 1
        assert _metric(text, 'sentimon_deliveries{status="pending"}') == 0
        assert _metric(text, 'sentimon_alert_events{status="open"}') == 0
        assert _metric(text, 'sentimon_push_requests_total{result="accepted",code="202"}') == 1
        assert _metric(text, 'sentimon_push_mentions_total{result="new"}') == 2
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"listening on {url}/v1/mentions" in err and "classified 2 pushed mentions" in err
    assert "not available on PostgreSQL" not in out + err
    assert PASSWORD not in out + err and TOKEN not in out + err
    assert not (tmp_path / "sentimon.db").exists()  # nothing went to SQLite


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def _fill(store) -> None:
    """The same rows in either store: classified and pending mentions, and finished runs."""
    verdict = Classification("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1}, (), "stub@1")
    store.save_batch("shop", [Mention("shop", "a", "late parcel", T0), Mention("shop", "b", "late", T0)],
                     [verdict, verdict])
    store.save_pending({"webhook": [Mention("webhook", "w1", "pending one", T0)]})
    for minute, error in ((0, None), (10, "timeout")):
        run = store.start_run("shop", T0 + timedelta(minutes=minute))
        store.finish_run(run, finished=T0 + timedelta(minutes=minute, seconds=7), fetched=2, new=2,
                         skipped=0, error=error)


def test_the_scrape_is_the_same_on_both_stores(tmp_path, pg_url):
    from sentimon.pgstore import PgStore

    sqlite, pg = Store(tmp_path / "m.db"), PgStore(pg_url, max_connections=2)
    try:
        for store in (sqlite, pg):
            _fill(store)
        scrapes = [render(store, Counters()) for store in (sqlite, pg)]
    finally:
        sqlite.close()
        pg.close()
    assert scrapes[0] == scrapes[1]
    assert 'sentimon_mentions_stored{source="shop",sentiment="negative"} 2' in scrapes[1]
    assert "sentimon_mentions_pending 1" in scrapes[1]
    assert 'sentimon_connector_runs_total{connector="shop",result="error"} 1' in scrapes[1]
