"""A batch of classifications on PostgreSQL is a few statements, with the per-row guarantees.

PostgreSQL stored pushed mentions' classifications with one UPDATE (and one INSERT per topic)
per mention, a round trip each (issue 18: ~1,000 mentions/s against SQLite's ~3,200/s);
``sentimon.pgstore.classify_batch`` writes a batch in two. The behaviour tests run on both
stores, so the batch answers what SQLite's per-row path answers: an id given twice, a topic
named twice, an empty batch, a person's topics on a pending mention. The PostgreSQL-only tests
count the statements, hold a person's correction open while a batch waits on it, run two
batches of one page at once, and compare random batches written per row and as batches.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from polling import wait_until
from sentimon.corrections import Correction, apply_correction, record
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (pip install -e '.[dev]')")

from sentimon.pgstore import PgStore  # noqa: E402
from sentimon.pgstore.qmark import QmarkDatabase  # noqa: E402

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def _verdict(sentiment: str, *topics: tuple[str, float]) -> Classification:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {sentiment: 0.8}
    return Classification(sentiment, scores, tuple(TopicScore(t, s, sentiment) for t, s in topics),
                          "stub@1", "en")


def _pending(store: Any, *keys: str) -> list[int]:
    _, ids = store.save_pending({"helpdesk": [Mention("helpdesk", k, f"parcel {k} late", T0) for k in keys]})
    return [ids[("helpdesk", k)] for k in keys]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    opened = Store(tmp_path / "s.db") if request.param == "sqlite" else PgStore(
        request.getfixturevalue("pg_url"), max_connections=2)
    yield opened
    opened.close()


def test_an_id_given_twice_takes_its_first_classification_and_counts_once(store) -> None:
    _, ids = store.save_pending({"helpdesk": [Mention("helpdesk", "a", "parcel late", T0),
                                              Mention("helpdesk", "b", "Paket kam spät", T0, lang="de")]})
    a, b = ids[("helpdesk", "a")], ids[("helpdesk", "b")]
    unsure = Classification("positive", {"positive": 0.6}, (), "stub@1", None)  # no language found
    written = store.set_classifications([(a, _verdict("negative", ("delivery", 0.9))), (b, unsure),
                                         (a, _verdict("neutral", ("app", 0.5)))])
    assert written == 2
    assert store.pending_count() == 0
    got = {r["external_id"]: (r["sentiment"], r["scores"], r["lang"], [t["name"] for t in r["topics"]])
           for r in store.mentions(MentionQuery(limit=10))}
    assert got == {"a": ("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1}, "en", ["delivery"]),
                   "b": ("positive", {"negative": 0.0, "neutral": 0.0, "positive": 0.6}, "de", [])}
    assert store.sentiment_totals() == [("helpdesk", "negative", 1), ("helpdesk", "positive", 1)]
    assert store.set_classifications([]) == 0
    assert store.set_classifications([(a, _verdict("positive")), (a, _verdict("positive"))]) == 0


def test_a_topic_named_twice_keeps_its_first_score_and_a_persons_topics_stay(store) -> None:
    a, b = _pending(store, "a", "b")
    apply_correction(store, b, Correction(set_topics=[("refund", "negative")]), author="ana")
    written = store.set_classifications([
        (a, _verdict("negative", ("delivery", 0.9), ("delivery", 0.3), ("app", 0.4))),
        (b, _verdict("negative", ("delivery", 0.9))),
    ])
    assert written == 2  # b was still pending: a person set only its topics
    assert store.pending_count() == 0
    found = {(r["external_id"], t["name"], t["score"]) for r in store.mentions(MentionQuery(limit=10))
             for t in r["topics"]}
    assert found == {("a", "delivery", 0.9), ("a", "app", 0.4), ("b", "refund", 1.0)}


def test_a_batch_is_two_statements_not_one_per_mention(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PgStore(pg_url, max_connections=1)
    ids = _pending(store, *(f"m{i}" for i in range(50)))
    run = psycopg.Connection.execute
    sent: list[str] = []

    def counted(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if query:  # the pool's liveness check sends an empty query
            sent.append(str(query))
        return run(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    try:
        assert store.set_classifications([(i, _verdict("negative", ("delivery", 0.9), ("app", 0.4)))
                                          for i in ids]) == 50
        assert len(sent) == 2, sent  # per mention: 1 UPDATE + 2 topic INSERTs = 150 before
        sent.clear()
        assert store.set_classifications([]) == 0 and sent == []
    finally:
        monkeypatch.undo()
    assert _rollups_exact(pg_url)
    store.close()


def _rollups_exact(url: str) -> bool:
    """The roll-up tables hold what a count over the rows gives (one day, one source here)."""
    with psycopg.connect(url) as conn:
        def rows(sql: str) -> set[tuple[Any, ...]]:
            return set(conn.execute(sql.encode()).fetchall())

        return (rows("SELECT coalesce(sentiment, ''), count(*) FROM mentions GROUP BY 1")
                == rows("SELECT sentiment, sum(n) FROM daily_sentiment GROUP BY 1 HAVING sum(n) <> 0")
                and rows("SELECT t.topic, t.sentiment, coalesce(m.sentiment, ''), count(*) FROM mention_topics t "
                         "JOIN mentions m ON m.id = t.mention_id GROUP BY 1, 2, 3")
                == rows("SELECT topic, topic_sentiment, mention_sentiment, sum(n) FROM daily_topics "
                        "GROUP BY 1, 2, 3 HAVING sum(n) <> 0"))


@pytest.mark.parametrize("person", [Correction(sentiment="positive"),
                                    Correction(set_topics=[("refund", "negative")])],
                         ids=["sentiment", "topics only"])
def test_a_batch_waits_for_a_persons_open_correction_and_keeps_it(pg_url: str, person: Correction) -> None:
    store = PgStore(pg_url, max_connections=2)
    a, b, c = _pending(store, "a", "b", "c")
    answer: list[Any] = []
    with psycopg.connect(pg_url) as person_conn:  # the person's transaction, held open
        person_conn.execute("SELECT id FROM mentions WHERE id = %s FOR UPDATE", [b])
        record(QmarkDatabase(person_conn), b, person, author="ana", when="2026-11-02T10:00:00+00:00")
        batch = threading.Thread(target=lambda: answer.append(store.set_classifications(
            [(i, _verdict("negative", ("delivery", 0.9))) for i in (a, b, c)])))
        batch.start()
        with psycopg.connect(pg_url) as watcher:
            wait_until(lambda: watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0],
                       what="the batch waiting on the person's row")
        person_conn.commit()
    batch.join(timeout=30)
    taken_by_b = person.sentiment is None  # a person who set only topics left it pending
    assert answer == [3 if taken_by_b else 2]
    with psycopg.connect(pg_url) as conn:
        got = conn.execute("SELECT m.external_id, m.sentiment, string_agg(t.topic, ',' ORDER BY t.topic) "
                           "FROM mentions m LEFT JOIN mention_topics t ON t.mention_id = m.id "
                           "GROUP BY 1, 2 ORDER BY 1").fetchall()
    assert got == [("a", "negative", "delivery"),
                   ("b", "negative" if taken_by_b else "positive", "refund" if taken_by_b else None),
                   ("c", "negative", "delivery")]
    assert _rollups_exact(pg_url)
    store.close()


def test_two_servers_classifying_one_page_in_opposite_orders_write_each_mention_once(pg_url: str) -> None:
    stores = [PgStore(pg_url, max_connections=1) for _ in range(2)]
    ids = _pending(stores[0], *(f"m{i}" for i in range(400)))
    rows = [(i, _verdict("negative", ("delivery", 0.9))) for i in ids]
    start = threading.Barrier(2)
    written: list[int] = []
    errors: list[BaseException] = []

    def classify(store: PgStore, batch: list[tuple[int, Classification]]) -> None:
        start.wait()
        try:
            written.append(store.set_classifications(batch))
        except BaseException as exc:  # a deadlock would surface here as a StorageError
            errors.append(exc)

    threads = [threading.Thread(target=classify, args=(stores[0], rows)),
               threading.Thread(target=classify, args=(stores[1], rows[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sum(written) == 400
    assert _rollups_exact(pg_url)
    for store in stores:
        store.close()


def test_the_bench_times_both_postgresql_paths(pg_server: Any) -> None:
    """bench/pending_pg.py at a tiny size: the per-row path it compares with still runs."""
    from benchscripts import load_bench

    bench = load_bench("pending_pg")
    for write in (bench._per_row, bench._store_rows):
        for timed in (lambda s: bench.rate(s, write, 70, 32), lambda s: bench.drain_rate(s, write, 70)):
            store = PgStore(pg_server.create_database("bench"), max_connections=1)
            try:
                assert timed(store) > 0  # it asserts that every mention was written once
            finally:
                store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_batch_leaves_what_the_per_row_statements_leave(pg_server: Any, seed: int) -> None:
    """Random batches (ids twice, topics twice, no language, ids a person labelled or gave
    topics, ids gone) written per row (``mention_sql``, the path before) into one database
    and as batches into another: the same answers, rows, topics and roll-ups."""
    import random

    from sentimon import mention_sql

    rng = random.Random(seed)
    keys = [f"m{i}" for i in range(60)]
    people = {k: rng.choice([Correction(sentiment="positive"), Correction(set_topics=[("refund", "neutral")])])
              for k in rng.sample(keys, 12)}
    batches = [[(rng.choice(keys + ["gone"]), Classification(
        rng.choice(["negative", "neutral", "positive"]), {"negative": rng.random(), "positive": rng.random()},
        tuple(TopicScore(rng.choice(["delivery", "app", "refund"]), rng.random(), "negative")
              for _ in range(rng.randrange(4))), "stub@1", rng.choice([None, "en"])))
        for _ in range(rng.randrange(0, 25))] for _ in range(6)]

    def run(write: Any) -> tuple[list[int], dict[str, list[Any]]]:
        url = pg_server.create_database("parity")
        store = PgStore(url, max_connections=1)
        ids = dict(zip(keys, _pending(store, *keys)))
        ids["gone"] = max(ids.values()) + 1000
        for key, correction in people.items():
            store.apply_correction(ids[key], correction, author="ana", when="2026-11-02T10:00:00+00:00")
        answers = [write(store, [(ids[k], cls) for k, cls in batch]) for batch in batches]
        store.close()
        with psycopg.connect(url) as conn:
            return answers, {table: conn.execute(sql).fetchall() for table, sql in {
                "mentions": "SELECT external_id, sentiment, score_negative, score_neutral, score_positive, "
                            "model, lang, corrected_at FROM mentions ORDER BY 1",
                "topics": "SELECT m.external_id, t.topic, t.score, t.sentiment FROM mention_topics t "
                          "JOIN mentions m ON m.id = t.mention_id ORDER BY 1, 2",
                "daily_sentiment": "SELECT * FROM daily_sentiment WHERE n <> 0 ORDER BY 1, 2, 3",
                "daily_topics": "SELECT * FROM daily_topics WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5",
            }.items()}

    def per_row(store: PgStore, rows: list[tuple[int, Classification]]) -> int:
        with store._statements("per row", write=True) as db:
            return mention_sql.set_classifications(db, rows)

    before, now = run(per_row), run(lambda store, rows: store.set_classifications(rows))
    assert now == before
    assert sum(before[0]) > 20  # most batches wrote something: the comparison means something
