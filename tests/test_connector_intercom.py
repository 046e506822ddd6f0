"""Intercom connector against a local server standing in for api.intercom.io.

Shapes from Intercom's OpenAPI description (github.com/intercom/Intercom-OpenAPI,
descriptions/2.11/api.intercom.io.yaml): ``POST /conversations/search`` with ``{"query":
{"operator": "AND", "value": [{"field": "updated_at", "operator": ">", "value": EPOCH}, ...]},
"pagination": {"per_page" <= 150, "starting_after"}}``, header ``Intercom-Version``; answer
``{"type": "conversation.list", "pages": {"type": "pages", "page", "per_page", "total_pages",
"next": {"page", "starting_after"}}, "total_count", "conversations": [...]}``; a conversation
has id (digits, as a string), created_at, updated_at (epoch), state, source {type,
delivered_as, subject, body (HTML), author {type user|lead|admin|bot, id, name, email}},
tags {tags: [{name}]}, conversation_rating {rating 1-5, remark, created_at, contact,
teammate}; errors ``{"type": "error.list", "errors": [{"code": "unauthorized", "message"}]}``.
The server below answers without a defined order, as the search documents none.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fakes.intercom import BASE, PATH, Search, TOKEN, conversation
from connector_runs import drain
from localserver import LocalServer, Reply

from connectors.http import HttpClient
from connectors.intercom import IntercomConnector
from sentimon.errors import ConnectorError
from sentimon.settings import validate


def connector(server: LocalServer, **options: Any) -> IntercomConnector:
    values = validate({"access_token": TOKEN, "base_url": server.url, **options}, IntercomConnector.settings, "intercom")
    return IntercomConnector("intercom", values, http=HttpClient("intercom", sleep=lambda s: None, retries=1))


def test_reads_customer_conversations_and_rating_remarks(local_server):
    items = [conversation(1, remark="Took three days to answer", rating=2),
             conversation(2, "<p>Buy our new range!</p>", author="admin"),
             conversation(3, "<p>Where is my <b>refund</b>?</p>")]
    local_server.add(PATH, Search(items), method="POST")
    mentions, skipped, _, _ = drain(connector(local_server, workspace_id="abc123de"))
    assert not skipped
    by_id = {m.external_id: m for m in mentions}
    assert sorted(by_id) == ["conversation:1001", "conversation:1003", "csat:1001"]  # the outbound one is ours
    opening = by_id["conversation:1003"]
    assert opening.text == "Where is my refund?" and opening.kind == "conversation" and opening.author is None
    assert opening.extra["reply_url"] == opening.url == "https://app.intercom.com/a/apps/abc123de/conversations/1003"
    assert opening.extra["tags"] == ["shipping"] and opening.extra["channel"] == "conversation"
    csat = by_id["csat:1001"]
    assert (csat.kind, csat.rating, csat.text) == ("csat", 2, "Took three days to answer")


def test_pages_within_windows_then_resumes_without_repeats(local_server):
    items = [conversation(n) for n in range(1, 321)]
    api = Search(items)
    local_server.add(PATH, api, method="POST")
    mentions, _, cursor, batches = drain(connector(local_server))
    assert len(mentions) == 320 == len({m.external_id for m in mentions})
    assert [b["pagination"].get("starting_after") for b in api.bodies] == [None, "p150", "p300"]
    assert batches == 4  # three pages, then the window's end as the new cursor
    api.bodies.clear()
    items.append(conversation(900, "<p>Acme charged me twice</p>", updated=int(time.time()) - 120))
    items[0]["updated_at"] = int(time.time()) - 100  # a reply to an old one: listed again, stored once
    again, _, _, _ = drain(connector(local_server), cursor)
    assert [m.external_id for m in again if m.external_id != "conversation:1001"] == ["conversation:1900"]
    assert len(api.bodies) == 1 and api.bodies[0]["query"]["value"][0]["value"] >= int(time.time()) - 3 * 86400


def test_the_cursor_moves_only_when_a_window_is_read_whole(local_server):
    items = [conversation(n) for n in range(1, 200)]
    local_server.add(PATH, Search(items), method="POST")
    batches = connector(local_server).fetch(None)
    first = next(batches)
    assert len(first.mentions) == 150 and json.loads(first.cursor) == {}  # not past the unread page
    rest = list(batches)
    assert json.loads(rest[-1].cursor)["updated"] >= int(time.time()) - 120


def test_backfill_reads_older_windows(local_server):
    old = conversation(1, updated=int(time.time()) - 40 * 86400)
    api = Search([old, conversation(2)])
    local_server.add(PATH, api, method="POST")
    first, _, _, _ = drain(connector(local_server))
    assert [m.external_id for m in first] == ["conversation:1002"]
    back, _, _, _ = drain(connector(local_server, backfill_days=60), None, backfill=True)
    assert {m.external_id for m in back} == {"conversation:1001", "conversation:1002"}


def test_an_empty_inbox_and_a_malformed_conversation(local_server):
    local_server.add(PATH, Search([]), method="POST")
    mentions, skipped, cursor, _ = drain(connector(local_server))
    assert (mentions, skipped) == ([], []) and json.loads(cursor)["updated"]
    local_server.add(PATH, Search([conversation(1), {"id": "x", "updated_at": BASE}, conversation(2, "")]), method="POST")
    mentions, skipped, _, _ = drain(connector(local_server))
    assert len(mentions) == 1 and len(skipped) == 2


def test_a_refused_token_is_one_line_without_it(local_server):
    local_server.add(PATH, Search([conversation(1)]), method="POST")
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, access_token="wrong-token"))
    message = str(info.value)
    assert "HTTP 401 unauthorized" in message and "check access_token" in message and "\n" not in message
    assert "wrong-token" not in message


def test_rate_limit_waits_for_the_reset(local_server):
    waits: list[float] = []
    api = Search([conversation(1)])
    before = time.time()
    reset = int(before) + 10
    local_server.add(PATH, Reply(429, "", {"X-RateLimit-Reset": str(reset)}), api, method="POST")
    values = validate({"access_token": TOKEN, "base_url": local_server.url}, IntercomConnector.settings, "i")
    mentions, _, _, _ = drain(IntercomConnector("i", values, http=HttpClient("i", sleep=waits.append, retries=2)))
    # until the reset, counted from when the 429 came (bracketed by the clock, not a fixed slack)
    after = time.time()
    assert len(mentions) == 1 and len(waits) == 1 and reset - after <= waits[0] <= reset - before
    local_server.add(PATH, Reply(429, "", {"Retry-After": "30"}), method="POST")
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server))
    assert info.value.retry_after == 30.0


def test_a_body_that_is_not_json_is_one_line(local_server):
    local_server.add(PATH, Reply(200, "<html>Bad gateway</html>", {"Content-Type": "text/html"}), method="POST")
    with pytest.raises(ConnectorError, match=r"^intercom: conversations: the answer is not JSON$"):
        drain(connector(local_server))
