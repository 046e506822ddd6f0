"""Hostile and odd payloads through every web connector's parser, and odd texts through the
real model.

The contract: whatever a source sends inside a well-formed envelope, ``fetch`` yields batches
in which every item is either a sane Mention (clean non-empty text, aware UTC time between
1970 and tomorrow, rating 1-5 or None, http(s) url or None, every string storable) or a
Skipped with a reason; it never raises. The batches are then stored in a real (in-memory)
store, so anything SQLite would refuse is caught too. Payload shapes that are not the
source's format at all may end the run as one ConnectorError line, and nothing else.

Budgets are small (``max_examples`` in FUZZ) so the file runs in well under a minute;
``SENTIMON_FUZZ_SCALE=10`` raises them to hunt further (``tests/fuzzing.py``). Each bug found
so far is pinned as an ``@example``.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fuzzing import budget

from connectors.base import Batch, Skipped
from connectors.records import EARLIEST, FUTURE_SLACK
from sentimon.config import parse_config
from sentimon.errors import ConnectorError
from sentimon.mention import SENTIMENTS, Classification, Mention
from sentimon.pipeline import new_mentions
from sentimon.store import Store

FUZZ = settings(max_examples=budget(80), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TEN_MB = "late parcel, rude courier. " * 390_000
HUGE = "late parcel, rude courier. " * 10_000  # 270 KB: over every cap; 10 MB ones are explicit examples

# Characters that break naive code: NUL and controls, zero-width and bidi overrides, BOM,
# separators, combining marks, emoji (with ZWJ and skin tones), markup, SQL.
ODD = [
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u200d", "\u2060", "\ufeff", "\u202e",
    "\u202d", "\u2066", "\u2069", "\u2028", "\u0301", "😀", "👍🏽", "👩‍👩‍👧", "<script>alert(1)</script>",
    "<b>bold</b>", "<!channel>", "&amp;", "&#0;", "&lt;x&gt;", " ", "\t", "\n", "\r\n", "'; DROP TABLE mentions; --",
]


def texts(surrogates: bool = False, max_pieces: int = 8) -> st.SearchStrategy[str]:
    chars = st.characters(codec=None if surrogates else "utf-8")
    piece = st.one_of(st.text(chars, max_size=20), st.sampled_from(ODD))
    return st.lists(piece, max_size=max_pieces).map("".join)


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True), texts(surrogates=True),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts(), inner, max_size=3)),
    max_leaves=5,
)
NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, -86400 * 365, 2**31, 2**63, 1e20, time.time() + 86400 * 400, time.time() - 60]),
)
IDS = st.one_of(st.sampled_from(["dup-1", "dup-2", "t3_dup", "12345"]), texts(), st.integers(), JSONISH)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Sometimes the plausible value, sometimes any JSON value at all."""
    return st.one_of(strategy, strategy, JSONISH)


# --- the sanity contract ----------------------------------------------------------------------

class Stub:
    name = "stub"

    def classify(self, texts):
        return [Classification("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, (), "stub")
                for _ in texts]


def assert_sane(mention: Mention) -> None:
    now = datetime.now(timezone.utc)
    assert isinstance(mention, Mention)
    assert mention.created_at.tzinfo is not None and mention.created_at.utcoffset() == timedelta(0)
    assert EARLIEST <= mention.created_at <= now + FUTURE_SLACK, mention.created_at
    assert isinstance(mention.text, str) and mention.text.strip() and "\x00" not in mention.text
    assert len(mention.text) <= 100_000
    assert mention.rating is None or (type(mention.rating) is int and 1 <= mention.rating <= 5)
    assert mention.url is None or re.match(r"^https?://\S+$", mention.url, re.IGNORECASE), mention.url
    assert isinstance(mention.external_id, str) and mention.external_id.strip()
    for name in ("external_id", "text", "title", "author", "url", "kind", "lang"):
        value = getattr(mention, name)
        assert value is None or isinstance(value, str), (name, value)
        if value is not None:
            assert "\x00" not in value and "\u202e" not in value, (name, value)
            assert len(value) <= 100_000, name
            value.encode("utf-8")  # storable: SQLite refuses unpaired surrogates
    json.dumps(mention.extra, default=str)


def drain(batches) -> tuple[list[Mention], list[Skipped]]:
    """Run a fetch to the end and store every batch, as the pipeline does."""
    store = Store(":memory:")
    mentions: list[Mention] = []
    skipped: list[Skipped] = []
    try:
        for batch in batches:
            assert isinstance(batch, Batch)
            for item in batch.mentions:
                assert_sane(item)
            for item in batch.skipped:
                assert isinstance(item, Skipped) and item.reason and isinstance(item.reason, str)
            fresh = new_mentions(store, "fuzz", batch.mentions)
            store.save_batch("fuzz", fresh, Stub().classify([m.full_text for m in fresh]), batch.cursor)
            mentions.extend(batch.mentions)
            skipped.extend(batch.skipped)
    finally:
        store.close()
    return mentions, skipped


def connector(table: dict, **kwargs: Any):
    entry = parse_config({"connectors": [table]}, __import__("pathlib").Path("fuzz.toml"), environ={}).connectors[0]
    return entry.cls(entry.name, entry.options, **kwargs)


class FakeHttp:
    """Stands in for HttpClient: the HTTP layer has its own tests (test_faults, test_connector_http);
    here the payload is the variable."""

    def __init__(self, json_pages: list[Any] | None = None, body: bytes = b"", content_type: str = "application/rss+xml") -> None:
        self.json_pages = list(json_pages or [])
        self.body = body
        self.content_type = content_type

    def get_json(self, url: str, **kwargs: Any) -> Any:
        return self.json_pages.pop(0) if self.json_pages else {"feed": {"entry": []}, "hits": []}

    def get(self, url: str, **kwargs: Any) -> Any:
        return SimpleNamespace(status_code=200, content=self.body, headers={"Content-Type": self.content_type})

    def close(self) -> None:
        pass


# --- App Store: Apple's JSON feed entries --------------------------------------------------

def label(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.builds(lambda v: {"label": v}, value), JSONISH)


APPSTORE_ENTRY = st.one_of(
    st.fixed_dictionaries(
        {"id": label(IDS), "content": label(st.one_of(texts(surrogates=True), st.just(HUGE)))},
        optional={
            "title": label(texts(surrogates=True)),
            "author": st.one_of(st.fixed_dictionaries({"name": label(texts())}), JSONISH),
            "im:rating": label(st.one_of(st.sampled_from(["1", "5", "0", "6", "4.5", "x", ""]), JSONISH)),
            "im:version": label(JSONISH),
            "im:voteCount": label(JSONISH),
            "updated": label(st.one_of(
                st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
                texts())),
            "link": st.one_of(st.fixed_dictionaries({"attributes": st.fixed_dictionaries({"href": maybe(st.sampled_from(
                ["https://apps.apple.com/r/1", "javascript:alert(1)", "http://a b"]))})}), JSONISH),
        },
    ),
    JSONISH,
)


@FUZZ
@given(st.lists(APPSTORE_ENTRY, max_size=6), st.booleans())
@example([{"id": {"label": "1"}, "content": {"label": "\u202e\u200b😀"}, "im:rating": {"label": "5"}}], False)
@example([{"id": {"label": "1"}, "content": {"label": TEN_MB}, "title": {"label": TEN_MB}}], False)
@example([{"id": {"label": "dup"}, "content": {"label": "a"}}, {"id": {"label": "dup"}, "content": {"label": "b"}}], False)
@example([{"id": {"label": "1"}, "content": {"label": "ok"}, "updated": {"label": "1969-07-20T20:17:00+00:00"}}], False)
@example([{"id": {"label": "1"}, "content": {"label": "ok"}, "updated": {"label": "2999-01-01T00:00:00+00:00"}}], False)
def test_appstore_entries(entries, single):
    page = {"feed": {"entry": entries[0] if single and entries else entries}}
    app = connector({"name": "fuzz", "type": "appstore", "app_id": "123", "pages": 2}, http=FakeHttp([page]))
    drain(app.fetch(None))


@FUZZ
@given(JSONISH)
def test_appstore_any_json_document(document):
    app = connector({"name": "fuzz", "type": "appstore", "app_id": "123", "pages": 1}, http=FakeHttp([document]))
    try:
        drain(app.fetch(None))
    except ConnectorError as exc:  # not a reviews feed at all: one line for the run
        assert "\n" not in str(exc) and "fuzz" in str(exc)


# --- RSS and Atom bodies ------------------------------------------------------------------

DATES = st.one_of(
    st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(timezone.utc)).map(format_datetime),
    st.sampled_from(["", "yesterday", "Thu, 01 Jan 1970 00:00:00 +0000", "Mon, 31 Dec 1969 23:59:59 GMT", "9999-12-31"]),
    texts(),
)


def xml_text(value: str, how: str) -> str:
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", value) if how != "raw" else value
    if how == "cdata":
        return "<![CDATA[" + value.replace("]]>", "") + "]]>"
    return escape(value) if how == "escaped" else value


RSS_ITEM = st.fixed_dictionaries(
    {"how": st.sampled_from(["escaped", "cdata", "raw"])},
    optional={"guid": st.one_of(st.sampled_from(["dup-1", "dup-2"]), texts()), "title": texts(),
              "description": st.one_of(texts(), st.just("<p>" + HUGE + "</p>")),
              "link": st.one_of(st.sampled_from(["https://e.com/1", "javascript:alert(1)", "data:text/html,x"]), texts()),
              "pubDate": DATES, "author": texts()},
)


def render_feed(items: list[dict], atom: bool) -> str:
    parts = []
    for item in items:
        how = item["how"]
        if atom:
            tags = {"guid": "id", "title": "title", "description": "summary", "pubDate": "updated", "author": "author"}
            body = "".join(f"<{tags[k]}>{xml_text(v, how)}</{tags[k]}>" for k, v in item.items() if k in tags and k != "author")
            if "link" in item:
                body += f'<link href="{escape(xml_text(item["link"], "escaped"), {chr(34): "&quot;"})}"/>'
            if "author" in item:
                body += f"<author><name>{xml_text(item['author'], how)}</name></author>"
            parts.append(f"<entry>{body}</entry>")
        else:
            parts.append("<item>" + "".join(f"<{k}>{xml_text(v, how)}</{k}>" for k, v in item.items() if k != "how") + "</item>")
    if atom:
        return f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{"".join(parts)}</feed>'
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{"".join(parts)}</channel></rss>'


def feed_bodies() -> st.SearchStrategy[bytes]:
    documents = st.builds(render_feed, st.lists(RSS_ITEM, max_size=6), st.booleans())
    encoded = documents.map(lambda text: text.encode("utf-8", errors="surrogatepass"))
    with_bad_bytes = st.builds(lambda body, at, junk: body[:at] + junk + body[at:], encoded,
                               st.integers(0, 400), st.sampled_from([b"\xff", b"\xc3(", b"\x00", b"\xed\xa0\x80", b"\xef\xbb\xbf"]))
    return st.one_of(encoded, encoded, with_bad_bytes, st.binary(max_size=300))


@FUZZ
@given(feed_bodies())
@example(render_feed([{"how": "escaped", "guid": "1", "title": "x", "pubDate": "Mon, 31 Dec 1969 23:59:59 GMT"}], False).encode())
@example(render_feed([{"how": "escaped", "guid": "1", "description": "<script>alert(1)</script>\u202e😀"}], False).encode())
@example(render_feed([{"how": "escaped", "guid": "d", "title": "a"}, {"how": "escaped", "guid": "d", "title": "b"}], True).encode())
@example(render_feed([{"how": "cdata", "guid": "1", "description": TEN_MB}], False).encode())
@example(b'<?encoding="\x80"?>')  # feedparser raised UnicodeDecodeError on these two
@example(b'<?encoding="\x00"?>')
def test_feed_bodies(body):
    feed = connector({"name": "fuzz", "type": "rss", "url": "https://example.com/feed"}, http=FakeHttp(body=body))
    try:
        drain(feed.fetch(None))
    except ConnectorError as exc:  # unreadable as a feed: one line for the run
        assert "\n" not in str(exc) and "not a readable RSS/Atom feed" in str(exc)


# --- Hacker News: Algolia hits ------------------------------------------------------------

HN_HIT = st.one_of(
    st.fixed_dictionaries(
        {"objectID": IDS, "created_at_i": maybe(NUMBERS)},
        optional={"title": maybe(texts(surrogates=True)), "story_text": maybe(texts(surrogates=True)),
                  "comment_text": maybe(st.one_of(texts(surrogates=True), st.just(HUGE))),
                  "author": maybe(texts()), "_tags": maybe(st.lists(st.sampled_from(["story", "comment", "x"]))),
                  "points": JSONISH, "url": maybe(st.sampled_from(["https://e.com", "javascript:alert(1)"])),
                  "story_id": JSONISH, "story_title": JSONISH, "story_url": JSONISH},
    ),
    JSONISH,
)


@FUZZ
@given(st.lists(HN_HIT, max_size=6))
@example([{"objectID": "1", "created_at_i": -86400, "title": "before 1970"}])
@example([{"objectID": "1", "created_at_i": 1_700_000_000, "comment_text": "<p>" + TEN_MB, "_tags": ["comment"]}])
@example([{"objectID": "1", "created_at_i": time.time() + 86400 * 365, "title": "next year"}])
@example([{"objectID": "1", "created_at_i": float("nan"), "title": "nan"}])
@example([{"objectID": "1", "created_at_i": True, "title": "bool"}])
@example([{"objectID": "d", "created_at_i": 1_700_000_000, "title": "a"}, {"objectID": "d", "created_at_i": 1_700_000_001, "title": "b"}])
def test_hackernews_hits(hits):
    hn = connector({"name": "fuzz", "type": "hackernews", "query": "acme"}, http=FakeHttp([{"hits": hits}]))
    drain(hn.fetch(None))


@settings(FUZZ, max_examples=budget(25))
@given(st.lists(st.fixed_dictionaries({"objectID": st.integers(0, 10**6).map(str), "created_at_i": NUMBERS, "title": st.just("t")}),
                min_size=100, max_size=100))
def test_hackernews_full_page_of_odd_times_never_breaks_paging(hits):
    """A full page makes the connector ask for the next window, computed from the hits' times."""
    hn = connector({"name": "fuzz", "type": "hackernews", "query": "acme"}, http=FakeHttp([{"hits": hits}, {"hits": hits}]))
    drain(hn.fetch(None))


@FUZZ
@given(JSONISH)
def test_hackernews_any_json_document(document):
    hn = connector({"name": "fuzz", "type": "hackernews", "query": "acme"}, http=FakeHttp([document]))
    drain(hn.fetch(None))


# --- Reddit: listing items, as praw parsed them ------------------------------------------

def _reddit_class():
    from connectors.reddit import RedditConnector

    class ListingReddit(RedditConnector):
        """The real connector, with praw's listing replaced by the items under test."""

        items: list[dict] = []

        def _listing(self, stream, limit):
            return [SimpleNamespace(**item) for item in self.items]

    return ListingReddit


REDDIT_ITEM = st.fixed_dictionaries(
    {"created_utc": maybe(NUMBERS)},
    optional={"name": IDS, "id": IDS, "body": maybe(st.one_of(texts(surrogates=True), st.sampled_from(["[deleted]", "[removed]"]), st.just(HUGE))),
              "selftext": maybe(texts(surrogates=True)), "title": maybe(texts(surrogates=True)),
              "author": maybe(st.one_of(texts(surrogates=True), st.sampled_from(["[deleted]", None]))),
              "subreddit": maybe(texts(surrogates=True)), "permalink": maybe(st.one_of(texts(), st.just("/r/x/comments/1/t/"))),
              "link_id": maybe(texts()), "link_title": maybe(texts(surrogates=True)), "score": JSONISH,
              "url": maybe(st.sampled_from(["https://e.com", "javascript:alert(1)"]))},
)


@FUZZ
@given(st.lists(REDDIT_ITEM, max_size=6))
@example([{"name": "t3_1", "created_utc": -86400.0, "selftext": "before 1970", "title": "t"}])
@example([{"name": "t1_1", "created_utc": 1_700_000_000, "body": TEN_MB}])
@example([{"name": "t3_1", "created_utc": time.time() + 86400 * 365, "selftext": "future", "title": "t"}])
@example([{"name": "t1_1", "created_utc": 1_700_000_000, "body": "ok", "author": "a\x00b\u202e", "subreddit": "s\x00"}])
@example([{"name": "t3_d", "created_utc": 1_700_000_000, "selftext": "a", "title": "x"},
          {"name": "t3_d", "created_utc": 1_700_000_001, "selftext": "b", "title": "y"}])
def test_reddit_items(items):
    cls = _reddit_class()
    reddit = cls("fuzz", parse_config({"connectors": [{"name": "fuzz", "type": "reddit", "query": "acme",
                                                         "client_id": "x", "client_secret": "y", "user_agent": "z"}]},
                                      __import__("pathlib").Path("f.toml"), environ={}).connectors[0].options)
    reddit.items = items
    drain(reddit.fetch(None))


# --- classify on the real model -----------------------------------------------------------

ODD_TEXTS = ["", " ", "\n\t  \u200b", "\x00", "\x00" * 1000, "😀😀😀", "👩‍👩‍👧👍🏽", "<script>alert('x')</script>",
             "\u202egnol yrev", "a", "late " * 5000, "'; DROP TABLE mentions; --"]


@pytest.mark.slow
def test_classify_odd_texts_on_the_real_model(classifier):
    started = time.monotonic()
    results = classifier.classify(ODD_TEXTS)
    assert len(results) == len(ODD_TEXTS)
    for text, result in zip(ODD_TEXTS, results):
        assert result.sentiment in SENTIMENTS, text
        assert set(result.scores) == set(SENTIMENTS)
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in result.scores.values()), (text, result.scores)
        assert abs(sum(result.scores.values()) - 1) < 1e-3
        for topic in result.topics:
            assert topic.sentiment in SENTIMENTS and math.isfinite(topic.score)
    huge = classifier.classify([TEN_MB])[0]  # the encoder reads a bounded prefix
    assert huge.sentiment in SENTIMENTS
    assert time.monotonic() - started < 120


@pytest.mark.slow
def test_classify_unpaired_surrogate(classifier):
    result = classifier.classify(["\ud800 lone surrogate", "fine"])
    assert [r.sentiment in SENTIMENTS for r in result] == [True, True]
