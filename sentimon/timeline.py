"""Time as a team reads it: buckets in the display zone (``[display] timezone``), empty
buckets as zeros, and stored UTC times shown as local wall-clock text.

The store counts in UTC (its daily roll-ups are UTC days). For another zone the counts are
taken per UTC hour and regrouped here by their local hour, day or week: exact for zones whole
hours from UTC, and an hour's mentions land in the local bucket where that hour starts
otherwise (India, Nepal). Filling the gaps keeps a sparkline's x-axis honest: three quiet days
show as three low marks, not as nothing between two busy ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sentimon.rollup import week_of

TIME_UNITS = ("hour", "day", "week")
MAX_FILLED = 400  # buckets filled from --since; a longer series starts at its first mention
_COUNTS = ("total", "negative", "neutral", "positive")


def display_zone(config: Any) -> ZoneInfo:
    """The configured display zone (checked when the config loaded); UTC without a config."""
    display = getattr(config, "display", None)
    return ZoneInfo(display.timezone if display is not None else "UTC")


def local_text(db_time: str | None, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """``2026-11-05T23:30:00Z`` -> ``2026-11-06 08:30`` in ``zone``; "" for no time."""
    if not db_time:
        return ""
    moment = datetime.fromisoformat(db_time.replace("Z", "+00:00")).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def label(moment: datetime, by: str, zone: ZoneInfo) -> str:
    """A moment's bucket label in ``zone``, in the forms ``Store.stats`` uses."""
    local = moment.astimezone(zone)
    if by == "hour":
        return local.strftime("%Y-%m-%dT%H:00")
    day = local.strftime("%Y-%m-%d")
    return week_of(day) if by == "week" else day


def regroup(hours: Sequence[dict[str, Any]], by: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Rows of ``Store.stats(query, "hour")`` (UTC hours) summed into ``by`` buckets of ``zone``."""
    groups: dict[str, dict[str, Any]] = {}
    for row in hours:
        start = datetime.strptime(row["hour"], "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.utc)
        key = label(start, by, zone)
        group = groups.setdefault(key, {by: key, **{c: 0 for c in _COUNTS}})
        for column in _COUNTS:
            group[column] += row[column]
    return [groups[k] for k in sorted(groups)]


def filled(
    rows: Sequence[dict[str, Any]], by: str, zone: ZoneInfo, since: datetime | None, until: datetime
) -> list[dict[str, Any]]:
    """``rows`` with a zero row for every empty bucket between ``since`` and ``until``, each
    with its ``negative_share``."""
    found = {row[by]: dict(row) for row in rows}
    first = found and min(found)
    labels = _labels(by, zone, since, until) if since else None
    if since and (labels is None or len(labels) > MAX_FILLED):
        labels = None
    if labels is None and first:
        start = _parse_label(first, by, zone)
        labels = _labels(by, zone, start, until)
        if len(labels) > MAX_FILLED:
            labels = sorted(found)
    out = []
    for key in sorted(set(labels or ()) | set(found)):
        row = found.get(key) or {by: key, **{c: 0 for c in _COUNTS}}
        row["negative_share"] = round(row["negative"] / row["total"], 4) if row["total"] else 0.0
        out.append(row)
    return out


def _labels(by: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[str]:
    """Every bucket label from ``start`` up to (not including) ``end``; stops past the cap."""
    step = timedelta(hours=1) if by == "hour" else timedelta(days=1)
    moment = start.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if by != "hour":  # walk local days from the local midnight; noon dodges DST edges
        local = start.astimezone(zone)
        moment = local.replace(hour=12, minute=0, second=0, microsecond=0)
    labels: dict[str, None] = {}
    last = label(end - timedelta(microseconds=1), by, zone)
    while len(labels) <= MAX_FILLED:
        key = label(moment, by, zone)
        labels[key] = None
        if key >= last:
            break
        moment += step
    return list(labels)


def _parse_label(text: str, by: str, zone: ZoneInfo) -> datetime:
    if by == "hour":
        return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=zone)
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=zone)
