"""What people do with an alert after it fires: look at it again, acknowledge, resolve, mute.

The engine decides from statistics; these are the human decisions beside it, recorded in the
store so the daemon honours them on its next check: an acknowledged alert sends no follow-ups
(it still resolves by itself), a resolved one starts its cooldown, a muted rule or topic opens
nothing until the mute expires.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any


from alerts import message, storage
from alerts.storage import SqlHandle
from sentimon.errors import SentimonError


class UnknownAlert(SentimonError):
    """No alert event has the id a command was given."""

    exit_code = 2


def show(db: SqlHandle, event_id: int) -> dict[str, Any]:
    """The event with its full explanation (numbers, drivers, phrases, examples) and, under
    ``message``, the notification as it would be sent now (plain words first)."""
    event = _event(db, event_id)
    details = json.loads(event.pop("details") or "{}")
    event["details"] = details
    if "numbers" in details:
        event["message"] = message.build("opened", event, details)
    return event


def ack(db: SqlHandle, event_id: int, now: datetime, by: str | None = None) -> dict[str, Any]:
    """Record that someone is on it: no more ``worse`` follow-ups for this event."""
    event = _event(db, event_id)
    if event["status"] != "open":
        raise SentimonError(f"alert #{event_id} is {event['status']}; only an open alert can be acknowledged")
    storage.ack_event(db, event_id, now, by)
    return _event(db, event_id)


def resolve(db: SqlHandle, event_id: int, now: datetime) -> dict[str, Any]:
    """Close an open alert by hand; the rule's cooldown starts now, as after a clear-up."""
    event = _event(db, event_id)
    if event["status"] != "open":
        raise SentimonError(f"alert #{event_id} is already {event['status']}")
    storage.resolve_event(db, event_id, now)
    return _event(db, event_id)


def mute(db: SqlHandle, rule: str, duration: timedelta, now: datetime, *, topic: str = "",
         by: str | None = None, known_rules: tuple[str, ...] = ()) -> dict[str, Any]:
    """Silence ``rule`` (or one ``topic`` of a per-topic rule) for ``duration``: nothing new
    opens meanwhile; open alerts keep their course."""
    if known_rules and rule not in known_rules:
        raise UnknownAlert(f"no alert rule named {rule!r} (defined: {', '.join(known_rules)})")
    if duration <= timedelta(0):
        raise SentimonError("a mute needs a positive duration such as 4h")
    mute_id = storage.add_mute(db, rule=rule, topic=topic, now=now, until=now + duration, by=by)
    return next(m for m in storage.active_mutes(db, now, rule) if m["id"] == mute_id)


def muted(db: SqlHandle, rule: str, scope: str, now: datetime) -> bool:
    """Whether a mute covers this rule and scope (``topic=NAME`` for a per-topic scope)."""
    topic = scope.removeprefix("topic=") if scope.startswith("topic=") else ""
    return any(m["topic"] in ("", topic) for m in storage.active_mutes(db, now, rule))


def mutes(db: SqlHandle, now: datetime) -> list[dict[str, Any]]:
    """The mutes still in force, soonest to expire first."""
    return storage.active_mutes(db, now)


def _event(db: SqlHandle, event_id: int) -> dict[str, Any]:
    event = storage.get_event(db, event_id)
    if event is None:
        raise UnknownAlert(f"no alert #{event_id} (see `sentimon alerts list`)")
    return event
