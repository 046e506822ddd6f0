"""The alerts' reader (``alerts.reader.AlertReader``) on both stores: the same mentions stored
in SQLite (``Store``) and in a real PostgreSQL (``PgAlertReads`` over a ``PgStore``) give the
same counts, bins, series, examples and texts, so a rule, an explanation and a digest read
alike on either store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from alerts import query
from alerts.digest import gather, last_period
from alerts.explain import explain
from alerts.reader import EVERY, AlertReader, MentionFilter
from alerts.rules import evaluate
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import Store
from test_alerts_support import NOW, rule, seed_quiet, seed_spike

HOUR = timedelta(hours=1)


def _verdict(sentiment: str, topic: str, topic_sentiment: str | None = None) -> Classification:
    neg = 0.9 if sentiment == "negative" else 0.05
    return Classification(sentiment, {"negative": neg, "neutral": 0.05, "positive": 0.95 - neg},
                          (TopicScore(topic, 0.9, topic_sentiment or sentiment),), "test@1")


def _seed_small(store: Any) -> None:
    """In the hour before NOW: two negative reviews (one rated 1, with a reply page), one
    positive review whose delivery aspect is negative, a rival's negative post and a pending
    one; three days before, one negative review."""
    at = NOW - timedelta(minutes=30)
    mentions = [
        Mention("shop", "a", "parcel late", at, kind="review", rating=1, title="Late",
                extra={"reply_url": "https://shop.example/t/a"}),
        Mention("shop", "b", "parcel lost", at + timedelta(minutes=5), kind="review", rating=2),
        Mention("shop", "c", "lovely shoes, late parcel", at + timedelta(minutes=10), kind="review", rating=5),
        Mention("social", "d", "rival parcel late", at, brand="Rival"),
        Mention("shop", "e", "old complaint", NOW - timedelta(days=3), kind="review", rating=1),
    ]
    store.save_batch("shop", mentions, [
        _verdict("negative", "delivery"), _verdict("negative", "delivery"),
        _verdict("positive", "delivery", "negative"), _verdict("negative", "delivery"),
        _verdict("negative", "price"),
    ])
    store.save_batch("shop", [Mention("shop", "p", "pending parcel", at)], None)  # not counted


@pytest.fixture(params=["sqlite", "postgresql"])
def reader(request, tmp_path: Path) -> Iterator[AlertReader]:
    if request.param == "sqlite":
        store = Store(tmp_path / "s.db")
        _seed_small(store)
        yield store
        store.close()
        return
    from sentimon.pgstore import PgStore
    from sentimon.pgstore.alert_reads import PgAlertReads

    pg_store = PgStore(request.getfixturevalue("pg_url"), max_connections=2)
    _seed_small(pg_store)
    yield PgAlertReads(pg_store)
    pg_store.close()


def test_scope_counts_bins_and_the_first_mention(reader: AlertReader) -> None:
    ours, start = MentionFilter(), NOW - HOUR
    assert reader.scope_counts(ours, start, NOW, per_topic=False) == {"": (3, 2)}
    assert reader.scope_counts(ours, start, NOW, per_topic=True) == {"delivery": (3, 3)}  # the aspect's own
    assert reader.scope_counts(EVERY, start, NOW, per_topic=False) == {"": (4, 3)}
    assert reader.scope_counts(MentionFilter(min_rating=2), start, NOW, per_topic=False) == {"": (2, 1)}
    assert reader.scope_counts(MentionFilter(topics=("price",)), start, NOW, per_topic=False) == {}
    assert reader.scope_counts(ours, NOW, NOW + HOUR, per_topic=False) == {}
    bins = reader.scope_bins(ours, NOW - timedelta(days=4), NOW, per_topic=False, width=timedelta(hours=12))
    assert bins == {"": {2: (1, 1), 7: (3, 2)}}
    assert reader.first_created(ours) == NOW - timedelta(days=3)
    assert reader.first_created(MentionFilter(brand="Rival")) == NOW - timedelta(minutes=30)
    assert reader.first_created(MentionFilter(brand="Nobody")) is None


def test_series_examples_texts_and_digest_topics(reader: AlertReader) -> None:
    ours, start = MentionFilter(), NOW - HOUR
    assert reader.series_counts(ours, None, NOW - 2 * HOUR, NOW) == {NOW - HOUR: (3, 2)}
    assert reader.series_counts(EVERY, None, NOW - timedelta(days=4), NOW, by_day=True) == {
        (NOW - timedelta(days=3)).replace(hour=0): (1, 1), NOW.replace(hour=0): (4, 3)}
    assert reader.topic_negatives(ours, None, start, NOW) == (3, {"delivery": 2})
    assert reader.topic_negatives(ours, "delivery", start, NOW) == (3, {"delivery": 3})
    worst = reader.negative_mentions(ours, None, start, NOW, limit=10)
    assert [(r["text"], r["reply_url"], r["rating"]) for r in worst] == [
        ("parcel lost", None, 2), ("parcel late", "https://shop.example/t/a", 1)]
    assert isinstance(worst[0]["created_at"], str) and worst[0]["score_negative"] == pytest.approx(0.9)
    assert reader.recent_texts(ours, None, start, NOW, negative_only=False, limit=2) == [
        " lovely shoes, late parcel", " parcel lost"]
    assert reader.recent_texts(ours, None, start, NOW, negative_only=True, limit=5) == [
        " parcel lost", "Late parcel late"]
    assert reader.digest_topics(start, NOW) == {"delivery": (4, 3)}


def test_rules_explanations_and_digests_read_alike_on_both_stores(tmp_path: Path, pg_url: str) -> None:
    """Seeded quiet streams and a spike in both stores: every scope, explanation and digest
    the alerts build from them is the same (ids too: both stores number in insertion order)."""
    from sentimon.pgstore import PgStore
    from sentimon.pgstore.alert_reads import PgAlertReads

    sqlite, pg_store = Store(tmp_path / "s.db"), PgStore(pg_url, max_connections=2)
    try:
        for store in (sqlite, pg_store):
            seed_quiet(store, days=10, per_day=40)
            seed_quiet(store, days=5, per_day=20, source="forum", seed=3, share=0.3)
            seed_spike(store)
        both: list[AlertReader] = [sqlite, PgAlertReads(pg_store)]
        rules = [rule(), rule(window="1h", baseline="same_hour_of_week"), rule(per_topic=True),
                 rule(window="2h", baseline="3d", topics=["delivery"], kinds=["post"])]
        for r in rules:
            for now in (NOW, NOW - timedelta(hours=7)):
                found = [query.scopes(reader, r, now) for reader in both]
                assert found[0] == found[1] and found[0]
                for scope in found[0][:2]:
                    decision = evaluate(r, scope.window, scope.baseline)
                    assert explain(both[0], r, scope, decision, now) == explain(both[1], r, scope, decision, now)
        for kind in ("daily", "weekly"):
            start, end, _ = last_period(kind, NOW)
            assert gather(both[0], kind, start, end) == gather(both[1], kind, start, end)
    finally:
        sqlite.close()
        pg_store.close()


def test_a_created_at_on_a_bin_edge_falls_in_the_same_bin(tmp_path: Path, pg_url: str) -> None:
    """SQLite bins whole epoch seconds; PostgreSQL must cut at the same edges."""
    from sentimon.pgstore import PgStore
    from sentimon.pgstore.alert_reads import PgAlertReads

    start = datetime(2026, 11, 30, 0, 0, 0, tzinfo=timezone.utc)
    times = [start, start + timedelta(hours=1) - timedelta(seconds=1), start + timedelta(hours=1)]
    sqlite, pg_store = Store(tmp_path / "s.db"), PgStore(pg_url, max_connections=1)
    try:
        for store in (sqlite, pg_store):
            store.save_batch("x", [Mention("x", str(i), "t", t) for i, t in enumerate(times)],
                             [_verdict("negative", "delivery")] * len(times))
        expected = {"": {0: (2, 2), 1: (1, 1)}}
        for reader in (sqlite, PgAlertReads(pg_store)):
            assert reader.scope_bins(MentionFilter(), start, start + 2 * HOUR, per_topic=False, width=HOUR) == expected
    finally:
        sqlite.close()
        pg_store.close()
