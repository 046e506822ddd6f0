"""The delivery outbox: a notification is stored first, then sent, retried until sent or expired.

Each row's ``key`` is ``event:notifier:kind`` (UNIQUE), so recording the same alert twice
queues nothing new. A sender claims a row by moving its ``next_attempt_at`` forward in one
UPDATE that only succeeds if nobody else moved it first, so the daemon and a concurrent
``sentimon alerts check`` never both send it. Nothing here sleeps: waiting is a future
``next_attempt_at``, and ``now`` is passed in, so tests replay hours of retries instantly.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlite_utils import Database

from sentimon.errors import NotifyError, StorageError
from sentimon.logs import redactor
from sentimon.store import from_db_time, to_db_time

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
EXPIRE_AFTER = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)  # a sender that dies mid-send frees its row after this


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    """30s, 1m, 2m, 4m ... capped at an hour: quick through a blip, gentle through an outage."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)


def enqueue(db: Database, *, event_id: int | None, notifier: str, kind: str, payload: dict[str, Any],
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


def deliver_pending(db: Database, notifiers: Mapping[str, Any], now: datetime | None = None, *,
                    expire_after: timedelta = EXPIRE_AFTER, limit: int = 200) -> DeliveryReport:
    """Send every due notification once; one notifier's failure never stops the others."""
    now = now or datetime.now(timezone.utc)
    report = DeliveryReport()
    try:
        from alerts.digest import enqueue_due

        enqueue_due(db, notifiers, now)
    except Exception as exc:  # a digest problem must never hold up alerts
        log.exception("could not queue digests: %s", exc)
        report.errors.append(f"digest: {exc}")
    try:
        rows = list(db.execute_returning_dicts(
            "SELECT id, key, notifier, kind, payload, attempts, next_attempt_at, created_at "
            "FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?", [to_db_time(now), limit]))
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the delivery outbox: {exc}") from exc
    for row in rows:
        _deliver_one(db, row, notifiers, now, expire_after, report)
    return report


def _deliver_one(db: Database, row: dict[str, Any], notifiers: Mapping[str, Any], now: datetime,
                 expire_after: timedelta, report: DeliveryReport) -> None:
    with db.atomic():
        claimed = db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ? "
            "WHERE id = ? AND status = 'pending' AND next_attempt_at = ?",
            [to_db_time(now + CLAIM_LEASE), row["id"], row["next_attempt_at"]],
        ).rowcount
    if claimed != 1:
        return  # another process took it
    attempts = row["attempts"] + 1
    notifier = notifiers.get(row["notifier"])
    try:
        if notifier is None:
            raise NotifyError(f"no notifier named {row['notifier']!r} is configured any more")
        notifier.send(json.loads(row["payload"]), key=row["key"])
    except NotifyError as exc:
        _failed(db, row, attempts, str(exc), exc.retry_after, exc.permanent, now, expire_after, report)
        return
    except Exception as exc:  # a notifier bug must not block the others or lose the alert
        log.exception("notifier %s crashed on delivery %s", row["notifier"], row["key"])
        _failed(db, row, attempts, f"{type(exc).__name__}: {exc}", None, False, now, expire_after, report)
        return
    with db.atomic():
        db.execute("UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                   [to_db_time(now), row["id"]])
    report.sent += 1
    log.info("sent %s via %s", row["key"], row["notifier"])


def _failed(db: Database, row: dict[str, Any], attempts: int, error: str, retry_after: float | None,
            permanent: bool, now: datetime, expire_after: timedelta, report: DeliveryReport) -> None:
    error = redactor.redact(error)  # an HTTP error can quote a webhook URL, whose path is its secret
    delay = timedelta(seconds=retry_after) if retry_after is not None else retry_delay(attempts)
    next_at = now + max(delay, timedelta(seconds=1))
    expired = permanent or next_at > from_db_time(row["created_at"]) + expire_after
    with db.atomic():
        db.execute(
            "UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            ["expired" if expired else "pending", to_db_time(next_at), error[:1000], row["id"]],
        )
    report.errors.append(f"{row['notifier']}: {error}")
    if expired:
        report.expired += 1
        log.error("giving up on %s via %s after %d attempts: %s", row["key"], row["notifier"], attempts, error)
    else:
        report.retrying += 1
        log.warning("delivery %s via %s failed (attempt %d), retrying at %s: %s", row["key"],
                    row["notifier"], attempts, to_db_time(next_at), error)


def pending(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM deliveries WHERE status = 'pending' ORDER BY id"))
