"""Reading a rule's window and baseline out of the store, as the ``Counts`` rules test.

All SQL of the alerts package that touches mentions lives here, parameterized; the rest of
the package sees counts and plain dicts. Times are the store's sortable UTC text, so every
range is an index range on ``created_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlite_utils import Database

from alerts.rules import Counts
from sentimon.times import from_db_time, to_db_time

SAME_HOUR_WEEKS = 4


@dataclass(frozen=True)
class Scope:
    """One thing a rule tests: the whole filtered stream (``name == ""``) or one topic."""

    name: str
    topic: str | None
    window: Counts
    baseline: Counts


def _filters(rule: dict[str, Any], topic: str | None, per_topic: bool = False) -> tuple[str, list[Any]]:
    """The rule's filters as SQL over ``mentions m`` (and ``mention_topics t`` for a topic,
    or for every topic at once when ``per_topic``)."""
    clauses: list[str] = ["m.sentiment IS NOT NULL"]  # pending (pushed, unclassified): not yet
    params: list[Any] = []
    for column, values in (("m.source", rule.get("sources")), ("m.kind", rule.get("kinds"))):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if rule.get("brand", "") != "*":  # our own brand ('') unless the rule names another
        clauses.append("m.brand = ?")
        params.append(rule.get("brand", ""))
    if rule.get("min_rating"):
        clauses.append("m.rating >= ?")
        params.append(rule["min_rating"])
    if rule.get("max_rating"):
        clauses.append("m.rating <= ?")
        params.append(rule["max_rating"])
    if topic is not None:
        clauses.append("t.topic = ?")
        params.append(topic)
    elif per_topic and rule.get("topics"):
        clauses.append(f"t.topic IN ({', '.join('?' for _ in rule['topics'])})")
        params.extend(rule["topics"])
    elif rule.get("topics"):
        clauses.append(
            "EXISTS (SELECT 1 FROM mention_topics t2 WHERE t2.mention_id = m.id AND t2.topic IN "
            f"({', '.join('?' for _ in rule['topics'])}))"
        )
        params.extend(rule["topics"])
    return "".join(f" AND {c}" for c in clauses), params


def _source(per_topic: bool) -> tuple[str, str, str]:
    """FROM clause, negative test and group key: per topic, the aspect's own sentiment counts
    ("late parcel, lovely shoes" is a delivery complaint even in a positive review)."""
    if per_topic:
        return ("mentions m JOIN mention_topics t ON t.mention_id = m.id",
                "t.sentiment = 'negative'", "t.topic")
    return "mentions m", "m.sentiment = 'negative'", "''"


def _ranges(rule: dict[str, Any], now: datetime) -> tuple[tuple[datetime, datetime], list[tuple[datetime, datetime]]]:
    """The window and the baseline ranges (one trailing range, or one per past week)."""
    window = rule["window"]
    current = (now - window, now)
    if rule.get("baseline_period") is None:
        week = timedelta(days=7)
        past = [(now - i * week - window, now - i * week) for i in range(1, SAME_HOUR_WEEKS + 1)]
        return current, past
    return current, [(now - window - rule["baseline_period"], now - window)]


def scopes(db: Database, rule: dict[str, Any], now: datetime) -> list[Scope]:
    """The window and baseline counts of every scope of ``rule`` at ``now``."""
    per_topic = bool(rule.get("per_topic"))
    (w_start, w_end), past = _ranges(rule, now)
    table, negative, key = _source(per_topic)
    where, params = _filters(rule, None, per_topic)

    window: dict[str, tuple[int, int]] = {}
    sql = (f"SELECT {key}, COUNT(*), COALESCE(SUM({negative}), 0) FROM {table} "
           f"WHERE m.created_at >= ? AND m.created_at < ?{where} GROUP BY 1")
    for name, n, k in db.execute(sql, [to_db_time(w_start), to_db_time(w_end), *params]).fetchall():
        window[name] = (n, k)

    seconds = rule["window"].total_seconds()
    bins: dict[str, dict[int, tuple[int, int]]] = {}
    for index, (start, end) in enumerate(past):
        if len(past) > 1:  # one bin per past week
            bucket, bucket_params = "?", [index]
        else:  # window-sized bins counted from the baseline's start
            bucket = "CAST((strftime('%s', m.created_at) - ?) / ? AS INTEGER)"
            bucket_params = [int(start.timestamp()), seconds]
        sql = (f"SELECT {key}, {bucket}, COUNT(*), COALESCE(SUM({negative}), 0) FROM {table} "
               f"WHERE m.created_at >= ? AND m.created_at < ?{where} GROUP BY 1, 2")
        args = [*bucket_params, to_db_time(start), to_db_time(end), *params]
        for name, b, n, k in db.execute(sql, args).fetchall():
            bins.setdefault(name, {})[int(b) + index * 10_000] = (n, k)

    windows = _covered_windows(db, rule, now, past)
    same = same_time_bins(rule, now, db) if len(past) == 1 else None
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


def same_time_bins(rule: dict[str, Any], now: datetime, db: Database | None = None) -> list[int]:
    """Indexes of the trailing-baseline bins that sit at the window's time of day (whole
    days before it), when the window divides a day; only bins the store covers count."""
    window = int(rule["window"].total_seconds())
    period = rule.get("baseline_period")
    if period is None or window <= 0 or 86400 % window:
        return []
    baseline = int(period.total_seconds())
    picked = [b for b in range(baseline // window) if (baseline - b * window) % 86400 == 0]
    if db is not None and picked:
        row = db.execute("SELECT MIN(created_at) FROM mentions WHERE sentiment IS NOT NULL").fetchone()
        if row and row[0]:
            start = now - rule["window"] - period
            oldest = (from_db_time(row[0]) - start).total_seconds()
            picked = [b for b in picked if (b + 1) * window > oldest]
    return picked


def _covered_windows(db: Database, rule: dict[str, Any], now: datetime,
                     past: list[tuple[datetime, datetime]]) -> float:
    """How many windows of baseline the store actually covers. A store that began two days
    ago has two days of baseline, not seven (rates would be understated); under half the
    baseline covered means still warming up, reported as 0."""
    where, params = _filters(rule, None)
    row = db.execute(f"SELECT MIN(m.created_at) FROM mentions m WHERE 1 = 1{where}", params).fetchone()
    if not row or row[0] is None:
        return 0.0
    oldest = from_db_time(row[0])
    window = rule["window"].total_seconds()
    total = sum((end - start).total_seconds() for start, end in past)
    covered = sum(max(0.0, (end - max(start, oldest)).total_seconds()) for start, end in past)
    if covered < total / 2:
        return 0.0
    return covered / window


def series(db: Database, rule: dict[str, Any], topic: str | None, now: datetime,
           hours: int = 48) -> list[dict[str, Any]]:
    """Hourly mentions and negatives over the last ``hours``, every hour present (for charts)."""
    table, negative, _ = _source(topic is not None)
    where, params = _filters(rule, topic)
    start = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    sql = (f"SELECT substr(m.created_at, 1, 13), COUNT(*), COALESCE(SUM({negative}), 0) FROM {table} "
           f"WHERE m.created_at >= ? AND m.created_at < ?{where} GROUP BY 1")
    found = {h: (n, k) for h, n, k in db.execute(sql, [to_db_time(start), to_db_time(now), *params])}
    points = []
    for i in range(hours):
        hour = (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H")
        n, k = found.get(hour, (0, 0))
        points.append({"hour": hour + ":00Z", "n": n, "negative": k})
    return points


def topic_negatives(db: Database, rule: dict[str, Any], topic: str | None, start: datetime,
                    end: datetime) -> tuple[int, dict[str, int]]:
    """Mentions in range, and per topic how many of the negative ones speak of it."""
    table, negative, _ = _source(topic is not None)
    where, params = _filters(rule, topic)
    rng = [to_db_time(start), to_db_time(end)]
    total = db.execute(f"SELECT COUNT(*) FROM {table} WHERE m.created_at >= ? AND m.created_at < ?{where}",
                       [*rng, *params]).fetchone()[0]
    sql = (f"SELECT d.topic, COUNT(*) FROM {table} JOIN mention_topics d ON d.mention_id = m.id "
           f"WHERE m.created_at >= ? AND m.created_at < ?{where} AND {negative} "
           "AND d.sentiment = 'negative' GROUP BY d.topic")
    return total, {name: count for name, count in db.execute(sql, [*rng, *params])}


def negative_mentions(db: Database, rule: dict[str, Any], topic: str | None, start: datetime,
                      end: datetime, limit: int) -> Iterator[dict[str, Any]]:
    """Negative mentions in range, most negative first (examples, phrase counts)."""
    table, negative, _ = _source(topic is not None)
    where, params = _filters(rule, topic)
    sql = (f"SELECT m.id, m.source, m.kind, m.url, m.author, m.title, m.text, m.rating, m.created_at, "
           "m.score_negative, CASE WHEN json_valid(m.extra) THEN json_extract(m.extra, '$.reply_url') END "
           f"AS reply_url FROM {table} WHERE m.created_at >= ? AND m.created_at < ?{where} "
           f"AND {negative} ORDER BY m.score_negative DESC, m.created_at DESC LIMIT ?")
    yield from db.execute_returning_dicts(sql, [to_db_time(start), to_db_time(end), *params, limit])


def recent_texts(db: Database, rule: dict[str, Any], topic: str | None, start: datetime,
                 end: datetime, *, negative_only: bool, limit: int) -> list[str]:
    """Texts in range, newest first, for the phrase comparison's baseline side."""
    table, negative, _ = _source(topic is not None)
    where, params = _filters(rule, topic)
    extra = f" AND {negative}" if negative_only else ""
    sql = (f"SELECT COALESCE(m.title, '') || ' ' || m.text FROM {table} WHERE m.created_at >= ? "
           f"AND m.created_at < ?{where}{extra} ORDER BY m.created_at DESC LIMIT ?")
    return [row[0] for row in db.execute(sql, [to_db_time(start), to_db_time(end), *params, limit])]


def window_range(rule: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    return _ranges(rule, now)[0]


def baseline_ranges(rule: dict[str, Any], now: datetime) -> list[tuple[datetime, datetime]]:
    return _ranges(rule, now)[1]
