"""The push queue, people's corrections and the export's pages on both stores (issue 18).

SQLite's ``Store`` and PostgreSQL's ``PgStore`` run the same statements for these
(``sentimon.mention_sql``, ``sentimon.corrections.record``), so each test runs once per backend
and asserts what a user relies on: a pushed mention is stored once and answered with its id,
pending ones are classified once and never overwrite a person's label, a correction logs what it
replaced (also when two people correct one mention at once), and an export pages through the
classified mentions only. The PostgreSQL run uses a fresh schema on the session's cluster
(tests/pg_server.py).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from sentimon.corrections import Correction, CorrectionError, apply_correction
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)


def _mention(key: str, hours: int = 0, source: str = "helpdesk") -> Mention:
    return Mention(source, key, f"parcel {key} never arrived", T0 + timedelta(hours=hours))


def _verdict(sentiment: str, *topics: str) -> Classification:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {sentiment: 0.8}
    return Classification(sentiment, scores, tuple(TopicScore(t, 0.7, sentiment) for t in topics), "stub@1")


def _found(store: Any, **filters: Any) -> list[str]:
    """External ids of the mentions ``sentimon mentions`` lists with ``filters``."""
    return sorted(row["external_id"] for row in store.mentions(MentionQuery(limit=100, **filters)))


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Opens a store on this test's database: several openers, several connections."""
    opened: list[Any] = []
    if request.param == "sqlite":
        path = tmp_path / "s.db"

        def open_store() -> Any:
            opened.append(Store(path))
            return opened[-1]
    else:
        from sentimon.pgstore import PgStore

        url = request.getfixturevalue("pg_url")

        def open_store() -> Any:
            opened.append(PgStore(url, max_connections=4))
            return opened[-1]
    yield open_store
    for store in opened:
        store.close()


def test_a_push_is_stored_once_pending_and_answered_with_every_id(opener) -> None:
    store = opener()
    new, ids = store.save_pending({"helpdesk": [_mention("a"), _mention("b"), _mention("a")],
                                   "chat": [_mention("z", source="chat")]})
    assert new == 3
    assert ids[("helpdesk", "a")] != ids[("helpdesk", "b")]
    again, ids_again = store.save_pending({"helpdesk": [_mention("b"), _mention("c", 1)]})
    assert again == 1 and ids_again[("helpdesk", "b")] == ids[("helpdesk", "b")]
    assert store.pending_count() == 4
    assert _found(store, pending=False) == []  # pending mentions are never counted
    assert len(_found(store, pending=True)) == 4
    first = store.pending_mentions(2)  # oldest first, then the next page after the last id
    rest = store.pending_mentions(10, after_id=first[-1]["id"])
    ids_in_order = [row["id"] for row in first + rest]
    assert len(first) == 2 and ids_in_order == sorted(ids_in_order)
    assert {row["text"] for row in first + rest} == {f"parcel {k} never arrived" for k in "abcz"}
    assert store.get_cursor("helpdesk") is None  # a push moves no cursor


def test_pending_mentions_are_classified_once_and_a_persons_label_wins(opener) -> None:
    store = opener()
    _, ids = store.save_pending({"helpdesk": [_mention("a"), _mention("b")]})
    a, b = ids[("helpdesk", "a")], ids[("helpdesk", "b")]
    apply_correction(store, b, Correction(sentiment="positive"), author="ana")
    written = store.set_classifications([(a, _verdict("negative", "delivery")),
                                         (b, _verdict("negative", "delivery"))])
    assert written == 1  # b was labelled by a person while pending
    assert store.set_classifications([(a, _verdict("neutral"))]) == 0  # no longer pending
    assert store.pending_count() == 0
    assert _found(store, sentiments=["negative"]) == ["a"]
    assert _found(store, sentiments=["positive"]) == ["b"]
    assert _found(store, topics=["delivery"]) == ["a"]


def test_a_correction_logs_what_it_replaced_and_changes_the_queries(opener) -> None:
    store = opener()
    [mention_id] = store.save_batch("helpdesk", [_mention("a")], [_verdict("neutral", "price")]).ids
    entry = apply_correction(store, mention_id,
                             Correction(sentiment="negative", set_topics=[("delivery", None)],
                                        remove_topics=["price"], note="lost parcel"), author="ana")
    assert entry["before"]["sentiment"] == "neutral"
    assert [t["name"] for t in entry["before"]["topics"]] == ["price"]
    assert entry["sentiment"] == "negative"
    assert entry["topics"] == [{"name": "delivery", "score": 1.0, "sentiment": "negative"}]
    assert _found(store, sentiments=["negative"], topics=["delivery"]) == ["a"]
    assert _found(store, topics=["price"]) == []
    second = apply_correction(store, mention_id, Correction(sentiment="positive"), author="bo")
    assert second["id"] > entry["id"]
    assert second["before"]["sentiment"] == "negative"
    with pytest.raises(CorrectionError, match="no mention with id 9999"):
        apply_correction(store, 9999, Correction(sentiment="negative"), author="ana")


def test_two_people_correcting_one_mention_each_log_the_others_result(opener) -> None:
    """Each correction reads what it replaces inside its own transaction: with the row locked
    (PostgreSQL) or the write lock held (SQLite), the second one's ``before`` is the first one's
    result, never the value both started from."""
    [mention_id] = opener().save_batch("helpdesk", [_mention("a")], [_verdict("neutral")]).ids
    entries: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def correct(sentiment: str, author: str) -> None:
        store = opener()
        start.wait()
        entries.append(apply_correction(store, mention_id, Correction(sentiment=sentiment), author=author))

    threads = [threading.Thread(target=correct, args=args) for args in [("negative", "ana"), ("positive", "bo")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    first, second = sorted(entries, key=lambda e: e["id"])
    assert first["before"]["sentiment"] == "neutral"
    assert second["before"]["sentiment"] == first["sentiment"]


def test_export_pages_hold_the_classified_mentions_in_the_window(opener) -> None:
    store = opener()
    store.save_batch("helpdesk", [_mention(f"m{i}", hours=i) for i in range(7)],
                     [_verdict("negative")] * 7)
    store.save_pending({"helpdesk": [_mention("pending", hours=3)]})
    columns = ["id", "external_id", "sentiment"]
    since, until = "2026-11-02T10:30:00Z", "2026-11-02T15:30:00Z"  # hours 1..5
    seen, after = [], 0
    while page := store.mentions_page(columns, after, since, until, 2):
        assert len(page) <= 2
        seen += [row["external_id"] for row in page]
        after = page[-1]["id"]
    assert seen == ["m1", "m2", "m3", "m4", "m5"]
    assert set(store.mentions_page(columns, 0, None, None, 100)[0]) == set(columns)


def test_counts_include_the_outbox_on_both_stores(opener) -> None:
    """`stats`/`doctor` show deliveries waiting; PostgreSQL's store said 0 whatever the outbox held."""
    from alerts import storage
    from alerts.message import test_message

    store = opener()
    store.save_batch("helpdesk", [_mention("a")], [_verdict("negative")])
    with store.alert_tables() as db:
        for key in ("k1", "k2"):
            storage.enqueue(db, event_id=None, notifier="hook", kind="opened",
                            payload=test_message("2026-11-02T09:30:00Z"), now=T0, key=key)
    assert store.counts() == {"mentions": 1, "pending_deliveries": 2}


def test_a_postgresql_store_that_loses_its_server_says_so_and_recovers(pg_server) -> None:
    """/healthz and the alert jobs ask ``check_file``; on PostgreSQL it did nothing, so a push
    endpoint whose database refused every connection still answered "ok".

    Recovery is timed after an outage of 16 s: the pool's retries wait 1, 2, 4, 8, 16 ... s, and
    with psycopg_pool's default (5 minutes of one chain of retries) the next attempt after this
    outage came ~15 s after the server was back (CI once failed a single 3 s check here)."""
    import psycopg

    from sentimon.errors import StorageError
    from sentimon.pgstore import PgStore

    url = pg_server.create_database("health")
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    store = PgStore(url, max_connections=2)
    try:
        store.check_file()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'.encode())
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        outage_ends = time.monotonic() + 16
        while time.monotonic() < outage_ends:  # requests keep coming during the outage
            with pytest.raises(StorageError, match="not reachable"):
                store.check_file()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'.encode())
        back = time.monotonic()
        while True:  # back without a restart, and soon
            try:
                store.check_file()
                break
            except StorageError:
                assert time.monotonic() - back < 8, "the pool did not reconnect within 8 s"
        assert time.monotonic() - back < 8
    finally:
        store.close()
