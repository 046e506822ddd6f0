"""The alerts' reads of mentions: ``alerts.reader.AlertReader`` for ``Store`` (and PgStore's).

The alert engine may not import the store, and each table's SQL has one owner, so the counts a
rule tests, the rows an alert shows and the digest's figures are read here, parameterized,
and handed to alerts as plain values. Times are the store's sortable UTC text, so every range
is an index range on ``created_at``.

The statements are written once, in the portable subset with ``?`` placeholders; the three
places where SQLite and PostgreSQL differ (counting a condition, a timestamp's bin, a JSON
field) come from a ``Dialect``, so ``sentimon/pgstore/alert_reads.py`` runs these same
statements and adds only its dialect and connection. On SQLite, database errors propagate as
``sqlite3.Error``: the engine names the rule that hit one.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from sqlite_utils import Database

from sentimon.store.core import StoreCore
from sentimon.times import from_db_time, to_db_time

if TYPE_CHECKING:  # only the types: opening a store need not import the alerts package
    from alerts.reader import MentionFilter, Tally


@dataclass(frozen=True)
class Dialect:
    """What the alert reads say differently per database.

    ``count_true``: a SUM that counts the rows where a condition holds; ``bin_of``: the bin of
    ``m.created_at`` given two parameters, the origin (epoch seconds) and the width (seconds);
    ``reply_url``: the ``reply_url`` field of ``m.extra``, NULL when absent."""

    count_true: str
    bin_of: str
    reply_url: str


SQLITE = Dialect(
    count_true="SUM({})",
    bin_of="CAST((strftime('%s', m.created_at) - ?) / ? AS INTEGER)",
    reply_url="CASE WHEN json_valid(m.extra) THEN json_extract(m.extra, '$.reply_url') END",
)


def filter_sql(where: MentionFilter, topic: str | None, per_topic: bool = False) -> tuple[str, list[Any]]:
    """The filters as SQL over ``mentions m`` (and ``mention_topics t`` for a topic, or for
    every topic at once when ``per_topic``), each clause led by `` AND ``."""
    clauses: list[str] = ["m.sentiment IS NOT NULL"]  # pending (pushed, unclassified): not yet
    params: list[Any] = []
    for column, values in (("m.source", where.sources), ("m.kind", where.kinds)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if where.brand != "*":  # our own brand ('') unless the rule names another
        clauses.append("m.brand = ?")
        params.append(where.brand)
    if where.min_rating:
        clauses.append("m.rating >= ?")
        params.append(where.min_rating)
    if where.max_rating:
        clauses.append("m.rating <= ?")
        params.append(where.max_rating)
    if topic is not None:
        clauses.append("t.topic = ?")
        params.append(topic)
    elif per_topic and where.topics:
        clauses.append(f"t.topic IN ({', '.join('?' for _ in where.topics)})")
        params.extend(where.topics)
    elif where.topics:
        clauses.append(
            "EXISTS (SELECT 1 FROM mention_topics t2 WHERE t2.mention_id = m.id AND t2.topic IN "
            f"({', '.join('?' for _ in where.topics)}))"
        )
        params.extend(where.topics)
    return "".join(f" AND {c}" for c in clauses), params


def source_sql(per_topic: bool) -> tuple[str, str, str]:
    """FROM clause, negative test and group key: per topic, the aspect's own sentiment counts."""
    if per_topic:
        return ("mentions m JOIN mention_topics t ON t.mention_id = m.id",
                "t.sentiment = 'negative'", "t.topic")
    return "mentions m", "m.sentiment = 'negative'", "''"


class AlertSql:
    """``alerts.reader.AlertReader`` in one dialect; a store supplies how statements run."""

    dialect = SQLITE

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _negatives(self, condition: str) -> str:
        return self.dialect.count_true.format(condition)

    def scope_counts(self, where: MentionFilter, start: datetime, end: datetime, *,
                     per_topic: bool) -> dict[str, Tally]:
        table, negative, key = source_sql(per_topic)
        clauses, params = filter_sql(where, None, per_topic)
        sql = (f"SELECT {key}, COUNT(*), COALESCE({self._negatives(negative)}, 0) FROM {table} "
               f"WHERE m.created_at >= ? AND m.created_at < ?{clauses} GROUP BY 1")
        rows = self._rows(sql, [to_db_time(start), to_db_time(end), *params])
        return {name: (n, k) for name, n, k in rows}

    def scope_bins(self, where: MentionFilter, start: datetime, end: datetime, *, per_topic: bool,
                   width: timedelta) -> dict[str, dict[int, Tally]]:
        table, negative, key = source_sql(per_topic)
        clauses, params = filter_sql(where, None, per_topic)
        sql = (f"SELECT {key}, {self.dialect.bin_of}, COUNT(*), COALESCE({self._negatives(negative)}, 0) "
               f"FROM {table} "
               f"WHERE m.created_at >= ? AND m.created_at < ?{clauses} GROUP BY 1, 2")
        args = [int(start.timestamp()), width.total_seconds(), to_db_time(start), to_db_time(end), *params]
        bins: dict[str, dict[int, Tally]] = {}
        for name, b, n, k in self._rows(sql, args):
            bins.setdefault(name, {})[int(b)] = (n, k)
        return bins

    def first_created(self, where: MentionFilter) -> datetime | None:
        clauses, params = filter_sql(where, None)
        rows = self._rows(f"SELECT MIN(m.created_at) FROM mentions m WHERE 1 = 1{clauses}", params)
        return from_db_time(rows[0][0]) if rows and rows[0][0] else None

    def series_counts(self, where: MentionFilter, topic: str | None, start: datetime, end: datetime,
                      *, by_day: bool = False) -> dict[datetime, Tally]:
        table, negative, _ = source_sql(topic is not None)
        clauses, params = filter_sql(where, topic)
        cut, fmt = (10, "%Y-%m-%d") if by_day else (13, "%Y-%m-%dT%H")
        sql = (f"SELECT substr(m.created_at, 1, {cut}), COUNT(*), COALESCE({self._negatives(negative)}, 0) "
               f"FROM {table} "
               f"WHERE m.created_at >= ? AND m.created_at < ?{clauses} GROUP BY 1")
        rows = self._rows(sql, [to_db_time(start), to_db_time(end), *params])
        return {datetime.strptime(b, fmt).replace(tzinfo=timezone.utc): (n, k) for b, n, k in rows}

    def topic_negatives(self, where: MentionFilter, topic: str | None, start: datetime,
                        end: datetime) -> tuple[int, dict[str, int]]:
        table, negative, _ = source_sql(topic is not None)
        clauses, params = filter_sql(where, topic)
        rng = [to_db_time(start), to_db_time(end)]
        [(total,)] = self._rows(f"SELECT COUNT(*) FROM {table} WHERE m.created_at >= ? AND m.created_at < ?"
                                f"{clauses}", [*rng, *params])
        sql = (f"SELECT d.topic, COUNT(*) FROM {table} JOIN mention_topics d ON d.mention_id = m.id "
               f"WHERE m.created_at >= ? AND m.created_at < ?{clauses} AND {negative} "
               "AND d.sentiment = 'negative' GROUP BY d.topic")
        return total, {name: count for name, count in self._rows(sql, [*rng, *params])}

    def negative_mentions(self, where: MentionFilter, topic: str | None, start: datetime,
                          end: datetime, limit: int) -> list[dict[str, Any]]:
        table, negative, _ = source_sql(topic is not None)
        clauses, params = filter_sql(where, topic)
        sql = (f"SELECT m.id, m.source, m.kind, m.url, m.author, m.title, m.text, m.rating, m.created_at, "
               f"m.score_negative, {self.dialect.reply_url} "
               f"AS reply_url FROM {table} WHERE m.created_at >= ? AND m.created_at < ?{clauses} "
               f"AND {negative} ORDER BY m.score_negative DESC, m.created_at DESC LIMIT ?")
        return self._dicts(sql, [to_db_time(start), to_db_time(end), *params, limit])

    def recent_texts(self, where: MentionFilter, topic: str | None, start: datetime, end: datetime,
                     *, negative_only: bool, limit: int) -> list[str]:
        table, negative, _ = source_sql(topic is not None)
        clauses, params = filter_sql(where, topic)
        extra = f" AND {negative}" if negative_only else ""
        sql = (f"SELECT COALESCE(m.title, '') || ' ' || m.text FROM {table} WHERE m.created_at >= ? "
               f"AND m.created_at < ?{clauses}{extra} ORDER BY m.created_at DESC LIMIT ?")
        return [row[0] for row in self._rows(sql, [to_db_time(start), to_db_time(end), *params, limit])]

    def digest_topics(self, start: datetime, end: datetime) -> dict[str, Tally]:
        negatives = self._negatives("m.sentiment = 'negative'")
        sql = (f"SELECT t.topic, COUNT(*), {negatives} FROM mention_topics t "
               "JOIN mentions m ON m.id = t.mention_id "
               "WHERE m.created_at >= ? AND m.created_at < ? AND m.sentiment IS NOT NULL GROUP BY t.topic")
        return {name: (n, k) for name, n, k in self._rows(sql, [to_db_time(start), to_db_time(end)])}


class AlertReads(StoreCore, AlertSql):
    """``alerts.reader.AlertReader`` on this store's connection (``Store`` is one)."""

    @contextmanager
    def alert_tables(self) -> Iterator[Database]:
        """The handle ``alerts`` writes its tables through (``alerts.storage``): this
        connection, so an alert and the mentions it counts are in one database file."""
        yield self.db

    def alert_reader(self) -> AlertReads:
        """What the alerts count mentions with: this store itself."""
        return self

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return self.db.execute(sql, params).fetchall()

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(sql, params)
