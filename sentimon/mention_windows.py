"""Aggregates over the mentions created in a window ``[since, until)``: the report's reads.

Why here: the store's SQL on ``mentions`` and ``mention_topics`` has one owner per kind of
read (``store``, ``mention_sql``, this module), and each statement here is written once in the
portable subset, so both stores run it (``sentimon/store/report_reads.py``): SQLite on its
sqlite-utils handle, PostgreSQL through ``pgstore.qmark.QmarkDatabase``. Where they say a thing
differently (counting a condition, a JSON field) the ``Dialect`` of the alert reads supplies
it. ``span`` is ``[since, until]`` in the stored time format; every value is bound. Rows come
back in an order fixed here, never the database's grouping order, so both give the same
report. Pending mentions (pushed, not classified yet: sentiment NULL) are left out until the
model read them.
"""

from __future__ import annotations

from typing import Any, Sequence

from sentimon.mention_sql import SqlHandle
from sentimon.store.alert_reads import Dialect

_IN = "m.created_at >= ? AND m.created_at < ? AND m.sentiment IS NOT NULL"  # classified, in span
_HOURS = "substr(m.created_at, 1, 13) || ':00'"  # UTC hours, regrouped in the display zone


def _negative(d: Dialect, column: str = "sentiment") -> str:
    """How many of the rows have a negative ``column``."""
    return d.count_true.format(f"{column} = 'negative'")


def _three(d: Dialect, column: str) -> str:
    """Negative, neutral and positive counts of ``column``."""
    return ", ".join(d.count_true.format(f"{column} = '{s}'") for s in ("negative", "neutral", "positive"))


def hourly_sentiment(db: SqlHandle, span: Sequence[str], d: Dialect
                     ) -> list[tuple[str, int, int, int, int]]:
    """``(hour, total, negative, neutral, positive)`` per UTC hour with mentions, oldest first."""
    return sorted(tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT {_HOURS} AS h, COUNT(*), {_three(d, 'sentiment')} FROM mentions m WHERE {_IN} "
        "GROUP BY h", list(span)
    ).fetchall())


def negative_count(db: SqlHandle, span: Sequence[str], d: Dialect) -> tuple[int, int]:
    """``(mentions, negative mentions)`` in the window."""
    total, negative = db.execute(f"SELECT COUNT(*), COALESCE({_negative(d)}, 0) "
                                 f"FROM mentions m WHERE {_IN}", list(span)).fetchone()
    return total, negative


def topic_sentiment(db: SqlHandle, span: Sequence[str], d: Dialect
                    ) -> list[tuple[str, int, int, int, int]]:
    """``(topic, total, negative, neutral, positive)`` per topic found in the window, by name
    (code point order: SQLite's, and not the PostgreSQL server's collation)."""
    return sorted(tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT t.topic, COUNT(*), {_three(d, 't.sentiment')} FROM mention_topics t "
        f"JOIN mentions m ON m.id = t.mention_id WHERE {_IN} GROUP BY t.topic", list(span)
    ).fetchall())


def negative_by(db: SqlHandle, column: str, span: Sequence[str], d: Dialect
                ) -> list[tuple[str, int, int]]:
    """``(value, total, negative)`` per ``column`` ('source' or 'brand', names of ours), most
    first, equal totals by name."""
    if column not in ("source", "brand"):
        raise ValueError(f"cannot group mentions by {column!r}")
    rows = db.execute(
        f"SELECT {column}, COUNT(*), COALESCE({_negative(d)}, 0) "
        f"FROM mentions m WHERE {_IN} GROUP BY {column}", list(span)
    ).fetchall()
    return sorted((tuple(r) for r in rows), key=lambda r: (-r[1], r[0]))  # type: ignore[misc]


def most_negative(db: SqlHandle, span: Sequence[str], limit: int, d: Dialect
                  ) -> list[dict[str, Any]]:
    """The most negative mentions, one row per text with its ``repeats`` (a copied complaint
    shows once): of the copies, the most negative, then the first one posted (what SQLite's
    ``GROUP BY text`` with ``MAX()`` chose before both stores shared this statement). Newest
    first among equal scores; a missing score counts as the lowest on both databases."""
    return [dict(r) for r in db.execute_returning_dicts(
        "SELECT id, source, url, title, text, created_at, score_negative, reply_url, repeats FROM ("
        "SELECT m.id, m.source, m.url, m.title, m.text, m.created_at, m.score_negative, "
        f"{d.reply_url} AS reply_url, COUNT(*) OVER (PARTITION BY m.text) AS repeats, "
        "ROW_NUMBER() OVER (PARTITION BY m.text ORDER BY m.score_negative DESC NULLS LAST, "
        "m.created_at, m.id) AS pick "
        f"FROM mentions m WHERE {_IN} AND m.sentiment = 'negative') w "
        "WHERE pick = 1 ORDER BY score_negative DESC NULLS LAST, created_at DESC, id LIMIT ?",
        [*span, limit])]


def topic_hours(db: SqlHandle, span: Sequence[str], names: Sequence[str], d: Dialect
                ) -> list[tuple[str, str, int, int]]:
    """``(topic, hour, total, negative)`` for the topics ``names`` per UTC hour."""
    marks = ", ".join("?" for _ in names)
    return sorted(tuple(r) for r in db.execute(  # type: ignore[misc]
        f"SELECT t.topic, {_HOURS} AS h, COUNT(*), {_negative(d, 't.sentiment')} "
        "FROM mention_topics t "
        f"JOIN mentions m ON m.id = t.mention_id WHERE {_IN} "
        f"AND t.topic IN ({marks}) GROUP BY t.topic, h", [*span, *names]).fetchall())
