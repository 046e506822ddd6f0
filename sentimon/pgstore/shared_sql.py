"""PgStore's pending queue, corrections, export pages, ``/metrics`` and training reads: the
owners' own statements.

Why no SQL of its own here: ``sentimon.mention_sql`` (pending mentions, export pages, the
metrics' and training's reads of mentions), ``sentimon.corrections`` (the correction log) and
``alerts.storage`` (the outbox's totals) write their statements in the portable subset,
so PostgreSQL runs the very statements SQLite runs, through ``QmarkDatabase``, with the same
contract (tests/test_store_contract_queue.py). What PostgreSQL adds is concurrency control:
several ``sentimon serve`` processes and people labelling share one server, so a correction
locks its mention's row before reading what it replaces, and each write is one transaction.
One exception: a batch of classifications is two statements of its own (``classify_batch``),
where the portable one UPDATE per mention costs a round trip each.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import psycopg

from sentimon import corrections, mention_sql
from sentimon.mention import Classification
from sentimon.pgstore import classify_batch
from sentimon.pgstore.qmark import QmarkDatabase

if TYPE_CHECKING:
    from sentimon.corrections import Correction


class SharedStatements:
    """The part of ``PgStore`` that runs statements owned by ``mention_sql`` and ``corrections``."""

    def _guard(self, doing: str) -> AbstractContextManager[psycopg.Connection]:
        raise NotImplementedError  # PgStore's: a pooled connection, errors as one line

    @contextmanager
    def _statements(self, doing: str, *, write: bool = False) -> Iterator[QmarkDatabase]:
        """A pooled connection shaped for the owners' ``?`` statements; ``write``: in one
        transaction, rolled back if anything in it fails."""
        with self._guard(doing) as conn:
            if not write:
                yield QmarkDatabase(conn)
                return
            with conn.transaction():
                yield QmarkDatabase(conn)

    def pending_mentions(self, limit: int, after_id: int = 0,
                         shard: tuple[int, int] | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` pending mentions (``id, title, text, rating, lang``) with id above
        ``after_id``, oldest first: the background classifier's next batch (of one ``shard``,
        ``mention_sql.pending_mentions``)."""
        with self._statements("could not read pending mentions") as db:
            return mention_sql.pending_mentions(db, limit, after_id, shard)

    def pending_count(self) -> int:
        """Mentions stored but not classified yet."""
        with self._statements("query failed") as db:
            return mention_sql.pending_count(db)

    def set_classifications(self, rows: Sequence[tuple[int, Classification]]) -> int:
        """Classify pending mentions in one transaction; how many were still pending. A
        person's sentiment wins: the UPDATE requires ``sentiment IS NULL``, which PostgreSQL
        checks again on the committed row when a correction held it, so a mention two
        servers classify at once is written (and rolled up) once. Two statements per batch
        (``classify_batch``), not ``mention_sql``'s one UPDATE per mention: a round trip each."""
        with self._statements(f"could not store the classification of {len(rows)} pushed mentions",
                              write=True) as db:
            return classify_batch.set_classifications(db.conn, rows)

    def apply_correction(self, mention_id: int, correction: Correction, *, author: str,
                         when: str) -> dict[str, Any] | None:
        """Read, log and apply a person's correction in one transaction, the mention's row
        locked first: a concurrent correction or classification waits, so the logged
        ``before`` is what this one replaced. None when there is no such mention."""
        with self._statements(f"could not record the correction of mention {mention_id}", write=True) as db:
            db.conn.execute("SELECT id FROM mentions WHERE id = %s FOR UPDATE", [mention_id])
            return corrections.record(db, mention_id, correction, author=author, when=when)

    def mentions_page(self, columns: Sequence[str], after_id: int, since: str | None,
                      until: str | None, limit: int) -> list[dict[str, Any]]:
        """An export's keyset page: ``mention_sql.mentions_page`` (pending mentions left out)."""
        with self._statements("export query failed") as db:
            return mention_sql.mentions_page(db, columns, after_id, since, until, limit)

    def sentiment_totals(self) -> list[tuple[str, str | None, int]]:
        """``(source, sentiment, mentions)`` of the classified mentions: ``/metrics``' stored
        gauge (``mention_sql.counts_by_source_sentiment``)."""
        with self._statements("cannot read metrics") as db:
            return mention_sql.counts_by_source_sentiment(db)

    def alert_totals(self) -> tuple[dict[str, int], int, dict[str, int]]:
        """Deliveries by status, pending deliveries that failed at least once, and alert
        events by status: ``/metrics``' alert gauges, read by the tables' owner."""
        from alerts import storage as alert_tables

        with self._statements("cannot read metrics") as db:
            return (alert_tables.delivery_totals(db), alert_tables.failing_count(db),
                    alert_tables.event_totals(db))

    def corrected_mentions(self) -> list[dict[str, Any]]:
        """Every human-corrected mention with a sentiment and its topics, oldest first
        (``mention_sql.corrected_mentions``), read in one transaction: what training learns from."""
        with self._statements("could not read the corrections", write=True) as db:
            return mention_sql.corrected_mentions(db)

    def uncorrected_texts(self, limit: int) -> list[tuple[str | None, str]]:
        """``(title, text)`` of the ``limit`` newest mentions nobody corrected (training's anchors)."""
        with self._statements("could not read mentions") as db:
            return mention_sql.uncorrected_texts(db, limit)
