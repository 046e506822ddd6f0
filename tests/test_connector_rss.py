"""RSS and Atom feeds over a local server: conditional GET, broken XML, 500 then success."""

from __future__ import annotations

import json

import pytest

from connectors.http import HttpClient
from connectors.rss import RssConnector
from fakes.rss import RSS, item, rss
from localserver import LocalServer, Reply
from sentimon.errors import ConnectorError
from sentimon.settings import validate
from connector_runs import drain


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Mastodon #acme</title><id>tag:example,2026:acme</id>
<updated>2026-11-30T12:00:00Z</updated>
<entry><id>tag:example,2026:1</id><title>Love my new Acme boots</title><author><name>ann</name></author>
<updated>2026-11-30T11:00:00+01:00</updated><link href="https://social.example/@ann/1"/>
<content type="html">&lt;p&gt;Love my &lt;b&gt;new&lt;/b&gt; boots&lt;/p&gt;&lt;p&gt;Second para&lt;/p&gt;</content></entry>
</feed>"""


def make(server: LocalServer, *paths: str, **options) -> RssConnector:
    urls = [server.url + p for p in paths]
    values = validate(
        {"url": urls if len(urls) > 1 else urls[0], **options}, RssConnector.settings, "c"
    )
    return RssConnector(
        "news",
        values,
        http=HttpClient("news", sleep=lambda s: None, retries=options.get("retries", 3)),
    )


def run(connector, cursor=None, backfill=False):
    return drain(connector, cursor, backfill)[:3]


def test_rss_items_become_plain_text_mentions(local_server):
    local_server.add(
        "/feed",
        Reply(
            200,
            rss(
                item(
                    "g1",
                    "Acme parcel late",
                    "<p>My parcel is <b>two weeks</b> late &amp; no reply</p>",
                ),
                item(None, "Linked only", "text", link="https://news.example/a"),
            ),
            {"Content-Type": RSS},
        ),
    )
    mentions, skipped, _ = run(make(local_server, "/feed"))
    assert skipped == []
    first, second = mentions
    assert (first.external_id, first.kind, first.lang) == ("g1", "article", "en")
    assert (
        first.text == "My parcel is two weeks late & no reply" and first.title == "Acme parcel late"
    )
    assert first.created_at.isoformat() == "2026-11-30T09:15:00+00:00"
    assert second.external_id == "https://news.example/a" and second.url == "https://news.example/a"


def test_atom_entries(local_server):
    local_server.add("/atom", Reply(200, ATOM, {"Content-Type": "application/atom+xml"}))
    (mention,), _, _ = run(make(local_server, "/atom", kind="post"))
    assert (
        mention.external_id == "tag:example,2026:1"
        and mention.author == "ann"
        and mention.kind == "post"
    )
    assert mention.text == "Love my new boots\n\nSecond para"
    assert mention.created_at.isoformat() == "2026-11-30T10:00:00+00:00"


def test_conditional_get_and_304(local_server):
    local_server.add(
        "/feed",
        Reply(
            200,
            rss(item("g1", "a", "b")),
            {"Content-Type": RSS, "ETag": '"v1"', "Last-Modified": "Mon, 30 Nov 2026 09:00:00 GMT"},
        ),
    )
    _, _, cursor = run(make(local_server, "/feed"))
    local_server.add("/feed", Reply(304))
    again, skipped, cursor2 = run(make(local_server, "/feed"), cursor)
    assert again == [] and skipped == [] and cursor2 == cursor
    sent = local_server.requests[-1]
    assert (
        sent.header("If-None-Match") == '"v1"'
        and sent.header("If-Modified-Since") == "Mon, 30 Nov 2026 09:00:00 GMT"
    )


def test_feed_without_validators_gives_only_new_entries(local_server):
    local_server.add("/feed", Reply(200, rss(item("g1", "a", "one")), {"Content-Type": RSS}))
    _, _, cursor = run(make(local_server, "/feed"))
    local_server.add(
        "/feed",
        Reply(200, rss(item("g2", "b", "two"), item("g1", "a", "one")), {"Content-Type": RSS}),
    )
    mentions, _, _ = run(make(local_server, "/feed"), cursor)
    assert [m.external_id for m in mentions] == ["g2"]


def test_500_then_success(local_server):
    local_server.add(
        "/feed", Reply(500), Reply(200, rss(item("g1", "a", "b")), {"Content-Type": RSS})
    )
    mentions, _, _ = run(make(local_server, "/feed"))
    assert [m.external_id for m in mentions] == ["g1"] and len(local_server.requests) == 2


def test_broken_xml_with_nothing_readable_fails_that_feed(local_server):
    local_server.add(
        "/broken", Reply(200, "<html><body><p>We'll be back soon</p>", {"Content-Type": RSS})
    )
    with pytest.raises(ConnectorError, match="not a readable RSS/Atom feed"):
        run(make(local_server, "/broken"))


def test_truncated_xml_keeps_what_is_readable(local_server):
    body = rss(item("g1", "whole", "entry")).replace("</channel></rss>", "<item><title>cut off")
    local_server.add("/cut", Reply(200, body, {"Content-Type": RSS}))
    mentions, _, _ = run(make(local_server, "/cut"))
    assert mentions[0].external_id == "g1"


def test_broken_feed_does_not_hide_the_good_one(local_server):
    local_server.add("/broken", Reply(200, "this is not xml at all", {"Content-Type": "text/html"}))
    local_server.add("/good", Reply(200, rss(item("g1", "a", "b")), {"Content-Type": RSS}))
    mentions, skipped, cursor = run(make(local_server, "/broken", "/good"))
    assert [m.external_id for m in mentions] == ["g1"]
    assert skipped[0].where.endswith("/broken") and local_server.url + "/good" in json.loads(cursor)


def test_malformed_but_readable_xml_keeps_its_entries(local_server):
    body = rss(item("g1", "a", "fine"), item("g2", "Bad &amp entity", "still here")).replace(
        "</channel></rss>", ""
    )
    local_server.add("/feed", Reply(200, body, {"Content-Type": RSS}))
    mentions, _, _ = run(make(local_server, "/feed"))
    assert {m.external_id for m in mentions} == {"g1", "g2"}


def test_empty_entries_are_skipped_and_dates_in_the_future_are_clamped(local_server):
    local_server.add(
        "/feed",
        Reply(
            200,
            rss(item("g1", "", ""), item("g2", "ok", "fine", date="Fri, 01 Jan 2100 00:00:00 GMT")),
            {"Content-Type": RSS},
        ),
    )
    mentions, skipped, cursor = run(make(local_server, "/feed"))
    assert [m.external_id for m in mentions] == ["g2"] and mentions[0].created_at.year < 2100
    assert skipped[0].reason == "no title, summary or content"
    assert run(make(local_server, "/feed"), cursor)[1] == []  # reported once, not every run


def test_a_missing_feed_is_one_line(local_server):
    with pytest.raises(ConnectorError, match=r"news: GET .*/nope failed: HTTP 404"):
        run(make(local_server, "/nope"))
