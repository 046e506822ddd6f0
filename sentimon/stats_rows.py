"""`stats` without SQL: which counts to ask a store for, and the rows made of them.

Why a module of its own: both stores (SQLite's ``Store`` and PostgreSQL's ``PgStore``) answer
``stats`` the same way — whole UTC days from the daily roll-ups, the partial first and last
day counted from the mentions — and must print the same rows. Each store supplies its two
SQL paths; the plan and the arithmetic live here once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from sentimon import rollup

if TYPE_CHECKING:  # the store imports this module's callers
    from sentimon.store import MentionQuery

FromRollups = Callable[["MentionQuery", str, "datetime | None", datetime], list[rollup.Count]]
Counted = Callable[["MentionQuery", str], list[rollup.Count]]


def plan_counts(
    query: MentionQuery, by: str, now: datetime, from_rollups: FromRollups, counted: Counted
) -> list[rollup.Count]:
    """(bucket, sentiment, n) for ``query`` grouped ``by``: whole days from ``from_rollups``
    where the roll-ups answer the query, the rest (and every other query) from ``counted``."""
    days = rollup.whole_days(query.since, query.until, now) if rollup.answers(query, by) else None
    if days is None:
        return counted(query, by)
    first, end = days
    found = from_rollups(query, by, first, end)
    if first is not None and query.since is not None:
        found += counted(replace(query, until=first), by)
    return found + counted(replace(query, since=end), by)


def stats_rows(found: list[rollup.Count], by: str) -> list[dict[str, Any]]:
    """Counts per sentiment and the negative share per group. ``found`` is counted by day
    when ``by`` is week: weeks are summed from days, so the roll-ups serve them too."""
    if by == "week":
        found = [(rollup.week_of(day), sentiment, n) for day, sentiment, n in found]
    groups: dict[str, dict[str, Any]] = {}
    for bucket_value, sentiment, n in found:
        group = groups.setdefault(
            bucket_value, {by: bucket_value, "total": 0, "negative": 0, "neutral": 0, "positive": 0}
        )
        if sentiment in ("negative", "neutral", "positive"):
            group[sentiment] += n
        group["total"] += n
    rows = [groups[k] for k in sorted(groups)]
    if by in ("source", "topic", "brand"):
        rows.sort(key=lambda g: (-g["negative"], -g["total"]))
    for group in rows:
        group["negative_share"] = round(group["negative"] / group["total"], 4) if group["total"] else 0.0
    return rows
