"""Durations as people write them in config and on the command line: ``90s``, ``5m``, ``1h``, ``7d``."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


class DurationTooLong(ValueError):
    """A duration past what a date can hold (``99999999999999d``): its own kind, so
    ``--since`` can say "too far back" instead of "not a duration"."""


def parse_duration(value: str) -> timedelta:
    """Parse ``"90s"``, ``"5m"``, ``"1h"``, ``"7d"`` or ``"2w"``; raise ValueError otherwise."""
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(
            f"{value!r} is not a duration: expected a number and a unit s, m, h, d or w (e.g. 5m)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise DurationTooLong(f"{value!r} is too long a duration") from None


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of ``delta`` in the units ``parse_duration`` reads."""
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_moment(value: str, *, now: datetime | None = None, tz: tzinfo = timezone.utc) -> datetime:
    """A point in time: a duration back from ``now`` (``7d``) or an ISO date/datetime.

    Naive ISO values are read in ``tz`` (the display zone: a team's "2026-11-05" is its own
    midnight). Used by ``--since`` and ``--until``. A duration reaching
    before 1970 (``99999999d``, which would overflow the calendar) means 1970: everything.
    """
    now = now or datetime.now(timezone.utc)
    try:
        delta = parse_duration(value)
    except DurationTooLong:
        delta = timedelta.max
    except ValueError:
        delta = None
    if delta is not None:  # no mention is older than 1970: further back means from the start
        return max(EPOCH, now - min(delta, now - EPOCH))
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a duration back from now (like 24h, 7d) "
            "nor an ISO date (like 2026-11-01 or 2026-11-01T09:30)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (a number, or an HTTP date); None when absent
    or unreadable. Sources (429 from an API) and notifiers (429 from Slack) both honour it."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
