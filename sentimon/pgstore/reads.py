"""PgStore's reads: ``mentions`` filters, topics, ``stats`` and the run record, in PostgreSQL.

The filters are ``MentionQuery.where``'s own (portable SQL, ``?`` placeholders turned into
psycopg's ``%s``); only the text search is dialect SQL here: the ``search`` tsvector column
(migration 0001) with its GIN index instead of SQLite's FTS5 table. ``stats`` follows the same
plan as the SQLite store (``sentimon.stats_rows``) and reads the roll-ups with
``rollup.counts``' own query.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Sequence, cast

import psycopg
from psycopg.rows import dict_row
from sqlite_utils import Database

from sentimon import rollup
from sentimon.stats_rows import plan_counts, stats_rows
from sentimon.store import LAST_RUNS_SQL, MentionQuery
from sentimon.store.query import shape_mention_rows


def pg(sql: str) -> str:
    """Portable ``?``-placeholder SQL (ours: no ``?`` or ``%`` inside literals) for psycopg."""
    return sql.replace("%", "%%").replace("?", "%s")


def where(query: MentionQuery) -> tuple[str, list[Any]]:
    """``query``'s WHERE clause and parameters for PostgreSQL. All words of a search must
    match, stemmed, as with SQLite's quoted FTS5 words (plainto_tsquery ANDs them)."""
    clause, params = replace(query, search=None).where()
    clause = pg(clause)
    if query.search:
        clause += " AND " if clause else " WHERE "
        clause += "m.search @@ plainto_tsquery('sentimon_search', %s)"
        params.append(query.search.replace("\x00", " "))
    return clause, params


class _Qmark:
    """Just enough of a sqlite_utils ``Database`` for ``rollup.counts``, which only calls
    ``execute(sql, params).fetchall()`` with portable SQL."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self.conn.execute(pg(sql).encode(), list(params))


def mentions(conn: psycopg.Connection, query: MentionQuery) -> list[dict[str, Any]]:
    clause, params = where(query)
    sql = (
        "SELECT m.id, m.source, m.external_id, m.kind, m.url, m.author, m.title, m.text, "
        "m.rating, m.lang, m.created_at, m.sentiment, m.score_negative, m.score_neutral, "
        "m.score_positive, m.corrected_by, m.brand, m.extra->>'reply_url' AS reply_url "
        f"FROM mentions m{clause} ORDER BY m.created_at DESC, m.id DESC LIMIT %s"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql.encode(), [*params, query.limit]).fetchall()
    return shape_mention_rows(rows, topics_for(conn, [r["id"] for r in rows]))


def topics_for(conn: psycopg.Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    rows = conn.execute(
        "SELECT mention_id, topic, score, sentiment FROM mention_topics "
        "WHERE mention_id = ANY(%s) ORDER BY score DESC, mention_id, topic",
        [ids],
    ).fetchall()
    for mention_id, topic, score, sentiment in rows:
        found.setdefault(mention_id, []).append({"name": topic, "score": round(score, 4), "sentiment": sentiment})
    return found


def stats(conn: psycopg.Connection, query: MentionQuery, by: str, now: datetime) -> list[dict[str, Any]]:
    def from_rollups(q: MentionQuery, grouped: str, first: datetime | None, end: datetime) -> list[rollup.Count]:
        return rollup.counts(cast(Database, _Qmark(conn)), q, grouped, first, end)

    def counted(q: MentionQuery, grouped: str) -> list[rollup.Count]:
        return _counted(conn, q, grouped)

    found = plan_counts(query, "day" if by == "week" else by, now, from_rollups, counted)
    return stats_rows(found, by)


def _counted(conn: psycopg.Connection, query: MentionQuery, by: str) -> list[rollup.Count]:
    """(bucket, sentiment, n) counted from the mentions of ``query``'s period."""
    clause, params = where(query)
    if by == "topic":
        sql = (
            "SELECT t.topic, t.sentiment, COUNT(*) FROM mentions m "
            f"JOIN mention_topics t ON t.mention_id = m.id{clause} GROUP BY 1, 2"
        )
    else:
        bucket = {
            "day": "substr(m.created_at, 1, 10)",
            "hour": "substr(m.created_at, 1, 13) || ':00'",
            "source": "m.source",
            "brand": "m.brand",
        }[by]
        sql = f"SELECT {bucket}, m.sentiment, COUNT(*) FROM mentions m{clause} GROUP BY 1, 2"
    return [(b, s, int(n)) for b, s, n in conn.execute(sql.encode(), params).fetchall()]


def top_negative_topics(conn: psycopg.Connection, query: MentionQuery, by: str, limit: int) -> dict[str, list[str]]:
    column = {"brand": "m.brand", "source": "m.source"}[by]
    clause, params = where(query)
    sql = (
        f"SELECT {column} AS bucket, t.topic, COUNT(*) AS n "
        f"FROM mentions m JOIN mention_topics t ON t.mention_id = m.id{clause}"
        f"{' AND' if clause else ' WHERE'} t.sentiment = 'negative' "
        "GROUP BY bucket, t.topic ORDER BY bucket, n DESC, t.topic"
    )
    found: dict[str, list[str]] = {}
    for bucket, topic, _ in conn.execute(sql.encode(), params).fetchall():
        names = found.setdefault(bucket, [])
        if len(names) < limit:
            names.append(topic)
    return found


# The (table, column) pairs the query commands check a filter value against: names are
# ours, never the user's, and only these reach the SQL text.
KNOWN_VALUES = {("mentions", "source"), ("mentions", "brand"), ("mention_topics", "topic")}


def _known(table: str, column: str) -> str:
    if (table, column) not in KNOWN_VALUES:
        raise ValueError(f"no lookup of {table}.{column}")
    return f"{column} FROM {table}"


def has_value(conn: psycopg.Connection, table: str, column: str, value: str) -> bool:
    sql = f"SELECT {_known(table, column)} WHERE {column} = %s LIMIT 1"
    return conn.execute(sql.encode(), [value]).fetchone() is not None


def distinct_values(conn: psycopg.Connection, table: str, column: str) -> set[str]:
    return {row[0] for row in conn.execute(f"SELECT DISTINCT {_known(table, column)}".encode()).fetchall()}


def count(conn: psycopg.Connection, query: MentionQuery) -> int:
    clause, params = where(query)
    row = conn.execute(f"SELECT COUNT(*) FROM mentions m{clause}".encode(), params).fetchone()
    return int(row[0]) if row else 0


def last_runs(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(LAST_RUNS_SQL).fetchall()
