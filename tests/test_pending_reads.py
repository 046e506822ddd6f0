"""Every read that counts or exports mentions leaves pending ones out (issue 19 item 4): a
pushed mention the model has not read yet has no sentiment, and counting it would dilute
negative shares and alert rates. One classified negative mention and two pending ones in a
real SQLite store; each read must see only the classified one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerts import digest
from alerts import query as alert_query
from alerts.reader import MentionFilter
from alerts.rules import AlertRule
from sentimon import mention_sql, mention_windows, rollup
from sentimon.export import export_rows
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.metrics import Counters, render
from sentimon.store import MentionQuery, Store
from sentimon.store.alert_reads import SQLITE
from sentimon.times import to_db_time

NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY_AGO = (NOW - timedelta(days=2)).replace(hour=12, minute=0, second=0)  # a whole UTC day
RECENT = NOW - timedelta(minutes=10)
NEGATIVE = Classification("negative", {"negative": 0.9, "neutral": 0.05, "positive": 0.05},
                          (TopicScore("delivery", 0.9, "negative"),), model="stub")


def _mention(key: str, when: datetime) -> Mention:
    return Mention(source="webhook", external_id=key, text=f"{key}: parcel late", created_at=when)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "s.db")
    for when, tag in ((DAY_AGO, "old"), (RECENT, "new")):
        store.save_batch("webhook", [_mention(f"{tag}-done", when)], [NEGATIVE], advance_cursor=False)
        store.save_batch("webhook", [_mention(f"{tag}-p1", when), _mention(f"{tag}-p2", when)], None,
                         advance_cursor=False)
    yield store
    store.close()


def test_the_fixture_holds_pending_rows(store):
    assert mention_sql.pending_count(store.db) == 4
    assert len(store.mentions(MentionQuery(limit=100))) == 6  # listed, with an empty sentiment
    pending = store.mentions(MentionQuery(pending=True, limit=100))
    assert len(pending) == 4 and {m["sentiment"] for m in pending} == {None}
    assert len(store.mentions(MentionQuery(pending=False, limit=100))) == 2


def test_shards_split_the_pending_mentions_between_classify_jobs(store):
    """Each of n classify jobs reads the ids k modulo n: together all pending, none twice."""
    every = [row["id"] for row in store.pending_mentions(100)]
    shards = [[row["id"] for row in store.pending_mentions(100, 0, (k, 2))] for k in range(2)]
    assert sorted(sum(shards, [])) == every and all(shards)
    assert all(i % 2 == k for k, ids in enumerate(shards) for i in ids)


@pytest.mark.parametrize("by", ["day", "hour", "source", "topic", "brand"])
def test_stats_count_only_classified_mentions(store, by):
    """Whole days come from the roll-ups, the rest from the mentions: both paths."""
    groups = store.stats(MentionQuery(since=NOW - timedelta(days=5)), by, now=NOW)
    assert sum(g["total"] for g in groups) == 2 and sum(g["negative"] for g in groups) == 2


def test_the_rollups_skip_the_pending_key(store):
    first, end = rollup.whole_days(NOW - timedelta(days=5), None, NOW)
    found = rollup.counts(store.db, MentionQuery(), "day", first, end)
    assert found == [(DAY_AGO.strftime("%Y-%m-%d"), "negative", 1)]


def test_report_windows_count_only_classified_mentions(store):
    span = [to_db_time(NOW - timedelta(days=5)), to_db_time(NOW + timedelta(seconds=1))]
    assert mention_windows.negative_count(store.db, span, SQLITE) == (2, 2)
    assert sum(row[1] for row in mention_windows.hourly_sentiment(store.db, span, SQLITE)) == 2
    assert mention_windows.negative_by(store.db, "source", span, SQLITE) == [("webhook", 2, 2)]
    assert mention_windows.topic_sentiment(store.db, span, SQLITE) == [("delivery", 2, 2, 0, 0)]


def test_exports_and_metrics_leave_pending_mentions_out(store):
    assert [row["external_id"] for row in export_rows(store)] == ["old-done", "new-done"]
    assert mention_sql.counts_by_source_sentiment(store.db) == [("webhook", "negative", 2)]
    text = render(store, Counters())
    assert 'sentiment="none"' not in text and "\nsentimon_mentions_pending 4\n" in text


def test_alert_rules_count_only_classified_mentions(store):
    rule = AlertRule(name="r", window=timedelta(hours=1), baseline_period=timedelta(days=3))
    [scope] = alert_query.scopes(store, rule, NOW)
    assert (scope.window.n, scope.window.k) == (1, 1) and scope.baseline.n == 1
    assert sum(point["n"] for point in alert_query.series(store, rule, None, NOW, hours=2)) == 1
    total, _ = store.topic_negatives(MentionFilter.of(rule), None, NOW - timedelta(hours=1), NOW)
    assert total == 1
    texts = store.recent_texts(MentionFilter.of(rule), None, NOW - timedelta(hours=1), NOW,
                               negative_only=False, limit=10)
    assert texts == [" new-done: parcel late"]


def test_the_digest_counts_only_classified_mentions(store):
    start = DAY_AGO.replace(hour=0)
    message = digest.gather(store, "daily", start, start + timedelta(days=1))
    assert message["numbers"]["mentions"] == 1 and message["numbers"]["negative"] == 1
    assert sum(point["n"] for point in message["series"]) == 1


def test_a_classified_pending_mention_is_counted(store):
    from sentimon.pending import classify_pending
    from stubs import TopicKeywordClassifier

    assert classify_pending(store, TopicKeywordClassifier, batch=3) == 4
    assert mention_sql.pending_count(store.db) == 0
    groups = store.stats(MentionQuery(since=NOW - timedelta(days=5)), "day", now=NOW)
    assert sum(g["total"] for g in groups) == 6


def test_a_persons_sentiment_on_a_pending_mention_wins_over_the_model(store):
    """The model's write requires ``sentiment IS NULL``: a correction made while the mention
    waited is not overwritten, and its topics are not replaced by the model's."""
    from stubs import TopicKeywordClassifier

    from sentimon.pending import classify_pending

    [first, *_] = store.mentions(MentionQuery(pending=True, limit=100))
    with store.writing("test correction") as db:
        mention_sql.set_human_sentiment(db, first["id"], "positive", "ann", to_db_time(NOW))
        mention_sql.replace_topics(db, first["id"], [{"name": "fit", "score": 1.0, "sentiment": "positive"}])
    assert classify_pending(store, TopicKeywordClassifier) == 3
    [row] = [m for m in store.mentions(MentionQuery(limit=100)) if m["id"] == first["id"]]
    assert row["sentiment"] == "positive" and row["corrected"]
    assert [t["name"] for t in row["topics"]] == ["fit"]
    assert mention_sql.pending_count(store.db) == 0
