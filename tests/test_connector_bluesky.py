"""Bluesky connector against a local XRPC server.

Payload shapes come from the lexicons in github.com/bluesky-social/atproto:
``lexicons/app/bsky/feed/searchPosts.json`` (params q/sort/since/limit/cursor; output
``{cursor?, hitsTotal?, posts: [app.bsky.feed.defs#postView]}``), ``app/bsky/feed/defs.json``
(postView: uri, cid, author {did, handle, displayName}, record, indexedAt, like/repost/reply
counts), ``app/bsky/feed/post.json`` (record: $type, text, createdAt, langs, reply) and
``com/atproto/server/createSession.json`` (input identifier/password; output accessJwt,
refreshJwt, handle, did). XRPC errors are ``{"error": NAME, "message": TEXT}``; an expired
access token answers 400 ``ExpiredToken``; rate limits answer 429 with RateLimit-* headers.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from connectors.bluesky import BlueskyConnector
from connectors.http import HttpClient
from fakes.bluesky import LOGIN, PASSWORD, SEARCH, Search, post, session
from connector_runs import drain
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError
from sentimon.settings import validate

REFRESH = "/xrpc/com.atproto.server.refreshSession"


def connector(server: LocalServer, **options: Any) -> BlueskyConnector:
    values = validate(
        {"query": "acme", "handle": "acme.bsky.social", "app_password": PASSWORD,
         "service": server.url, **options},
        BlueskyConnector.settings, "bluesky",
    )
    return BlueskyConnector("bluesky", values, http=HttpClient("bluesky", sleep=lambda s: None, retries=1))


def test_logs_in_with_the_app_password_and_reads_posts(local_server):
    local_server.add(LOGIN, session(), method="POST")
    local_server.add(SEARCH, Search([post(1), post(2, "Love my Acme boots", reply={"root": {}, "parent": {}})]))
    mentions, skipped, cursor, _ = drain(connector(local_server))
    login = local_server.requests[0]
    assert json.loads(login.body) == {"identifier": "acme.bsky.social", "password": PASSWORD}
    assert [m.kind for m in mentions] == ["reply", "post"] and not skipped
    first = mentions[1]
    assert first.url == "https://bsky.app/profile/user1.bsky.social/post/3k00001"
    assert first.extra["reply_url"] == first.url and first.lang == "en" and first.author == "user1.bsky.social"
    assert local_server.requests[1].query["sort"] == "latest"


def test_pages_through_results_and_resumes_with_since(local_server):
    local_server.add(LOGIN, session(), method="POST")
    posts = [post(n) for n in range(1, 251)]
    local_server.add(SEARCH, Search(posts))
    mentions, _, cursor, _ = drain(connector(local_server, first_run_limit=250))
    assert len(mentions) == 250 and len({m.external_id for m in mentions}) == 250
    assert [r.query.get("cursor") for r in local_server.requests if r.path == SEARCH] == [None, "100", "200"]
    posts.append(post(300, "Acme refund finally came"))
    again, _, _, _ = drain(connector(local_server), cursor)
    assert [m.external_id for m in again] == [post(300)["uri"]]
    assert "since" in local_server.requests[-1].query
    assert sum(r.path == LOGIN for r in local_server.requests) == 1  # the session is reused


def test_an_empty_search_is_a_quiet_run(local_server):
    local_server.add(LOGIN, session(), method="POST")
    local_server.add(SEARCH, Reply.json({"posts": []}))
    mentions, skipped, cursor, batches = drain(connector(local_server))
    assert (mentions, skipped, batches) == ([], [], 1) and cursor


def test_a_malformed_post_is_skipped_and_the_rest_kept(local_server):
    local_server.add(LOGIN, session(), method="POST")
    broken = post(2)
    broken["record"] = {"$type": "app.bsky.feed.post", "text": 42, "createdAt": broken["record"]["createdAt"]}
    local_server.add(SEARCH, Search([post(1), broken, {"cid": "no-uri"}]))
    mentions, skipped, _, _ = drain(connector(local_server))
    assert [m.external_id for m in mentions] == [post(1)["uri"]]
    assert len(skipped) == 2 and any("record.text" in s.reason for s in skipped)


def test_a_refused_login_fails_the_run_without_the_password(local_server):
    local_server.add(LOGIN, Reply.json({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}, 401), method="POST")
    with pytest.raises(ConnectorError) as info:
        drain(connector(local_server))
    assert "AuthenticationRequired" in str(info.value) and "app_password" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_an_expired_token_is_refreshed_once(local_server):
    local_server.add(LOGIN, session(1), method="POST")
    local_server.add(REFRESH, session(2), method="POST")
    search = Search([post(1)])
    local_server.add(SEARCH, search)
    drain(connector(local_server))
    search.token = "access-2"  # the server expired the first access token
    mentions, _, _, _ = drain(connector(local_server))
    refresh = [r for r in local_server.requests if r.path == REFRESH]
    assert len(refresh) == 1 and refresh[0].header("Authorization") == "Bearer refresh-1"
    assert [r.path for r in local_server.requests].count(LOGIN) == 1 and len(mentions) == 1


def test_rate_limit_honours_retry_after_then_gives_up_with_it(local_server):
    waits: list[float] = []
    local_server.add(LOGIN, session(), method="POST")
    local_server.add(SEARCH, Reply(429, "", {"Retry-After": "7"}))
    values = validate({"query": "acme", "handle": "h", "app_password": "p", "service": local_server.url},
                      BlueskyConnector.settings, "b")
    conn = BlueskyConnector("bluesky", values, http=HttpClient("bluesky", sleep=waits.append, retries=1))
    with pytest.raises(ConnectorError) as info:
        drain(conn)
    assert waits == [7.0] and info.value.retry_after == 7.0 and "429" in str(info.value)


def test_rate_limit_reset_header_is_honoured_without_retry_after(local_server):
    waits: list[float] = []
    before = datetime.now(timezone.utc).timestamp()
    reset = int(before) + 30
    local_server.add(LOGIN, session(), method="POST")
    local_server.add(SEARCH, Reply(429, "", {"RateLimit-Reset": str(reset)}), Search([post(1)]))
    values = validate({"query": "acme", "handle": "h", "app_password": "p", "service": local_server.url},
                      BlueskyConnector.settings, "b")
    conn = BlueskyConnector("bluesky", values, http=HttpClient("bluesky", sleep=waits.append, retries=2))
    mentions, _, _, _ = drain(conn)
    # until the reset, counted from when the 429 came (bracketed by the clock, not a fixed slack)
    after = datetime.now(timezone.utc).timestamp()
    assert len(mentions) == 1 and len(waits) == 1 and reset - after <= waits[0] <= reset - before
