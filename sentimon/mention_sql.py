"""SQL on ``mentions`` and ``mention_topics`` that the store's callers need, in one place.

Why: a second backend (PostgreSQL, issue 18) must replace exactly one set of functions, and
a newcomer must find every query on these tables here or in ``sentimon/store.py``. Callers
get plain tuples back; every statement is parameterized.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlite_utils import Database


def mention_sentiment(db: Database, mention_id: int) -> tuple[str | None] | None:
    """``(sentiment,)`` of the mention (sentiment may be NULL), or None when there is no such id."""
    row = db.execute("SELECT sentiment FROM mentions WHERE id = ?", [mention_id]).fetchone()
    return None if row is None else (row[0],)


def set_human_sentiment(
    db: Database, mention_id: int, sentiment: str | None, author: str, when: str
) -> None:
    """Record a human's sentiment on the mention (caller holds the transaction)."""
    db.execute(
        "UPDATE mentions SET sentiment = ?, corrected_by = ?, corrected_at = ? WHERE id = ?",
        [sentiment, author, when, mention_id],
    )


def replace_topics(db: Database, mention_id: int, topics: Iterable[dict[str, Any]]) -> None:
    """Replace the mention's topics with ``topics`` (caller holds the transaction)."""
    db.execute("DELETE FROM mention_topics WHERE mention_id = ?", [mention_id])
    for topic in topics:
        db.execute(
            "INSERT INTO mention_topics (mention_id, topic, score, sentiment) VALUES (?, ?, ?, ?)",
            [mention_id, topic["name"], topic["score"], topic["sentiment"]],
        )


def corrected_mentions(db: Database) -> list[tuple[int, str | None, str, str]]:
    """``(id, title, text, sentiment)`` of every human-corrected mention, oldest first."""
    sql = "SELECT id, title, text, sentiment FROM mentions WHERE corrected_at IS NOT NULL ORDER BY id"
    return [tuple(row) for row in db.execute(sql).fetchall()]  # type: ignore[misc]


def uncorrected_texts(db: Database, limit: int) -> list[tuple[str | None, str]]:
    """``(title, text)`` of the ``limit`` newest mentions nobody corrected."""
    sql = "SELECT title, text FROM mentions WHERE corrected_at IS NULL ORDER BY id DESC LIMIT ?"
    return [tuple(row) for row in db.execute(sql, [limit]).fetchall()]  # type: ignore[misc]


def mentions_page(
    db: Database, columns: Sequence[str], after_id: int, since: str | None, until: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` mentions with id above ``after_id`` (a keyset page), in id order, created
    in ``[since, until)`` where given. ``columns`` are names of ours, never user input."""
    clauses, params = ["id > ?"], list[int | str]([after_id])
    if since:
        clauses.append("created_at >= ?")
        params.append(since)
    if until:
        clauses.append("created_at < ?")
        params.append(until)
    sql = f"SELECT {', '.join(columns)} FROM mentions WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
    return list(db.execute_returning_dicts(sql, [*params, limit]))


def count_where(db: Database, where: str, params: Sequence[Any]) -> int:
    """Mentions (aliased ``m``) matching ``where``, a clause built by ``MentionQuery.where``
    from names of ours with every value in ``params``."""
    return int(db.execute(f"SELECT COUNT(*) FROM mentions m{where}", list(params)).fetchone()[0])


def counts_by_source_sentiment(db: Database) -> list[tuple[str, str | None, int]]:
    """``(source, sentiment, mentions)`` over the whole table, for the metrics endpoint."""
    sql = "SELECT source, sentiment, COUNT(*) FROM mentions GROUP BY 1, 2 ORDER BY 1, 2"
    return [tuple(row) for row in db.execute(sql).fetchall()]  # type: ignore[misc]
