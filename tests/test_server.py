"""The push endpoint over real HTTP: a PushServer on 127.0.0.1, port 0, in this process."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from polling import wait_until
from pushserver import (  # noqa: F401  (start is the fixture)
    AUTH, TOKEN, _models_present, counts, load, push, raw_request, rows, settle, start,
)

from sentimon.app import App
from sentimon.cli_serve import start_push_server
from sentimon.errors import ConfigError

STUB_CLI = Path(__file__).with_name("stub_cli.py")
BATCH = [
    {
        "id": "t-1",
        "text": "The parcel was late again",
        "title": "Late",
        "rating": 2,
        "queue": "zendesk",  # not a mention field: kept in extra (a "channel" is a sub-source)
    },
    {"id": "t-2", "text": "Lovely shoes, fast delivery", "created_at": "2026-11-20T10:00:00Z"},
    {"id": "t-1", "text": "a second copy of t-1 in the same batch", "title": "Copy"},
]


def test_good_batch_is_stored_before_the_reply_and_deduplicated_on_resend(start):
    # Issue 19: 202 (was 200 after classifying); "ids" and "pending" are new fields.
    url, app = start()
    reply = push(url, BATCH)
    assert reply.status_code == 202 and counts(reply) == {"accepted": 3, "new": 2}
    ids = [row[0] for row in rows(app, "SELECT id FROM mentions ORDER BY id")]
    assert len(ids) == 2 and reply.json()["ids"] == [ids[0], ids[1], ids[0]]  # copy: first t-1's
    assert reply.json()["pending"] == 2
    settle(start)
    assert rows(app) == [  # stored before the 2xx (ids above); first t-1 wins
        ("t-1", "Late", "The parcel was late again", "negative", "webhook"),
        ("t-2", None, "Lovely shoes, fast delivery", "positive", "webhook"),
    ]
    assert rows(app, "SELECT extra FROM mentions WHERE external_id = 't-1'") == [
        ('{"queue": "zendesk"}',)
    ]
    again = push(url, BATCH)
    assert counts(again) == {"accepted": 3, "new": 0} and again.json()["ids"] == [ids[0], ids[1], ids[0]]
    assert len(rows(app)) == 2


def test_one_object_and_the_configured_source_name(start):
    url, app = start(source="zendesk")
    reply = push(url, {"external_id": "z-9", "text": "Refund took a month"})
    assert counts(reply) == {"accepted": 1, "new": 1}
    assert rows(app, "SELECT source, external_id, kind FROM mentions") == [
        ("zendesk", "z-9", "review")
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "wrong", "wrong-scheme", "longer", "empty"],
)
def test_missing_or_wrong_token_is_401_and_stores_nothing(start, headers):
    url, app = start()
    reply = push(url, BATCH, headers=headers)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in reply.json()["error"] and TOKEN not in reply.text
    assert rows(app) == []


def test_oversized_body_is_413(start):
    url, app = start(max_body_bytes=2000)
    reply = push(url, [{"text": "x" * 1000, "id": str(i)} for i in range(3)])
    assert reply.status_code == 413 and "2000" in reply.json()["error"]
    assert rows(app) == []


def test_declared_length_over_the_cap_is_refused_before_reading_the_body(start):
    url, _ = start(max_body_bytes=1000)
    head = (
        f"POST /v1/mentions HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
        "Content-Type: application/json\nContent-Length: 1000000000\n"
    )
    started = time.monotonic()
    status, _, payload = raw_request(
        url, head
    )  # no body sent at all: the server must not wait for it
    assert status == 413 and "at most 1000" in json.loads(payload)["error"]
    assert time.monotonic() - started < 5


def test_chunked_body_is_accepted_and_capped(start):
    url, app = start(max_body_bytes=3000)
    head = (
        f"POST /v1/mentions HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
        "Content-Type: application/json\nTransfer-Encoding: chunked\n"
    )
    body = json.dumps({"id": "c-1", "text": "chunked and late"}).encode()
    chunks = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
        + b"0\r\n\r\n"
    )
    status, _, payload = raw_request(url, head, chunks)
    assert status == 202 and json.loads(payload)["new"] == 1
    big = b"".join(b"400\r\n" + b" " * 1024 + b"\r\n" for _ in range(4)) + b"0\r\n\r\n"
    assert raw_request(url, head, big)[0] == 413
    assert raw_request(url, head.replace("chunked", "gzip"))[0] == 411
    assert len(rows(app)) == 1


def test_expect_100_continue_is_refused_before_the_upload(start):
    url, _ = start()
    head = (
        "POST /v1/mentions HTTP/1.1\nHost: x\nAuthorization: Bearer nope-nope-nope-nope\n"
        "Content-Type: application/json\nContent-Length: 500\nExpect: 100-continue\n"
    )
    status, _, payload = raw_request(url, head)
    assert status == 401 and b"100 Continue" not in payload


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"text": "unfinished"', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"text": "a", "rating": NaN}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        ('{"text": "caf\u00e9"}'.encode("latin-1"), "not valid UTF-8"),
        (b'"just a string"', "expected a JSON object or a list"),
        (b"[1]", "expected a JSON object"),
    ],
    ids=["truncated", "empty", "nan", "deep", "latin-1", "string", "list-of-numbers"],
)
def test_malformed_json_is_400(start, body, message):
    url, app = start()
    reply = push(url, body)
    assert reply.status_code == 400 and message in reply.json()["error"]
    assert rows(app) == []


@pytest.mark.parametrize(
    "item, field",
    [
        ({"id": "b", "text": "fine", "rating": "five"}, "rating"),
        ({"id": "b", "text": "fine", "rating": 9}, "rating"),
        ({"id": "b", "title": "no text"}, "text"),
        ({"id": "b", "text": 42}, "text"),
        ({"id": "b", "text": "fine", "created_at": "next tuesday"}, "created_at"),
        ({"id": "b", "text": "fine", "created_at": "2999-01-01T00:00:00Z"}, "created_at"),
        ({"id": "b", "text": "fine", "author": {"name": "x"}}, "author"),
        ({"id": ["b"], "text": "fine"}, "external_id"),
        ({"id": "b", "text": "unpaired \ud800 surrogate"}, "text"),
        ({"text": "unpaired \ud800 surrogate, no id"}, "text"),
        ({"id": "b\udfff", "text": "fine"}, "external_id"),
    ],
)
def test_wrong_types_are_400_naming_the_field_and_index(start, item, field):
    url, app = start()
    reply = push(url, json.dumps([{"id": "ok", "text": "a fine one"}, item]))
    assert reply.status_code == 400, reply.text
    assert reply.json()["field"] == field and reply.json()["index"] == 1
    assert reply.json()["error"].startswith(field)
    assert rows(app) == []  # the whole batch is refused, not half of it


def test_too_many_items_is_413(start):
    url, _ = start(max_batch=3)
    assert push(url, [{"text": f"n{i}"} for i in range(3)]).status_code == 202
    reply = push(url, [{"text": f"n{i}"} for i in range(4)])
    assert reply.status_code == 413 and "at most 3" in reply.json()["error"]


def test_non_json_content_type_is_415(start):
    url, _ = start()
    reply = push(url, BATCH, headers={**AUTH, "Content-Type": "text/plain"})
    assert reply.status_code == 415
    assert (
        push(
            url, BATCH, headers={**AUTH, "Content-Type": "application/json; charset=latin-1"}
        ).status_code
        == 415
    )
    assert (
        push(
            url, BATCH, headers={**AUTH, "Content-Type": "application/json; charset=UTF-8"}
        ).status_code
        == 202
    )


def test_rate_limit_is_429_with_retry_after_per_token(start):
    url, app = start(rate=0.01, burst=3)
    codes = [push(url, {"text": f"n{i}"}).status_code for i in range(3)]
    reply = push(url, {"text": "one too many"})
    assert codes == [202, 202, 202] and reply.status_code == 429
    assert int(reply.headers["Retry-After"]) >= 1
    # a wrong token has the client address's own bucket (test_push_limits.py)
    assert push(url, {"text": "x"}, headers={"Authorization": "Bearer x"}).status_code == 401
    assert len(rows(app)) == 3


def test_stalled_connections_are_capped(start):
    """Connections still sending their head wait without a thread (test_push_limits.py), but
    only ``max_pending`` of them."""
    url, _ = start(max_pending=2)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    stalled = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
    try:
        server = start.servers[-1]
        wait_until(lambda: server.waiting == 2, 30, what="both accepted and waiting for a head")
        reply = requests.get(f"{url}/healthz", timeout=5)
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "5"
    finally:
        for sock in stalled:
            sock.close()
    wait_until(lambda: requests.get(f"{url}/healthz", timeout=5).status_code == 200, 30,
               what="/healthz answering once the stalled connections closed")


def test_other_routes_and_methods(start):
    url, _ = start()
    assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{url}/nope", timeout=5).status_code == 404
    assert requests.get(f"{url}/metrics", timeout=5).status_code == 404  # off by default
    reply = requests.get(f"{url}/v1/mentions", timeout=5)
    assert reply.status_code == 405 and reply.headers["Allow"] == "POST"
    assert requests.put(f"{url}/v1/mentions", timeout=5).status_code == 405
    assert requests.post(f"{url}/healthz", timeout=5).status_code == 405


_SAMPLE = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? -?[0-9.e+]+$')


def test_metrics_in_prometheus_text_format(start):
    url, app = start(metrics=True)
    push(url, BATCH)
    push(url, BATCH, headers={"Authorization": "Bearer wrong"})
    settle(start)
    store = app.store()
    now = datetime.now(timezone.utc)
    ok_run = store.start_run("reddit-brand", now - timedelta(seconds=10))
    store.finish_run(
        ok_run, finished=now - timedelta(seconds=7), fetched=12, new=5, skipped=1, error=None
    )
    bad_run = store.start_run("reddit-brand", now - timedelta(seconds=4))
    store.finish_run(
        bad_run, finished=now, fetched=0, new=0, skipped=0, error="401 bad credentials"
    )
    store.db.execute(
        "INSERT INTO deliveries (key, notifier, kind, payload, status, attempts, "
        "next_attempt_at, created_at) VALUES ('k1', 'slack', 'opened', '{}', 'pending', 2, "
        "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    store.db.conn.commit()

    assert requests.get(f"{url}/metrics", timeout=5).status_code == 401  # the same token as pushes
    reply = requests.get(f"{url}/metrics", headers=AUTH, timeout=5)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith(
        "text/plain; version=0.0.4"
    )
    lines = reply.text.splitlines()
    families = {}
    for line in lines:
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter") and name not in families
            families[name] = kind
        elif not line.startswith("# HELP "):
            assert _SAMPLE.match(line), line
            assert re.match(r"[a-z_]+", line).group(0) in families
    samples = set(lines)
    assert 'sentimon_mentions_stored{source="webhook",sentiment="negative"} 1' in samples
    assert 'sentimon_mentions_stored{source="webhook",sentiment="positive"} 1' in samples
    assert 'sentimon_connector_last_run_success{connector="reddit-brand"} 0' in samples
    assert (
        'sentimon_connector_last_success_timestamp_seconds{connector="reddit-brand"} '
        f"{int((now - timedelta(seconds=7)).timestamp())}" in samples
    )
    assert 'sentimon_connector_runs_total{connector="reddit-brand",result="error"} 1' in samples
    assert 'sentimon_connector_last_run_duration_seconds{connector="reddit-brand"} 4' in samples
    assert 'sentimon_deliveries{status="pending"} 1' in samples
    assert "sentimon_deliveries_failing 1" in samples
    assert 'sentimon_push_requests_total{result="accepted",code="202"} 1' in samples
    assert 'sentimon_push_requests_total{result="rejected",code="401"} 1' in samples
    assert 'sentimon_push_mentions_total{result="new"} 2' in samples


@pytest.mark.parametrize(
    "token, problem", [("", "server.token is empty"), ("short", "at least 16")]
)
def test_refuses_to_start_without_a_real_token(tmp_path, monkeypatch, write_config, token, problem):
    monkeypatch.setenv("SENTIMON_PUSH_TOKEN", token)
    config = load(write_config('[server]\ntoken = "${SENTIMON_PUSH_TOKEN}"\nport = 0\n'))
    with pytest.raises(ConfigError, match=problem):
        start_push_server(App(tmp_path / "sentimon.toml", config))


def test_binds_to_loopback_by_default(start):
    url, app = start()
    assert app.config.server["host"] == "127.0.0.1" and url.startswith("http://127.0.0.1:")


def test_the_token_and_bodies_never_reach_the_log(start, caplog):
    caplog.set_level(logging.DEBUG)
    url, _ = start()
    push(url, [{"id": "s-1", "text": "SECRET-BODY-MARKER is late"}])
    push(url, [{"id": "s-2", "text": "SECRET-BODY-MARKER", "rating": "bad"}])
    push(url, [{"text": "SECRET-BODY-MARKER"}], headers={"Authorization": f"Bearer {TOKEN[:-1]}"})
    assert "accepted 1, new 1" in caplog.text and "refused: 400" in caplog.text
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text
    assert "SECRET-BODY-MARKER" not in caplog.text


def test_shutdown_stops_listening_and_is_idempotent(start):
    url, _ = start()
    assert push(url, {"text": "before shutdown"}).status_code == 202
    server = start.servers[-1]
    server.shutdown()
    server.shutdown()
    with pytest.raises(requests.ConnectionError):
        push(url, {"text": "after shutdown"})


@pytest.mark.skipif(
    not _models_present(), reason="sentimon serve loads the config, which needs models/ and alerts/"
)
def test_serve_command_logs_the_url_and_stops_on_sigterm(tmp_path, write_config):
    config = write_config('[server]\ntoken = "${SENTIMON_PUSH_TOKEN}"\n')
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            str(STUB_CLI),  # the real CLI with the keyword classifier: no model load to wait on
            "--config",
            str(config),
            "serve",
            "--port",
            str(port),
        ],
        env={**os.environ, "SENTIMON_PUSH_TOKEN": TOKEN},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = f"http://127.0.0.1:{port}/healthz"
        wait_until(lambda: requests.get(health, timeout=1).status_code == 200, 60,
                   what="sentimon serve answering /healthz",
                   ignoring=(requests.ConnectionError, requests.Timeout))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert f"listening on http://127.0.0.1:{port}/v1/mentions" in stderr and TOKEN not in stderr


def test_serve_command_is_registered_with_help():
    from click.testing import CliRunner

    from sentimon.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert (
        result.exit_code == 0 and "--port" in result.output and "POST /v1/mentions" in result.output
    )
