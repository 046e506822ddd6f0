"""Mentions out of the store: filtered lists, their topics, counts and the share-of-voice topics.

Why ``stats`` asks ``sentimon.stats_rows``: whole days come from the daily roll-ups and only the
edges are counted from ``mentions``, a plan PgStore follows too, so both stores decide it in one
place and this module holds only the SQLite SQL. Pending mentions (no sentiment yet) are listed
but never counted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Sequence

from sentimon import mention_sql, rollup
from sentimon.stats_rows import plan_counts, stats_rows
from sentimon.store.core import ID_CHUNK, StoreCore
from sentimon.store.query import MentionQuery, shape_mention_rows


class MentionReads(StoreCore):
    """The store's reads on ``mentions``, ``mention_topics`` and the roll-ups."""

    def mentions(self, query: MentionQuery) -> list[dict[str, Any]]:
        """Newest first, as plain dicts in the shape ``sentimon mentions --format json`` prints."""
        where, params = query.where()
        sql = (
            "SELECT m.id, m.source, m.external_id, m.kind, m.url, m.author, m.title, m.text, "
            "m.rating, m.lang, m.created_at, m.sentiment, m.score_negative, m.score_neutral, "
            "m.score_positive, m.corrected_by, m.brand, "
            "CASE WHEN json_valid(m.extra) THEN json_extract(m.extra, '$.reply_url') END AS reply_url "
            f"FROM mentions m{where} ORDER BY m.created_at DESC, m.id DESC LIMIT ?"
        )
        with self._guard("query failed"):
            rows = [dict(r) for r in self.db.execute_returning_dicts(sql, [*params, query.limit])]
            topics = self.topics_for([r["id"] for r in rows])
        return shape_mention_rows(rows, topics)

    def topics_for(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            sql = (
                "SELECT mention_id, topic, score, sentiment FROM mention_topics WHERE mention_id IN "
                f"({', '.join('?' for _ in chunk)}) ORDER BY score DESC"
            )
            for mention_id, topic, score, sentiment in self.db.execute(sql, chunk).fetchall():
                found.setdefault(mention_id, []).append(
                    {"name": topic, "score": round(score, 4), "sentiment": sentiment}
                )
        return found

    def stats(self, query: MentionQuery, by: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Counts per sentiment and the negative share, grouped by day, week, hour, source or
        topic. Weeks are summed from the days, so they are served by the daily roll-ups too.
        Pending mentions are not counted until classified."""
        query = replace(query, pending=False)
        with self._guard("query failed"):
            found = plan_counts(query, "day" if by == "week" else by, now or datetime.now(timezone.utc),
                                lambda q, b, first, end: rollup.counts(self.db, q, b, first, end), self._counted)
        return stats_rows(found, by)

    def _counted(self, query: MentionQuery, by: str) -> list[rollup.Count]:
        """(bucket, sentiment, n) counted from the mentions of ``query``'s period."""
        where, params = query.where(counting=True)
        if by == "topic":
            # CROSS JOIN keeps mentions as the outer loop: walk the period on the time index,
            # then each mention's topics, instead of every topic row of all time (4x faster).
            sql = (
                "SELECT t.topic AS bucket, t.sentiment AS sentiment, COUNT(*) AS n "
                f"FROM mentions m CROSS JOIN mention_topics t ON t.mention_id = m.id{where} "
                "GROUP BY bucket, t.sentiment"
            )
        else:
            bucket = {
                "day": "substr(m.created_at, 1, 10)",
                "hour": "substr(m.created_at, 1, 13) || ':00'",
                "source": "+m.source",  # see MentionQuery.where(counting=True)
                "brand": "m.brand",
            }[by]
            sql = (
                f"SELECT {bucket} AS bucket, m.sentiment AS sentiment, COUNT(*) AS n "
                f"FROM mentions m{where} GROUP BY bucket, m.sentiment"
            )
        return self.db.execute(sql, params).fetchall()

    def top_negative_topics(self, query: MentionQuery, by: str, limit: int = 3) -> dict[str, list[str]]:
        """Per ``by`` group (``brand`` or ``source``), the topics most often spoken of
        negatively in ``query``'s mentions, most frequent first: what a share-of-voice table
        shows beside each competitor's negative share."""
        column = {"brand": "m.brand", "source": "m.source"}[by]
        where, params = replace(query, pending=False).where()
        sql = (
            f"SELECT {column} AS bucket, t.topic, COUNT(*) AS n "
            f"FROM mentions m CROSS JOIN mention_topics t ON t.mention_id = m.id{where}"
            f"{' AND' if where else ' WHERE'} t.sentiment = 'negative' "
            "GROUP BY bucket, t.topic ORDER BY bucket, n DESC, t.topic"
        )
        found: dict[str, list[str]] = {}
        with self._guard("query failed"):
            for bucket, topic, _ in self.db.execute(sql, params).fetchall():
                names = found.setdefault(bucket, [])
                if len(names) < limit:
                    names.append(topic)
        return found

    def pending_mentions(self, limit: int, after_id: int = 0,
                         shard: tuple[int, int] | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` pending mentions (``id, title, text, rating, lang``) with id above
        ``after_id``, oldest first: the background classifier's next batch (of one ``shard``,
        ``mention_sql.pending_mentions``)."""
        with self._guard("could not read pending mentions"):
            return mention_sql.pending_mentions(self.db, limit, after_id, shard)

    def pending_count(self) -> int:
        """Mentions stored but not classified yet."""
        with self._guard("query failed"):
            return mention_sql.pending_count(self.db)

    def mentions_page(self, columns: Sequence[str], after_id: int, since: str | None,
                      until: str | None, limit: int) -> list[dict[str, Any]]:
        """An export's keyset page: ``mention_sql.mentions_page`` (pending mentions left out)."""
        with self._guard("export query failed"):
            return mention_sql.mentions_page(self.db, columns, after_id, since, until, limit)

    def sentiment_totals(self) -> list[tuple[str, str | None, int]]:
        """``(source, sentiment, mentions)`` of the classified mentions: ``/metrics``' stored
        gauge (``mention_sql.counts_by_source_sentiment``)."""
        with self._guard("cannot read metrics"):
            return mention_sql.counts_by_source_sentiment(self.db)

    def alert_totals(self) -> tuple[dict[str, int], int, dict[str, int]]:
        """Deliveries by status, pending deliveries that failed at least once, and alert
        events by status: ``/metrics``' alert gauges, read by the tables' owner."""
        from alerts import storage as alert_tables

        with self._guard("cannot read metrics"):
            return (alert_tables.delivery_totals(self.db), alert_tables.failing_count(self.db),
                    alert_tables.event_totals(self.db))

    def corrected_mentions(self) -> list[dict[str, Any]]:
        """Every human-corrected mention with a sentiment, oldest first, as ``{id, title, text,
        sentiment, topics}`` (topics surest first, then by name): what training learns from."""
        with self._guard("could not read the corrections"):
            return mention_sql.corrected_mentions(self.db)

    def uncorrected_texts(self, limit: int) -> list[tuple[str | None, str]]:
        """``(title, text)`` of the ``limit`` newest mentions nobody corrected (training's anchors)."""
        with self._guard("could not read mentions"):
            return mention_sql.uncorrected_texts(self.db, limit)

    def counts(self) -> dict[str, int]:
        from alerts import storage as alert_tables  # the outbox's owner counts its rows

        return {
            "mentions": self.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0],
            "pending_deliveries": alert_tables.pending_count(self.db),
        }
