"""Slack through a local stand-in for the incoming-webhook endpoint: the payload, escaping,
limits, and the outbox through 429s and outages (no loss, no duplicate, no real sleeping)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

import alerts
from alerts.slack import MAX_BLOCKS, SECTION_LIMIT, escape, fit, render
from sentimon.store import Store
from test_alerts_support import NOW, Recorder, checked_notifiers, rule

OUR_LINK = re.compile(r"<https?://[^\s<>|]+\|[^<>|]*>")


@pytest.fixture
def store(alert_store):
    return alert_store("slack.db")


def slack(url: str, name: str = "chat"):
    return checked_notifiers(**{name: {"type": "slack", "webhook_url": url}})


def statuses(store):
    return [r[0] for r in store.db.execute("SELECT status FROM deliveries ORDER BY id")]


def all_mrkdwn(body: dict) -> list[str]:
    texts = [body["text"]]
    for block in body["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return texts


def test_alert_arrives_as_block_kit_with_escaped_mention_text(store):
    alerts.check(store.db, [rule()], now=NOW, reader=store)
    with Recorder() as server:
        report = alerts.deliver_pending(store.db, slack(server.url), now=NOW)
    assert report.sent == 1 and len(server.requests) == 1
    body = server.json()
    assert server.requests[0]["path"] == "/services/T1/B2/XYZ"
    assert body["blocks"][0]["type"] == "header" and "negative spike" in body["blocks"][0]["text"]["text"]
    assert "were negative" in body["text"]
    raw = json.dumps(body)
    assert "tracking never updated" in raw and "delivery" in raw
    for text in all_mrkdwn(body):
        assert "<!channel>" not in text and "<@U123>" not in text and "<http://evil" not in text
        assert "<" not in OUR_LINK.sub("", text)  # every remaining '<' opens a link we built
    assert "&lt;!channel&gt;" in raw and "&lt;@U123&gt;" in raw
    assert "https://social.example/p/" in raw


def test_limits_hold_for_huge_and_hostile_payloads():
    example = {"source": "x", "created_at": "2026-12-01T10:00:00Z", "url": "https://a.example/x|y>z",
               "text": "<!here> & " * 2000}
    payload = {"title": "t" * 500, "summary": ["<!channel>" * 1000], "rule": "r<>", "event_id": 1,
               "drivers": [{"topic": "<@U1>", "negative": 3, "expected": 1.0}] * 400,
               "phrases": [], "examples": [example] * 120}
    body = render(payload)
    assert len(body["blocks"]) <= MAX_BLOCKS and len(body["text"]) <= 3000
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    for text in all_mrkdwn(body):
        assert len(text) <= SECTION_LIMIT and "<!" not in text and "<@" not in text
        assert "<" not in OUR_LINK.sub("", text)
    assert "<https://a.example/x%7Cy%3Ez|" in json.dumps(body)  # the URL cannot end the link early


def test_fit_never_splits_an_entity():
    cut = fit("a&b" * 2000, 100)
    assert len(cut) <= 100 and cut.endswith("…") and not re.search(r"&(?!amp;)", cut[:-1])
    assert escape("<&>") == "&lt;&amp;&gt;"


def test_429_retry_after_is_honoured_without_sleeping(store):
    alerts.check(store.db, [rule()], now=NOW, reader=store)
    def script(i: int) -> tuple[int, dict[str, str], str]:
        return (429, {"Retry-After": "120"}, "rate_limited") if i == 0 else (200, {}, "ok")

    with Recorder(script) as server:
        notifiers = slack(server.url)
        first = alerts.deliver_pending(store.db, notifiers, now=NOW)
        early = alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(seconds=60))
        due = alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(seconds=121))
        after = alerts.deliver_pending(store.db, notifiers, now=NOW + timedelta(hours=2))
    assert (first.retrying, early.sent, due.sent, after.sent) == (1, 0, 1, 0)
    assert len(server.requests) == 2 and statuses(store) == ["sent"]
    assert server.requests[0]["body"] == server.requests[1]["body"]  # the same message, retried


def test_an_outage_loses_nothing_and_sends_once(store):
    alerts.check(store.db, [rule()], now=NOW, reader=store)
    with Recorder(lambda i: (500, {}, "oops") if i < 5 else (200, {}, "ok")) as server:
        notifiers = slack(server.url)
        clock = NOW
        for _ in range(12):
            alerts.deliver_pending(store.db, notifiers, now=clock)
            alerts.check(store.db, [rule()], now=clock, reader=store)  # checks keep running: no second alert
            clock += timedelta(minutes=30)
    assert len(server.requests) == 6 and statuses(store) == ["sent"]
    row = store.db.execute("SELECT attempts, last_error FROM deliveries").fetchone()
    assert row == (6, None)


def test_a_restart_resumes_pending_deliveries(tmp_path, store):
    alerts.check(store.db, [rule()], now=NOW, reader=store)
    path = store.path
    store.close()
    reopened = Store(path)
    with Recorder() as server:
        assert alerts.deliver_pending(reopened.db, slack(server.url), now=NOW + timedelta(hours=1)).sent == 1
    reopened.close()


def test_gives_up_when_expired_or_permanently_refused(store):
    from alerts.outbox import EXPIRE_AFTER, MAX_RETRY

    alerts.check(store.db, [rule()], now=NOW, reader=store)
    passes = 0
    with Recorder(lambda i: (503, {}, "down")) as server:
        notifiers = slack(server.url)
        clock = NOW
        while clock < NOW + timedelta(hours=26):
            alerts.deliver_pending(store.db, notifiers, now=clock)
            clock += timedelta(minutes=1)
            passes += 1
    assert statuses(store) == ["expired"]
    attempts = store.db.execute("SELECT attempts FROM deliveries").fetchone()[0]
    # backoff up to one try every MAX_RETRY, not one every pass for a day
    assert EXPIRE_AFTER / MAX_RETRY - 5 < attempts <= EXPIRE_AFTER / MAX_RETRY + 5 < passes / 5


def test_one_bad_message_does_not_hold_back_the_others(store):
    """Two rows failing in one pass mean Slack is down; one row failing while the next one
    goes through is that message's problem: the others are sent on time."""
    alerts.check(store.db, [rule(name="poison")], now=NOW, reader=store)
    with Recorder() as server:
        server.script = lambda i: (500, {}, "bad") if b"poison" in server.requests[i]["body"] else (200, {}, "ok")
        notifiers = slack(server.url)
        for minute in range(60):
            clock = NOW + timedelta(minutes=minute)
            if minute in (8, 23, 43):  # passes where the failing row is due too, and tried first
                alerts.check(store.db, [rule(name="poison"), rule(name=f"fine {minute}")], now=clock,
                             reader=store)
            alerts.deliver_pending(store.db, notifiers, now=clock)
    rows = list(store.db.query("SELECT status, attempts, sent_at, created_at FROM deliveries ORDER BY id"))
    assert [r["status"] for r in rows] == ["pending", "sent", "sent", "sent"]
    assert all(r["sent_at"] == r["created_at"] and r["attempts"] == 1 for r in rows[1:])  # each at once
    assert rows[0]["attempts"] > 10


def test_a_revoked_webhook_is_not_retried(store):
    alerts.check(store.db, [rule()], now=NOW, reader=store)
    with Recorder(lambda i: (404, {}, "no_service")) as server:
        report = alerts.deliver_pending(store.db, slack(server.url), now=NOW)
    assert report.expired == 1 and statuses(store) == ["expired"] and len(server.requests) == 1


def test_one_failing_notifier_does_not_stop_the_others(store):
    alerts.check(store.db, [rule(notify=["broken", "crashing", "chat"])], now=NOW, reader=store)

    class Crashing:
        def send(self, payload, *, key=""):
            raise RuntimeError("bug")

    with Recorder(lambda i: (500, {}, "x")) as bad, Recorder() as good:
        notifiers = {**slack(bad.url, "broken"), **slack(good.url, "chat"), "crashing": Crashing()}
        report = alerts.deliver_pending(store.db, notifiers, now=NOW)
    assert report.sent == 1 and report.retrying == 2 and len(good.requests) == 1
