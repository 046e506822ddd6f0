"""Replay stored mentions through the alert rules, as the daemon would have checked them.

A team tunes sensitivity on its own history before trusting it: which alerts would have
opened over the last 90 days, when, and on what figures. The replay runs the real engine
(``engine.check``: open, worse, resolve, cooldown) on the daemon's schedule, with every
notifier removed and its alert tables in scratch ones the caller supplies (empty tables in a
temporary database, whichever store holds the mentions), so nothing is sent and the real
alert history is untouched; the mentions are counted by the app's reader, as in a real check.
Each check sees only mentions created before its time; mentions that arrived late are
counted as if they had been there (the store does not keep arrival order per check).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Sequence

from alerts import engine, storage
from alerts.reader import AlertReader
from alerts.storage import SqlHandle
from alerts.rules import AlertRule
from sentimon.times import to_db_time

REPORTED = ("opened", "worse", "resolved")


def backtest(scratch: SqlHandle, rules: Sequence[AlertRule], since: datetime, until: datetime,
             every: timedelta, *, reader: AlertReader) -> list[dict[str, Any]]:
    """The alerts that would have opened (and followed up, resolved) between ``since`` and
    ``until``, checking every ``every``; oldest first. ``scratch`` holds the alert tables the
    replay writes: they must be empty, so a store's own history is never written over."""
    if every <= timedelta(0):
        raise ValueError("the check interval must be positive")
    if storage.history(scratch, None, 1):
        raise ValueError("a backtest replays into empty scratch alert tables, not the store's own")
    silent = [replace(rule, notify=[]) for rule in rules]
    return _replay(scratch, reader, silent, since, until, every)


def _replay(db: SqlHandle, reader: AlertReader, rules: list[AlertRule], since: datetime,
            until: datetime, every: timedelta) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    moment = since
    engine_log = logging.getLogger(engine.__name__)
    level = engine_log.level
    engine_log.setLevel(logging.ERROR)  # "alert opened" lines would read as real alerts
    try:
        while moment <= until:
            for outcome in engine.check(db, rules, now=moment, reader=reader):
                if outcome.action in REPORTED:
                    found.append(_row(db, outcome, moment))
            moment += every
    finally:
        engine_log.setLevel(level)
    return found


def _row(db: SqlHandle, outcome: engine.Outcome, moment: datetime) -> dict[str, Any]:
    event = storage.get_event(db, outcome.event_id) if outcome.event_id else None
    numbers = json.loads(event["details"] or "{}").get("numbers", {}) if event else {}
    return {"at": to_db_time(moment), "rule": outcome.rule, "scope": outcome.scope,
            "action": outcome.action, "event": outcome.event_id,
            "mentions": numbers.get("mentions"), "negative": numbers.get("negative"),
            "observed": outcome.observed, "expected": outcome.expected, "p_value": outcome.p_value}
