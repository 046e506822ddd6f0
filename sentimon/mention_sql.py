"""SQL on ``mentions`` and ``mention_topics`` that the store's callers need, in one place.

Why: a newcomer finds every query on these tables here or in the stores, and both stores run
these same statements: they are written in the portable subset, so SQLite's ``Store`` passes
its sqlite-utils ``Database`` and PostgreSQL's ``PgStore`` a ``pgstore.qmark.QmarkDatabase``
(issue 18) instead of keeping a second copy of each. Callers outside the stores use the
stores' methods (``pending_mentions``, ``set_classifications``, ``save_pending``,
``mentions_page``, ``apply_correction``); the caller of a write holds the transaction.
Callers get plain tuples back; every statement is parameterized.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol, Sequence

from sentimon.mention import Classification


class SqlHandle(Protocol):
    """What these functions call: sqlite-utils' ``Database`` and PgStore's ``QmarkDatabase``."""

    def execute(self, sql: str, parameters: Sequence[Any] | None = None, /) -> Any: ...

    def execute_returning_dicts(self, sql: str, params: Sequence[Any] | None = None, /
                                ) -> list[dict[str, Any]]: ...



def mention_sentiment(db: SqlHandle, mention_id: int) -> tuple[str | None] | None:
    """``(sentiment,)`` of the mention (sentiment may be NULL), or None when there is no such id."""
    row = db.execute("SELECT sentiment FROM mentions WHERE id = ?", [mention_id]).fetchone()
    return None if row is None else (row[0],)


def set_human_sentiment(
    db: SqlHandle, mention_id: int, sentiment: str | None, author: str, when: str
) -> None:
    """Record a human's sentiment on the mention (caller holds the transaction)."""
    db.execute(
        "UPDATE mentions SET sentiment = ?, corrected_by = ?, corrected_at = ? WHERE id = ?",
        [sentiment, author, when, mention_id],
    )


def replace_topics(db: SqlHandle, mention_id: int, topics: Iterable[dict[str, Any]]) -> None:
    """Replace the mention's topics with ``topics`` (caller holds the transaction)."""
    db.execute("DELETE FROM mention_topics WHERE mention_id = ?", [mention_id])
    for topic in topics:
        db.execute(
            "INSERT INTO mention_topics (mention_id, topic, score, sentiment) VALUES (?, ?, ?, ?)",
            [mention_id, topic["name"], topic["score"], topic["sentiment"]],
        )


def topics_of(db: SqlHandle, mention_id: int) -> list[dict[str, Any]]:
    """The mention's topics as ``{name, score, sentiment}``, surest first (as listed)."""
    rows = db.execute(
        "SELECT topic, score, sentiment FROM mention_topics WHERE mention_id = ? ORDER BY score DESC, topic",
        [mention_id],
    ).fetchall()
    return [{"name": name, "score": round(score, 4), "sentiment": sentiment} for name, score, sentiment in rows]


def corrected_mentions(db: SqlHandle) -> list[dict[str, Any]]:
    """Every human-corrected mention as ``{id, title, text, sentiment, topics}`` (topics as
    ``topics_of``), oldest first; one whose topics a person set while it was pending has no
    sentiment to train on until classified."""
    sql = ("SELECT id, title, text, sentiment FROM mentions WHERE corrected_at IS NOT NULL "
           "AND sentiment IS NOT NULL ORDER BY id")
    return [{"id": mention_id, "title": title, "text": text, "sentiment": sentiment,
             "topics": topics_of(db, mention_id)}
            for mention_id, title, text, sentiment in db.execute(sql).fetchall()]


def uncorrected_texts(db: SqlHandle, limit: int) -> list[tuple[str | None, str]]:
    """``(title, text)`` of the ``limit`` newest mentions nobody corrected."""
    sql = "SELECT title, text FROM mentions WHERE corrected_at IS NULL ORDER BY id DESC LIMIT ?"
    return [tuple(row) for row in db.execute(sql, [limit]).fetchall()]  # type: ignore[misc]


def mentions_page(
    db: SqlHandle, columns: Sequence[str], after_id: int, since: str | None, until: str | None, limit: int
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


def count_where(db: SqlHandle, where: str, params: Sequence[Any]) -> int:
    """Mentions (aliased ``m``) matching ``where``, a clause built by ``MentionQuery.where``
    from names of ours with every value in ``params``."""
    return int(db.execute(f"SELECT COUNT(*) FROM mentions m{where}", list(params)).fetchone()[0])


def counts_by_source_sentiment(db: SqlHandle) -> list[tuple[str, str | None, int]]:
    """``(source, sentiment, mentions)`` over the classified mentions, for the metrics endpoint
    (pending ones are ``pending_count``)."""
    sql = ("SELECT source, sentiment, COUNT(*) FROM mentions WHERE sentiment IS NOT NULL "
           "GROUP BY 1, 2 ORDER BY 1, 2")
    return [tuple(row) for row in db.execute(sql).fetchall()]  # type: ignore[misc]


# --- pending mentions (pushed, stored before the model reads them; sentiment NULL) ---------

PENDING = "sentiment IS NULL"  # a pending mention: stored by a push, not classified yet


def stored_ids(db: SqlHandle, source: str, external_ids: Sequence[str]) -> dict[str, int]:
    """``external_id -> id`` of the mentions of ``source`` with those ids (the push reply's ids)."""
    found: dict[str, int] = {}
    ids = list(dict.fromkeys(external_ids))
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        sql = (f"SELECT external_id, id FROM mentions WHERE source = ? AND external_id IN "
               f"({', '.join('?' for _ in chunk)})")
        found.update(db.execute(sql, [source, *chunk]).fetchall())
    return found


def pending_mentions(db: SqlHandle, limit: int, after_id: int = 0,
                     shard: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` pending mentions with id above ``after_id``, oldest first: the next
    batch for the background classifier. ``shard`` ``(k, n)`` keeps the ids ``k`` modulo ``n``
    only, so ``n`` classify jobs never read the same mention."""
    where, params = f"{PENDING} AND id > ?", [after_id]
    if shard is not None:
        where, params = where + " AND id % ? = ?", [after_id, shard[1], shard[0]]
    sql = f"SELECT id, title, text, rating, lang FROM mentions WHERE {where} ORDER BY id LIMIT ?"
    return list(db.execute_returning_dicts(sql, [*params, limit]))


def pending_count(db: SqlHandle) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM mentions WHERE {PENDING}").fetchone()[0])


def set_classification(db: SqlHandle, mention_id: int, cls: Classification) -> bool:
    """Classify a pending mention (caller holds the transaction); False when it is no longer
    pending (a person set its sentiment, or retention deleted it). The sentiment is written
    before the topics, so the roll-up triggers key the topics by it. Topics a person set on
    the pending mention stay."""
    scores = cls.scores
    cursor = db.execute(
        "UPDATE mentions SET sentiment = ?, score_negative = ?, score_neutral = ?, "
        f"score_positive = ?, model = ?, lang = COALESCE(?, lang) WHERE id = ? AND {PENDING}",
        [cls.sentiment, float(scores.get("negative", 0.0)), float(scores.get("neutral", 0.0)),
         float(scores.get("positive", 0.0)), cls.model, cls.lang, mention_id],
    )
    if cursor.rowcount != 1:
        return False
    for topic in cls.topics:
        db.execute(
            "INSERT INTO mention_topics (mention_id, topic, score, sentiment) "
            "SELECT ?, ?, ?, ? FROM mentions WHERE id = ? AND corrected_at IS NULL "
            "ON CONFLICT (mention_id, topic) DO NOTHING",
            [mention_id, topic.name, float(topic.score), topic.sentiment, mention_id],
        )
    return True


def set_classifications(db: SqlHandle, rows: Iterable[tuple[int, Classification]]) -> int:
    """``set_classification`` for each ``(id, classification)`` in order; how many were
    still pending and took it (caller holds the transaction)."""
    return sum(set_classification(db, mention_id, cls) for mention_id, cls in rows)
