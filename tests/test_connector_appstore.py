"""App Store reviews from a local server serving Apple's real customer-reviews JSON."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from conftest import shared_path
from connectors.appstore import AppStoreConnector
from connectors.http import HttpClient
from fakes.appstore import APP, page_path, review
from localserver import LocalServer, Reply
from sentimon.errors import ConfigError, ConnectorError
from sentimon.settings import validate
from connector_runs import drain

APP_INFO = {
    "im:name": {"label": "Webster Bank"},
    "id": {"label": "https://apps.apple.com/app/id1321994487"},
    "im:artist": {"label": "Webster Bank"},
}


def real_page() -> dict:
    path = shared_path(
        "fixtures", "appstore", "customerreviews_us_id1321994487_mostrecent_page1.json"
    )
    return json.loads(path.read_text(encoding="utf-8"))


def serve_pages(server: LocalServer, country: str, *pages: dict) -> None:
    """Pages 1..n as given; every later page is an empty feed, as Apple answers."""
    for n in range(1, 11):
        body = pages[n - 1] if n <= len(pages) else {"feed": {"id": {"label": "x"}}}
        server.add(page_path(country, n), Reply.json(body))


def make(server: LocalServer, **options) -> AppStoreConnector:
    values = validate(
        {"app_id": APP, "base_url": server.url, **options}, AppStoreConnector.settings, "c"
    )
    return AppStoreConnector("appstore", values, http=HttpClient("appstore", sleep=lambda s: None))


def run(connector, cursor=None, backfill=False):
    return drain(connector, cursor, backfill)[:3]


def test_real_feed_page(local_server):
    serve_pages(local_server, "us", real_page())
    mentions, skipped, cursor = run(make(local_server))
    assert len(mentions) == 50 and skipped == []
    assert Counter(m.rating for m in mentions) == {5: 20, 4: 7, 3: 3, 2: 9, 1: 11}
    first = mentions[0]
    assert (first.external_id, first.kind, first.extra["version"], first.extra["country"]) == (
        "7175647643",
        "review",
        "8.0.9",
        "us",
    )
    assert first.title.startswith("Mobile app cannot recognize") and first.author == "WB-SBB"
    assert first.created_at.tzinfo is not None and first.url.startswith("https://")
    assert local_server.paths()[:2] == [page_path("us", 1), page_path("us", 2)]
    assert json.loads(cursor)["us"][0] == "7175647643"


def test_stops_at_the_last_seen_review(local_server):
    page = real_page()
    serve_pages(local_server, "us", page)
    _, _, cursor = run(make(local_server))
    newer = copy.deepcopy(page)
    newer["feed"]["entry"] = [review("7200000002"), review("7200000001")] + page["feed"]["entry"][
        :48
    ]
    local_server.clear()
    serve_pages(local_server, "us", newer, page)
    mentions, _, cursor2 = run(make(local_server), cursor)
    assert [m.external_id for m in mentions] == ["7200000002", "7200000001"]
    assert local_server.paths() == [page_path("us", 1)]  # stopped without reading page 2
    assert run(make(local_server), cursor2)[0] == []


def test_app_info_entry_and_single_entry_object(local_server):
    serve_pages(
        local_server,
        "us",
        {"feed": {"entry": [APP_INFO, review("1")]}},
        {"feed": {"entry": review("0")}},
    )
    mentions, skipped, _ = run(make(local_server))
    assert [m.external_id for m in mentions] == ["1", "0"] and skipped == []


def test_per_review_dates_when_the_feed_has_them(local_server):
    serve_pages(
        local_server,
        "us",
        {"feed": {"entry": [review("1", updated={"label": "2024-03-01T10:20:30-07:00"})]}},
    )
    (mention,), _, _ = run(make(local_server))
    assert mention.created_at.isoformat() == "2024-03-01T17:20:30+00:00"


def test_malformed_entries_are_skipped(local_server):
    entries = [
        review("1"),
        {"content": {"label": "no id"}},
        review("2", text="  "),
        review("3", rating="lots"),
        "junk",
        review("4"),
    ]
    serve_pages(local_server, "us", {"feed": {"entry": entries}})
    mentions, skipped, _ = run(make(local_server))
    assert [m.external_id for m in mentions] == ["1", "4"]
    assert len(skipped) == 4 and any("rating" in s.reason for s in skipped)


def test_countries_are_isolated(local_server):
    serve_pages(local_server, "gb", {"feed": {"entry": [review("9")]}})
    local_server.add(page_path("us", 1), Reply(500))
    mentions, skipped, cursor = run(make(local_server, countries=["us", "gb"], retries=1))
    assert [m.extra["country"] for m in mentions] == ["gb"]
    assert skipped[0].where == "country us" and "HTTP 500" in skipped[0].reason
    assert "gb" in json.loads(cursor)


def test_every_country_failing_fails_the_run(local_server):
    local_server.add(page_path("us", 1), Reply(200, "<html>", {"Content-Type": "text/html"}))
    with pytest.raises(ConnectorError, match="not JSON"):
        run(make(local_server))


def test_app_id_must_be_numeric():
    with pytest.raises(ConfigError, match="numeric App Store id"):
        AppStoreConnector(
            "a", validate({"app_id": "com.acme.app"}, AppStoreConnector.settings, "c")
        )
    assert (
        AppStoreConnector(
            "a", validate({"app_id": "id123"}, AppStoreConnector.settings, "c")
        ).app_id
        == "123"
    )
