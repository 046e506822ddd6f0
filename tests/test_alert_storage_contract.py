"""alerts/storage.py on both stores: the same functions and statements on SQLite (sqlite-utils)
and PostgreSQL (sentimon/pgstore/qmark.py), so the outbox keeps its guarantees on either:
a notification key queued once, one sender per row, one open event per rule and scope."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from alerts import storage
from sentimon.store import Store

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> Iterator[storage.SqlHandle]:
    if request.param == "sqlite":
        store = Store(tmp_path / "s.db")
        yield store.db
        store.close()
        return
    import psycopg

    from sentimon.pgstore import PgStore
    from sentimon.pgstore.qmark import QmarkDatabase

    url = request.getfixturevalue("pg_url")
    PgStore(url, max_connections=1).close()  # the schema, alert tables included (0003)
    with psycopg.connect(url, autocommit=True) as conn:
        yield QmarkDatabase(conn)


def test_a_key_is_queued_once_and_one_sender_claims_it(db) -> None:
    assert storage.enqueue(db, event_id=None, notifier="slack", kind="test", payload={"t": "é"}, now=NOW)
    assert not storage.enqueue(db, event_id=None, notifier="slack", kind="test", payload={}, now=NOW)
    assert storage.delivery_exists(db, "None:slack:test")
    [row] = storage.due(db, NOW, 10)
    assert storage.pending_count(db) == 1 and storage.pending_count(db, "email") == 0
    assert storage.claim(db, row, NOW + timedelta(minutes=1))
    assert not storage.claim(db, row, NOW + timedelta(minutes=1))  # the other sender lost
    storage.mark_failed(db, row["id"], expired=False, next_at=NOW + timedelta(minutes=5), error="503")
    assert storage.failing_count(db) == 1 and storage.due(db, NOW, 10) == []
    storage.mark_sent(db, row["id"], NOW)
    assert storage.delivery_totals(db) == {"sent": 1}


def test_one_open_event_per_rule_and_scope_with_its_history(db) -> None:
    first = storage.open_event(db, rule="spike", scope="", now=NOW, metric="negative_share",
                               observed=0.8, baseline=0.2, p_value=1e-9, details={"k": 20})
    with pytest.raises(Exception, match="(?i)unique"):  # sqlite3.IntegrityError / UniqueViolation
        with db.atomic():
            storage.open_event(db, rule="spike", scope="", now=NOW, metric="negative_share",
                               observed=0.9, baseline=0.2, p_value=1e-9, details={})
    assert [e["id"] for e in storage.open_events(db, "spike")] == [first]
    storage.ack_event(db, first, NOW, "Dana")
    storage.resolve_event(db, first, NOW + timedelta(hours=2))
    assert storage.last_resolved(db, "spike", "") == NOW + timedelta(hours=2)
    second = storage.open_event(db, rule="spike", scope="", now=NOW + timedelta(hours=3),
                                metric="negative_share", observed=0.7, baseline=0.2, p_value=1e-6,
                                details={})
    assert second > first
    assert storage.event_totals(db) == {"open": 1, "resolved": 1}
    assert [e["id"] for e in storage.history(db, None, 10)] == [second, first]
    assert storage.get_event(db, first)["acked_by"] == "Dana"


def test_mutes_and_a_rolled_back_block(db) -> None:
    mute = storage.add_mute(db, rule="spike", topic="delivery", now=NOW, until=NOW + timedelta(hours=4), by="ann")
    assert [m["id"] for m in storage.active_mutes(db, NOW + timedelta(hours=1))] == [mute]
    assert storage.active_mutes(db, NOW + timedelta(hours=5)) == []
    with pytest.raises(RuntimeError):
        with db.atomic():
            storage.enqueue(db, event_id=None, notifier="email", kind="digest", payload={}, now=NOW)
            raise RuntimeError("the sender crashed")
    assert storage.pending_count(db) == 0  # nothing half-written
    storage.forget_alerts(db)
    assert storage.active_mutes(db, NOW) == []
