"""The signed JSON webhook against a local receiver that verifies the HMAC like a bridge would."""

from __future__ import annotations

import json

import pytest

import alerts
from alerts.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from sentimon.store import Store
from test_alerts_support import NOW, Recorder, rule, seed_quiet, seed_spike

SECRET = "whsec-0123456789abcdef"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hook.db")
    seed_quiet(s)
    seed_spike(s)
    yield s
    s.close()


def hook(url: str, secret: str = SECRET):
    table = {"type": "webhook", "url": url, "secret": secret, "headers": {"X-Api-Key": "k"}}
    return alerts.build_notifiers({"bridge": alerts.validate_notifier("bridge", table)})


def test_posts_signed_json_the_receiver_can_verify(store):
    alerts.check(store.db, [rule(notify=["bridge"])], now=NOW, reader=store)
    with Recorder() as server:
        assert alerts.deliver_pending(store.db, hook(server.url), now=NOW).sent == 1
    [request] = server.requests
    headers, body = request["headers"], request["body"]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("another-secret", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify(SECRET, headers[TIMESTAMP_HEADER], body + b" ", headers[SIGNATURE_HEADER])
    assert headers[DELIVERY_HEADER].endswith(":bridge:opened") and headers["X-Api-Key"] == "k"
    document = json.loads(body)
    assert document["kind"] == "opened" and document["alert"]["rule"] == "negative spike"
    assert document["alert"]["numbers"]["mentions"] >= 20
    assert document["alert"]["examples"][0]["url"].startswith("https://")


def test_unsigned_when_no_secret(store):
    alerts.check(store.db, [rule(notify=["bridge"])], now=NOW, reader=store)
    with Recorder() as server:
        alerts.deliver_pending(store.db, hook(server.url, secret=""), now=NOW)
    assert SIGNATURE_HEADER not in server.requests[0]["headers"]


def test_retry_after_as_http_date_is_understood():
    from datetime import datetime, timezone

    from alerts.notifier_base import retry_after_seconds

    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Tue, 01 Dec 2026 12:02:00 GMT", now) == 120
    assert retry_after_seconds("30", now) == 30 and retry_after_seconds("soon", now) is None
