"""The optional daily or weekly digest per notifier (``digest = "daily"`` in its table).

The digest of a period is queued in the outbox the first time deliveries run after the
period ends (UTC day or ISO week), keyed ``digest:NOTIFIER:PERIOD``, so it goes out once
even if the daemon restarts or two processes deliver. It carries volume and negative share
against the previous period, the top topics with their change, and notable mentions. Pending
mentions (pushed, not classified yet) count once classified, in the period they were created.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlite_utils import Database

from alerts import explain, storage
from alerts.message import pct
from sentimon.settings import Setting
from sentimon.times import to_db_time

_IN = "m.created_at >= ? AND m.created_at < ? AND m.sentiment IS NOT NULL"  # classified, in range

DIGEST_SETTINGS = (
    Setting("digest", "str", "", choices=("", "daily", "weekly"),
            help='Also send a "daily" or "weekly" summary (UTC periods); empty for none.'),
)


def last_period(kind: str, now: datetime) -> tuple[datetime, datetime, str]:
    """The most recent complete period before ``now``: start, end and a label for the key."""
    midnight = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "daily":
        start = midnight - timedelta(days=1)
        return start, midnight, start.strftime("%Y-%m-%d")
    end = midnight - timedelta(days=midnight.weekday())  # this Monday 00:00
    start = end - timedelta(days=7)
    year, week, _ = start.isocalendar()
    return start, end, f"{year}-W{week:02d}"


def _totals(db: Database, start: datetime, end: datetime) -> tuple[int, int]:
    row = db.execute("SELECT COUNT(*), COALESCE(SUM(sentiment = 'negative'), 0) FROM mentions m "
                     f"WHERE {_IN}", [to_db_time(start), to_db_time(end)]).fetchone()
    return int(row[0]), int(row[1])


def _topics(db: Database, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    # a mention counts as negative by its overall sentiment, as in the totals, so a topic never
    # shows more negatives than the digest's headline
    sql = ("SELECT t.topic, COUNT(*), SUM(m.sentiment = 'negative') FROM mention_topics t "
           f"JOIN mentions m ON m.id = t.mention_id WHERE {_IN} "
           "GROUP BY t.topic")
    return {name: (n, k) for name, n, k in db.execute(sql, [to_db_time(start), to_db_time(end)])}


def gather(db: Database, kind: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The digest message, in the payload shape every notifier renders."""
    span = end - start
    n, k = _totals(db, start, end)
    prev_n, prev_k = _totals(db, start - span, start)
    share = k / n if n else 0.0
    prev_share = prev_k / prev_n if prev_n else 0.0
    now_topics, before = _topics(db, start, end), _topics(db, start - span, start)
    ranked = sorted(now_topics.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:5]
    topic_lines = []
    for name, (tn, tk) in ranked:
        change = tk - before.get(name, (0, 0))[1]
        topic_lines.append(f"{name}: {tn} mentions, {tk} negative ({change:+d} vs the period before)")
    worst = db.execute_returning_dicts(
        "SELECT id, source, kind, url, author, title, text, rating, created_at, score_negative FROM mentions m "
        f"WHERE {_IN} AND sentiment = 'negative' "
        "ORDER BY score_negative DESC, created_at DESC LIMIT 20", [to_db_time(start), to_db_time(end)])
    step = timedelta(hours=1) if kind == "daily" else timedelta(days=1)
    fmt = "%Y-%m-%dT%H" if kind == "daily" else "%Y-%m-%d"
    cut = 13 if kind == "daily" else 10
    counts = {b: (bn, bk) for b, bn, bk in db.execute(
        f"SELECT substr(created_at, 1, {cut}), COUNT(*), SUM(sentiment = 'negative') FROM mentions m "
        f"WHERE {_IN} GROUP BY 1", [to_db_time(start), to_db_time(end)])}
    series, moment = [], start
    while moment < end:
        bn, bk = counts.get(moment.strftime(fmt), (0, 0))
        series.append({"hour": moment.strftime(fmt), "n": bn, "negative": bk})
        moment += step
    label = "Daily" if kind == "daily" else "Weekly"
    period = start.strftime("%Y-%m-%d") + ("" if kind == "daily" else f" to {(end - timedelta(days=1)):%Y-%m-%d}")
    trend = "up" if share > prev_share + 0.02 else "down" if share < prev_share - 0.02 else "steady"
    return {
        "kind": "digest", "event_id": None, "rule": f"{kind} digest", "scope": "", "status": "digest",
        "opened_at": to_db_time(end),
        "title": f"{label} digest {period}: {n} mentions, {k} negative ({pct(share)}; was {pct(prev_share)})",
        "summary": [f"{n} mentions ({n - prev_n:+d} vs the period before), {k} negative",
                    f"negative share {share:.1%}, {trend} from {prev_share:.1%}"],
        "sections": [{"heading": "Top topics", "lines": topic_lines}] if topic_lines else [],
        "drivers": [], "phrases": [], "examples": explain.examples(worst, limit=3), "series": series,
        "numbers": {"baseline_share": round(prev_share, 4), "negative_share": round(share, 4),
                    "mentions": n, "negative": k, "previous_mentions": prev_n},
        "test": False,
    }


def enqueue_due(db: Database, notifiers: Mapping[str, Any], now: datetime) -> int:
    """Queue the last complete period's digest for every notifier that wants one."""
    queued = 0
    for name, notifier in notifiers.items():
        kind = (getattr(notifier, "options", None) or {}).get("digest")
        if kind not in ("daily", "weekly"):
            continue
        start, end, label = last_period(kind, now)
        key = f"digest:{name}:{label}"
        if storage.delivery_exists(db, key):
            continue
        payload = gather(db, kind, start, end)
        with db.atomic():
            queued += storage.enqueue(db, event_id=None, notifier=name, kind="digest", payload=payload,
                                      now=now, key=key)
    return queued
