"""The two alert jobs every runner schedules: check the rules, then send what is due.

Why one module: the daemon (SQLite, APScheduler) and ``sentimon worker`` (PostgreSQL,
Procrastinate) run the very same jobs, so what an alert check does cannot drift between the
two. Each takes the app and hands ``alerts`` the store's alert tables and its reader; a store
problem is logged as one line and the next run tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from sentimon.errors import SentimonError

log = logging.getLogger("sentimon.daemon")  # the name these lines have always had


def check_alerts(app: Any, now: datetime | None = None) -> None:
    """Evaluate every enabled rule and record what opened, worsened or resolved."""
    import alerts

    config = app.config
    if not config.alerts:
        return
    try:
        store = app.store()
        store.check_file()  # on SQLite: never write alerts into a deleted database file
        with store.alert_tables() as db:
            alerts.check(db, config.alerts, now=now or datetime.now(timezone.utc), reader=store.alert_reader())
    except SentimonError as exc:
        log.error("alert check failed: %s", exc)


def deliver_alerts(app: Any, now: datetime | None = None) -> None:
    """Send every due notification (and queue due digests) through the configured notifiers."""
    import alerts

    config = app.config
    if not config.notifiers:
        return
    try:
        notifiers = alerts.build_notifiers(config.notifiers)
        store = app.store()
        store.check_file()
        with store.alert_tables() as db:
            alerts.deliver_pending(db, notifiers, now=now or datetime.now(timezone.utc), reader=store.alert_reader())
    except SentimonError as exc:
        log.error("alert delivery failed: %s", exc)
