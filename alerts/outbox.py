"""The delivery outbox: a notification is stored first, then sent, retried until sent or expired.

Each row's ``key`` is ``event:notifier:kind`` (UNIQUE), so recording the same alert twice
queues nothing new. A sender claims a row by moving its ``next_attempt_at`` forward in one
UPDATE that only succeeds if nobody else moved it first, so the daemon and a concurrent
``sentimon alerts check`` never both send it (the SQL lives in ``alerts.storage``). Nothing
here sleeps: waiting is a future ``next_attempt_at``, and ``now`` is passed in, so tests replay
hours of retries instantly.

An outage is handled per notifier, not per message. Two failures in one pass (with no success
between them) mean the service is down, not that one message is bad: the notifier's other due
rows are not tried in that pass but wait for the same retry time, so a Slack or SMTP outage costs
one or two requests per retry (30s, 1m, 2m, 4m, then every 5 minutes), not one per queued alert,
and a server that hangs until the timeout cannot stall the pass. Every row of that notifier comes
due at one time, so the first retry after the service returns sends them all, at most
``MAX_RETRY`` after it came back. The log says so once per outage: one warning when a notifier
starts failing, one line when it delivers again (the attempts in between are DEBUG).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping


from alerts import storage
from alerts.reader import AlertReader
from alerts.storage import enqueue  # noqa: F401 - the outbox's own entry point, kept importable here
from alerts.storage import SqlHandle
from sentimon.errors import NotifyError, StorageError
from sentimon.logs import redactor
from sentimon.times import from_db_time, to_db_time

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
# The longest wait between tries, so also how late delivery can resume after an outage ends.
# One probe per notifier every 5 minutes is nothing to a recovering service; an hour was a
# whole hour of alerts held back after Slack or the mail relay was already fine again.
MAX_RETRY = timedelta(minutes=5)
EXPIRE_AFTER = timedelta(hours=24)
CLAIM_LEASE = timedelta(minutes=5)  # a sender that dies mid-send frees its row after this
DOWN_AFTER = 2  # failures in one pass, with no success between, that mean the service is down


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    expired: int = 0
    errors: list[str] = field(default_factory=list)
    deferred: int = 0  # not tried this pass: their notifier is down (counted in ``retrying`` too)


def retry_delay(attempts: int) -> timedelta:
    """30s, 1m, 2m, 4m, then every 5 minutes: quick through a blip, gentle through an outage,
    and never more than ``MAX_RETRY`` late once it is over."""
    return min(FIRST_RETRY * (2 ** min(max(0, attempts - 1), 20)), MAX_RETRY)


@dataclass
class _Outage:
    since: datetime
    failures: int = 1


# One entry per (database, notifier) failing in this process: what makes "one warning per
# outage" true for the daemon. A `sentimon alerts check` process is one pass, so it warns once.
_outages: dict[tuple[str, str], _Outage] = {}
_outages_lock = threading.Lock()


def _db_key(db: SqlHandle) -> str:
    """Which database ``db`` is, the same for every handle on it: a handle that names itself
    (PostgreSQL's ``key``: a new handle each pass, one per pooled connection), else SQLite's
    file."""
    named = getattr(db, "key", None)
    if named:
        return str(named)
    try:
        return str(db.execute("PRAGMA database_list").fetchone()[2] or id(db))
    except (db.conn.Error, TypeError, IndexError):
        return str(id(db))


@dataclass
class _Pass:
    """What one ``deliver_pending`` pass learnt about each notifier."""

    db_key: str
    started: float = field(default_factory=time.monotonic)  # the pass's ``now``, in monotonic time
    failures: dict[str, int] = field(default_factory=dict)  # in a row, since the last success
    ok: set[str] = field(default_factory=set)
    down_until: dict[str, datetime] = field(default_factory=dict)


def deliver_pending(db: SqlHandle, notifiers: Mapping[str, Any], now: datetime | None = None, *,
                    reader: AlertReader | None = None, expire_after: timedelta = EXPIRE_AFTER,
                    limit: int = 200) -> DeliveryReport:
    """Send every due notification once; one notifier's failure never stops the others.
    ``reader`` (the app's, over the mentions) is what a due digest counts."""
    now = now or datetime.now(timezone.utc)
    state = _Pass(_db_key(db))  # started: the monotonic time of ``now``
    report = DeliveryReport()
    try:
        from alerts.digest import enqueue_due

        enqueue_due(db, notifiers, now, reader)
    except Exception as exc:  # a digest problem must never hold up alerts
        log.exception("could not queue digests: %s", exc)
        report.errors.append(f"digest: {exc}")
    try:
        rows = storage.due(db, now, limit)
    except db.conn.Error as exc:
        raise StorageError(f"cannot read the delivery outbox: {exc}") from exc
    for row in rows:
        if row["notifier"] in state.down_until:
            _defer(db, row, state.down_until[row["notifier"]], report)
            continue
        _deliver_one(db, row, notifiers, now, expire_after, report, state)
    return report


def _defer(db: SqlHandle, row: dict[str, Any], until: datetime, report: DeliveryReport) -> None:
    """Not tried: its notifier just failed twice. It waits for the notifier's next retry;
    ``attempts`` is unchanged (it was not attempted), and a row another process claimed
    meanwhile is left alone (its ``next_attempt_at`` moved)."""
    with db.atomic():
        moved = storage.postpone(db, row, until)
    if moved:
        report.retrying += 1
        report.deferred += 1


def _deliver_one(db: SqlHandle, row: dict[str, Any], notifiers: Mapping[str, Any], now: datetime,
                 expire_after: timedelta, report: DeliveryReport, state: _Pass | None = None) -> None:
    state = state or _Pass(_db_key(db))
    # The lease runs from this claim, not from the pass's start: after a slow notifier, a lease
    # counted from ``now`` could have run out already, and another sender would send it too.
    claimed_at = now + timedelta(seconds=time.monotonic() - state.started)
    with db.atomic():
        claimed = storage.claim(db, row, claimed_at + CLAIM_LEASE)
    if not claimed:
        return  # another process took it
    attempts = row["attempts"] + 1
    notifier = notifiers.get(row["notifier"])
    try:
        if notifier is None:
            raise NotifyError(f"no notifier named {row['notifier']!r} is configured any more")
        notifier.send(json.loads(row["payload"]), key=row["key"])
    except NotifyError as exc:
        _failed(db, row, attempts, str(exc), exc.retry_after, exc.permanent, now, expire_after, report, state)
        return
    except Exception as exc:  # noqa: BLE001 (logged by _failed): a notifier bug must not lose the alert
        _failed(db, row, attempts, f"{type(exc).__name__}: {exc}", None, False, now, expire_after, report,
                state, crashed=exc)
        return
    with db.atomic():
        storage.mark_sent(db, row["id"], now)
    report.sent += 1
    state.ok.add(row["notifier"])
    state.failures.pop(row["notifier"], None)
    _recovered(state.db_key, row["notifier"], now)
    log.info("sent %s via %s", row["key"], row["notifier"])


def _failed(db: SqlHandle, row: dict[str, Any], attempts: int, error: str, retry_after: float | None,
            permanent: bool, now: datetime, expire_after: timedelta, report: DeliveryReport,
            state: _Pass, crashed: Exception | None = None) -> None:
    error = redactor.redact(error)  # an HTTP error can quote a webhook URL, whose path is its secret
    name = row["notifier"]
    if retry_after is not None:
        delay = timedelta(seconds=retry_after)
    else:  # the notifier's outage so far, not just this row's tries: a new alert joins the others
        delay = retry_delay(max(attempts, _streak(db, name, row["id"])))
    next_at = now + max(delay, timedelta(seconds=1))
    if not permanent and retry_after is None:
        others_at = _next_retry(db, name, row["id"], now)
        if others_at is not None and others_at < next_at:
            next_at = others_at  # retry together with the notifier's other failed rows
    expired = permanent or next_at > from_db_time(row["created_at"]) + expire_after
    with db.atomic():
        storage.mark_failed(db, row["id"], expired=expired, next_at=next_at, error=error)
    report.errors.append(f"{name}: {error}")
    if expired:
        report.expired += 1
        log.error("giving up on %s via %s after %d attempts: %s", row["key"], name, attempts, error)
        if not _count_pending(db, name):  # nothing left to retry: a later failure is a new outage
            with _outages_lock:
                _outages.pop((state.db_key, name), None)
        return
    report.retrying += 1
    if name not in state.ok:
        state.failures[name] = state.failures.get(name, 0) + 1
        if state.failures[name] >= DOWN_AFTER or retry_after is not None:  # a 429 is for the whole service
            state.down_until[name] = next_at
    first = _failing(state.db_key, name, now)
    detail = (f"delivery {row['key']} via {name} failed (attempt {attempts}), "
              f"next try at {to_db_time(next_at)}: {error}")
    if not first:
        log.debug("%s", detail)
        return
    waiting = _count_pending(db, name)
    message = (f"notifier {name} is failing: {error}; {waiting} notification{'s' if waiting != 1 else ''} "
               f"kept in the outbox and retried at most {_human(MAX_RETRY)} apart until it answers "
               f"(kept for {_human(expire_after)}); until then further failures are logged at DEBUG only")
    if crashed is not None:  # a bug: its traceback once, not once per retry
        log.error("%s", redactor.redact(message), exc_info=(type(crashed), crashed, crashed.__traceback__))
    else:
        log.warning("%s", message)


def _streak(db: SqlHandle, notifier: str, row_id: int) -> int:
    """The most tries any other still-pending row of ``notifier`` has failed: how long it has
    been failing, so a new alert does not restart the backoff at 30 seconds."""
    return storage.failed_attempts(db, notifier, row_id)


def _next_retry(db: SqlHandle, notifier: str, row_id: int, now: datetime) -> datetime | None:
    return storage.next_retry(db, notifier, row_id, now)


def _count_pending(db: SqlHandle, notifier: str) -> int:
    return storage.pending_count(db, notifier)


def _failing(db_key: str, notifier: str, now: datetime) -> bool:
    """Record a failure; True when it starts an outage (the one that gets a warning)."""
    with _outages_lock:
        outage = _outages.get((db_key, notifier))
        if outage is None:
            _outages[(db_key, notifier)] = _Outage(since=now)
            return True
        outage.failures += 1
        return False


def _recovered(db_key: str, notifier: str, now: datetime) -> None:
    with _outages_lock:
        outage = _outages.pop((db_key, notifier), None)
    if outage is not None:
        log.info("notifier %s delivers again after %s of failures (%d failed attempt%s); "
                    "the notifications kept meanwhile are being sent", notifier,
                    _human(max(now - outage.since, timedelta(0))), outage.failures,
                    "" if outage.failures == 1 else "s")


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    hours = seconds / 3600
    return f"{hours:.0f}h" if hours == int(hours) else f"{hours:.1f}h"
