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


from alerts import explain, storage
from alerts.message import pct
from alerts.reader import EVERY, AlertReader
from alerts.storage import SqlHandle
from sentimon.settings import Setting
from sentimon.times import to_db_time

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


def _totals(reader: AlertReader, start: datetime, end: datetime) -> tuple[int, int]:
    return reader.scope_counts(EVERY, start, end, per_topic=False).get("", (0, 0))


def gather(reader: AlertReader, kind: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The digest message, in the payload shape every notifier renders."""
    span = end - start
    n, k = _totals(reader, start, end)
    prev_n, prev_k = _totals(reader, start - span, start)
    share = k / n if n else 0.0
    prev_share = prev_k / prev_n if prev_n else 0.0
    now_topics, before = reader.digest_topics(start, end), reader.digest_topics(start - span, start)
    ranked = sorted(now_topics.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:5]
    topic_lines = []
    for name, (tn, tk) in ranked:
        change = tk - before.get(name, (0, 0))[1]
        topic_lines.append(f"{name}: {tn} mentions, {tk} negative ({change:+d} vs the period before)")
    # the digest's examples have never carried the reply link; kept so until decided otherwise
    worst = [{**row, "reply_url": None} for row in reader.negative_mentions(EVERY, None, start, end, limit=20)]
    step = timedelta(hours=1) if kind == "daily" else timedelta(days=1)
    fmt = "%Y-%m-%dT%H" if kind == "daily" else "%Y-%m-%d"
    counts = reader.series_counts(EVERY, None, start, end, by_day=kind != "daily")
    series, moment = [], start
    while moment < end:
        bn, bk = counts.get(moment, (0, 0))
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


def enqueue_due(db: SqlHandle, notifiers: Mapping[str, Any], now: datetime,
                reader: AlertReader | None) -> int:
    """Queue the last complete period's digest for every notifier that wants one; ``db``
    holds the outbox, ``reader`` counts the mentions (without one, a digest due is an error)."""
    queued = 0
    for name, notifier in notifiers.items():
        kind = (getattr(notifier, "options", None) or {}).get("digest")
        if kind not in ("daily", "weekly"):
            continue
        start, end, label = last_period(kind, now)
        key = f"digest:{name}:{label}"
        if storage.delivery_exists(db, key):
            continue
        if reader is None:
            raise ValueError(f"notifier {name!r} wants a {kind} digest but no mention reader was given")
        payload = gather(reader, kind, start, end)
        with db.atomic():
            queued += storage.enqueue(db, event_id=None, notifier=name, kind="digest", payload=payload,
                                      now=now, key=key)
    return queued
