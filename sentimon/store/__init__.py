"""The SQLite store: one file in WAL mode, so the CLI reads while the daemon writes.

Writes go through ``save_batch``, which stores a connector's batch and advances its cursor
in one transaction: a crash can repeat a batch (and dedup drops the repeat) but never lose
or double one. Every query here is parameterized; user input never becomes SQL text.
"""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from sqlite_utils import Database

from sentimon import dbfile, rollup
from sentimon.errors import StorageError
from sentimon.mention import Classification, Mention
from sentimon.schema import SCHEMA_VERSION, migrate, migrations
from sentimon.times import from_db_time, to_db_time  # noqa: F401 - callers import them from here too
from sentimon.stats_rows import plan_counts, stats_rows

BUSY_TIMEOUT_MS = 10_000
_ID_CHUNK = 500  # stays under SQLite's bound-parameter limit


# The latest run of each source and its latest successful one: portable SQL both stores run.
LAST_RUNS_SQL = """
    SELECT source,
           MAX(started_at) AS last_run,
           MAX(CASE WHEN error IS NULL AND finished_at IS NOT NULL THEN finished_at END) AS last_success,
           (SELECT error FROM runs r2 WHERE r2.source = runs.source
            ORDER BY started_at DESC, id DESC LIMIT 1) AS last_error,
           SUM(new) AS stored
    FROM runs GROUP BY source ORDER BY source
"""


def fts_phrase(text: str) -> str:
    """Turn free text into an FTS5 query matching all its words, with no FTS syntax from users.

    Control characters go first: FTS5 reads its query as a C string, so a NUL inside a quoted
    word ends the query there ("unterminated string")."""
    words = re.sub(r"[\x00-\x1f\x7f]", " ", text).split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words) or '""'


def storage_problem(path: object, doing: str, exc: Exception) -> StorageError:
    """One line naming the file, what failed and, for the faults an operator can fix, how."""
    text = str(exc)
    hint = ""
    if "disk is full" in text or "disk I/O" in text:
        hint = "; free disk space (nothing was lost: the next run retries)"
    elif "readonly" in text or "read-only" in text:
        hint = "; make the database file and its folder writable by this user (the next run retries)"
    elif "locked" in text or "busy" in text:
        hint = "; another process held the database too long (the next run retries)"
    return StorageError(f"{path}: {doing}: {text}{hint}")


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT on ``cursor`` just wrote. sqlite3 sets ``lastrowid`` after
    every execute(); it is None only on a cursor that ran nothing, a bug worth one clear line."""
    if cursor.lastrowid is None:
        raise StorageError("the database gave no id for the row just written (nothing was executed)")
    return cursor.lastrowid


@dataclass
class MentionQuery:
    """Filters of ``sentimon mentions``; each one narrows the result with a bound parameter."""

    since: datetime | None = None
    until: datetime | None = None
    sentiments: Sequence[str] = ()
    topics: Sequence[str] = ()
    sources: Sequence[str] = ()
    search: str | None = None
    min_rating: int | None = None
    max_rating: int | None = None
    langs: Sequence[str] = ()
    authors: Sequence[str] = ()  # matched whatever their case: people type "ann" for "Ann"
    kinds: Sequence[str] = ()
    brands: Sequence[str] = ()  # '' is our own brand (schema 0006)
    pending: bool | None = None  # True: only pending (unclassified) mentions; False: none
    limit: int = 20

    def where(self, *, counting: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters. ``counting`` (for ``stats``) writes the source
        filter as ``+m.source``, which keeps SQLite on the covering time index
        (created_at, sentiment, source) instead of the source index plus a row lookup per
        mention: 4-6x faster for counts over a period (bench/load.py)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since:
            clauses.append("m.created_at >= ?")
            params.append(to_db_time(self.since))
        if self.until:
            clauses.append("m.created_at < ?")
            params.append(to_db_time(self.until))
        source = "+m.source" if counting else "m.source"
        for column, values in (
            ("m.sentiment", self.sentiments), (source, self.sources), ("m.lang", self.langs),
            ("m.kind", self.kinds), ("lower(m.author)", [a.lower() for a in self.authors]),
            ("m.brand", self.brands),
        ):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if self.topics:
            clauses.append(
                "EXISTS (SELECT 1 FROM mention_topics t WHERE t.mention_id = m.id "
                f"AND t.topic IN ({', '.join('?' for _ in self.topics)}))"
            )
            params.extend(self.topics)
        if self.search:
            clauses.append("m.id IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH ?)")
            params.append(fts_phrase(self.search))
        if self.pending is not None:  # pushed and not classified yet (sentimon/pending.py)
            clauses.append(f"m.sentiment IS {'' if self.pending else 'NOT '}NULL")
        if self.min_rating is not None:
            clauses.append("m.rating >= ?")
            params.append(self.min_rating)
        if self.max_rating is not None:
            clauses.append("m.rating <= ?")
            params.append(self.max_rating)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


# What a pending mention is stored with: no sentiment, no scores (NULLs), no topics.
PENDING = Classification(sentiment="", scores={})
SENTIMENT_ORDER = ("negative", "neutral", "positive")  # the score columns


@dataclass
class SaveResult:
    new: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)


class Store:
    """A connection to one sentimon database; one per thread (sqlite3 connections are not shared)."""

    def __init__(
        self, path: str | Path, *, create: bool = True, expect: dbfile.FileIdentity | None = None
    ) -> None:
        """``create=False`` refuses a missing file instead of creating an empty database;
        ``expect`` is the identity of the file another store of this process opened."""
        self.path = Path(path)
        self._stale = False
        on_disk = str(path) != ":memory:"
        dbfile.check_same_file(self.path, expect)
        if on_disk and not create and not self.path.exists():
            raise dbfile.missing(self.path)
        self.db = self._connect()
        self.identity = dbfile.identity(self.path) if on_disk else None

    def check_file(self) -> None:
        """DatabaseGone when the file was deleted or replaced since it was opened."""
        dbfile.check_same_file(self.path, self.identity)

    def _connect(self) -> Database:
        path = self.path
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
                dbfile.create_private(self.path)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
            db = Database(conn)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            if str(path) != ":memory:":
                db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
            migrate(db)
        except sqlite3.DatabaseError as exc:
            raise storage_problem(path, "cannot open database", exc) from exc
        except OSError as exc:  # the folder or file cannot be created: one line, not a traceback
            raise StorageError(f"{path}: cannot create the database: {exc.strerror or exc}") from exc
        return db

    def close(self) -> None:
        self.db.close()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """SQLite opens a file it may not write read-only and keeps it so for the connection's
        life. After such an error the next operation reconnects, so a long-running daemon picks
        up fixed permissions at its next run instead of failing until it is restarted."""
        if str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_READONLY"):
            self._stale = str(self.path) != ":memory:"

    def _refresh(self) -> None:
        """Before a write: refuse a deleted or replaced file (the write would be lost), and
        reconnect if the last write found the file read-only. It stays marked until a write
        succeeds, as the new connection may be read-only again."""
        self.check_file()
        if not self._stale:
            return
        fresh = self._connect()
        old, self.db = self.db, fresh
        try:
            old.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (BEGIN IMMEDIATE).

        In WAL mode a deferred transaction that reads before it writes fails at once with
        "database is locked" when another connection wrote in between; the busy timeout
        cannot help it. Taking the lock first makes it wait its turn instead, which is what
        lets retention run beside the connectors and the CLI beside the daemon."""
        conn = self.db.conn
        if conn.in_transaction:  # nested inside a caller's transaction: a savepoint
            with self.db.atomic():
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _guard(self, doing: str, *, write: bool = False) -> Iterator[None]:
        """Turn sqlite's errors (disk full, read-only file, lock held too long) into one
        StorageError line, so callers handle one exception type and users read one line."""
        try:
            if write:
                self._refresh()
            yield
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            raise storage_problem(self.path, doing, exc) from exc
        if write:
            self._stale = False

    @contextmanager
    def writing(self, doing: str) -> Iterator[Database]:
        """One guarded write transaction (BEGIN IMMEDIATE) for the store's helper modules,
        e.g. ``sentimon.pending`` writing classifications; ``doing`` names it in errors."""
        with self._guard(doing, write=True), self._transaction():
            yield self.db

    @property
    def schema_version(self) -> int:
        return len(migrations.applied(self.db))

    @property
    def latest_schema_version(self) -> int:
        return SCHEMA_VERSION

    # --- writing -------------------------------------------------------------------------

    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        """Which of ``external_ids`` are already stored for ``source``."""
        ids = list(dict.fromkeys(external_ids))
        found: set[str] = set()
        with self._guard("could not read stored ids"):
            for start in range(0, len(ids), _ID_CHUNK):
                chunk = ids[start : start + _ID_CHUNK]
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

    def get_cursor(self, source: str) -> str | None:
        with self._guard("could not read the cursor"):
            row = self.db.execute("SELECT cursor FROM cursors WHERE source = ?", [source]).fetchone()
        return row[0] if row else None

    def start_run(self, source: str, started: datetime) -> int:
        with self._guard("could not record the start of a run", write=True), self._transaction():
            cur = self.db.execute(
                "INSERT INTO runs (source, started_at) VALUES (?, ?)", [source, to_db_time(started)]
            )
        return inserted_id(cur)

    def finish_run(
        self, run_id: int, *, finished: datetime, fetched: int, new: int, skipped: int,
        error: str | None, dropped: int = 0,
    ) -> None:
        with self._guard("could not record the end of a run", write=True), self._transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, fetched = ?, new = ?, skipped = ?, error = ?, "
                "dropped = ? WHERE id = ?",
                [to_db_time(finished), fetched, new, skipped, error, dropped, run_id],
            )

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

    # --- reading -------------------------------------------------------------------------

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
        for row in rows:
            row["scores"] = {
                "negative": row.pop("score_negative"),
                "neutral": row.pop("score_neutral"),
                "positive": row.pop("score_positive"),
            }
            row["topics"] = topics.get(row["id"], [])
            row["corrected"] = row.pop("corrected_by") is not None  # sentiment/topics by a person
        return rows

    def topics_for(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
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

    def iter_mentions(self, where_sql: str = "", params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Stream rows for exports and reports without loading the table."""
        yield from self.db.query(f"SELECT * FROM mentions m {where_sql} ORDER BY m.id", params)

    def last_runs(self) -> list[dict[str, Any]]:
        """The latest run of each source and its latest successful one: the health record."""
        return list(self.db.query(LAST_RUNS_SQL))

    def counts(self) -> dict[str, int]:
        from alerts import storage as alert_tables  # the outbox's owner counts its rows

        return {
            "mentions": self.db.execute("SELECT COUNT(*) FROM mentions").fetchone()[0],
            "pending_deliveries": alert_tables.pending_count(self.db),
        }
