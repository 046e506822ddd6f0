"""The alerts' reads of mentions on PostgreSQL: ``alerts.reader.AlertReader`` for a ``PgStore``.

The statements are the SQLite store's own (``sentimon/store/alert_reads.py``, written once in
the portable subset); only what PostgreSQL says differently is here: a condition counted with
``CASE`` (it cannot sum booleans, and a summed integer stays an integer, not a numeric), a
timestamp's bin from its epoch, and the JSONB field. ``created_at`` is the same sortable UTC
text in both stores, so the ranges and the hour and day prefixes read alike.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from psycopg.rows import dict_row

from sentimon.pgstore.qmark import QmarkDatabase
from sentimon.pgstore.reads import pg
from sentimon.store.alert_reads import AlertSql, Dialect

if TYPE_CHECKING:
    from alerts.reader import AlertReader
    from sentimon.pgstore.store import PgStore

POSTGRESQL = Dialect(
    count_true="SUM(CASE WHEN {} THEN 1 ELSE 0 END)",
    # FLOOR of the epoch: whole seconds, as SQLite's strftime('%s') gives
    bin_of="CAST(FLOOR((FLOOR(EXTRACT(EPOCH FROM CAST(m.created_at AS timestamptz))) - ?) / ?) AS INTEGER)",
    reply_url="m.extra->>'reply_url'",
)


class PgAlertReads(AlertSql):
    """``alerts.reader.AlertReader`` over a ``PgStore``'s pool; errors are its one-line
    ``StorageError`` naming the server (never the password)."""

    dialect = POSTGRESQL

    def __init__(self, store: PgStore) -> None:
        self.store = store

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self.store._guard("alert read") as conn:
            return conn.execute(pg(sql).encode(), list(params)).fetchall()

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.store._guard("alert read") as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(pg(sql).encode(), list(params)).fetchall()


class PgAlertTables:
    """The part of ``PgStore`` that hands the alerts their tables and their reader."""

    url: str

    def _guard(self, doing: str) -> Any:
        raise NotImplementedError  # PgStore's: a pooled connection, errors as one line

    @contextmanager
    def alert_tables(self) -> Iterator[QmarkDatabase]:
        """A pooled connection shaped for ``alerts.storage``'s portable statements, held for
        one check or delivery pass. Its ``key`` names the database (a hash of the URL, never
        the URL, which may hold a password) so the outbox's outage state spans passes."""
        key = "postgresql:" + hashlib.sha256(self.url.encode()).hexdigest()[:16]
        with self._guard("alert tables") as conn:
            yield QmarkDatabase(conn, key=key)

    def alert_reader(self) -> PgAlertReads:
        """What the alerts count mentions with: this store's pool."""
        return PgAlertReads(self)  # type: ignore[arg-type]  # only PgStore mixes this in


if TYPE_CHECKING:
    def _is_a_reader(reads: PgAlertReads) -> AlertReader:  # mypy checks the Protocol here
        return reads
