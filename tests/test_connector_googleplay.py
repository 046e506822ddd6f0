"""Google Play through a stand-in ``google_play_scraper`` module (the real one is an optional
extra that scrapes Google's web endpoints, which tests must not reach)."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

import pytest

from connectors.googleplay import GooglePlayConnector
from sentimon.errors import ConfigError, ConnectorError
from sentimon.settings import validate
from fakes.googleplay import fake_scraper, review
from connector_runs import drain


@pytest.fixture
def install(monkeypatch):
    def put(module):
        monkeypatch.setitem(sys.modules, "google_play_scraper", module)
        return module

    return put


def make(**options) -> GooglePlayConnector:
    return GooglePlayConnector(
        "play", validate({"app_id": "com.acme.shop", **options}, GooglePlayConnector.settings, "c")
    )


def run(connector, cursor=None, backfill=False):
    return drain(connector, cursor, backfill)[:3]


def test_reviews_newest_first_with_rating_and_version(install):
    calls: list = []
    install(fake_scraper([review(1), review(2, score=5)], calls))
    mentions, skipped, cursor = run(make(lang="de", country="at"))
    assert [m.external_id for m in mentions] == ["gp:2", "gp:1"] and skipped == []
    first = mentions[0]
    assert (first.rating, first.kind, first.lang, first.extra["version"]) == (
        5,
        "review",
        "de",
        "5.1.0",
    )
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset() == timedelta(0)
    assert calls[0] == {
        "app_id": "com.acme.shop",
        "lang": "de",
        "country": "at",
        "sort": 2,
        "count": 200,
    }
    assert json.loads(cursor)["ids"][0] == "gp:2"


def test_stops_at_the_last_seen_review(install):
    data = [review(i) for i in range(1, 6)]
    calls: list = []
    install(fake_scraper(data, calls))
    _, _, cursor = run(make())
    data += [review(6), review(7)]
    mentions, _, _ = run(make(), cursor)
    assert [m.external_id for m in mentions] == ["gp:7", "gp:6"]


def test_pages_with_the_continuation_token(install):
    install(fake_scraper([review(i) for i in range(450)]))
    mentions, _, _ = run(make(first_run_limit=300))
    assert len(mentions) == 300 and mentions[0].external_id == "gp:449"
    assert len(run(make(), backfill=True)[0]) == 450


def test_malformed_reviews_are_skipped(install):
    install(
        fake_scraper(
            [
                review(1),
                {"content": "no id"},
                review(2, text=""),
                {**review(3), "at": "yesterday"},
                review(4, score=9),
            ]
        )
    )
    mentions, skipped, _ = run(make())
    assert [m.external_id for m in mentions] == ["gp:1"] and len(skipped) == 4


def test_scraper_failures_are_one_line(install):
    install(fake_scraper([], error=IndexError("list index out of range")))
    with pytest.raises(
        ConnectorError,
        match="play: google-play-scraper failed: IndexError: list index out of range",
    ):
        run(make())


def test_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "google_play_scraper", None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'sentimon\[googleplay\]'"):
        make()
