"""A delivery's claim holds for CLAIM_LEASE from the moment it is claimed, not from the start of
the pass: in a pass slowed by one notifier (timeouts, a slow Slack), later rows were claimed
with a lease that had already run out, so another sender running meanwhile (a second worker,
`sentimon alerts deliver`) found them due and sent them again."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from alerts import outbox, storage
from alerts import message
from sentimon.store import Store

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=1)


class SlowThenRacing:
    """Sends 'first' slowly (longer than the lease); while sending 'second' another sender runs
    a pass of its own at the same moment (the first pass's start plus the time gone by)."""

    def __init__(self, db: Any, started: float) -> None:
        self.db, self.started, self.sent = db, started, []

    def send(self, payload: dict[str, Any], key: str | None = None) -> None:
        self.sent.append(key)
        if key == "first":
            time.sleep(LEASE.total_seconds() * 1.3)
        elif key == "second" and self.sent.count("second") == 1:
            elsewhere = T0 + timedelta(seconds=time.monotonic() - self.started)
            outbox.deliver_pending(self.db, {"hook": self}, now=elsewhere)


def test_a_slow_pass_keeps_its_later_claims_from_a_second_sender(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(outbox, "CLAIM_LEASE", LEASE)
    store = Store(tmp_path / "s.db")
    try:
        with store.alert_tables() as db:
            for key in ("first", "second"):
                storage.enqueue(db, event_id=None, notifier="hook", kind="opened",
                                payload=message.test_message("2026-11-02T09:30:00Z"), now=T0, key=key)
            notifier = SlowThenRacing(db, time.monotonic())
            report = outbox.deliver_pending(db, {"hook": notifier}, now=T0)
            assert notifier.sent == ["first", "second"]  # the racing pass found nothing due
            assert report.sent == 2
            assert storage.pending_count(db) == 0
    finally:
        store.close()
