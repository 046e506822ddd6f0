"""Aggregates over the mentions created in a window ``[since, until)``: the report's reads.

Why here: the store's SQL on ``mentions`` and ``mention_topics`` has one owner per kind of
read (``store.py``, ``mention_sql.py``, this module) so a second backend (issue 18) replaces
these functions and nothing in ``report.py``. ``span`` is ``[since, until]`` in the stored
time format; every value is bound, and rows come back as plain tuples or dicts. Pending
mentions (pushed, not classified yet: sentiment NULL) are left out until the model read them.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlite_utils import Database

_IN = "m.created_at >= ? AND m.created_at < ? AND m.sentiment IS NOT NULL"  # classified, in span
_HOURS = "substr(m.created_at, 1, 13) || ':00'"  # UTC hours, regrouped in the display zone


def hourly_sentiment(db: Database, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """``(hour, total, negative, neutral, positive)`` per UTC hour with mentions."""
    return [tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT {_HOURS} AS h, COUNT(*), SUM(sentiment = 'negative'), SUM(sentiment = 'neutral'), "
        f"SUM(sentiment = 'positive') FROM mentions m WHERE {_IN} "
        "GROUP BY h", list(span)
    ).fetchall()]


def negative_count(db: Database, span: Sequence[str]) -> tuple[int, int]:
    """``(mentions, negative mentions)`` in the window."""
    total, negative = db.execute("SELECT COUNT(*), COALESCE(SUM(sentiment = 'negative'), 0) FROM mentions m "
                                 f"WHERE {_IN}", list(span)).fetchone()
    return total, negative


def topic_sentiment(db: Database, span: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """``(topic, total, negative, neutral, positive)`` per topic found in the window."""
    return [tuple(r) for r in db.execute(  # type: ignore[misc]
        "SELECT t.topic, COUNT(*), SUM(t.sentiment = 'negative'), SUM(t.sentiment = 'neutral'), "
        "SUM(t.sentiment = 'positive') FROM mention_topics t JOIN mentions m ON m.id = t.mention_id "
        f"WHERE {_IN} GROUP BY t.topic", list(span)
    ).fetchall()]


def negative_by(db: Database, column: str, span: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(value, total, negative)`` per ``column`` ('source' or 'brand', names of ours), most first."""
    if column not in ("source", "brand"):
        raise ValueError(f"cannot group mentions by {column!r}")
    return [tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT {column}, COUNT(*), COALESCE(SUM(sentiment = 'negative'), 0) FROM mentions m "
        f"WHERE {_IN} GROUP BY {column} ORDER BY 2 DESC", list(span)
    ).fetchall()]


def most_negative(db: Database, span: Sequence[str], limit: int = 10) -> list[dict[str, Any]]:
    """The most negative mentions, one row per text with its ``repeats`` (a copied complaint
    shows once), newest first among equal scores."""
    return [dict(r) for r in db.execute_returning_dicts(
        "SELECT id, source, url, title, text, created_at, MAX(score_negative) AS score_negative, "
        "CASE WHEN json_valid(extra) THEN json_extract(extra, '$.reply_url') END AS reply_url, "
        f"COUNT(*) AS repeats FROM mentions m WHERE {_IN} "
        "AND sentiment = 'negative' GROUP BY text ORDER BY score_negative DESC, created_at DESC LIMIT ?",
        [*span, limit])]


def topic_hours(db: Database, span: Sequence[str], names: Sequence[str]) -> list[tuple[str, str, int, int]]:
    """``(topic, hour, total, negative)`` for the topics ``names`` per UTC hour."""
    marks = ", ".join("?" for _ in names)
    return [tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT t.topic, {_HOURS} AS h, COUNT(*), SUM(t.sentiment = 'negative') FROM mention_topics t "
        f"JOIN mentions m ON m.id = t.mention_id WHERE {_IN} "
        f"AND t.topic IN ({marks}) GROUP BY t.topic, h", [*span, *names]).fetchall()]
