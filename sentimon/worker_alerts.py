"""The alert jobs in `sentimon worker` (issue 18): one locked periodic task on Procrastinate.

Why one task for both jobs: a check records what opened and a delivery sends it, so running
them in that order, under one ``lock``, means no two workers ever check or deliver at once
(an alert opened twice, or a notification claimed by two senders, cannot start there), and a
``queueing_lock`` keeps at most one waiting. The periodic tick is deferred once across every
worker; the task then runs each job when a whole period of ``[daemon] check_every`` or
``deliver_every`` has begun since the previous tick, so the cadence is the daemon's on SQLite.
The jobs themselves are the daemon's (``sentimon.alert_jobs``): the same code on both stores.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from procrastinate import App as JobApp

from sentimon.alert_jobs import check_alerts, deliver_alerts

ALERTS_QUEUE = "alerts"
ALERTS_LOCK = "sentimon.alerts"


def tick_seconds(tick: str) -> int:
    """How often a cron ``tick`` fires: every second with a sixth (seconds) field of ``*``,
    else every minute (the worker's ticks are one of these two)."""
    fields = tick.split()
    return 1 if len(fields) == 6 and fields[0] == "*" else 60


def starts_a_period(timestamp: int, period: float, tick: int) -> bool:
    """True when a new ``period`` (seconds, counted from the epoch) began in the tick that
    ends at ``timestamp``: over many ticks, once per period, on whichever worker runs it."""
    step = max(1, round(period))
    return timestamp // step != (timestamp - tick) // step


def register(jobs_app: JobApp, app: Any, *, tick: str) -> None:
    """Add the ``sentimon.alerts`` periodic task to ``jobs_app``, bound to the sentimon ``app``."""
    every = tick_seconds(tick)

    def run(timestamp: int) -> str:
        daemon = app.config.daemon
        now = datetime.fromtimestamp(timestamp, timezone.utc)
        done = []
        if starts_a_period(timestamp, daemon.check_every.total_seconds(), every):
            check_alerts(app, now)
            done.append("checked")
        if starts_a_period(timestamp, daemon.deliver_every.total_seconds(), every):
            deliver_alerts(app, datetime.now(timezone.utc))
            done.append("delivered")
        return " and ".join(done) or "not due"

    @jobs_app.periodic(cron=tick)
    @jobs_app.task(name="sentimon.alerts", queue=ALERTS_QUEUE, lock=ALERTS_LOCK, queueing_lock=ALERTS_LOCK)
    async def alerts_job(timestamp: int) -> str:
        return await asyncio.to_thread(run, timestamp)
