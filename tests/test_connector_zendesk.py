"""Zendesk connector against a local server.

Shapes from the Zendesk Support API reference (developer.zendesk.com/api-reference):
``ticket-management/incremental_exports`` (GET /api/v2/incremental/tickets/cursor.json with
``start_time`` (epoch) or ``cursor``, ``exclude_deleted``; answer ``{"tickets": [...],
"after_url", "after_cursor", "before_url", "before_cursor", "end_of_stream"}``; 10 requests a
minute, 429 with ``Retry-After``), ``tickets`` (id, url, subject, raw_subject, description,
priority, status, requester_id, assignee_id, tags, via {channel, source}, created_at,
updated_at; ``generated_timestamp`` in exports), ``satisfaction_ratings`` (GET
/api/v2/satisfaction_ratings with score=received_with_comment, start_time and cursor pagination
``page[size]``/``page[after]``; answer ``{"satisfaction_ratings": [...], "meta": {"has_more",
"after_cursor", "before_cursor"}, "links": {"next", "prev"}}``; a rating has id, url,
ticket_id, score good|bad, comment, reason, created_at, updated_at) and API token auth
(``email/token:TOKEN`` over HTTP Basic; a refusal is 401 ``{"error": "Couldn't authenticate you"}``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes.zendesk import (
    AUTH, EMAIL, EXPORT, Export, RATINGS, Ratings, TOKEN, rating, stamp, ticket,
)
from connector_runs import drain
from localserver import LocalServer, Reply

from connectors.http import HttpClient
from connectors.zendesk import ZendeskConnector
from sentimon.errors import ConnectorError
from sentimon.settings import validate


def connector(server: LocalServer, sleep=lambda s: None, **options: Any) -> ZendeskConnector:
    values = validate(
        {
            "subdomain": "acme",
            "email": EMAIL,
            "api_token": TOKEN,
            "base_url": server.url,
            **options,
        },
        ZendeskConnector.settings,
        "zendesk",
    )
    return ZendeskConnector("zendesk", values, http=HttpClient("zendesk", sleep=sleep, retries=2))


def test_tickets_and_csat_comments_with_a_link_to_reply(local_server):
    local_server.add(
        EXPORT, Export([ticket(1), ticket(2, "Refund arrived, thanks", status="solved")])
    )
    local_server.add(RATINGS, Ratings([rating(1), rating(2, comment=None, score="good")]))
    mentions, skipped, cursor, _ = drain(connector(local_server))
    assert not skipped and sorted(m.external_id for m in mentions) == [
        "csat:9001",
        "ticket:1",
        "ticket:2",
    ]
    first = next(m for m in mentions if m.external_id == "ticket:1")
    assert first.title == "Order 1001" and first.kind == "ticket" and first.author is None
    assert first.url == first.extra["reply_url"] == "https://acme.zendesk.com/agent/tickets/1"
    assert first.extra["channel"] == "email" and first.extra["tags"] == ["shipping", "late"]
    csat = next(m for m in mentions if m.kind == "csat")
    assert (csat.text, csat.rating, csat.extra["score"]) == ("Agent was rude and slow", 1, "bad")
    assert csat.extra["reply_url"] == "https://acme.zendesk.com/agent/tickets/1"
    assert all(r.header("Authorization") == AUTH for r in local_server.requests)
    assert local_server.requests[1].query["score"] == "received_with_comment"
    assert TOKEN not in cursor


def test_pages_then_resumes_from_the_export_cursor(local_server):
    items = [ticket(n) for n in range(1, 6)]
    local_server.add(EXPORT, Export(items, size=2))
    mentions, _, cursor, batches = drain(connector(local_server, include=["tickets"]))
    assert len(mentions) == 5 and batches == 3
    assert [r.query.get("cursor") for r in local_server.requests] == [None, "c2", "c4"]
    items.append(ticket(50, "Second pair, same broken sole"))
    again, _, _, _ = drain(connector(local_server, include=["tickets"]), cursor)
    assert [m.external_id for m in again] == ["ticket:50"]
    assert local_server.requests[-1].query["cursor"] == "c5"


def test_an_empty_export_keeps_its_cursor(local_server):
    local_server.add(EXPORT, Export([]))
    local_server.add(RATINGS, Ratings([]))
    mentions, skipped, cursor, batches = drain(connector(local_server))
    assert (mentions, skipped, batches) == ([], [], 2) and '"tickets":"c0"' in cursor


def test_csat_pages_and_skips_what_it_has_seen(local_server):
    items = [rating(n) for n in range(1, 151)]
    local_server.add(RATINGS, Ratings(items))
    mentions, _, cursor, _ = drain(connector(local_server, include=["csat"]))
    assert len(mentions) == 150 and local_server.requests[1].query["page[after]"] == "100"
    items.append(rating(400, "Fixed in one reply, great"))
    again, _, _, _ = drain(connector(local_server, include=["csat"]), cursor)
    assert [m.external_id for m in again] == ["csat:9400"]


def test_malformed_items_are_skipped(local_server):
    local_server.add(
        EXPORT,
        Export(
            [
                ticket(1),
                ticket(2, description=None),
                {"id": "x", "updated_at": stamp(3)},
                ticket(4, status="deleted"),
            ]
        ),
    )
    local_server.add(
        RATINGS, Ratings([rating(1), {"id": "77x", "comment": "no id", "created_at": stamp(5)}])
    )
    mentions, skipped, _, _ = drain(connector(local_server))
    assert sorted(m.external_id for m in mentions) == ["csat:9001", "ticket:1"]
    assert [s.where for s in skipped] == ["ticket 2", "ticket x", "csat: item 2"]


def test_refused_credentials_fail_the_run_without_printing_them(local_server):
    local_server.add(EXPORT, Export([ticket(1)]))
    local_server.add(RATINGS, Ratings([rating(1)]))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, api_token="wrong-token"))
    message = str(info.value)
    assert "HTTP 401" in message and "check email and api_token" in message
    assert "wrong-token" not in message and len(local_server.requests) == 1  # csat not tried


def test_rate_limit_waits_for_retry_after(local_server):
    waits: list[float] = []
    local_server.add(
        EXPORT, Reply(429, "Too Many Requests", {"Retry-After": "7"}), Export([ticket(1)])
    )
    mentions, _, _, _ = drain(connector(local_server, sleep=waits.append, include=["tickets"]))
    assert waits == [7.0] and [m.external_id for m in mentions] == ["ticket:1"]


def test_a_long_retry_after_ends_the_run_with_when_to_retry(local_server):
    local_server.add(EXPORT, Reply(429, "", {"Retry-After": "600"}))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, include=["tickets"]))
    assert info.value.retry_after == 600


def test_csat_turned_off_skips_only_csat(local_server):
    local_server.add(EXPORT, Export([ticket(1)]))
    local_server.add(RATINGS, Reply.json({"error": "Forbidden"}, 403))
    mentions, skipped, _, _ = drain(connector(local_server))
    assert [m.external_id for m in mentions] == ["ticket:1"]
    assert skipped[0].where == "csat" and "403" in skipped[0].reason


def test_backfill_reads_from_backfill_days_whatever_the_cursor(local_server):
    local_server.add(EXPORT, Export([ticket(1)]))
    _, _, cursor, _ = drain(connector(local_server, include=["tickets"]))
    drain(connector(local_server, include=["tickets"], backfill_days=30), cursor, backfill=True)
    start = int(local_server.requests[-1].query["start_time"])
    assert abs(start - (datetime.now(UTC) - timedelta(days=30)).timestamp()) < 60


def test_a_first_run_reads_first_run_days(local_server):
    local_server.add(EXPORT, Export([ticket(1)]))
    drain(connector(local_server, include=["tickets"], first_run_days=3))
    start = int(local_server.requests[0].query["start_time"])
    assert abs(start - (datetime.now(UTC) - timedelta(days=3)).timestamp()) < 60


CONFIG = """
[[connectors]]
name = "helpdesk"
type = "zendesk"
subdomain = "acme"
email = "${ZENDESK_EMAIL}"
api_token = "${ZENDESK_API_TOKEN}"
base_url = "URL"
"""


def test_fetch_from_config_twice_adds_nothing_and_never_logs_the_token(
    write_config, monkeypatch, caplog
):
    from click.testing import CliRunner
    from stubs import KeywordClassifier

    from sentimon.app import App
    from sentimon.cli import cli

    monkeypatch.setattr(App, "classifier", lambda self: KeywordClassifier())
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    with LocalServer() as server:
        server.add(EXPORT, Export([ticket(1), ticket(2)]))
        server.add(RATINGS, Ratings([rating(1)]))
        config = write_config(CONFIG.replace("URL", server.url))
        run = lambda: CliRunner().invoke(
            cli, ["--config", str(config), "fetch"], catch_exceptions=False
        )
        monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
        first, again = run(), run()
        monkeypatch.setenv("ZENDESK_API_TOKEN", "another-secret-token")
        refused = run()
    assert "helpdesk: fetched 3, new 3" in first.output and "new 0" in again.output
    assert refused.exit_code == 1 and "check email and api_token" in refused.output
    for text in (first.output, again.output, refused.output, caplog.text):
        assert TOKEN not in text and "another-secret-token" not in text
