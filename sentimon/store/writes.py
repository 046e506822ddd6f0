"""Mentions into the store: a connector's batch with its cursor, retention and upkeep.

Why one transaction per batch: ``save_batch`` stores the mentions, their topics and the
source's cursor together, so a crash can repeat a batch (the ``UNIQUE(source, external_id)``
dedup drops the repeat) but never lose or double one. The pending shape (no sentiment yet,
``sentimon.pending``) is defined here because this is where it is written.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from sentimon import corrections, mention_sql
from sentimon.mention import Classification, Mention
from sentimon.store.core import ID_CHUNK, StoreCore, storage_problem
from sentimon.times import to_db_time

if TYPE_CHECKING:
    from sentimon.corrections import Correction

# What a pending mention is stored with: no sentiment, no scores (NULLs), no topics.
PENDING = Classification(sentiment="", scores={})
SENTIMENT_ORDER = ("negative", "neutral", "positive")  # the score columns


@dataclass
class SaveResult:
    new: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)


class MentionWrites(StoreCore):
    """The store's writes on ``mentions``, ``mention_topics`` and (with a batch) ``cursors``."""

    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        """Which of ``external_ids`` are already stored for ``source``."""
        ids = list(dict.fromkeys(external_ids))
        found: set[str] = set()
        with self._guard("could not read stored ids"):
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start : start + ID_CHUNK]
                sql = (
                    "SELECT external_id FROM mentions WHERE source = ? AND external_id IN "
                    f"({', '.join('?' for _ in chunk)})"
                )
                found.update(row[0] for row in self.db.execute(sql, [source, *chunk]).fetchall())
        return found

    def save_batch(
        self,
        source: str,
        mentions: Sequence[Mention],
        classifications: Sequence[Classification] | None,
        cursor: str | None = None,
        *,
        advance_cursor: bool = True,
        now: datetime | None = None,
    ) -> SaveResult:
        """Store mentions with their classifications and advance ``source``'s cursor, atomically.
        ``classifications=None`` stores them pending (sentiment NULL; ``sentimon.pending``)."""
        if classifications is None:
            classifications = [PENDING] * len(mentions)
        if len(mentions) != len(classifications):
            raise ValueError("one classification per mention is required")
        now_text = to_db_time(now or datetime.now(timezone.utc))
        result = SaveResult()
        try:
            self._refresh()
            with self._transaction():
                for mention, cls in zip(mentions, classifications):
                    row_id = self._insert(source, mention, cls, now_text)
                    if row_id is None:
                        result.duplicates += 1
                        continue
                    result.new += 1
                    result.ids.append(row_id)
                    for topic in cls.topics:
                        self.db.execute(
                            # An upsert, not OR REPLACE: REPLACE's implicit delete skips
                            # the triggers that keep the daily roll-ups (schema 0004).
                            "INSERT INTO mention_topics (mention_id, topic, score, sentiment) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (mention_id, topic) DO UPDATE SET "
                            "score = excluded.score, sentiment = excluded.sentiment",
                            [row_id, topic.name, float(topic.score), topic.sentiment],
                        )
                if advance_cursor:
                    self.db.execute(
                        "INSERT INTO cursors (source, cursor, updated_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, "
                        "updated_at = excluded.updated_at",
                        [source, cursor, now_text],
                    )
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            raise storage_problem(self.path, f"could not store {len(mentions)} mentions", exc) from exc
        self._stale = False
        return result

    def _insert(self, source: str, m: Mention, cls: Classification, now_text: str) -> int | None:
        cursor = self.db.execute(
            """
            INSERT INTO mentions (source, external_id, kind, url, author, title, text, rating, lang,
                created_at, fetched_at, extra, sentiment, score_negative, score_neutral,
                score_positive, model, brand)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source, external_id) DO NOTHING
            """,
            [
                source, m.external_id, m.kind, m.url, m.author, m.title, m.text, m.rating,
                cls.lang or m.lang, to_db_time(m.created_at), now_text,
                json.dumps(m.extra, default=str) if m.extra else None, cls.sentiment or None,
                *(float(cls.scores.get(k, 0.0)) if cls.sentiment else None for k in SENTIMENT_ORDER),
                cls.model if cls.sentiment else None, m.brand,
            ],
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def save_pending(self, batches: Mapping[str, Sequence[Mention]]) -> tuple[int, dict[tuple[str, str], int]]:
        """Store the new ones among each source's mentions pending (``sentimon.pending``), all
        in one transaction; return how many were new and ``(source, external_id) -> id`` for
        every mention given (one stored before, by this push or an earlier one, gives that
        mention's id: dedup as always). No cursor moves."""
        new, ids = 0, {}
        total = sum(len(group) for group in batches.values())
        with self.writing(f"could not store {total} pushed mentions") as db:
            for source, group in batches.items():
                new += self.save_batch(source, group, None, advance_cursor=False).new
                found = mention_sql.stored_ids(db, source, [m.external_id for m in group])
                ids.update({(source, key): value for key, value in found.items()})
        return new, ids

    def set_classifications(self, rows: Sequence[tuple[int, Classification]]) -> int:
        """Classify pending mentions, in one transaction; how many were still pending. A
        person's sentiment on a pending mention wins: the model's is not written over it, and
        topics a person set stay (``mention_sql.set_classification``)."""
        with self.writing(f"could not store the classification of {len(rows)} pushed mentions") as db:
            return mention_sql.set_classifications(db, rows)

    def apply_correction(self, mention_id: int, correction: Correction, *, author: str,
                         when: str) -> dict[str, Any] | None:
        """Read, log and apply a person's correction in one transaction (``corrections.record``);
        the log entry, or None when there is no such mention."""
        with self.writing(f"could not record the correction of mention {mention_id}") as db:
            return corrections.record(db, mention_id, correction, author=author, when=when)

    def delete_older_than(self, cutoff: datetime, *, batch: int = 2000) -> int:
        """Retention: delete mentions created before ``cutoff`` in small transactions, so the
        daemon's writers never wait long for the lock. Topics and FTS rows go with them."""
        deleted = 0
        while True:
            with self._guard(f"retention stopped after deleting {deleted} mentions", write=True), self._transaction():
                cur = self.db.execute(
                    "DELETE FROM mentions WHERE id IN (SELECT id FROM mentions WHERE created_at < ? LIMIT ?)",
                    [to_db_time(cutoff), batch],
                )
            deleted += cur.rowcount
            if cur.rowcount < batch:
                return deleted

    def optimize(self) -> None:
        """Periodic upkeep: merge FTS segments, drop the roll-up rows that retention emptied,
        and refresh the planner's statistics."""
        with self._guard("FTS/planner upkeep failed"):
            for table in ("daily_sentiment", "daily_topics"):
                self.db.execute(f"DELETE FROM {table} WHERE n = 0")
            self.db.execute("INSERT INTO mentions_fts(mentions_fts) VALUES ('optimize')")
            self.db.execute("PRAGMA optimize")
