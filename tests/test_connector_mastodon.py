"""Mastodon connector against a local server.

Shapes from the Mastodon API documentation (docs.joinmastodon.org): ``methods/search``
(GET /api/v2/search: q, type=statuses, resolve, limit <= 40, min_id, max_id; answer
``{"accounts": [], "statuses": [Status], "hashtags": []}``), ``methods/timelines``
(GET /api/v1/timelines/tag/:hashtag: a JSON array of Status, newest first, min_id/max_id/limit),
``entities/Status`` (id as a numeric string, created_at, content HTML, spoiler_text, url, uri,
language, in_reply_to_id, reblog, account {acct}, replies/reblogs/favourites_count), errors as
``{"error": TEXT}`` (401 for a bad token) and 429 with X-RateLimit-Reset (an ISO 8601 time).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from connectors.http import HttpClient, rate_limit_reset
from connectors.mastodon import MastodonConnector
from fakes.mastodon import TAG, Timeline, status
from connector_runs import drain
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError
from sentimon.settings import validate

SEARCH = "/api/v2/search"


def connector(server: LocalServer, **options: Any) -> MastodonConnector:
    values = validate({"server": server.url, "hashtags": ["#acmeshoes"], **options},
                      MastodonConnector.settings, "mastodon")
    return MastodonConnector("mastodon", values, http=HttpClient("mastodon", sleep=lambda s: None, retries=1))


def test_reads_a_tag_timeline_as_plain_text(local_server):
    local_server.add(TAG, Timeline([status(1), status(2, in_reply_to_id="5", spoiler_text="CW: rant")]))
    mentions, skipped, cursor, _ = drain(connector(local_server))
    assert not skipped and [m.kind for m in mentions] == ["reply", "post"]
    first = mentions[1]
    assert first.text == "My Acme shoes fell apart #acmeshoes" and first.author == "u1@example.social"
    assert first.url == first.extra["reply_url"] == "https://example.social/@u1/1"
    assert mentions[0].title == "CW: rant" and first.lang == "en"
    assert "Authorization" not in local_server.requests[0].headers  # no token, none sent


def test_pages_forward_from_the_cursor_one_batch_per_page(local_server):
    statuses = [status(n) for n in range(1, 4)]
    local_server.add(TAG, Timeline(statuses))
    _, _, cursor, _ = drain(connector(local_server))
    statuses += [status(n) for n in range(10, 95)]  # 85 new: three pages of 40
    mentions, _, cursor, batches = drain(connector(local_server), cursor)
    assert len(mentions) == 85 and batches == 3
    assert [r.query.get("min_id") for r in local_server.requests[1:]] == [
        status(3)["id"], status(49)["id"], status(89)["id"]]
    again, _, _, _ = drain(connector(local_server), cursor)
    assert again == []  # an empty page: nothing new, and the run is quiet


def test_search_sends_the_token_and_reads_statuses(local_server):
    local_server.add(SEARCH, Timeline([status(1)], wrap=True))
    mentions, _, _, _ = drain(connector(local_server, hashtags=[], query="acme", token="secret-token"))
    request = local_server.requests[0]
    assert request.header("Authorization") == "Bearer secret-token"
    assert (request.query["q"], request.query["type"]) == ("acme", "statuses") and len(mentions) == 1


def test_backfill_walks_back_with_max_id(local_server):
    local_server.add(TAG, Timeline([status(n) for n in range(1, 101)]))
    mentions, _, _, batches = drain(connector(local_server, backfill_pages=5), backfill=True)
    assert len(mentions) == 100 and batches == 4  # 40 + 40 + 20, then an empty page


def test_a_malformed_status_is_skipped(local_server):
    local_server.add(TAG, Timeline([status(1), status(2, content=None), {"id": None}]))
    mentions, skipped, _, _ = drain(connector(local_server))
    assert [m.external_id for m in mentions] == [status(1)["id"]] and len(skipped) == 2


def test_a_bad_token_fails_the_run(local_server):
    local_server.add(TAG, Reply.json({"error": "The access token is invalid"}, 401))
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server, token="wrong-token"))
    assert "401" in str(info.value) and "check the token" in str(info.value)
    assert "wrong-token" not in str(info.value)


def test_rate_limit_honours_retry_after(local_server):
    waits: list[float] = []
    local_server.add(TAG, Reply(429, "", {"Retry-After": "3"}), Timeline([status(1)]))
    values = validate({"server": local_server.url, "hashtags": ["acmeshoes"]}, MastodonConnector.settings, "m")
    conn = MastodonConnector("m", values, http=HttpClient("m", sleep=waits.append, retries=2))
    mentions, _, _, _ = drain(conn)
    assert waits == [3.0] and len(mentions) == 1


def test_mastodons_iso_rate_limit_reset_is_read():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    headers = {"X-RateLimit-Reset": "2026-12-01T12:04:00.000Z"}
    assert rate_limit_reset(headers, now=now.timestamp()) == 240.0
    assert rate_limit_reset({"X-RateLimit-Reset": "soon"}) is None
    assert rate_limit_reset({"RateLimit-Reset": "inf"}) is None
