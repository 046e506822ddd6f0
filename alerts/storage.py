"""The alert tables' one owner: every SQL statement on ``alert_events``, ``deliveries`` and
``alert_mutes``.

The tables are created by the store's migrations (``sentimon/schema.py``, one schema version
for the whole file); what is read and written in them is decided here, so the engine, the
outbox, the digest and the app's metrics and reports ask this module instead of writing SQL.
Callers hold the transaction (``db.atomic()``) where several statements must commit together.

Every statement is portable SQL with ``?`` placeholders (ids come back by ``RETURNING``, not
SQLite's ``lastrowid``), so the same functions run on a sqlite-utils ``Database`` and on the
PostgreSQL store's handle (``sentimon/pgstore/qmark.py``); ``SqlHandle`` is what they use of it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ContextManager, Iterable, Protocol, Sequence

from sentimon.times import from_db_time, to_db_time


class SqlHandle(Protocol):
    """The part of sqlite-utils' ``Database`` this module calls (PgStore's handle has it too).

    ``conn`` is the DB-API connection underneath (sqlite3's or psycopg's): both name their
    errors on it (``conn.Error``, ``conn.IntegrityError``), so the engine and the outbox catch
    the driver's errors without knowing which driver it is."""

    conn: Any

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any: ...

    def query(self, sql: str, params: Sequence[Any] | None = None, /) -> Iterable[dict[str, Any]]: ...

    def execute_returning_dicts(self, sql: str, params: Sequence[Any] | None = None, /
                                ) -> list[dict[str, Any]]: ...

    def atomic(self) -> ContextManager[Any]: ...


# ---- deliveries: the notification outbox -------------------------------------------------

def enqueue(db: SqlHandle, *, event_id: int | None, notifier: str, kind: str, payload: dict[str, Any],
            now: datetime, key: str | None = None) -> bool:
    """Store one notification to send; False when its key is already queued (or sent)."""
    key = key or f"{event_id}:{notifier}:{kind}"
    cur = db.execute(
        "INSERT INTO deliveries (key, event_id, notifier, kind, payload, status, attempts, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
        "ON CONFLICT(key) DO NOTHING",
        [key, event_id, notifier, kind.split("-")[0], json.dumps(payload, ensure_ascii=False),
         to_db_time(now), to_db_time(now)],
    )
    return cur.rowcount == 1


def delivery_exists(db: SqlHandle, key: str) -> bool:
    """Whether a notification with this key was ever queued (sent, pending or expired)."""
    return db.execute("SELECT 1 FROM deliveries WHERE key = ?", [key]).fetchone() is not None


def due(db: SqlHandle, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Pending notifications whose time has come, oldest first."""
    return list(db.execute_returning_dicts(
        "SELECT id, key, notifier, kind, payload, attempts, next_attempt_at, created_at "
        "FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, id LIMIT ?", [to_db_time(now), limit]))


def postpone(db: SqlHandle, row: dict[str, Any], until: datetime) -> bool:
    """Move a pending row to ``until`` without counting an attempt; False when another process
    moved it first (its ``next_attempt_at`` is no longer the one read)."""
    return db.execute(
        "UPDATE deliveries SET next_attempt_at = ? "
        "WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
        [to_db_time(until), row["id"], row["next_attempt_at"]],
    ).rowcount == 1


def claim(db: SqlHandle, row: dict[str, Any], lease_until: datetime) -> bool:
    """Count an attempt and hold the row until ``lease_until``; False when another sender
    claimed it first. The one UPDATE is the lock: only one process sees rowcount 1."""
    return db.execute(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ? "
        "WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
        [to_db_time(lease_until), row["id"], row["next_attempt_at"]],
    ).rowcount == 1


def mark_sent(db: SqlHandle, row_id: int, now: datetime) -> None:
    db.execute("UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
               [to_db_time(now), row_id])


def mark_failed(db: SqlHandle, row_id: int, *, expired: bool, next_at: datetime, error: str) -> None:
    """A failed try: retried at ``next_at``, or given up (``expired``)."""
    db.execute(
        "UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
        ["expired" if expired else "pending", to_db_time(next_at), error[:1000], row_id],
    )


def failed_attempts(db: SqlHandle, notifier: str, except_id: int) -> int:
    """The most tries any other still-pending, already-failed row of ``notifier`` has had."""
    row = db.execute(
        "SELECT MAX(attempts) FROM deliveries WHERE notifier = ? AND status = 'pending' AND id != ? "
        "AND last_error IS NOT NULL", [notifier, except_id]).fetchone()
    return int(row[0] or 0) if row else 0


def next_retry(db: SqlHandle, notifier: str, except_id: int, now: datetime) -> datetime | None:
    """The soonest future retry among ``notifier``'s other failed rows."""
    row = db.execute(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE notifier = ? AND status = 'pending' "
        "AND id != ? AND last_error IS NOT NULL AND next_attempt_at > ?",
        [notifier, except_id, to_db_time(now)]).fetchone()
    return from_db_time(row[0]) if row and row[0] else None


def pending_count(db: SqlHandle, notifier: str | None = None) -> int:
    """Pending notifications, of one notifier or of all."""
    sql, params = "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'", []
    if notifier is not None:
        sql, params = sql + " AND notifier = ?", [notifier]
    row = db.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def delivery_totals(db: SqlHandle) -> dict[str, int]:
    """Notifications by status (pending, sent, expired), for metrics."""
    return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())


def failing_count(db: SqlHandle) -> int:
    """Pending notifications that failed at least once."""
    row = db.execute(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts > 0").fetchone()
    return int(row[0]) if row else 0


def delivery_counts(db: SqlHandle, event_id: int) -> dict[str, int]:
    """One event's notifications by status."""
    return dict(db.execute(
        "SELECT status, COUNT(*) FROM deliveries WHERE event_id = ? GROUP BY status", [event_id]
    ).fetchall())


# ---- alert_events: what fired, when, with its numbers --------------------------------------

def open_events(db: SqlHandle, rule: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM alert_events WHERE rule = ? AND status = 'open'", [rule]))


def last_resolved(db: SqlHandle, rule: str, scope: str) -> datetime | None:
    row = db.execute(
        "SELECT MAX(resolved_at) FROM alert_events WHERE rule = ? AND scope = ? AND status = 'resolved'",
        [rule, scope]).fetchone()
    return from_db_time(row[0]) if row and row[0] else None


def open_event(db: SqlHandle, *, rule: str, scope: str, now: datetime, metric: str, observed: float,
               baseline: float, p_value: float, details: dict[str, Any]) -> int:
    """Insert an open event; the driver's IntegrityError (``db.conn.IntegrityError``) when
    (rule, scope) is already open."""
    stamp = to_db_time(now)
    return _insert_returning_id(
        db, "INSERT INTO alert_events (rule, scope, status, opened_at, updated_at, metric, observed, "
        "baseline, p_value, details) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [rule, scope, stamp, stamp, metric, observed, baseline, p_value,
         json.dumps(details, ensure_ascii=False)],
    )


def update_event(db: SqlHandle, event_id: int, *, now: datetime, observed: float, baseline: float,
                 p_value: float, details: dict[str, Any]) -> None:
    db.execute(
        "UPDATE alert_events SET updated_at = ?, observed = ?, baseline = ?, p_value = ?, details = ? "
        "WHERE id = ?",
        [to_db_time(now), observed, baseline, p_value, json.dumps(details, ensure_ascii=False), event_id],
    )


def resolve_event(db: SqlHandle, event_id: int, now: datetime) -> None:
    stamp = to_db_time(now)
    db.execute("UPDATE alert_events SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?",
               [stamp, stamp, event_id])


def history(db: SqlHandle, since: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Events newest first (``details`` still JSON text)."""
    where, params = ("WHERE opened_at >= ?", [to_db_time(since)]) if since else ("", [])
    return list(db.query(
        f"SELECT id, rule, scope, status, opened_at, updated_at, resolved_at, acked_at, acked_by, metric, "
        f"observed, baseline, p_value, details FROM alert_events {where} ORDER BY opened_at DESC, id DESC LIMIT ?",
        [*params, limit]))


def opened_between(db: SqlHandle, start: str, end: str) -> list[dict[str, Any]]:
    """Events opened in [start, end) (store time text), oldest first: the report's alert list."""
    return list(db.query(
        "SELECT id, rule, scope, status, metric, opened_at, resolved_at, observed, baseline FROM alert_events "
        "WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at", [start, end]))


def event_totals(db: SqlHandle) -> dict[str, int]:
    """Events by status (open, resolved), for metrics."""
    return dict(db.execute("SELECT status, COUNT(*) FROM alert_events GROUP BY status").fetchall())


def get_event(db: SqlHandle, event_id: int) -> dict[str, Any] | None:
    """One event with every column (``details`` still JSON text), or None."""
    rows = list(db.query("SELECT * FROM alert_events WHERE id = ?", [event_id]))
    return rows[0] if rows else None


def ack_event(db: SqlHandle, event_id: int, now: datetime, by: str | None) -> None:
    db.execute("UPDATE alert_events SET acked_at = ?, acked_by = ? WHERE id = ?",
               [to_db_time(now), by, event_id])


# ---- alert_mutes: rules (or one topic of a rule) silenced until a time ------------------------

def add_mute(db: SqlHandle, *, rule: str, topic: str, now: datetime, until: datetime, by: str | None) -> int:
    return _insert_returning_id(
        db, "INSERT INTO alert_mutes (rule, topic, created_at, until, created_by) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        [rule, topic, to_db_time(now), to_db_time(until), by])


def active_mutes(db: SqlHandle, now: datetime, rule: str | None = None) -> list[dict[str, Any]]:
    """Mutes not yet expired at ``now``, soonest to expire first (of one rule, or all)."""
    sql, params = "SELECT * FROM alert_mutes WHERE until > ?", [to_db_time(now)]
    if rule is not None:
        sql, params = sql + " AND rule = ?", [*params, rule]
    return list(db.query(sql + " ORDER BY until, id", params))


def forget_alerts(db: SqlHandle) -> None:
    """Empty every alert table: for a scratch copy of the store a backtest replays into."""
    for sql in ("DELETE FROM deliveries", "DELETE FROM alert_mutes", "DELETE FROM alert_events"):
        db.execute(sql)


def _insert_returning_id(db: SqlHandle, sql: str, params: list[Any]) -> int:
    """Run an ``INSERT ... RETURNING id`` in a transaction of its own (or the caller's): a
    statement that returns rows is not committed by sqlite-utils' ``execute`` on its own."""
    with db.atomic():
        return int(db.execute(sql, params).fetchall()[0][0])
