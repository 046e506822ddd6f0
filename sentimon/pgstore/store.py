"""The PostgreSQL store: the pipeline's writes and the CLI's reads, with ``Store``'s contract.

Same signatures, same types (``Mention``, ``Classification``, ``MentionQuery``,
``SaveResult``) and same guarantees as the SQLite store: a batch's mentions, their topics and
the connector's cursor commit together or not at all, and ``UNIQUE (source, external_id)``
stores each mention once however many writers race. Differences are PostgreSQL's own:

- one ``PgStore`` serves every thread (a ``psycopg_pool`` pool), where SQLite wants one
  ``Store`` per thread;
- a batch is one multi-row INSERT in external-id order, so the statement-level roll-up
  triggers fire once per batch and concurrent batches take their row locks in one order;
  ids still follow the batch order, but a duplicate uses up an id (a sequence has gaps);
- PostgreSQL text cannot hold NUL characters: they are dropped from what is stored.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from sentimon.errors import StorageError
from sentimon.mention import Classification, Mention
from sentimon.pgstore import migrate, reads
from sentimon.pgstore.alert_reads import PgAlertTables
from sentimon.pgstore.report_reads import PgReportReads
from sentimon.pgstore.shared_sql import SharedStatements
from sentimon.pgstore.urls import redacted, scrubbed
from sentimon.store import FINISHED_RUNS_SQL, PENDING, SENTIMENT_ORDER, MentionQuery, SaveResult
from sentimon.times import to_db_time

log = logging.getLogger(__name__)

_DEADLOCK_RETRIES = 3  # a batch is all-or-nothing, so repeating one after a deadlock is safe
T = TypeVar("T")

# Ids are drawn in batch order (as SQLite's are, so ties in created_at list alike), then the
# rows are inserted in external-id order: concurrent batches lock their keys in one order.
_INSERT_MENTIONS = """
    INSERT INTO mentions (id, source, external_id, kind, url, author, title, text, rating, lang,
        created_at, fetched_at, extra, sentiment, score_negative, score_neutral, score_positive,
        model, brand)
    SELECT u.id, %s, u.external_id, u.kind, u.url, u.author, u.title, u.text, u.rating, u.lang,
        u.created_at, %s, u.extra::jsonb, u.sentiment, u.score_negative, u.score_neutral,
        u.score_positive, u.model, u.brand
    FROM (
        SELECT nextval(pg_get_serial_sequence('mentions', 'id')) AS id, x.* FROM unnest(
            %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::integer[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::float8[], %s::float8[], %s::float8[], %s::text[], %s::text[]
        ) AS x(external_id, kind, url, author, title, text, rating, lang, created_at, extra,
               sentiment, score_negative, score_neutral, score_positive, model, brand)
    ) u
    ORDER BY u.external_id
    ON CONFLICT (source, external_id) DO NOTHING
    RETURNING external_id, id
"""
_INSERT_TOPICS = """
    INSERT INTO mention_topics (mention_id, topic, score, sentiment)
    SELECT * FROM unnest(%s::bigint[], %s::text[], %s::float8[], %s::text[])
"""


def _clean(text: str | None) -> str | None:
    """PostgreSQL refuses NUL in text and jsonb; SQLite stores it. Dropping it is the only
    way to keep the mention (it never carries meaning in a review)."""
    return text.replace("\x00", "") if text else text


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean_json(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def _extra(extra: dict[str, Any]) -> str | None:
    if not extra:
        return None
    return json.dumps(_clean_json(json.loads(json.dumps(extra, default=str))))


def _configure(conn: psycopg.Connection) -> None:
    """How each pooled connection plans its queries.

    - Random reads priced like SSDs do (1.1), unless the server's configuration set a value:
      with PostgreSQL's default of 4 (spinning disks) the planner scanned every topic row to
      count one partial day's topics (2.2x slower at 1,000,000 mentions, docs/postgresql.md).
    - A plan made for each call's values: psycopg prepares a statement run five times, and
      PostgreSQL may then keep a generic plan made while the table was nearly empty. The
      "which of these ids are new" check of every batch became a scan of the growing table,
      and a worker storing 25,000 mentions into a fresh database took 7.5 s instead of 2.3 s
      (bench/workers.py). Planning each call costs well under a millisecond."""
    row = conn.execute("SELECT source FROM pg_settings WHERE name = 'random_page_cost'").fetchone()
    if row is not None and row[0] == "default":
        conn.execute("SET random_page_cost = 1.1")
    conn.execute("SET plan_cache_mode = force_custom_plan")


class PgStore(SharedStatements, PgAlertTables, PgReportReads):
    """A pool of connections to one PostgreSQL database, shared by every thread."""

    def __init__(self, url: str, *, max_connections: int = 10, migrate_schema: bool = True,
                 connect_timeout: float = 10.0) -> None:
        """``migrate_schema`` applies pending migrations (under an advisory lock, so
        processes starting together apply each once)."""
        self.url = url
        self.where = redacted(url)
        # One direct connection first: a refused connection, a wrong password or a missing
        # database is reported at once in the server's words, where the pool would retry
        # until its timeout and then say only that it timed out.
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(connect_timeout)))
        except psycopg.Error as exc:
            raise StorageError(f"{self.where}: cannot connect: {scrubbed(exc, url)}") from None
        with conn:
            try:
                applied = migrate.upgrade(conn) if migrate_schema else []
            except psycopg.Error as exc:
                raise StorageError(f"{self.where}: cannot apply the schema migrations: {scrubbed(exc, url)}") from exc
        if applied:
            log.info("%s: applied migrations %s", self.where, ", ".join(applied))
        # check: a connection is tested (one round trip) before it is handed out, so after a
        # server restart or failover the next write reconnects instead of failing once.
        # reconnect_timeout: psycopg_pool retries a lost connection with a delay that doubles
        # (1, 2, 4, 8 ... s) for up to this long, and no request starts a new attempt while one
        # waits. With its default of 5 minutes a server back after a 15 s outage was used only
        # ~15 s later (test_store_contract_queue.py); giving up after connect_timeout lets the
        # next request start a fresh attempt, so a returning server is used within ~4 s.
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, open=False, kwargs={"autocommit": True},
            check=ConnectionPool.check_connection, timeout=connect_timeout, name="sentimon",
            configure=_configure, reconnect_timeout=connect_timeout,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except Exception as exc:  # PoolTimeout hides the cause; the server log has it
            self._pool.close()
            raise StorageError(f"{self.where}: cannot connect: {scrubbed(exc, url)}") from None

    identity = None  # Store's file identity: a server has no file to be deleted under us

    def close(self) -> None:
        self._pool.close()

    def check_file(self) -> None:
        """What Store's guard against a deleted database file is for, on a server: one round
        trip, so /healthz and the alert jobs notice a server that refuses us (within 3 s,
        not the pool's whole connect timeout)."""
        try:
            with self._pool.connection(timeout=3) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:  # psycopg_pool's PoolTimeout is one too
            raise StorageError(f"{self.where}: not reachable: {scrubbed(exc, self.url)}") from None

    @contextmanager
    def _guard(self, doing: str) -> Iterator[psycopg.Connection]:
        """A pooled connection; psycopg's errors become one StorageError line naming the
        server (never the password) and what failed."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StorageError(f"{self.where}: {doing}: {scrubbed(exc, self.url)}") from exc

    @property
    def schema_version(self) -> int:
        with self._guard("could not read the schema version") as conn:
            return len(migrate.applied(conn))

    @property
    def latest_schema_version(self) -> int:
        return migrate.SCHEMA_VERSION

    # --- writing -------------------------------------------------------------------------

    def known_ids(self, source: str, external_ids: Iterable[str]) -> set[str]:
        """Which of ``external_ids`` are already stored for ``source``."""
        ids = [_clean(i) or "" for i in dict.fromkeys(external_ids)]
        with self._guard("could not read stored ids") as conn:
            rows = conn.execute(
                "SELECT external_id FROM mentions WHERE source = %s AND external_id = ANY(%s)",
                [source, ids],
            ).fetchall()
        return {row[0] for row in rows}

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

        def write(conn: psycopg.Connection) -> SaveResult:
            result = self._write(conn, source, mentions, classifications, now_text)
            if advance_cursor:
                conn.execute(
                    "INSERT INTO cursors (source, cursor, updated_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, "
                    "updated_at = excluded.updated_at",
                    [source, cursor, now_text],
                )
            return result

        return self._retrying(f"could not store {len(mentions)} mentions", write)

    def save_pending(self, batches: Mapping[str, Sequence[Mention]]) -> tuple[int, dict[tuple[str, str], int]]:
        """Store the new ones among each source's mentions pending, all in one transaction;
        return how many were new and ``(source, external_id) -> id`` for every mention given
        (dedup as always). No cursor moves. Sources go in name order, as ids do within one,
        so concurrent pushes lock in one order."""
        now_text = to_db_time(datetime.now(timezone.utc))

        def write(conn: psycopg.Connection) -> tuple[int, dict[tuple[str, str], int]]:
            new, ids = 0, {}
            found: dict[str, int]
            for source in sorted(batches):
                group = batches[source]
                new += self._write(conn, source, group, [PENDING] * len(group), now_text).new
                keys = {m.external_id: _clean(m.external_id) or "" for m in group}
                found = dict(conn.execute(
                    "SELECT external_id, id FROM mentions WHERE source = %s AND external_id = ANY(%s)",
                    [source, list(set(keys.values()))],
                ).fetchall())
                ids.update({(source, key): int(found[clean]) for key, clean in keys.items()})
            return new, ids

        total = sum(len(group) for group in batches.values())
        return self._retrying(f"could not store {total} pushed mentions", write)

    def _retrying(self, doing: str, write: Callable[[psycopg.Connection], T]) -> T:
        """``write`` in one transaction, run again after a deadlock (at most 3 times; none
        happened in the tests): the transaction is all-or-nothing, so repeating it is safe."""
        for attempt in range(1, _DEADLOCK_RETRIES):
            try:
                with self._guard(doing) as conn, conn.transaction():
                    return write(conn)
            except StorageError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.DeadlockDetected):
                    raise
                log.warning("%s: %s: deadlock; retrying (%d)", self.where, doing, attempt)
        with self._guard(doing) as conn, conn.transaction():
            return write(conn)

    def _write(
        self, conn: psycopg.Connection, source: str, mentions: Sequence[Mention],
        classifications: Sequence[Classification], now_text: str,
    ) -> SaveResult:
        """Insert the batch's first occurrence of each id, then the new ones' topics; the new
        ones' ids in batch order."""
        first: dict[str, int] = {}  # cleaned external id -> its first mention in the batch
        for index, mention in enumerate(mentions):
            first.setdefault(_clean(mention.external_id) or "", index)
        if not first:
            return SaveResult()
        columns: list[list[Any]] = [[] for _ in range(16)]
        for key, index in first.items():
            m, cls = mentions[index], classifications[index]
            row = (
                key, m.kind, _clean(m.url), _clean(m.author), _clean(m.title), _clean(m.text),
                m.rating, _clean(cls.lang or m.lang), to_db_time(m.created_at), _extra(m.extra),
                cls.sentiment or None,
                *(float(cls.scores.get(k, 0.0)) if cls.sentiment else None for k in SENTIMENT_ORDER),
                cls.model, _clean(m.brand),
            )
            for column, value in zip(columns, row):
                column.append(value)
        stored: dict[str, int] = dict(conn.execute(_INSERT_MENTIONS, [source, now_text, *columns]).fetchall())
        topics: dict[tuple[int, str], tuple[float, str]] = {}
        for key, index in first.items():
            if key in stored:
                for topic in classifications[index].topics:  # a repeated name: the last wins
                    topics[(stored[key], _clean(topic.name) or "")] = (float(topic.score), topic.sentiment)
        if topics:
            keys = sorted(topics)
            conn.execute(_INSERT_TOPICS, [
                [k[0] for k in keys], [k[1] for k in keys],
                [topics[k][0] for k in keys], [topics[k][1] for k in keys],
            ])
        ids = [row_id for _, row_id in sorted((first[key], row_id) for key, row_id in stored.items())]
        return SaveResult(new=len(ids), duplicates=len(mentions) - len(ids), ids=ids)

    def get_cursor(self, source: str) -> str | None:
        with self._guard("could not read the cursor") as conn:
            row = conn.execute("SELECT cursor FROM cursors WHERE source = %s", [source]).fetchone()
        return row[0] if row else None

    def start_run(self, source: str, started: datetime) -> int:
        with self._guard("could not record the start of a run") as conn:
            row = conn.execute(
                "INSERT INTO runs (source, started_at) VALUES (%s, %s) RETURNING id",
                [source, to_db_time(started)],
            ).fetchone()
        if row is None:
            raise StorageError(f"{self.where}: the database gave no id for the run just recorded")
        return int(row[0])

    def finish_run(
        self, run_id: int, *, finished: datetime, fetched: int, new: int, skipped: int,
        error: str | None, dropped: int = 0,
    ) -> None:
        with self._guard("could not record the end of a run") as conn:
            conn.execute(
                "UPDATE runs SET finished_at = %s, fetched = %s, new = %s, skipped = %s, error = %s, "
                "dropped = %s WHERE id = %s",
                [to_db_time(finished), fetched, new, skipped, _clean(error), dropped, run_id],
            )

    def delete_older_than(self, cutoff: datetime, *, batch: int = 2000) -> int:
        """Retention: delete mentions created before ``cutoff`` in small transactions; their
        topics go by cascade and the roll-up triggers subtract both."""
        deleted = 0
        while True:
            with self._guard(f"retention stopped after deleting {deleted} mentions") as conn:
                count = conn.execute(
                    "DELETE FROM mentions WHERE id IN "
                    "(SELECT id FROM mentions WHERE created_at < %s ORDER BY id LIMIT %s)",
                    [to_db_time(cutoff), batch],
                ).rowcount
            deleted += count
            if count < batch:
                return deleted

    def optimize(self) -> None:
        """Periodic upkeep: drop the roll-up rows retention emptied, refresh the planner's
        statistics (autovacuum does the rest)."""
        with self._guard("planner upkeep failed") as conn:
            for table in ("daily_sentiment", "daily_topics"):
                conn.execute(f"DELETE FROM {table} WHERE n = 0".encode())  # our own table names
            conn.execute("ANALYZE mentions, mention_topics, daily_sentiment, daily_topics")

    # --- reading (the SQL is in reads.py) ------------------------------------------------

    def mentions(self, query: MentionQuery) -> list[dict[str, Any]]:
        """Newest first, as plain dicts in the shape ``sentimon mentions --format json`` prints."""
        with self._guard("query failed") as conn:
            return reads.mentions(conn, query)

    def topics_for(self, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        with self._guard("query failed") as conn:
            return reads.topics_for(conn, ids)

    def stats(self, query: MentionQuery, by: str, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Counts per sentiment and the negative share, grouped by day, week, hour, source,
        brand or topic; whole days from the roll-ups, as on SQLite."""
        query = replace(query, pending=False)  # pending mentions count once classified
        with self._guard("query failed") as conn:
            return reads.stats(conn, query, by, now or datetime.now(timezone.utc))

    def top_negative_topics(self, query: MentionQuery, by: str, limit: int = 3) -> dict[str, list[str]]:
        """Per ``by`` group (``brand`` or ``source``), the topics most often spoken of negatively."""
        with self._guard("query failed") as conn:
            return reads.top_negative_topics(conn, replace(query, pending=False), by, limit)

    def count(self, query: MentionQuery) -> int:
        """How many mentions ``query`` matches, without its limit ("20 of 312 shown")."""
        with self._guard("query failed") as conn:
            return reads.count(conn, query)

    def has_value(self, table: str, column: str, value: str) -> bool:
        """Whether a source, brand or topic is stored: the query commands' check for typos."""
        with self._guard("query failed") as conn:
            return reads.has_value(conn, table, column, value)

    def distinct_values(self, table: str, column: str) -> set[str]:
        with self._guard("query failed") as conn:
            return reads.distinct_values(conn, table, column)

    def last_runs(self) -> list[dict[str, Any]]:
        """The latest run of each source and its latest successful one: the health record."""
        with self._guard("query failed") as conn:
            return reads.last_runs(conn)

    def finished_runs(self) -> list[dict[str, Any]]:
        """Per source, its last finished run, last success and run totals: ``/metrics``' record
        (the store's portable ``FINISHED_RUNS_SQL``, as on SQLite)."""
        with self._guard("query failed") as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(FINISHED_RUNS_SQL).fetchall()

    def counts(self) -> dict[str, int]:
        """Stored mentions, and deliveries pending in the outbox (its owner counts them)."""
        from alerts import storage as alert_tables

        with self.alert_tables() as db:  # one pooled connection for both counts
            row = db.execute("SELECT COUNT(*) FROM mentions").fetchone()
            pending = alert_tables.pending_count(db)
        return {"mentions": int(row[0]) if row else 0, "pending_deliveries": pending}
