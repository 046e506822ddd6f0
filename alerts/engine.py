"""The alert lifecycle: evaluate rules, open / update / resolve events, queue notifications.

An alert fires once, stays open while its condition holds (re-notifying only when it is
clearly worse), resolves when it clears, and then respects the rule's cooldown. An event
and the notifications it queues are written in one transaction, and a partial unique index
allows one open event per (rule, scope), so a crash or two concurrent checks can neither
lose an alert nor open it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence


from alerts import lifecycle, message, query, sequential, storage
from alerts.explain import explain, numbers
from alerts.reader import AlertReader
from alerts.rules import AlertRule, Counts, Decision, evaluate, family, resolved, with_family_reasons
from alerts.storage import SqlHandle
from sentimon.errors import StorageError
from sentimon.times import from_db_time, to_db_time

log = logging.getLogger(__name__)

MIN_WORSE_GAP = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """What one check did for one rule and scope (``action``: opened, worse, open, resolved,
    cooldown, muted, quiet, warming_up, too_few); printed by ``sentimon alerts check``."""

    rule: str
    scope: str
    action: str
    observed: float
    expected: float
    p_value: float
    event_id: int | None = None
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(db: SqlHandle, rules: Sequence[AlertRule], now: datetime | None = None, *,
          reader: AlertReader, dry_run: bool = False) -> list[Outcome]:
    """Evaluate every enabled rule at ``now``; with ``dry_run`` nothing is written.

    ``db`` holds the alert tables (``alerts.storage``); the mentions are counted by ``reader``,
    which the app supplies (the store's SQL stays the store's)."""
    now = now or datetime.now(timezone.utc)
    outcomes: list[Outcome] = []
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            outcomes.extend(_check_rule(db, reader, rule, now, dry_run))
        except db.conn.Error as exc:
            raise StorageError(f"alert rule {rule.name!r}: database error: {exc}") from exc
    return outcomes


def _check_rule(db: SqlHandle, reader: AlertReader, rule: AlertRule, now: datetime,
                dry_run: bool) -> list[Outcome]:
    scopes = query.scopes(reader, rule, now)
    decisions = [evaluate(rule, s.window, s.baseline) for s in scopes]
    fires = family(rule, decisions) if rule.per_topic else [d.fire for d in decisions]
    if rule.per_topic:
        decisions = with_family_reasons(rule, decisions)
    open_events = {row["scope"]: row for row in storage.open_events(db, rule.name)}
    stretches = _stretches(reader, rule, now, scopes, decisions, fires, set(open_events))
    outcomes = []
    for scope, decision, fire, stretch in zip(scopes, decisions, fires, stretches):
        event = open_events.pop(scope.name, None)
        checked = rule
        held = sequential.holding(rule, decision, fire, stretch)
        if held is not None and (held.decision.fire or event is not None):
            # a sustained shift holds it: judge, explain and word it over the whole stretch
            checked = replace(rule, window=rule.window * held.windows)
            scope, decision, fire = replace(scope, window=held.counts), held.decision, held.decision.fire
        elif stretch is not None:
            decision = replace(decision, reasons=decision.reasons + stretch.decision.reasons[:1])
        if event is not None:
            outcomes.append(_update(db, reader, checked, scope, decision, fire, event, now, dry_run))
        elif fire:
            outcomes.append(_open(db, reader, checked, scope, decision, now, dry_run))
        else:
            action = "quiet" if decision.state == "tested" else decision.state
            outcomes.append(_outcome(rule, scope.name, action, decision))
    for scope_name, event in open_events.items():  # its topic left the window entirely
        gone = Decision("too_few", 0.0, event["baseline"] or 0.0, reasons=("no mentions in the window",))
        outcomes.append(_resolve(db, rule, scope_name, gone, event, now, dry_run))
    return outcomes


def _stretches(reader: AlertReader, rule: AlertRule, now: datetime, scopes: Sequence[query.Scope],
               decisions: Sequence[Decision], fires: Sequence[bool],
               open_scopes: set[str]) -> list[sequential.Stretch | None]:
    """The sustained test of each scope, from the stored mentions of its newest windows (no
    state kept between checks). Each earlier window is read and judged as a check at its end
    would have judged it; the reading stops once no scope's run of windows above usual goes on."""
    depth = rule.sustained if sequential.level(rule) is not None else 0
    history = {s.name: [sequential.Past(s.window, d)] for s, d, f in zip(scopes, decisions, fires)
               if depth >= 2 and (not f or s.name in open_scopes)}
    alive = {name for name, runs in history.items() if runs[0].decision.observed > runs[0].decision.expected}
    for back in range(1, depth):
        if not alive:
            break
        found = {s.name: s for s in query.scopes(reader, rule, now - back * rule.window)}
        for name in list(alive):
            s = found.get(name)
            past = (sequential.Past(s.window, evaluate(rule, s.window, s.baseline)) if s is not None
                    else sequential.Past(Counts(0), Decision("too_few", 0.0, 0.0)))
            history[name].append(past)
            if past.decision.state == "warming_up" or past.decision.observed <= past.decision.expected:
                alive.discard(name)
    stretches = [sequential.scan(rule, history[s.name]) if s.name in history else None for s in scopes]
    return sequential.family(rule, stretches) if rule.per_topic else stretches


def _outcome(rule: AlertRule, scope: str, action: str, d: Decision, event_id: int | None = None) -> Outcome:
    return Outcome(rule.name, scope, action, round(d.observed, 4), round(d.expected, 4),
                   float(f"{d.p_value:.3g}"), event_id, d.reasons)


def _in_cooldown(db: SqlHandle, rule: AlertRule, scope: str, now: datetime) -> bool:
    resolved_at = storage.last_resolved(db, rule.name, scope)
    return resolved_at is not None and resolved_at + rule.cooldown > now


def _open(db: SqlHandle, reader: AlertReader, rule: AlertRule, scope: query.Scope, decision: Decision,
          now: datetime, dry_run: bool) -> Outcome:
    if _in_cooldown(db, rule, scope.name, now):
        return _outcome(rule, scope.name, "cooldown", decision)
    if lifecycle.muted(db, rule.name, scope.name, now):
        return _outcome(rule, scope.name, "muted", decision)
    if dry_run:
        return _outcome(rule, scope.name, "opened", decision)
    details = explain(reader, rule, scope, decision, now)
    details["notified"] = {"excess": decision.excess, "at": to_db_time(now), "count": 1,
                           "negative": scope.window.k}
    stamp = to_db_time(now)
    try:
        with db.atomic():
            event_id = storage.open_event(
                db, rule=rule.name, scope=scope.name, now=now, metric=rule.metric,
                observed=decision.observed, baseline=decision.expected, p_value=decision.p_value,
                details=details)
            event: dict[str, Any] = {"id": event_id, "status": "open", "opened_at": stamp}
            payload = message.build("opened", event, details)
            for name in rule.notify:
                storage.enqueue(db, event_id=event["id"], notifier=name, kind="opened", payload=payload, now=now)
    except db.conn.IntegrityError:
        return _outcome(rule, scope.name, "open", decision)  # a concurrent check opened it first
    log.warning("alert opened: %s", payload["title"])
    return _outcome(rule, scope.name, "opened", decision, event["id"])


def _update(db: SqlHandle, reader: AlertReader, rule: AlertRule, scope: query.Scope, decision: Decision,
            fire: bool, event: dict[str, Any], now: datetime, dry_run: bool) -> Outcome:
    if not fire and resolved(rule, decision):
        return _resolve(db, rule, scope.name, decision, event, now, dry_run)
    details = json.loads(event["details"] or "{}")
    notified = details.get("notified", {"excess": 0.0, "at": event["opened_at"], "count": 1})
    worse = (
        fire and decision.excess > 0 and not event.get("acked_at")  # acknowledged: someone is on it
        and _grown(rule, scope, decision, notified, details)
        and from_db_time(notified["at"]) + MIN_WORSE_GAP <= now
    )
    if dry_run:
        return _outcome(rule, scope.name, "worse" if worse else "open", decision, event["id"])
    with db.atomic():
        if worse:
            shown = frozenset(int(e["id"]) for e in details.get("examples", []) if e.get("id") is not None)
            fresh = explain(reader, rule, scope, decision, now, seen=shown)
            count = notified["count"] + 1
            fresh["notified"] = {"excess": decision.excess, "at": to_db_time(now), "count": count,
                                 "negative": scope.window.k}
            details = {**fresh, "first": details.get("first") or details.get("numbers")}
            payload = message.build("worse", event, fresh)
            for name in rule.notify:
                storage.enqueue(db, event_id=event["id"], notifier=name, kind=f"worse-{count}",
                                payload=payload, now=now)
        else:  # current figures, so `alerts list` and `alerts show` say where it stands now
            details.setdefault("first", details.get("numbers"))
            details["numbers"] = numbers(rule, scope, decision)
        storage.update_event(db, event["id"], now=now, observed=decision.observed,
                             baseline=decision.expected, p_value=decision.p_value, details=details)
    return _outcome(rule, scope.name, "worse" if worse else "open", decision, event["id"])


def _grown(rule: AlertRule, scope: query.Scope, decision: Decision, notified: dict[str, Any],
           details: dict[str, Any]) -> bool:
    """Clearly worse than at the last notice: the excess over the baseline, or the number of
    negative mentions, has grown by ``worse_factor``. The count matters for a growing wave
    whose share dips as it spreads (20 of 25 at opening, 155 of 245 two hours later)."""
    factor = rule.worse_factor
    if decision.excess >= factor * max(notified["excess"], 1e-9):
        return True
    before = notified.get("negative", details.get("numbers", {}).get("negative", 0))
    return rule.metric != "volume" and before > 0 and scope.window.k >= factor * before


def _resolve(db: SqlHandle, rule: AlertRule, scope: str, decision: Decision, event: dict[str, Any],
             now: datetime, dry_run: bool) -> Outcome:
    if dry_run:
        return _outcome(rule, scope, "resolved", decision, event["id"])
    with db.atomic():
        storage.resolve_event(db, event["id"], now)
        if rule.notify_resolved:
            details = json.loads(event["details"] or "{}")
            details["numbers"] = {**details.get("numbers", {}), "observed": decision.observed,
                                  "expected": decision.expected}
            details["examples"], details["phrases"], details["drivers"] = [], [], []
            payload = message.build("resolved", {**event, "status": "resolved"}, details)
            for name in rule.notify:
                storage.enqueue(db, event_id=event["id"], notifier=name, kind="resolved", payload=payload, now=now)
    log.info("alert resolved: %s %s", rule.name, scope)
    return _outcome(rule, scope, "resolved", decision, event["id"])


def events(db: SqlHandle, since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Alert history for ``sentimon alerts list``: newest first, with a one-line title."""
    rows = storage.history(db, since, limit)
    for row in rows:
        details = json.loads(row.pop("details") or "{}")
        row["title"] = message.title("opened", details) if "numbers" in details else row["rule"]
        row["deliveries"] = storage.delivery_counts(db, row["id"])
    return rows
