"""Hacker News through a local stand-in for Algolia's search_by_date API."""

from __future__ import annotations

import json
import re

import pytest

from connectors.hackernews import HackerNewsConnector
from connectors.http import HttpClient
from fakes.hackernews import NOW, algolia, comment, story
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError
from sentimon.settings import validate
from connector_runs import drain


def make(server: LocalServer, **options) -> HackerNewsConnector:
    values = validate(
        {"query": "acme", "base_url": server.url, **options}, HackerNewsConnector.settings, "c"
    )
    return HackerNewsConnector("hn", values, http=HttpClient("hn", sleep=lambda s: None))


run = drain


def test_stories_and_comments(local_server):
    local_server.add(
        "/api/v1/search_by_date",
        algolia(
            [
                story(10, 300, text="<p>Ask HN: is <a href='x'>Acme</a> any good?</p>"),
                comment(11, 200),
            ]
        ),
    )
    mentions, skipped, _, _ = run(make(local_server))
    assert skipped == []
    by_id = {m.external_id: m for m in mentions}
    assert by_id["11"].kind == "comment" and by_id["11"].text == "Their support is slow & rude"
    assert by_id["11"].extra["story_title"] == "Acme Shoes launches"
    assert by_id["10"].kind == "story" and by_id["10"].text == "Ask HN: is Acme any good?"
    assert (
        by_id["10"].url == "https://news.ycombinator.com/item?id=10"
        and by_id["10"].extra["link"] == "https://acme.example/blog"
    )
    query = local_server.requests[0].query
    assert (query["query"], query["tags"]) == ("acme", "(story,comment)")
    assert re.fullmatch(r"created_at_i>\d+", query["numericFilters"])


def test_link_story_without_text_uses_its_title(local_server):
    local_server.add("/api/v1/search_by_date", algolia([story(10, 60)]))
    (mention,), _, _, _ = run(make(local_server, include=["stories"]))
    assert mention.text == mention.title == "Acme Shoes launches returns portal"
    assert local_server.requests[0].query["tags"] == "story"


def test_incremental_by_creation_time(local_server):
    hits = [story(10, 3000), comment(11, 2000)]
    local_server.add("/api/v1/search_by_date", algolia(hits))
    _, _, cursor, _ = run(make(local_server))
    newest = json.loads(cursor)["mark"]["newest"]
    assert newest == NOW - 2000
    assert run(make(local_server), cursor)[0] == []
    hits.append(comment(12, 100))
    mentions, _, _, _ = run(make(local_server), cursor)
    assert [m.external_id for m in mentions] == ["12"]
    assert local_server.requests[-1].query["numericFilters"] == f"created_at_i>{int(newest - 600)}"


def test_a_late_indexed_item_inside_the_overlap_is_still_found(local_server):
    hits = [comment(11, 100)]
    local_server.add("/api/v1/search_by_date", algolia(hits))
    _, _, cursor, _ = run(make(local_server))
    hits.append(comment(12, 160))  # created before the newest seen, indexed after the last run
    assert [m.external_id for m in run(make(local_server), cursor)[0]] == ["12"]


def test_more_than_a_page_walks_back_in_time(local_server):
    hits = [comment(1000 + i, 10 * i + 5) for i in range(250)]
    local_server.add("/api/v1/search_by_date", algolia(hits))
    mentions, _, _, batches = run(make(local_server))
    assert len({m.external_id for m in mentions}) == 250 and batches == 1
    assert (
        len(local_server.requests) == 3
        and "created_at_i<" in local_server.requests[1].query["numericFilters"]
    )


def test_backfill_goes_further_back_and_reports_progress(local_server):
    old = 30 * 86400
    hits = [story(1, old), *[comment(100 + i, 60 + i) for i in range(150)]]
    local_server.add("/api/v1/search_by_date", algolia(hits))
    first, _, _, _ = run(make(local_server))
    assert "1" not in {m.external_id for m in first}  # a first run looks back 7 days
    mentions, _, _, batches = run(make(local_server), backfill=True)
    assert "1" in {m.external_id for m in mentions} and batches >= 2


def test_malformed_hits_are_skipped(local_server):
    bad = [
        {"objectID": "5"},
        "junk",
        {"objectID": "6", "created_at_i": NOW - 50, "comment_text": "", "_tags": ["comment"]},
        {"objectID": "7", "created_at_i": 10**20, "comment_text": "from the far future"},
    ]
    local_server.add("/api/v1/search_by_date", algolia([comment(11, 100), *bad]))
    mentions, skipped, cursor, _ = run(make(local_server))
    assert [m.external_id for m in mentions] == ["11"] and len(skipped) == 4
    assert json.loads(cursor)["mark"]["newest"] == NOW - 50  # a bogus time never moves it


def test_api_down_is_one_line(local_server):
    local_server.add("/api/v1/search_by_date", Reply(503))
    with pytest.raises(
        ConnectorError,
        match=r"hn: GET .*/api/v1/search_by_date failed: HTTP 503 .*after 4 attempts",
    ):
        run(make(local_server))
