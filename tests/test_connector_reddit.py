"""Reddit through real praw, against a local server replaying PRAW's recorded Reddit traffic."""

from __future__ import annotations

import json

import pytest

from connectors.incremental import SourceDown
from connectors.reddit import RedditConnector
from fakes.reddit import cassette, listing_body
from localserver import LocalServer, Reply, cassette_routes
from sentimon.errors import ConnectorError
from sentimon.settings import validate
from connector_runs import drain

TOKEN = "TestAuthScript.test_scopes.json"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """prawcore sleeps between retries and for rate limits; tests must never wait."""
    waits: list[float] = []
    monkeypatch.setattr("prawcore.sessions.time.sleep", waits.append)
    return waits


def serve(server: LocalServer, *names: str) -> None:
    for name in (TOKEN, *names):
        for method, path, query, reply in cassette_routes(cassette(name)):
            server.add(path, reply, method=method, query=query)


def make(server: LocalServer, **options) -> RedditConnector:
    values = {
        "client_id": "cid",
        "client_secret": "csecret",
        "user_agent": "sentimon-tests (by /u/acme_cx)",
        "reddit_url": server.url,
        "oauth_url": server.url,
        **options,
    }
    return RedditConnector("reddit", validate(values, RedditConnector.settings, "connectors[0]"))


run = drain


def test_search_and_subreddit_listings_through_praw(local_server):
    serve(
        local_server,
        "TestSubreddit.test_search.json",
        "TestSubredditListings.test_new.json",
        "TestSubredditListings.test_comments.json",
    )
    mentions, skipped, cursor, _ = run(
        make(local_server, query='"praw oauth"', subreddits=["askreddit"])
    )
    kinds = [m.kind for m in mentions]
    assert (kinds.count("submission"), kinds.count("comment"), skipped) == (106, 100, [])
    token, search = local_server.requests[0], local_server.requests[1]
    assert token.method == "POST" and token.path == "/api/v1/access_token"
    assert b"grant_type=client_credentials" in token.body and token.header(
        "Authorization"
    ).startswith("Basic ")
    assert (search.path, search.query["q"], search.query["sort"]) == (
        "/r/all/search/",
        '"praw oauth"',
        "new",
    )
    assert "via sentimon/" in search.header("User-Agent")
    comment = next(m for m in mentions if m.kind == "comment")
    assert comment.external_id.startswith("t1_") and comment.created_at.tzinfo is not None
    assert set(comment.extra) >= {"subreddit", "score", "permalink"}
    assert comment.url.startswith("https://www.reddit.com/r/AskReddit/comments/")
    post = next(
        m for m in mentions if m.kind == "submission" and m.extra["subreddit"] == "AskReddit"
    )
    assert post.title and post.text and post.author
    assert set(json.loads(cursor)) == {"search", "r/askreddit/new", "r/askreddit/comments"}


def test_include_limits_what_subreddits_give(local_server):
    serve(local_server, "TestSubredditListings.test_comments.json")
    mentions, _, _, _ = run(make(local_server, subreddits="r/askreddit", include=["comments"]))
    assert {m.kind for m in mentions} == {"comment"}
    assert [r.path for r in local_server.requests] == [
        "/api/v1/access_token",
        "/r/askreddit/comments/",
    ]


def test_second_run_stops_at_the_watermark_with_one_request(local_server):
    serve(local_server, "TestSubredditStreams.test_submissions.json")
    options = {
        "subreddits": ["all"],
        "include": ["submissions"],
        "overlap": "2s",
    }  # r/all: 100 posts in 28s
    first, _, cursor, _ = run(make(local_server, **options))
    assert len(first) == 100
    local_server.requests.clear()
    again, _, cursor2, _ = run(make(local_server, **options), cursor)
    assert again == [] and cursor2 == cursor
    assert [r.path for r in local_server.requests][-1] == "/r/all/new"
    assert sum(r.path == "/r/all/new" for r in local_server.requests) == 1


def test_newer_items_and_overlap(local_server):
    page = listing_body("TestSubredditStreams.test_submissions.json")
    children = page["data"]["children"]
    local_server.add(
        "/api/v1/access_token",
        Reply.json({"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}),
        method="POST",
    )
    local_server.add(
        "/r/acme/new",
        Reply.json(
            {"kind": "Listing", "data": {**page["data"], "children": children[50:], "after": None}}
        ),
    )
    _, _, cursor, _ = run(make(local_server, subreddits=["acme"], include=["submissions"]))
    # Next poll: 5 newer posts on top, plus the old page; the overlap re-reads recent ones by id.
    local_server.add(
        "/r/acme/new",
        Reply.json(
            {"kind": "Listing", "data": {**page["data"], "children": children[45:], "after": None}}
        ),
    )
    newer, _, _, _ = run(make(local_server, subreddits=["acme"], include=["submissions"]), cursor)
    assert [m.external_id for m in newer] == [c["data"]["name"] for c in children[45:50]]


def test_first_run_limit_and_backfill_paging(local_server):
    serve(local_server, "TestSubredditListings.test_new.json")
    few, _, _, _ = run(
        make(local_server, subreddits=["askreddit"], include=["submissions"], first_run_limit=10)
    )
    assert len(few) == 10 and local_server.requests[-1].query["limit"] == "10"
    after = listing_body("TestSubredditListings.test_new.json")["data"]["after"]
    local_server.add(
        "/r/askreddit/new",
        Reply.json({"kind": "Listing", "data": {"children": [], "after": None}}),
        query={"after": after},
    )
    local_server.requests.clear()
    mentions, _, _, batches = run(
        make(local_server, subreddits=["askreddit"], include=["submissions"]), backfill=True
    )
    assert len(mentions) == 100 and batches == 2  # a progress batch per 100, then the end
    assert local_server.requests[-1].query.get("after") == after


def test_malformed_items_are_skipped_with_a_reason(local_server):
    page = listing_body("TestSubredditListings.test_new.json")
    children = page["data"]["children"][:3]
    del children[0]["data"]["created_utc"]
    children[1]["data"]["selftext"], children[1]["data"]["title"] = "[removed]", ""
    local_server.add(
        "/api/v1/access_token",
        Reply.json({"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}),
        method="POST",
    )
    local_server.add(
        "/r/acme/new",
        Reply.json({"kind": "Listing", "data": {"children": children, "after": None}}),
    )
    mentions, skipped, _, _ = run(make(local_server, subreddits=["acme"], include=["submissions"]))
    assert len(mentions) == 1
    assert [s.reason for s in skipped] == ["no id or created_utc", "deleted, removed or empty"]


def token_ok(server: LocalServer) -> None:
    serve(server)


@pytest.mark.parametrize(
    "status, error, message",
    [
        (403, ConnectorError, "access denied (HTTP 403)"),
        (404, ConnectorError, "not found (HTTP 404)"),
        (500, SourceDown, "Reddit is failing (HTTP 500)"),
    ],
)
def test_listing_errors_are_one_line(local_server, no_waiting, status, error, message):
    token_ok(local_server)
    local_server.add("/r/acme/new", Reply.json({"message": "x", "error": status}, status=status))
    with pytest.raises(error) as caught:
        run(make(local_server, subreddits=["acme"], include=["submissions"]))
    assert message in str(caught.value)
    assert str(caught.value).startswith("reddit: Reddit r/acme: ") and "\n" not in str(caught.value)
    if status == 500:
        assert len(no_waiting) == 2  # prawcore's own retries, with its sleep patched out


def test_one_unknown_subreddit_does_not_hide_the_others(local_server):
    serve(local_server, "TestSubredditListings.test_new.json")
    local_server.add(
        "/r/nosuchsub/new", Reply(302, headers={"Location": "/subreddits/search?q=nosuchsub"})
    )
    mentions, skipped, _, _ = run(
        make(local_server, subreddits=["nosuchsub", "askreddit"], include=["submissions"])
    )
    assert len(mentions) == 100
    assert [s.where for s in skipped] == ["r/nosuchsub"] and "does not exist" in skipped[0].reason


def test_bad_credentials(local_server):
    local_server.add(
        "/api/v1/access_token",
        Reply.json({"message": "Unauthorized", "error": 401}, status=401),
        method="POST",
    )
    with pytest.raises(SourceDown, match="credentials rejected|OAuth refused"):
        run(make(local_server, query="acme", subreddits=["a", "b"]))
    assert len([r for r in local_server.requests if r.path == "/api/v1/access_token"]) == 1


def test_rate_limited_says_when_to_come_back(local_server):
    token_ok(local_server)
    local_server.add("/r/all/search", Reply.json({}, status=429, headers={"Retry-After": "42"}))
    with pytest.raises(SourceDown, match=r"rate limited \(HTTP 429\); retry in 42s") as caught:
        run(make(local_server, query="acme"))
    assert caught.value.retry_after == 42


def test_unreachable_reddit(no_waiting):
    with LocalServer() as gone:
        url = gone.url
    connector = RedditConnector(
        "reddit",
        validate(
            {
                "client_id": "a",
                "client_secret": "b",
                "user_agent": "tests by /u/x",
                "query": "acme",
                "reddit_url": url,
                "oauth_url": url,
            },
            RedditConnector.settings,
            "c",
        ),
    )
    with pytest.raises(SourceDown, match="cannot reach Reddit"):
        run(connector)


def test_query_or_subreddits_is_required():
    from sentimon.errors import ConfigError

    with pytest.raises(ConfigError, match="set `query`, `subreddits` or both"):
        RedditConnector(
            "r",
            validate(
                {"client_id": "a", "client_secret": "b", "user_agent": "c"},
                RedditConnector.settings,
                "c",
            ),
        )


def test_credentials_are_secret_settings():
    secret = {s.name for s in RedditConnector.settings if s.secret}
    assert secret == {"client_id", "client_secret"}


def test_timeouts_are_one_line():
    import prawcore
    import requests

    from connectors.reddit import _translate

    timeout = prawcore.exceptions.RequestException(
        requests.exceptions.ReadTimeout(
            "HTTPSConnectionPool(host='oauth.reddit.com'): Read timed out."
        ),
        (),
        {},
    )
    error = _translate(timeout, "reddit: Reddit search")
    assert isinstance(error, SourceDown)
    assert str(error) == "reddit: Reddit search: cannot reach Reddit (Read timed out.)"
