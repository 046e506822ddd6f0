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
    """``(id, title, text, sentiment)`` of every human-corrected mention, oldest first; one whose
    topics a person set while it was pending has no sentiment to train on until classified."""
    sql = ("SELECT id, title, text, sentiment FROM mentions WHERE corrected_at IS NOT NULL "
           "AND sentiment IS NOT NULL ORDER BY id")
    return [tuple(row) for row in db.execute(sql).fetchall()]  # type: ignore[misc]


def uncorrected_texts(db: Database, limit: int) -> list[tuple[str | None, str]]:
    """``(title, text)`` of the ``limit`` newest mentions nobody corrected."""
    sql = "SELECT title, text FROM mentions WHERE corrected_at IS NULL ORDER BY id DESC LIMIT ?"
    return [tuple(row) for row in db.execute(sql, [limit]).fetchall()]  # type: ignore[misc]


def mentions_page(
    db: Database, columns: Sequence[str], after_id: int, since: str | None, until: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` mentions with id above ``after_id`` (a keyset page), in id order, created
    in ``[since, until)`` where given, pending ones left out until classified. ``columns`` are
    names of ours, never user input."""
    clauses, params = ["id > ?", "sentiment IS NOT NULL"], list[int | str]([after_id])
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
    """``(source, sentiment, mentions)`` over the classified mentions, for the metrics endpoint
    (pending ones are ``pending_count``)."""
    sql = ("SELECT source, sentiment, COUNT(*) FROM mentions WHERE sentiment IS NOT NULL "
           "GROUP BY 1, 2 ORDER BY 1, 2")
    return [tuple(row) for row in db.execute(sql).fetchall()]  # type: ignore[misc]


# --- pending mentions (pushed, stored before the model reads them; sentiment NULL) ---------

PENDING = "sentiment IS NULL"  # a pending mention: stored by a push, not classified yet


def stored_ids(db: Database, source: str, external_ids: Sequence[str]) -> dict[str, int]:
    """``external_id -> id`` of the mentions of ``source`` with those ids (the push reply's ids)."""
    found: dict[str, int] = {}
    ids = list(dict.fromkeys(external_ids))
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        sql = (f"SELECT external_id, id FROM mentions WHERE source = ? AND external_id IN "
               f"({', '.join('?' for _ in chunk)})")
        found.update(db.execute(sql, [source, *chunk]).fetchall())
    return found


def pending_mentions(db: Database, limit: int, after_id: int = 0) -> list[dict[str, Any]]:
    """Up to ``limit`` pending mentions with id above ``after_id``, oldest first: the next
    batch for the background classifier."""
    sql = (f"SELECT id, title, text, rating, lang FROM mentions WHERE {PENDING} AND id > ? "
           "ORDER BY id LIMIT ?")
    return list(db.execute_returning_dicts(sql, [after_id, limit]))


def pending_count(db: Database) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM mentions WHERE {PENDING}").fetchone()[0])


def set_classification(
    db: Database, mention_id: int, sentiment: str, scores: dict[str, float], model: str,
    lang: str | None, topics: Iterable[tuple[str, float, str]],
) -> bool:
    """Classify a pending mention (caller holds the transaction); False when it is no longer
    pending (a person set its sentiment, or retention deleted it). The sentiment is written
    before the topics, so the roll-up triggers key the topics by it. Topics a person set on
    the pending mention stay."""
    cursor = db.execute(
        "UPDATE mentions SET sentiment = ?, score_negative = ?, score_neutral = ?, "
        f"score_positive = ?, model = ?, lang = COALESCE(?, lang) WHERE id = ? AND {PENDING}",
        [sentiment, float(scores.get("negative", 0.0)), float(scores.get("neutral", 0.0)),
         float(scores.get("positive", 0.0)), model, lang, mention_id],
    )
    if cursor.rowcount != 1:
        return False
    for name, score, topic_sentiment in topics:
        db.execute(
            "INSERT INTO mention_topics (mention_id, topic, score, sentiment) "
            "SELECT ?, ?, ?, ? FROM mentions WHERE id = ? AND corrected_at IS NULL "
            "ON CONFLICT (mention_id, topic) DO NOTHING",
            [mention_id, name, float(score), topic_sentiment, mention_id],
        )
    return True
