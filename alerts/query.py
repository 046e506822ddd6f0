"""A rule's window and baseline, as the ``Counts`` rules test, from the app's ``AlertReader``.

What is counted is decided here (the window, the baseline's bins, the weeks compared, how much
of the baseline the store covers); the counting itself is the reader's, the store's SQL
(``alerts/reader.py`` says why), so this module sees counts and plain values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alerts.reader import EVERY, AlertReader, MentionFilter
from alerts.rules import AlertRule, Counts

SAME_HOUR_WEEKS = 4


@dataclass(frozen=True)
class Scope:
    """One thing a rule tests: the whole filtered stream (``name == ""``) or one topic."""

    name: str
    topic: str | None
    window: Counts
    baseline: Counts


def _ranges(rule: AlertRule, now: datetime) -> tuple[tuple[datetime, datetime], list[tuple[datetime, datetime]]]:
    """The window and the baseline ranges (one trailing range, or one per past week)."""
    window = rule.window
    current = (now - window, now)
    if rule.baseline_period is None:
        week = timedelta(days=7)
        past = [(now - i * week - window, now - i * week) for i in range(1, SAME_HOUR_WEEKS + 1)]
        return current, past
    return current, [(now - window - rule.baseline_period, now - window)]


def scopes(reader: AlertReader, rule: AlertRule, now: datetime) -> list[Scope]:
    """The window and baseline counts of every scope of ``rule`` at ``now``."""
    per_topic = rule.per_topic
    (w_start, w_end), past = _ranges(rule, now)
    where = MentionFilter.of(rule)
    window = reader.scope_counts(where, w_start, w_end, per_topic=per_topic)

    bins: dict[str, dict[int, tuple[int, int]]] = {}
    for index, (start, end) in enumerate(past):
        if len(past) > 1:  # one bin per past week
            found = {name: {index: tally} for name, tally in
                     reader.scope_counts(where, start, end, per_topic=per_topic).items()}
        else:  # window-sized bins counted from the baseline's start
            found = reader.scope_bins(where, start, end, per_topic=per_topic, width=rule.window)
        for name, per_bin in found.items():
            for b, tally in per_bin.items():
                bins.setdefault(name, {})[b + index * 10_000] = tally

    windows = _covered_windows(reader, where, rule, past)
    same = same_time_bins(rule, now, reader) if len(past) == 1 else None
    result = []
    names = sorted(window) if per_topic else [""]
    for name in names:
        n, k = window.get(name, (0, 0))
        per_bin = bins.get(name, {})
        total_bins = max(1, round(windows)) if windows > 0 else 0
        filled = list(per_bin.values()) + [(0, 0)] * max(0, total_bins - len(per_bin))
        same_time = None
        if same:
            picked = [per_bin.get(b, (0, 0)) for b in same]
            same_time = (sum(p[0] for p in picked), sum(p[1] for p in picked), float(len(same)))
        baseline = Counts(
            n=sum(b[0] for b in per_bin.values()), k=sum(b[1] for b in per_bin.values()),
            windows=windows, bins=tuple(filled), same_time=same_time,
        )
        result.append(Scope(f"topic={name}" if per_topic else "", name if per_topic else None,
                            Counts(n, k), baseline))
    return result


def same_time_bins(rule: AlertRule, now: datetime, reader: AlertReader | None = None) -> list[int]:
    """Indexes of the trailing-baseline bins that sit at the window's time of day (whole
    days before it), when the window divides a day; only bins the store covers count."""
    window = int(rule.window.total_seconds())
    period = rule.baseline_period
    if period is None or window <= 0 or 86400 % window:
        return []
    baseline = int(period.total_seconds())
    picked = [b for b in range(baseline // window) if (baseline - b * window) % 86400 == 0]
    if reader is not None and picked:
        first = reader.first_created(EVERY)
        if first is not None:
            start = now - rule.window - period
            oldest = (first - start).total_seconds()
            picked = [b for b in picked if (b + 1) * window > oldest]
    return picked


def _covered_windows(reader: AlertReader, where: MentionFilter, rule: AlertRule,
                     past: list[tuple[datetime, datetime]]) -> float:
    """How many windows of baseline the store actually covers. A store that began two days
    ago has two days of baseline, not seven (rates would be understated); under half the
    baseline covered means still warming up, reported as 0."""
    oldest = reader.first_created(where)
    if oldest is None:
        return 0.0
    window = rule.window.total_seconds()
    total = sum((end - start).total_seconds() for start, end in past)
    covered = sum(max(0.0, (end - max(start, oldest)).total_seconds()) for start, end in past)
    if covered < total / 2:
        return 0.0
    return covered / window


def series(reader: AlertReader, rule: AlertRule, topic: str | None, now: datetime,
           hours: int = 48) -> list[dict[str, Any]]:
    """Hourly mentions and negatives over the last ``hours``, every hour present (for charts)."""
    start = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    found = reader.series_counts(MentionFilter.of(rule), topic, start, now)
    points = []
    for i in range(hours):
        moment = start + timedelta(hours=i)
        n, k = found.get(moment, (0, 0))
        points.append({"hour": moment.strftime("%Y-%m-%dT%H") + ":00Z", "n": n, "negative": k})
    return points


def window_range(rule: AlertRule, now: datetime) -> tuple[datetime, datetime]:
    return _ranges(rule, now)[0]


def baseline_ranges(rule: AlertRule, now: datetime) -> list[tuple[datetime, datetime]]:
    return _ranges(rule, now)[1]
