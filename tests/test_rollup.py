"""The daily roll-ups behind `stats` stay exact through every kind of write, and `stats` gives
the same answer as counting the mentions one by one (an independent Python count here)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from sentimon.corrections import Correction, apply_correction
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store

NOW = datetime(2026, 12, 1, 15, 37, tzinfo=timezone.utc)
SENTIMENTS = ("negative", "neutral", "positive")
TOPICS = ("delivery", "price", "quality", "returns")
SOURCES = ("reddit", "appstore", "rss")


def classification(rng: random.Random) -> Classification:
    sentiment = rng.choice(SENTIMENTS)
    topics = tuple(TopicScore(t, 0.7, rng.choice(SENTIMENTS)) for t in rng.sample(TOPICS, rng.randint(0, 3)))
    return Classification(sentiment, {s: 1 / 3 for s in SENTIMENTS}, topics, "test")


@pytest.fixture
def filled(tmp_path) -> Store:
    """1,200 mentions over 40 days at odd times, then corrections and a retention pass."""
    rng = random.Random(3)
    store = Store(tmp_path / "s.db")
    for source in SOURCES:
        mentions, classes = [], []
        for i in range(400):
            at = NOW - timedelta(seconds=rng.randint(-3600, 40 * 86400))  # a few from the future
            mentions.append(Mention(source, f"{source}-{i}", f"text {i}", at))
            classes.append(classification(rng))
        store.save_batch(source, mentions, classes)
    ids = [r[0] for r in store.db.execute("SELECT id FROM mentions").fetchall()]
    for mention_id in rng.sample(ids, 60):
        apply_correction(store, mention_id, Correction(
            sentiment=rng.choice(SENTIMENTS), set_topics=[(rng.choice(TOPICS), rng.choice(SENTIMENTS))],
            remove_topics=[rng.choice(TOPICS)]), author="test", now=NOW)
    store.delete_older_than(NOW - timedelta(days=35), batch=50)
    store.optimize()
    return store


def table(store: Store, sql: str) -> Counter:
    return Counter({tuple(row[:-1]): row[-1] for row in store.db.execute(sql).fetchall() if row[-1]})


def test_rollups_equal_a_recount_after_inserts_corrections_and_retention(filled):
    assert table(filled, "SELECT day, source, sentiment, n FROM daily_sentiment") == table(
        filled, "SELECT substr(created_at, 1, 10), source, sentiment, COUNT(*) FROM mentions GROUP BY 1, 2, 3")
    assert table(filled, "SELECT day, source, topic, topic_sentiment, mention_sentiment, n FROM daily_topics") == table(
        filled, "SELECT substr(m.created_at, 1, 10), m.source, t.topic, t.sentiment, m.sentiment, COUNT(*) "
                "FROM mention_topics t JOIN mentions m ON m.id = t.mention_id GROUP BY 1, 2, 3, 4, 5")
    assert filled.db.execute("SELECT COUNT(*) FROM daily_sentiment WHERE n <= 0").fetchone()[0] == 0


def oracle(store: Store, query: MentionQuery, by: str) -> dict[str, Counter]:
    """bucket -> Counter of sentiments, counted in Python from the raw rows."""
    rows = store.db.execute("SELECT id, source, created_at, sentiment FROM mentions").fetchall()
    topics: dict[int, dict[str, str]] = {}
    for mention_id, topic, sentiment in store.db.execute("SELECT mention_id, topic, sentiment FROM mention_topics"):
        topics.setdefault(mention_id, {})[topic] = sentiment
    since = query.since.strftime("%Y-%m-%dT%H:%M:%SZ") if query.since else ""
    until = query.until.strftime("%Y-%m-%dT%H:%M:%SZ") if query.until else "9999"
    found: dict[str, Counter] = {}
    for mention_id, source, created, sentiment in rows:
        mine = topics.get(mention_id, {})
        if not since <= created < until or (query.sources and source not in query.sources):
            continue
        if (query.sentiments and sentiment not in query.sentiments) or (query.topics and not set(query.topics) & set(mine)):
            continue
        pairs = mine.items() if by == "topic" else [({"day": created[:10], "source": source}[by], sentiment)]
        for bucket, counted in pairs:
            found.setdefault(bucket, Counter())[counted] += 1
    return found


QUERIES = [
    (MentionQuery(since=NOW - timedelta(days=7)), "day"),
    (MentionQuery(since=NOW - timedelta(days=30)), "day"),
    (MentionQuery(), "day"),
    (MentionQuery(since=NOW - timedelta(days=10, hours=5), until=NOW - timedelta(days=2, hours=3)), "day"),
    (MentionQuery(since=datetime(2026, 11, 10, tzinfo=timezone.utc), until=datetime(2026, 11, 20, tzinfo=timezone.utc)), "day"),
    (MentionQuery(since=NOW - timedelta(hours=20)), "day"),  # no whole day: counted from mentions
    (MentionQuery(since=NOW - timedelta(days=7), sources=["reddit", "rss"]), "day"),
    (MentionQuery(since=NOW - timedelta(days=7), topics=["price"]), "day"),
    (MentionQuery(since=NOW - timedelta(days=14), topics=["price", "delivery"]), "day"),  # two: from mentions
    (MentionQuery(since=NOW - timedelta(days=7), sentiments=["negative"]), "day"),
    (MentionQuery(since=NOW - timedelta(days=7)), "source"),
    (MentionQuery(since=NOW - timedelta(days=30), topics=["returns"], sentiments=["negative", "neutral"]), "source"),
    (MentionQuery(since=NOW - timedelta(days=7)), "topic"),
    (MentionQuery(since=NOW - timedelta(days=30), sources=["appstore"], sentiments=["positive"]), "topic"),
    (MentionQuery(since=NOW - timedelta(days=7), topics=["delivery"]), "topic"),  # from mentions
]


@pytest.mark.parametrize("query,by", QUERIES, ids=[f"{by}-{i}" for i, (_, by) in enumerate(QUERIES)])
def test_stats_equal_a_python_count_of_the_rows(filled, query, by):
    expected = oracle(filled, query, by)
    got = {g[by]: Counter({s: g[s] for s in SENTIMENTS if g[s]}) for g in filled.stats(query, by, now=NOW)}
    assert got == expected
    assert sum(sum(c.values()) for c in expected.values()) > 0  # each query has something to count


def test_whole_days_are_served_from_the_rollups(filled):
    """A 30-day query reads the roll-ups: wipe them and only the partial edge days remain."""
    query = MentionQuery(since=NOW - timedelta(days=30))
    assert len(filled.stats(query, "day", now=NOW)) == 31
    filled.db.execute("DELETE FROM daily_sentiment")
    assert [g["day"] for g in filled.stats(query, "day", now=NOW)] == ["2026-11-01", "2026-12-01"]
