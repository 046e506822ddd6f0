"""One contract, two stores (issue 18): SQLite's ``Store`` and PostgreSQL's ``PgStore`` take
the same batches and must give back the same rows, cursors, counts and roll-ups.

Each test runs once per backend (the ``backend`` fixture); the PostgreSQL run uses a fresh
database on the session's test cluster (tests/pg_server.py) and skips where PostgreSQL is not
installed (fails under CI). The roll-up tables must always equal a GROUP BY over the mentions.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)  # a Monday
SENTIMENTS = ("negative", "neutral", "positive")
TOPICS = ("delivery", "refund", "app")


def mention(i: int, source: str = "reviews") -> Mention:
    words = ("refund never arrived", "parcel was late", "love the new app", "not working at all")
    return Mention(
        source=source, external_id=f"e{i:05d}", text=f"{words[i % 4]} #{i}",
        created_at=T0 + timedelta(hours=5 * i), title="Order" if i % 3 == 0 else None,
        rating=1 + i % 5, author=f"Author{i % 7}", brand="" if i % 4 else "rival",
        extra={"reply_url": f"https://example.com/r/{i}"} if i % 2 else {},
    )


def classify(i: int) -> Classification:
    sentiment = SENTIMENTS[i % 3]
    topics = tuple(TopicScore(t, 0.5 + 0.1 * k, SENTIMENTS[(i + k) % 3])
                   for k, t in enumerate(TOPICS) if (i >> k) & 1)
    return Classification(sentiment=sentiment, scores={"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {sentiment: 0.8},
                          topics=topics, model="stub")


def batch(ids: range | list[int], source: str = "reviews") -> tuple[list[Mention], list[Classification]]:
    return [mention(i, source) for i in ids], [classify(i) for i in ids]


def open_store(kind: str, target: str) -> Any:
    if kind == "sqlite":
        return Store(target)
    from sentimon.pgstore import PgStore

    return PgStore(target, max_connections=4)


@dataclass
class Backend:
    """A store kind under test: ``open`` gives a new handle (SQLite wants one per thread);
    ``rows`` runs a parameterless read on a connection of the test's own."""

    name: str
    target: str  # the database file or URL, for a store opened in another process
    rows: Callable[[str], list[tuple[Any, ...]]]
    execute: Callable[[str], None]
    opened: list[Any] = field(default_factory=list)

    def open(self) -> Any:
        return open_store(self.name, self.target)

    def store(self) -> Any:
        handle = self.open()
        self.opened.append(handle)
        return handle


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        path = tmp_path / "sentimon.db"

        def sqlite_rows(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(path) as conn:
                return conn.execute(sql).fetchall()

        def sqlite_execute(sql: str) -> None:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute(sql)

        found = Backend("sqlite", str(path), sqlite_rows, sqlite_execute)
    else:
        import psycopg

        url = request.getfixturevalue("pg_url")

        def pg_rows(sql: str) -> list[tuple[Any, ...]]:
            with psycopg.connect(url) as conn:
                return conn.execute(sql.encode()).fetchall()

        def pg_execute(sql: str) -> None:
            with psycopg.connect(url) as conn:
                conn.execute(sql.encode())

        found = Backend("postgresql", url, pg_rows, pg_execute)
    yield found
    for handle in found.opened:
        handle.close()


def rollup_mismatches(backend: Backend) -> list[Any]:
    """Differences between the roll-up tables and a GROUP BY over mentions (empty: exact)."""
    day = "substr(m.created_at, 1, 10)"
    by_sentiment = set(backend.rows(
        f"SELECT {day}, m.source, coalesce(m.sentiment, ''), COUNT(*) FROM mentions m GROUP BY 1, 2, 3"))
    by_topic = set(backend.rows(
        f"SELECT {day}, m.source, t.topic, t.sentiment, coalesce(m.sentiment, ''), COUNT(*) "
        "FROM mention_topics t JOIN mentions m ON m.id = t.mention_id GROUP BY 1, 2, 3, 4, 5"))
    kept_sentiment = set(backend.rows("SELECT day, source, sentiment, n FROM daily_sentiment WHERE n <> 0"))
    kept_topic = set(backend.rows(
        "SELECT day, source, topic, topic_sentiment, mention_sentiment, n FROM daily_topics WHERE n <> 0"))
    return sorted(by_sentiment ^ kept_sentiment, key=str) + sorted(by_topic ^ kept_topic, key=str)


def test_batches_give_back_rows_cursors_and_counts(backend: Backend) -> None:
    store = backend.store()
    first = store.save_batch("reviews", *batch(range(0, 30)), "page-1", now=T0)
    second = store.save_batch("reviews", *batch(range(30, 50)), "page-2", now=T0)
    assert (first.new, first.duplicates, second.new) == (30, 0, 20)
    assert len(set(first.ids + second.ids)) == 50
    assert store.get_cursor("reviews") == "page-2" and store.get_cursor("other") is None
    assert store.counts() == {"mentions": 50, "pending_deliveries": 0}
    assert store.known_ids("reviews", ["e00001", "e00049", "e99999"]) == {"e00001", "e00049"}
    assert store.known_ids("other", ["e00001"]) == set()
    newest = store.mentions(MentionQuery(limit=3))
    assert [m["external_id"] for m in newest] == ["e00049", "e00048", "e00047"]
    row = store.mentions(MentionQuery(authors=["author3"], sentiments=["neutral"], limit=1))[0]
    assert (row["external_id"], row["author"], row["rating"], row["brand"]) == ("e00031", "Author3", 2, "")
    assert row["reply_url"] == "https://example.com/r/31" and row["corrected"] is False
    assert row["scores"] == {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
    assert row["topics"] == [{"name": "app", "score": 0.7, "sentiment": "negative"},
                             {"name": "refund", "score": 0.6, "sentiment": "positive"},
                             {"name": "delivery", "score": 0.5, "sentiment": "neutral"}]
    assert len(store.mentions(MentionQuery(brands=["rival"], limit=100))) == 13
    assert rollup_mismatches(backend) == []


def test_a_repeated_batch_is_stored_once_and_still_moves_the_cursor(backend: Backend) -> None:
    store = backend.store()
    store.save_batch("reviews", *batch(range(10)), "a")
    again = store.save_batch("reviews", *batch(range(5, 15)), "b")
    assert (again.new, again.duplicates) == (5, 5)
    mentions, classes = batch([20, 21, 20, 22, 21])  # the same id twice inside one batch
    inside = store.save_batch("reviews", mentions, classes, "c")
    assert (inside.new, inside.duplicates) == (3, 2)
    assert store.get_cursor("reviews") == "c"
    assert store.counts()["mentions"] == 18
    assert backend.rows("SELECT COUNT(DISTINCT external_id), COUNT(*) FROM mentions") == [(18, 18)]
    assert rollup_mismatches(backend) == []


def test_a_crash_inside_the_batch_leaves_nothing_half_written(backend: Backend) -> None:
    store = backend.store()
    store.save_batch("reviews", *batch(range(5)), "before")
    mentions, classes = batch(range(5, 15))
    broken = list(classes)
    # The third mention's topic score cannot be stored: the failure comes after the first
    # mentions of the batch were written, inside its transaction.
    broken[2] = Classification("negative", {"negative": 1.0}, (TopicScore("refund", "oops", "negative"),))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.save_batch("reviews", mentions, broken, "after")
    assert store.counts()["mentions"] == 5
    assert store.get_cursor("reviews") == "before"
    assert backend.rows("SELECT COUNT(*) FROM mention_topics t WHERE t.mention_id NOT IN (SELECT id FROM mentions)") == [(0,)]
    assert rollup_mismatches(backend) == []
    retried = store.save_batch("reviews", mentions, classes, "after")  # the next run repeats it
    assert (retried.new, store.get_cursor("reviews"), store.counts()["mentions"]) == (10, "after", 15)
    assert rollup_mismatches(backend) == []


KILLED_WRITER = """
import sys
sys.path.insert(0, sys.argv[3])
from test_store_contract import batch, open_store
store = open_store(sys.argv[1], sys.argv[2])
store.save_batch("reviews", *batch(range(10)), "first")
big = batch(range(10, 40010))
print("committed", flush=True)
store.save_batch("reviews", *big, "second")
print("done", flush=True)
"""


def test_a_writer_killed_mid_batch_leaves_nothing_half_written(backend: Backend) -> None:
    """SIGKILL, not an exception: the process dies inside its 40,000-mention transaction
    (about 5 s to commit on either store on this 2-core machine; killed 0.5 s in), and the
    database keeps only what was committed."""
    import subprocess
    import sys
    import time

    backend.store()  # the schema first
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, backend.name, backend.target,
                               str(Path(__file__).parent)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "committed\n"
        time.sleep(0.5)
        writer.kill()
    finally:
        writer.wait(timeout=60)
    assert writer.stdout.read() == "", "the batch finished before the kill: make it bigger"
    store = backend.store()
    assert (store.counts()["mentions"], store.get_cursor("reviews")) == (10, "first")
    assert rollup_mismatches(backend) == []
    assert store.save_batch("reviews", *batch(range(10, 20)), "again").new == 10  # no lock left behind


def test_three_concurrent_writers_store_every_mention_once(backend: Backend) -> None:
    backend.store()  # create the schema before the threads race
    ids = list(range(600))
    news: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(seed: int) -> None:
        store = backend.store()
        order = ids[:]
        random.Random(seed).shuffle(order)  # overlapping batches, in different orders
        try:
            for start in range(0, len(order), 25):
                result = store.save_batch("reviews", *batch(order[start:start + 25]), f"w{seed}")
                with lock:
                    news.append(result.new)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(news) == 600
    assert backend.rows("SELECT COUNT(*), COUNT(DISTINCT external_id) FROM mentions") == [(600, 600)]
    assert backend.store().get_cursor("reviews") in {"w0", "w1", "w2"}
    assert rollup_mismatches(backend) == []


def test_rollups_follow_corrections_and_retention(backend: Backend) -> None:
    store = backend.store()
    store.save_batch("reviews", *batch(range(40)))
    store.save_batch("forum", *batch(range(20), "forum"))
    # A person's correction (what sentimon/corrections.py does) and a moved mention.
    backend.execute("UPDATE mentions SET sentiment = 'positive', corrected_by = 'ann' WHERE external_id IN ('e00001', 'e00002')")
    backend.execute("UPDATE mention_topics SET sentiment = 'neutral' WHERE topic = 'refund'")
    backend.execute("DELETE FROM mention_topics WHERE topic = 'app' AND mention_id IN (SELECT id FROM mentions WHERE source = 'forum')")
    backend.execute("UPDATE mentions SET created_at = '2026-12-01T00:00:00Z', sentiment = NULL WHERE external_id = 'e00003'")
    assert rollup_mismatches(backend) == []
    deleted = store.delete_older_than(T0 + timedelta(days=3), batch=7)
    assert deleted == 2 * 15 - 2  # ids 0-14 of each source are older than 3 days, but e00003 moved
    assert store.counts()["mentions"] == 60 - 28
    assert rollup_mismatches(backend) == []
    assert backend.rows("SELECT COUNT(*) FROM daily_sentiment WHERE n = 0") != [(0,)]
    store.optimize()  # upkeep drops the emptied roll-up rows
    assert backend.rows("SELECT COUNT(*) FROM daily_sentiment WHERE n = 0") == [(0,)]
    assert rollup_mismatches(backend) == []
    corrected = store.mentions(MentionQuery(sources=["reviews"], limit=100))
    assert sum(row["corrected"] for row in corrected) == 0  # the corrected ones were old


def test_search_finds_every_word_stemmed(backend: Backend) -> None:
    store = backend.store()
    store.save_batch("reviews", *batch(range(20)))
    found = store.mentions(MentionQuery(search="refunds", limit=50))
    assert sorted(m["external_id"] for m in found) == [f"e{i:05d}" for i in range(0, 20, 4)]
    assert [m["external_id"] for m in store.mentions(MentionQuery(search="refund never #4", limit=50))] == ["e00004"]
    assert store.mentions(MentionQuery(search="not working", limit=50, since=T0 + timedelta(days=3)))
    for hostile in ('"', "a' OR 1=1 --", "NEAR(", "*", "x\x00y", "%s"):
        store.mentions(MentionQuery(search=hostile))  # never an error, never SQL


def test_runs_are_recorded(backend: Backend) -> None:
    store = backend.store()
    run = store.start_run("reviews", T0)
    store.finish_run(run, finished=T0 + timedelta(seconds=3), fetched=7, new=5, skipped=2, error=None, dropped=1)
    failed = store.start_run("reviews", T0 + timedelta(hours=1))
    store.finish_run(failed, finished=T0 + timedelta(hours=1), fetched=0, new=0, skipped=0, error="HTTP 500")
    assert failed != run
    assert backend.rows("SELECT fetched, new, skipped, dropped FROM runs ORDER BY id") == [(7, 5, 2, 1), (0, 0, 0, 0)]
    assert store.last_runs() == [{"source": "reviews", "last_run": "2026-11-02T10:30:00Z",
                                  "last_success": "2026-11-02T09:30:03Z", "last_error": "HTTP 500", "stored": 5}]



def test_finished_runs_give_each_source_its_last_finished_run_and_totals(backend: Backend) -> None:
    """What /metrics reports per connector: a running run is not finished, a source that never
    succeeded has no last success, and the totals count finished runs by result."""
    store = backend.store()
    for source, minute, seconds, error in (("reviews", 0, 3, None), ("reviews", 10, 1, "HTTP 500"),
                                           ("reviews", 20, None, None), ("broken", 5, 2, "timeout"),
                                           ("starting", 7, None, None)):
        run = store.start_run(source, T0 + timedelta(minutes=minute))
        if seconds is not None:
            store.finish_run(run, finished=T0 + timedelta(minutes=minute, seconds=seconds),
                             fetched=4, new=minute, skipped=1, error=error)
    assert store.finished_runs() == [
        {"source": "broken", "started_at": "2026-11-02T09:35:00Z", "finished_at": "2026-11-02T09:35:02Z",
         "fetched": 4, "new": 5, "skipped": 1, "error": "timeout", "last_success": None,
         "ok_runs": 0, "error_runs": 1},
        {"source": "reviews", "started_at": "2026-11-02T09:40:00Z", "finished_at": "2026-11-02T09:40:01Z",
         "fetched": 4, "new": 10, "skipped": 1, "error": "HTTP 500", "last_success": "2026-11-02T09:30:03Z",
         "ok_runs": 1, "error_runs": 1},
    ]

def test_stats_from_rollups_equal_stats_counted(backend: Backend) -> None:
    """Whole days come from the roll-ups, partial ones from the mentions: both paths agree."""
    store = backend.store()
    store.save_batch("reviews", *batch(range(60)))
    now = T0 + timedelta(days=20)
    since = T0 + timedelta(hours=7)
    for by in ("day", "week", "hour", "source", "topic", "brand"):
        via_rollups = store.stats(MentionQuery(since=since), by, now=now)
        counted = store.stats(MentionQuery(since=since, min_rating=1), by, now=now)  # min_rating: no roll-up
        assert via_rollups == counted, by
    topic = store.stats(MentionQuery(topics=["refund"], sentiments=["negative"]), "day", now=now)
    assert topic == store.stats(MentionQuery(topics=["refund"], sentiments=["negative"], min_rating=1), "day", now=now)
    assert sum(g["total"] for g in store.stats(MentionQuery(), "source", now=now)) == 60


def test_both_stores_answer_alike(tmp_path: Path, pg_url: str) -> None:
    """Golden parity: the same batches give the same ``mentions``, ``stats`` and run record
    on both backends (ids aside: a PostgreSQL sequence skips the ids duplicates drew)."""
    from sentimon.pgstore import PgStore

    sqlite_store, pg_store = Store(tmp_path / "s.db"), PgStore(pg_url, max_connections=2)
    try:
        for store in (sqlite_store, pg_store):
            store.save_batch("reviews", *batch(range(0, 80)), "1", now=T0)
            store.save_batch("reviews", *batch(range(60, 120)), "2", now=T0)  # 20 repeats
            store.save_batch("forum", *batch(range(0, 30), "forum"), "f", now=T0)
            store.save_batch("push", [mention(i, "push") for i in range(200, 210)], None, now=T0)
        queries = [
            MentionQuery(limit=500), MentionQuery(search="parcel late", limit=500),
            MentionQuery(pending=True, sources=["push", "forum"], limit=500),
            MentionQuery(topics=["refund"], sentiments=["negative", "neutral"], limit=7),
            MentionQuery(since=T0 + timedelta(days=2), until=T0 + timedelta(days=9), sources=["forum"]),
            MentionQuery(min_rating=2, max_rating=3, authors=["AUTHOR1"], brands=[""], limit=500),
        ]
        for query in queries:
            rows = [[{k: v for k, v in row.items() if k != "id"} for row in s.mentions(query)]
                    for s in (sqlite_store, pg_store)]
            assert rows[0] == rows[1], query
        now = T0 + timedelta(days=40)
        for by in ("day", "week", "hour", "source", "topic", "brand"):
            for query in (MentionQuery(), MentionQuery(since=T0 + timedelta(hours=30), topics=["app"])):
                assert sqlite_store.stats(query, by, now=now) == pg_store.stats(query, by, now=now), (by, query)
        assert sqlite_store.top_negative_topics(MentionQuery(), "brand") == pg_store.top_negative_topics(MentionQuery(), "brand")
        assert sqlite_store.counts() == pg_store.counts()
    finally:
        sqlite_store.close()
        pg_store.close()


def test_pending_mentions_are_stored_unclassified_and_not_counted(backend: Backend) -> None:
    """``save_batch(..., None)``: the push endpoint stores first and classifies later."""
    store = backend.store()
    store.save_batch("reviews", *batch(range(6)))
    mentions, _ = batch(range(6, 10))
    assert store.save_batch("reviews", mentions, None, "p").new == 4
    pending = store.mentions(MentionQuery(pending=True, limit=50))
    assert sorted(m["external_id"] for m in pending) == ["e00006", "e00007", "e00008", "e00009"]
    assert {(m["sentiment"], m["scores"]["negative"], len(m["topics"])) for m in pending} == {(None, None, 0)}
    assert len(store.mentions(MentionQuery(pending=False, limit=50))) == 6
    counted = store.stats(MentionQuery(min_rating=1), "source")  # counted from the mentions
    assert counted[0]["total"] == 6
    assert store.counts()["mentions"] == 10
    assert rollup_mismatches(backend) == []
