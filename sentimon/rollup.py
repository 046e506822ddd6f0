"""`stats` over whole UTC days from the daily roll-ups that triggers keep (schema 0004).

A month of counts at a million stored mentions is a few thousand roll-up rows instead of a
walk over every mention of the month. Only the filters the roll-ups are keyed on qualify
(period, source, sentiment, and one topic); anything else — a text search, a rating range,
several topics at once, or a per-topic grouping filtered by topic — is counted from the
mentions, as before, so the answer never depends on which path served it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from sqlite_utils import Database

if TYPE_CHECKING:  # the store imports this module
    from sentimon.store import MentionQuery

Count = tuple[str, str | None, int]  # (bucket, sentiment, n), the shape Store.stats sums


def answers(query: MentionQuery, by: str) -> bool:
    """Whether the roll-ups hold exactly what ``query`` grouped ``by`` asks for."""
    if by not in ("day", "source", "topic"):
        return False
    if query.search or query.min_rating is not None or query.max_rating is not None:
        return False
    if query.langs or query.authors or query.kinds or query.brands:  # not keys of the roll-ups
        return False
    # A mention with two of the wanted topics is one mention; the topic roll-up would count it
    # twice. Grouped by topic, a topic filter keeps the mention's other topics too.
    return len(query.topics) <= (0 if by == "topic" else 1)


def whole_days(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime | None, datetime] | None:
    """The whole UTC days inside [since, until or now): (first midnight or None for "from the
    start", end midnight). None when the period holds no whole day."""
    end = _midnight(until or now)
    first = None
    if since is not None:
        first = _midnight(since)
        if first < since.astimezone(timezone.utc):
            first += timedelta(days=1)
        if first >= end:
            return None
    return first, end


def counts(db: Database, query: MentionQuery, by: str, first: datetime | None, end: datetime) -> list[Count]:
    """Counts for the whole days [first, end) from the roll-up tables."""
    clauses, params = ["day < ?"], [_day(end)]
    if first is not None:
        clauses.append("day >= ?")
        params.append(_day(first))
    if query.sources:
        clauses.append(f"source IN ({', '.join('?' for _ in query.sources)})")
        params.extend(query.sources)
    if by == "topic":
        table, bucket, sentiment, mention_sentiment = "daily_topics", "topic", "topic_sentiment", "mention_sentiment"
    elif query.topics:
        table, bucket, sentiment, mention_sentiment = "daily_topics", by, "mention_sentiment", "mention_sentiment"
        clauses.append("topic = ?")
        params.append(query.topics[0])
    else:
        table, bucket, sentiment, mention_sentiment = "daily_sentiment", by, "sentiment", "sentiment"
    clauses.append(f"{mention_sentiment} != ''")  # '' keys pending mentions: not counted yet
    if query.sentiments:
        clauses.append(f"{mention_sentiment} IN ({', '.join('?' for _ in query.sentiments)})")
        params.extend(query.sentiments)
    sql = (
        f"SELECT {bucket}, {sentiment}, SUM(n) FROM {table} WHERE {' AND '.join(clauses)} "
        f"GROUP BY {bucket}, {sentiment} HAVING SUM(n) > 0"
    )
    return [(b, s or None, n) for b, s, n in db.execute(sql, params).fetchall()]


def week_of(day: str) -> str:
    """The Monday (ISO week start) of a ``YYYY-MM-DD`` day, in the same form: a week's label."""
    date = datetime.strptime(day, "%Y-%m-%d").date()
    return (date - timedelta(days=date.weekday())).isoformat()


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(timezone.utc).date(), time(), tzinfo=timezone.utc)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")
